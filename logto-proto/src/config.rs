//! What the app tells the SDK about itself and its Logto tenant.

use crate::error::ConfigError;
use crate::scope::{compose_resources, compose_scopes, has_organizations_scope};
use crate::secret::Secret;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

/// How the app authenticates at the token and revocation endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `Authorization: Basic`, credentials form-urlencoded first (RFC 6749 §2.3.1). Logto
    /// registers traditional web apps this way; the default when a secret is set.
    ClientSecretBasic,
    /// `client_secret` in the form body.
    ClientSecretPost,
    /// No secret: a public client (SPA, native). The default without a secret.
    None,
}

/// An OIDC `prompt` value. A sign-in sends a set of them, space-separated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prompt {
    /// `consent`: the default, and what makes Logto issue a refresh token.
    Consent,
    /// `login`: force a new authentication. Alone it yields no refresh token; send
    /// `[Login, Consent]` to get both.
    Login,
    /// `none`: fail instead of showing any page.
    None,
}

impl Prompt {
    /// The value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Prompt::Consent => "consent",
            Prompt::Login => "login",
            Prompt::None => "none",
        }
    }
}

/// The SDK's configuration: a validated, normalised value built once and shared by every
/// session of the app.
///
/// ```
/// use logto_proto::{Config, ClientAuth};
/// let config = Config::builder("https://tenant.logto.app/", "app-id")
///     .app_secret("app-secret")
///     .scopes(["email", "urn:logto:scope:organizations"])
///     .resources(["https://api.example.com"])
///     .build()
///     .unwrap();
/// assert_eq!(config.endpoint(), "https://tenant.logto.app");
/// assert_eq!(config.issuer(), "https://tenant.logto.app/oidc");
/// assert_eq!(config.client_auth(), ClientAuth::ClientSecretBasic);
/// assert_eq!(
///     config.scopes(),
///     ["openid", "offline_access", "profile", "email", "urn:logto:scope:organizations"]
/// );
/// assert_eq!(config.resources(), ["https://api.example.com", "urn:logto:resource:organizations"]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    endpoint: String,
    app_id: String,
    app_secret: Option<Secret>,
    client_auth: ClientAuth,
    scopes: Vec<String>,
    resources: Vec<String>,
    prompt: Vec<Prompt>,
    clock_tolerance: u64,
    expiry_leeway: u64,
    jwks_refetch_cooldown: u64,
    metadata_ttl: u64,
    jwks_ttl: u64,
    sign_in_max_age: u64,
    allow_insecure_http: bool,
    require_access_token_type: bool,
    connect_timeout: Duration,
    request_timeout: Duration,
    encoded: EncodedParams,
}

