//! Building a [`Config`](super::Config): every setting checked once, at `build`.

use super::*;

/// Builds a [`Config`]; see [`Config::builder`].
#[derive(Clone)]
#[must_use]
pub struct ConfigBuilder {
    endpoint: String,
    app_id: String,
    app_secret: Option<Secret>,
    client_auth: Option<ClientAuth>,
    scopes: Vec<String>,
    resources: Vec<String>,
    prompt: Vec<Prompt>,
    include_reserved_scopes: bool,
    allow_insecure_http: bool,
    require_access_token_type: bool,
    clock_tolerance: u64,
    expiry_leeway: u64,
    jwks_refetch_cooldown: u64,
    metadata_ttl: u64,
    jwks_ttl: u64,
    sign_in_max_age: u64,
    connect_timeout: Duration,
    request_timeout: Duration,
}

/// Seconds of clock difference with the provider tolerated in token times, by default.
const DEFAULT_CLOCK_TOLERANCE_SECS: u64 = 60;
/// Seconds before its expiry that a cached token counts as expired, by default.
const DEFAULT_EXPIRY_LEEWAY_SECS: u64 = 60;
/// Seconds between two JWKS refetches caused by an unknown `kid`, at least, by default.
const DEFAULT_JWKS_REFETCH_COOLDOWN_SECS: u64 = 5;
/// How long the discovery document is kept, by default: a day.
const DEFAULT_METADATA_TTL_SECS: u64 = 24 * 3600;
/// How long the JWKS is kept, by default: an hour.
const DEFAULT_JWKS_TTL_SECS: u64 = 3600;
/// How long a sign-in may take from its start to its callback, by default: ten minutes.
const DEFAULT_SIGN_IN_MAX_AGE_SECS: u64 = 600;
/// How long a connection to the provider may take, by default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request to the provider may take, by default.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl ConfigBuilder {
    /// A builder with the defaults (see [`Config::builder`](super::Config::builder)).
    pub(super) fn new(endpoint: String, app_id: String) -> ConfigBuilder {
        ConfigBuilder {
            endpoint,
            app_id,
            app_secret: None,
            client_auth: None,
            scopes: Vec::new(),
            resources: Vec::new(),
            prompt: vec![Prompt::Consent],
            include_reserved_scopes: true,
            allow_insecure_http: false,
            require_access_token_type: true,
            clock_tolerance: DEFAULT_CLOCK_TOLERANCE_SECS,
            expiry_leeway: DEFAULT_EXPIRY_LEEWAY_SECS,
            jwks_refetch_cooldown: DEFAULT_JWKS_REFETCH_COOLDOWN_SECS,
            metadata_ttl: DEFAULT_METADATA_TTL_SECS,
            jwks_ttl: DEFAULT_JWKS_TTL_SECS,
            sign_in_max_age: DEFAULT_SIGN_IN_MAX_AGE_SECS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("endpoint", &self.endpoint)
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The app secret of a traditional web app (switches the default auth to Basic).
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(Secret::new(secret));
        self
    }

    /// Forces a client authentication method.
    pub fn client_auth(mut self, method: ClientAuth) -> Self {
        self.client_auth = Some(method);
        self
    }

    /// Extra scopes (strings or [`UserScope`](crate::UserScope)s).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// API resource indicators to ask for at sign-in.
    pub fn resources<I, S>(mut self, resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources = resources.into_iter().map(Into::into).collect();
        self
    }

    /// The default prompt set (default `[Consent]`).
    pub fn prompt(mut self, prompt: impl IntoIterator<Item = Prompt>) -> Self {
        self.prompt = prompt.into_iter().collect();
        self
    }

    /// Whether `openid offline_access profile` are added (default true).
    pub fn include_reserved_scopes(mut self, yes: bool) -> Self {
        self.include_reserved_scopes = yes;
        self
    }

    /// Accepts an `http://` endpoint on a non-loopback host, and `http://` endpoints off
    /// loopback in its discovery document (never in production). The app secret is still
    /// never sent over such a connection: a confidential client needs https or loopback.
    pub fn allow_insecure_http(mut self, yes: bool) -> Self {
        self.allow_insecure_http = yes;
        self
    }

    /// Whether a bearer access token presented to an API must carry the `typ` header
    /// `at+jwt` (default true). Logto's access tokens always do, and RFC 9068 requires it: it
    /// keeps an ID token or a logout token of the same issuer from passing as an access
    /// token. Turn it off only for an issuer whose access tokens carry no `typ`; a `typ` of
    /// another kind is refused either way.
    pub fn require_access_token_type(mut self, yes: bool) -> Self {
        self.require_access_token_type = yes;
        self
    }

    /// Clock tolerance in seconds for `exp`, `iat`, `nbf` (default 60).
    pub fn clock_tolerance(mut self, secs: u64) -> Self {
        self.clock_tolerance = secs;
        self
    }

    /// Seconds before expiry at which a cached access token is refreshed (default 60).
    pub fn expiry_leeway(mut self, secs: u64) -> Self {
        self.expiry_leeway = secs;
        self
    }

    /// Minimum seconds between two JWKS refetches caused by a token *an outsider* presents
    /// with an unknown `kid` (default 5): a bearer token sent to an API, whose `kid` an
    /// attacker can make up to make the app fetch keys.
    ///
    /// ID tokens are never subject to it. An ID token arrives in the token endpoint's
    /// response, straight from the issuer over the client's own connection, so an unknown
    /// `kid` there is evidence of a key rotation: it gets one JWKS refetch at once, however
    /// recently the keys were fetched (by this session or another sharing the
    /// [`ProviderCache`](crate::ProviderCache)), and the verification is retried with the
    /// new set. A JWKS already fetched after that response arrived is used instead of a
    /// second request, so a rotation costs one JWKS request however many sessions see it.
    pub fn jwks_refetch_cooldown(mut self, secs: u64) -> Self {
        self.jwks_refetch_cooldown = secs;
        self
    }

    /// How long a started sign-in may wait for its callback, in seconds (default 600): an
    /// older pending sign-in is refused at the callback
    /// ([`CallbackError::SignInExpired`](crate::CallbackError::SignInExpired)).
    pub fn sign_in_max_age(mut self, secs: u64) -> Self {
        self.sign_in_max_age = secs;
        self
    }

    /// Seconds discovery metadata is reused (default 86400).
    pub fn metadata_ttl(mut self, secs: u64) -> Self {
        self.metadata_ttl = secs;
        self
    }

    /// Seconds a JWKS is reused (default 3600).
    pub fn jwks_ttl(mut self, secs: u64) -> Self {
        self.jwks_ttl = secs;
        self
    }

    /// Connect timeout for the adapters' HTTP client (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whole-request timeout for the adapters' HTTP client (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Validates and normalises.
    pub fn build(self) -> Result<Config, ConfigError> {
        let endpoint = normalise_endpoint(&self.endpoint, self.allow_insecure_http)?;
        if self.app_id.trim().is_empty() {
            return Err(ConfigError::EmptyAppId);
        }
        let client_auth = match (self.client_auth, &self.app_secret) {
            (Some(ClientAuth::None), _) => ClientAuth::None,
            (Some(m), Some(_)) => m,
            (Some(_), None) => return Err(ConfigError::MissingAppSecret),
            (None, Some(_)) => ClientAuth::ClientSecretBasic,
            (None, None) => ClientAuth::None,
        };
        let scopes = compose_scopes(&self.scopes, self.include_reserved_scopes);
        let resources = compose_resources(&self.resources, &scopes);
        let mut prompt = Vec::new();
        for p in self.prompt {
            if !prompt.contains(&p) {
                prompt.push(p);
            }
        }
        let encoded = EncodedParams {
            client_id: form_encode(&self.app_id),
            scope: form_encode(&scopes.join(" ")),
            resources: resources
                .iter()
                .map(|r| format!("&resource={}", form_encode(r)))
                .collect(),
        };
        Ok(Config {
            encoded,
            endpoint,
            app_id: self.app_id,
            app_secret: self.app_secret,
            client_auth,
            scopes,
            resources,
            prompt,
            clock_tolerance: self.clock_tolerance,
            expiry_leeway: self.expiry_leeway,
            jwks_refetch_cooldown: self.jwks_refetch_cooldown,
            metadata_ttl: self.metadata_ttl,
            jwks_ttl: self.jwks_ttl,
            sign_in_max_age: self.sign_in_max_age,
            allow_insecure_http: self.allow_insecure_http,
            require_access_token_type: self.require_access_token_type,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
        })
    }
}

fn normalise_endpoint(endpoint: &str, allow_insecure_http: bool) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidEndpoint {
        endpoint: redact_credentials(endpoint),
        reason: reason.to_owned(),
    };
    let url = Url::parse(endpoint.trim()).map_err(|e| invalid(&e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not carry a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry credentials"));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            if !allow_insecure_http && !is_loopback(&url) {
                return Err(ConfigError::InsecureEndpoint {
                    endpoint: redact_credentials(endpoint),
                });
            }
        }
        _ => return Err(invalid("the scheme must be https")),
    }
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
