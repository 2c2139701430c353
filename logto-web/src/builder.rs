//! Building a web app's Logto state: the settings, checked once.

use crate::session::NoSession;
use crate::sign_in_cookie::{SignInSealer, MIN_SECRET_LEN};
use crate::web::{Inner, LogtoWeb};
use crate::Error;
use logto_driver::aio::{AsyncTransport, LogtoClient};
use logto_proto::{ClientError, Config as LogtoConfig};
use logto_store::{AsyncSessionStore, MemoryStore};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use url::Url;

/// How many browser sessions keep their client (and its parsed snapshot) between requests.
const DEFAULT_CACHED_SESSIONS: usize = 10_000;
/// How long the browser keeps the session cookie unless the app says otherwise.
const DEFAULT_COOKIE_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Where an app is served when `BASE_URL` is unset.
const DEFAULT_BASE_URL: &str = "http://localhost:3000";

/// Builds a web app's Logto state: `T` is the framework's state type (`logto_axum::Logto`,
/// `logto_actix::Logto`, or [`LogtoWeb`] itself), made from the [`LogtoWeb`] that
/// [`build`](Self::build) checks. The frameworks name it `LogtoBuilder`.
#[must_use]
pub struct WebBuilder<T> {
    config: LogtoConfig,
    base_url: String,
    store: Option<Arc<dyn AsyncSessionStore>>,
    client: Option<LogtoClient>,
    after_sign_out: String,
    route_prefix: String,
    cookie_max_age: Option<Duration>,
    max_cached_sessions: usize,
    sign_in_secret: Option<Vec<u8>>,
    state: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for WebBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoBuilder")
            .field("config", &self.config)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl<T: From<LogtoWeb>> WebBuilder<T> {
    /// A builder for an app served at `base_url` (an origin such as
    /// `https://app.example.com`). The callback is `<base_url>/callback`: register it as a
    /// redirect URI in Logto Console, and `<base_url>/` as a post sign-out redirect URI.
    pub fn new(config: LogtoConfig, base_url: impl Into<String>) -> WebBuilder<T> {
        WebBuilder {
            config,
            base_url: base_url.into(),
            store: None,
            client: None,
            after_sign_out: "/".to_owned(),
            route_prefix: String::new(),
            cookie_max_age: Some(DEFAULT_COOKIE_MAX_AGE),
            max_cached_sessions: DEFAULT_CACHED_SESSIONS,
            sign_in_secret: None,
            state: PhantomData,
        }
    }

    /// The builder of an app configured by environment variables: `LOGTO_ENDPOINT`,
    /// `LOGTO_APP_ID`, `LOGTO_APP_SECRET`, `LOGTO_SCOPES` and `LOGTO_RESOURCES` (see
    /// [`LogtoConfig::from_vars`](logto_proto::Config::from_vars)), `BASE_URL`
    /// (default `http://localhost:3000`) and `LOGTO_SESSION_STORE`: unset or `memory` for
    /// a [`MemoryStore`], `redis://host:port/db` for a `RedisStore` (the `redis` feature)
    /// shared by every instance pointed at it, and `LOGTO_COOKIE_SECRET` (see
    /// [`sign_in_secret`](Self::sign_in_secret)). The error names the variable.
    pub fn from_env() -> Result<WebBuilder<T>, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let config = LogtoConfig::from_vars(var).map_err(ClientError::Config)?;
        let base_url = var("BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let mut builder = WebBuilder::new(config, base_url);
        if let Some(secret) = var("LOGTO_COOKIE_SECRET") {
            builder = builder.sign_in_secret(secret);
        }
        match var("LOGTO_SESSION_STORE") {
            None => Ok(builder),
            Some(store) => builder.store_from_url(&store),
        }
    }

    /// Where sessions live (default: a [`MemoryStore`]; a `RedisStore` with the `redis`
    /// feature, for several instances). A store compare-and-swaps atomically (the refresh
    /// lease relies on it), stays server-side (what it returns is trusted), keeps a written
    /// value until the next write or its expiry, and indexes sessions for back-channel
    /// logout: the contract of [`AsyncSessionStore`], checked by `logto-store`'s conformance
    /// tests.
    pub fn store(mut self, store: impl AsyncSessionStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The store a `LOGTO_SESSION_STORE`-style value names: `memory`, or a `redis://` URL
    /// (the `redis` feature).
    pub fn store_from_url(self, value: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidSessionStore {
            value: logto_proto::redact_url(value),
            reason,
        };
        if value.trim() == "memory" {
            return Ok(self.store(MemoryStore::new()));
        }
        if value.starts_with("redis://")
            || value.starts_with("rediss://")
            || value.starts_with("redis+unix://")
        {
            #[cfg(feature = "redis")]
            {
                let store =
                    logto_redis::RedisStore::open(value).map_err(|e| invalid(e.to_string()))?;
                return Ok(self.store(store));
            }
            #[cfg(not(feature = "redis"))]
            return Err(invalid(
                "Redis stores need the `redis` feature (of logto-axum or logto-actix)".to_owned(),
            ));
        }
        Err(invalid(
            "expected `memory` or a `redis://host:port/db` URL".to_owned(),
        ))
    }

    /// Sends the provider requests with this client (over your own transport or HTTP
    /// client, with a clock for tests): it is the template every session's client is
    /// derived from. Its config replaces the builder's. Takes the driver's
    /// [`LogtoClient`] or a transport crate's (`logto_reqwest::LogtoClient`,
    /// `logto_isahc::LogtoClient`).
    pub fn client(mut self, client: impl Into<LogtoClient>) -> Self {
        self.client = Some(client.into());
        self
    }

    /// Sends the provider requests through `transport`: the app's own HTTP client, e.g.
    /// `logto_reqwest::ReqwestTransport::new(app_client)` for the `reqwest::Client` the app
    /// already configured (proxy, private CA, timeouts), or a transport of its own. The
    /// default is reqwest (the `reqwest` feature), else isahc (the `isahc` feature).
    pub fn transport(mut self, transport: impl AsyncTransport) -> Self {
        self.client = Some(crate::transport::client_over(
            self.config.clone(),
            transport,
        ));
        self
    }

    /// The path of this app the provider sends the user to after sign-out (default `/`;
    /// register `<base URL><path>` as a post sign-out redirect URI in Logto Console).
    pub fn after_sign_out(mut self, path: impl Into<String>) -> Self {
        self.after_sign_out = path.into();
        self
    }

    /// Serves the routes under `prefix` (e.g. `/auth`: `/auth/sign-in`, `/auth/callback`,
    /// ...; register `<base URL>/auth/callback` in Logto Console). Default: at the root.
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.route_prefix = prefix.into();
        self
    }

    /// How long the browser keeps the session cookie (default 30 days; `None`: until the
    /// browser closes). The store's own expiry still applies.
    pub fn cookie_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.cookie_max_age = max_age;
        self
    }