/// The sign-in URL's parameters that come from the config, form-encoded once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EncodedParams {
    /// The app id.
    pub client_id: String,
    /// The scopes, space-joined.
    pub scope: String,
    /// `&resource=…` for each resource.
    pub resources: String,
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .field("client_auth", &self.client_auth)
            .field("scopes", &self.scopes)
            .field("resources", &self.resources)
            .field("prompt", &self.prompt)
            .field("clock_tolerance", &self.clock_tolerance)
            .field("expiry_leeway", &self.expiry_leeway)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A config with defaults for everything but the endpoint and the app id.
    pub fn new(endpoint: &str, app_id: &str) -> Result<Config, ConfigError> {
        Config::builder(endpoint, app_id).build()
    }

    /// A config from variables, read through `var` (pass `|name| std::env::var(name).ok()`
    /// for the process environment): `LOGTO_ENDPOINT` and `LOGTO_APP_ID` (required),
    /// `LOGTO_APP_SECRET`, and `LOGTO_SCOPES` / `LOGTO_RESOURCES` (space-separated). Blank
    /// values count as unset; an error names the variable.
    ///
    /// ```
    /// use logto_proto::{Config, ConfigError};
    /// let vars = |name: &str| match name {
    ///     "LOGTO_ENDPOINT" => Some("https://tenant.logto.app".to_owned()),
    ///     "LOGTO_APP_ID" => Some("app".to_owned()),
    ///     "LOGTO_SCOPES" => Some("email custom_data".to_owned()),
    ///     _ => None,
    /// };
    /// let config = Config::from_vars(vars).unwrap();
    /// assert_eq!(config.scopes(), ["openid", "offline_access", "profile", "email", "custom_data"]);
    /// let err = Config::from_vars(|_| None).unwrap_err();
    /// assert!(matches!(err, ConfigError::Variable { name: "LOGTO_ENDPOINT", .. }));
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| {
            get(name).ok_or(ConfigError::Variable {
                name,
                reason: "not set".into(),
            })
        };
        let list = |name: &str| {
            get(name).map_or(Vec::new(), |v| {
                v.split_whitespace().map(str::to_owned).collect()
            })
        };
        let mut builder = Config::builder(required("LOGTO_ENDPOINT")?, required("LOGTO_APP_ID")?)
            .scopes(list("LOGTO_SCOPES"))
            .resources(list("LOGTO_RESOURCES"));
        if let Some(secret) = get("LOGTO_APP_SECRET") {
            builder = builder.app_secret(secret);
        }
        builder.build().map_err(|e| {
            let name = match e {
                ConfigError::EmptyAppId => "LOGTO_APP_ID",
                ConfigError::MissingAppSecret => "LOGTO_APP_SECRET",
                _ => "LOGTO_ENDPOINT",
            };
            ConfigError::Variable {
                name,
                reason: e.to_string(),
            }
        })
    }

    /// Starts a builder.
    pub fn builder(endpoint: impl Into<String>, app_id: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: None,
            client_auth: None,
            scopes: Vec::new(),
            resources: Vec::new(),
            prompt: vec![Prompt::Consent],
            include_reserved_scopes: true,
            allow_insecure_http: false,
            require_access_token_type: true,
            clock_tolerance: 60,
            expiry_leeway: 60,
            jwks_refetch_cooldown: 5,
            metadata_ttl: 24 * 3600,
            jwks_ttl: 3600,
            sign_in_max_age: 600,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The Logto endpoint, without a trailing slash (a tenant path is kept).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `{endpoint}/oidc`: the issuer every token and the discovery document must name.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.endpoint)
    }

    /// `{endpoint}/oidc/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/oidc/.well-known/openid-configuration", self.endpoint)
    }

    /// The app id (OAuth `client_id`).
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The app secret, if any.
    pub fn app_secret(&self) -> Option<&Secret> {
        self.app_secret.as_ref()
    }

    /// How the app authenticates at the token endpoint.
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    /// The scopes every sign-in asks for: reserved ones first, deduplicated.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The resources every sign-in asks for, with the organizations resource when the
    /// organizations scope is set.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The default `prompt` set.
    pub fn prompt(&self) -> &[Prompt] {
        &self.prompt
    }

    /// Whether the organizations scope is configured (needed for organization tokens).
    pub fn has_organizations_scope(&self) -> bool {
        has_organizations_scope(&self.scopes)
    }

    /// Clock tolerance for `exp`, `iat` and `nbf`, in seconds (default 60).
    pub fn clock_tolerance(&self) -> u64 {
        self.clock_tolerance
    }

    /// Seconds before expiry at which a cached access token stops being used (default 60).
    pub fn expiry_leeway(&self) -> u64 {
        self.expiry_leeway
    }

    /// Minimum seconds between two JWKS refetches caused by a token an outsider presents
    /// with an unknown `kid` (default 5). See [`ConfigBuilder::jwks_refetch_cooldown`].
    pub fn jwks_refetch_cooldown(&self) -> u64 {
        self.jwks_refetch_cooldown
    }

    /// How long a started sign-in may wait for its callback, in seconds (default 600).
    pub fn sign_in_max_age(&self) -> u64 {
        self.sign_in_max_age
    }

    /// Whether `http://` is accepted off loopback (see
    /// [`ConfigBuilder::allow_insecure_http`]).
    pub fn allows_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    /// Whether a presented access token must carry `typ: at+jwt` (default true; see
    /// [`ConfigBuilder::require_access_token_type`]).
    pub fn requires_access_token_type(&self) -> bool {
        self.require_access_token_type
    }

    /// How long discovery metadata is reused, in seconds (default one day).
    pub fn metadata_ttl(&self) -> u64 {
        self.metadata_ttl
    }

    /// How long a JWKS is reused, in seconds (default one hour).
    pub fn jwks_ttl(&self) -> u64 {
        self.jwks_ttl
    }

    pub(crate) fn encoded(&self) -> &EncodedParams {
        &self.encoded
    }

    /// Connect timeout the adapters give their HTTP client (default 10 s). The core itself
    /// never waits for anything.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Timeout of a whole request in the adapters (default 30 s).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
}

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

