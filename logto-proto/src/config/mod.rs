//! What the app tells the SDK about itself and its Logto tenant: the checked [`Config`]
//! here, its builder in `builder`, and hiding credentials in URLs in `redact`.

mod builder;
mod redact;

pub use builder::ConfigBuilder;
pub use redact::redact_url;
pub(crate) use redact::{is_loopback, redact_credentials};

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
        ConfigBuilder::new(endpoint.into(), app_id.into())
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