    /// How many sessions keep their client (and parsed snapshot) in memory between requests
    /// (default 10,000). Beyond it a session's next request builds its client again.
    pub fn max_cached_sessions(mut self, max: usize) -> Self {
        self.max_cached_sessions = max.max(1);
        self
    }

    /// The secret that seals a sign-in's pending state (state, PKCE verifier, nonce) in the
    /// browser's sign-in cookie, at least 32 random bytes: the same on every instance behind
    /// one load balancer, so that a sign-in started on one ends on any. Default: derived
    /// from the app secret (which every instance has); for a public client without one, a
    /// random key of the process (a sign-in then ends on the instance that started it).
    /// [`from_env`](Self::from_env) reads it from `LOGTO_COOKIE_SECRET`.
    ///
    /// A sign-in start writes nothing to the store, so anonymous `/sign-in` requests cost
    /// the app no memory and never evict anybody's sign-in.
    pub fn sign_in_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.sign_in_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// The app's state. Fails when the base URL is not an http(s) origin, a path or the
    /// sign-in secret is unusable, or the client cannot be created.
    pub fn build(self) -> Result<T, Error> {
        let base_url = checked_base_url(&self.base_url)?;
        check_route_prefix(&self.route_prefix)?;
        let after_sign_out = &self.after_sign_out;
        if !after_sign_out.starts_with('/') || after_sign_out.starts_with("//") {
            return Err(Error::InvalidPath {
                path: after_sign_out.clone(),
            });
        }
        let client = match self.client {
            Some(client) => client,
            None => crate::transport::default_client(self.config)?,
        };
        let sign_in_sealer = sealer(self.sign_in_secret.as_deref(), &client)?;
        let inner = Inner {
            sign_in_sealer,
            no_session: Arc::new(client.for_session(NoSession)),
            client,
            store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
            secure: base_url.scheme() == "https",
            origin: base_url.as_str().trim_end_matches('/').to_owned(),
            base_url,
            after_sign_out: self.after_sign_out,
            route_prefix: self.route_prefix,
            cookie_max_age: self.cookie_max_age,
            clients: RwLock::default(),
            max_cached_sessions: self.max_cached_sessions,
        };
        Ok(T::from(LogtoWeb::from_inner(inner)))
    }
}

/// The base URL as an http(s) origin with nothing after it.
fn checked_base_url(base_url: &str) -> Result<Url, Error> {
    let invalid = || Error::InvalidBaseUrl {
        base_url: base_url.to_owned(),
    };
    let url = Url::parse(base_url).map_err(|_| invalid())?;
    let is_origin = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    is_origin.then_some(url).ok_or_else(invalid)
}

/// A route prefix is empty or a path without a trailing slash that URL parsing keeps as it is.
fn check_route_prefix(prefix: &str) -> Result<(), Error> {
    let prefix_ok = prefix.is_empty()
        || (prefix.starts_with('/')
            && !prefix.ends_with('/')
            && !prefix.contains("//")
            && Url::parse(&format!("http://h{prefix}")).is_ok_and(|u| u.path() == prefix));
    match prefix_ok {
        true => Ok(()),
        false => Err(Error::InvalidPath {
            path: prefix.to_owned(),
        }),
    }
}

/// The sealer of sign-in cookies: the app's own secret, else the app secret, else a random
/// key of the process.
fn sealer(secret: Option<&[u8]>, client: &LogtoClient) -> Result<SignInSealer, Error> {
    match (secret, client.config().app_secret()) {
        (Some(secret), _) if secret.len() < MIN_SECRET_LEN => Err(Error::InvalidSignInSecret {
            length: secret.len(),
        }),
        (Some(secret), _) => Ok(SignInSealer::from_secret(secret)),
        (None, Some(app_secret)) => Ok(SignInSealer::from_secret(app_secret.expose().as_bytes())),
        (None, None) => SignInSealer::random()
            .ok_or_else(|| Error::Client(ClientError::Random("no key for sign-in cookies".into()))),
    }
}