/// A URL as messages and logs may show it: the credentials before its host and its query
/// (where, say, a Redis socket URL carries a password) replaced by `***`.
///
/// A password may hold `/`, `?`, `#`, `@` or `%` unencoded, so the credentials are taken to
/// run to the *last* `@` (a query with an `@` is redacted with them: too much hidden, never
/// too little), and a URL that does not parse has its whole authority hidden.
///
/// ```
/// use logto_proto::redact_url;
/// assert_eq!(redact_url("redis://:hunter2@cache:6379/0"), "redis://***@cache:6379/0");
/// assert_eq!(redact_url("redis://:s3cr/t@cache:6379/0"), "redis://***@cache:6379/0");
/// assert_eq!(redact_url("redis+unix:///run/redis.sock?pass=hunter2"), "redis+unix:///run/redis.sock?***");
/// assert_eq!(redact_url("https://tenant.logto.app"), "https://tenant.logto.app");
/// ```
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = split_scheme(url);
    let (authority, after_authority) = split_authority(url, rest);
    let hidden_query = match after_authority.split_once('?') {
        Some((before, _)) => format!("{before}?***"),
        None => after_authority.to_owned(),
    };
    format!("{scheme}{authority}{hidden_query}")
}

/// `url` with any credentials before its host replaced by `***` (see [`redact_url`]; the
/// query is kept): what errors show of an endpoint URL.
pub(crate) fn redact_credentials(url: &str) -> String {
    let (scheme, rest) = split_scheme(url);
    let (authority, after_authority) = split_authority(url, rest);
    format!("{scheme}{authority}{after_authority}")
}

/// `("scheme://", rest)`, or `("", url)` without a scheme.
fn split_scheme(url: &str) -> (&str, &str) {
    match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    }
}

/// What to show of the authority, and the rest after it. Credentials run to the last `@`;
/// a URL with a scheme that does not parse shows none of its authority (where it ends is a
/// guess). Text without a scheme or an `@` holds no authority to hide.
fn split_authority<'a>(url: &str, rest: &'a str) -> (&'static str, &'a str) {
    if let Some(at) = rest.rfind('@') {
        return ("***", &rest[at..]);
    }
    if rest.len() == url.len() || Url::parse(url).is_ok() {
        return ("", rest);
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match end {
        0 => ("", rest),
        _ => ("***", &rest[end..]),
    }
}

/// Whether the URL's host is `localhost` or a loopback address.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::redact_url;

    #[test]
    fn passwords_with_delimiters_never_show() {
        for password in [
            "s3cr/t",
            "s3cr#t",
            "s3cr?t",
            "s3cr@t",
            "s3cr%t",
            "a/b?c#d@e%f",
        ] {
            for url in [
                format!("redis://:{password}@cache:6379/0"),
                format!("redis://user:{password}@cache:6379/0?timeout=1"),
                format!("rediss://default:{password}@[::1]:6380"),
            ] {
                let shown = redact_url(&url);
                assert!(!shown.contains(password), "{url} shown as {shown}");
                assert!(!shown.contains("s3cr"), "{url} shown as {shown}");
                assert!(shown.starts_with("redis"), "{shown}");
            }
        }
        assert_eq!(
            redact_url("redis://:s3cr/t@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        // A URL that does not parse: its whole authority.
        assert_eq!(redact_url("redis://pass word:99999999/0"), "redis://***/0");
        assert_eq!(redact_url("redis://cache:6379/0"), "redis://cache:6379/0");
        assert_eq!(redact_url("cache:6379"), "cache:6379");
        assert_eq!(redact_url("redis://h/0?password=x#y"), "redis://h/0?***");
    }
}
