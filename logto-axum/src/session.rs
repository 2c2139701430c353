//! The Logto state of an app: its client, its session store, and each browser session's
//! client, found by the session cookie.

use crate::sign_in_cookie::{SignInSealer, MIN_SECRET_LEN};
use crate::Error;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, SameSite};
use logto_driver::aio::{AsyncTransport, LogtoClient};
use logto_proto::{ClientError, Config as LogtoConfig, ResponseError, StorageError};
use logto_store::{AsyncSessionStore, AsyncStorage, Expected, MemoryStore, StorageFuture};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use url::Url;

/// How many browser sessions keep their client (and its parsed snapshot) between requests.
const DEFAULT_CACHED_SESSIONS: usize = 10_000;

/// A browser session's id: 32 random bytes, base64url, in the cookie. It is a bearer secret
/// (whoever holds it is signed in), so it never appears in `Debug` or in logs, and the store
/// never sees it: sessions are stored under a SHA-256 digest of it ([`SessionId::store_key`]),
/// so that a store's contents, logs or errors give no cookie to replay.
#[derive(Clone)]
pub(crate) struct SessionId {
    cookie: Arc<str>,
    /// Computed when first needed: a request whose session client is cached never needs it.
    key: Arc<std::sync::OnceLock<String>>,
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.cookie == other.cookie
    }
}

impl Eq for SessionId {}

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.cookie.hash(state);
    }
}

impl SessionId {
    const LEN: usize = 43;

    pub(crate) fn random() -> Result<SessionId, Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Client(logto_proto::ClientError::Random(e.to_string())))?;
        Ok(SessionId::from_cookie(&URL_SAFE_NO_PAD.encode(bytes)))
    }

    fn from_cookie(cookie: &str) -> SessionId {
        SessionId {
            cookie: cookie.into(),
            key: Arc::default(),
        }
    }

    /// The id a cookie carries, if it has the shape of one (anything else is ignored).
    pub(crate) fn parse(value: &str) -> Option<SessionId> {
        let well_formed = value.len() == Self::LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| SessionId::from_cookie(value))
    }

    /// The cookie's value.
    pub(crate) fn cookie_value(&self) -> &str {
        &self.cookie
    }

    /// The key the session is stored under: `logto:` and the id's SHA-256, base64url.
    pub(crate) fn store_key(&self) -> &str {
        self.key.get_or_init(|| {
            let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(self.cookie.as_bytes()));
            format!("logto:{digest}")
        })
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// One browser session's view of the app's store: the client's only key is the session id.
struct SessionStorage {
    store: Arc<dyn AsyncSessionStore>,
    id: SessionId,
}

impl AsyncStorage for SessionStorage {
    fn get<'a>(&'a self, _key: &'a str) -> StorageFuture<'a, Option<String>> {
        self.store.get(self.id.store_key())
    }

    fn compare_and_swap<'a>(
        &'a self,
        _key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        self.store
            .compare_and_swap(self.id.store_key(), expected, new)
    }
}

/// The store of a request without a session: nothing to read, nothing may be written (a
/// session starts at the sign-in route).
struct NoSession;

impl AsyncStorage for NoSession {
    fn get<'a>(&'a self, _key: &'a str) -> StorageFuture<'a, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            match (expected, new) {
                // Nothing is stored: no value to match, and deleting it changes nothing.
                (Expected::Value(_), _) => Ok(false),
                (Expected::Absent | Expected::Any, None) => Ok(true),
                (Expected::Absent | Expected::Any, Some(_)) => Err(no_session(key)),
            }
        })
    }
}

fn no_session(key: &str) -> StorageError {
    StorageError::backend(
        key,
        "this request has no session: a session starts at the sign-in route",
    )
}

/// Logto for an axum app: the app's [`LogtoClient`], its session store and its base URL.
/// Cheap to clone (one reference count); keep it in the router's state or pass it along.
///
/// Build it with [`Logto::builder`] (or [`Logto::from_env`]), mount [`routes`](Logto::routes)
/// and add [`layer`](Logto::layer) so that the extractors find it.
#[derive(Clone)]
pub struct Logto {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: LogtoClient,
    no_session: Arc<LogtoClient>,
    pub(crate) store: Arc<dyn AsyncSessionStore>,
    /// The base URL without its trailing slash (`https://app.example.com`).
    pub(crate) origin: String,
    pub(crate) base_url: Url,
    pub(crate) secure: bool,
    pub(crate) after_sign_out: String,
    /// Where the routes live: `""` (at the root) or `/auth`-like.
    pub(crate) route_prefix: String,
    cookie_max_age: Option<Duration>,
    /// Seals a sign-in's pending state in its cookie.
    pub(crate) sign_in_sealer: SignInSealer,
    /// Each session's client (one reference count per request to share it).
    clients: RwLock<HashMap<SessionId, Arc<LogtoClient>>>,
    max_cached_sessions: usize,
}

impl Inner {
    /// The client of requests without a session (it reads nothing, writes nothing).
    pub(crate) fn no_session_client(&self) -> &LogtoClient {
        &self.no_session
    }
}

impl fmt::Debug for Logto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logto")
            .field("config", self.inner.client.config())
            .field("base_url", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Logto`]; see [`Logto::builder`].
#[must_use]
pub struct LogtoBuilder {
    config: LogtoConfig,
    base_url: String,
    store: Option<Arc<dyn AsyncSessionStore>>,
    client: Option<LogtoClient>,
    after_sign_out: String,
    route_prefix: String,
    cookie_max_age: Option<Duration>,
    max_cached_sessions: usize,
    sign_in_secret: Option<Vec<u8>>,
}

impl fmt::Debug for LogtoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoBuilder")
            .field("config", &self.config)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl LogtoBuilder {
    /// Where sessions live (default: a [`MemoryStore`]; a `RedisStore` with the `redis`
    /// feature, for several instances). See the crate docs for what a store must guarantee.
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
                "Redis stores need logto-axum's `redis` feature".to_owned(),
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
    ///
    /// ```no_run
    /// # fn example(config: logto_axum::LogtoConfig) -> Result<(), logto_axum::Error> {
    /// use logto_axum::Logto;
    /// use logto_axum::logto_reqwest::{reqwest, ReqwestTransport};
    ///
    /// let app_client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .expect("a TLS backend");
    /// let logto = Logto::builder(config, "https://app.example.com")
    ///     .transport(ReqwestTransport::new(app_client))
    ///     .build()?;
    /// # let _ = logto; Ok(()) }
    /// ```
    pub fn transport(mut self, transport: impl AsyncTransport) -> Self {
        let store =
            logto_store::MemoryStore::with_limits(logto_store::MemoryStoreLimits::keep_signed_in());
        let config = self.config.clone();
        self.client = Some(LogtoClient::with_transport(config, store, transport));
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
    /// [`Logto::from_env`] reads it from `LOGTO_COOKIE_SECRET`.
    ///
    /// A sign-in start writes nothing to the store, so anonymous `/sign-in` requests cost
    /// the app no memory and never evict anybody's sign-in.
    pub fn sign_in_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.sign_in_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// The [`Logto`] state. Fails when the base URL is not an http(s) origin, a path or the
    /// sign-in secret is unusable, or the client cannot be created.
    pub fn build(self) -> Result<Logto, Error> {
        let invalid = || Error::InvalidBaseUrl {
            base_url: self.base_url.clone(),
        };
        let base_url = Url::parse(&self.base_url).map_err(|_| invalid())?;
        let is_origin = matches!(base_url.scheme(), "http" | "https")
            && base_url.host().is_some()
            && base_url.path() == "/"
            && base_url.query().is_none()
            && base_url.fragment().is_none()
            && base_url.username().is_empty()
            && base_url.password().is_none();
        if !is_origin {
            return Err(invalid());
        }
        let prefix = &self.route_prefix;
        let prefix_ok = prefix.is_empty()
            || (prefix.starts_with('/')
                && !prefix.ends_with('/')
                && !prefix.contains("//")
                && Url::parse(&format!("http://h{prefix}")).is_ok_and(|u| u.path() == prefix));
        if !prefix_ok {
            return Err(Error::InvalidPath {
                path: prefix.clone(),
            });
        }
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
        let sign_in_sealer = match (&self.sign_in_secret, client.config().app_secret()) {
            (Some(secret), _) if secret.len() < MIN_SECRET_LEN => {
                return Err(Error::InvalidSignInSecret {
                    length: secret.len(),
                })
            }
            (Some(secret), _) => SignInSealer::from_secret(secret),
            (None, Some(app_secret)) => SignInSealer::from_secret(app_secret.expose().as_bytes()),
            (None, None) => SignInSealer::random().ok_or_else(|| {
                Error::Client(logto_proto::ClientError::Random(
                    "no key for sign-in cookies".into(),
                ))
            })?,
        };
        let origin = base_url.as_str().trim_end_matches('/').to_owned();
        let inner = Inner {
            sign_in_sealer,
            no_session: Arc::new(client.for_session(NoSession)),
            client,
            store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
            secure: base_url.scheme() == "https",
            origin,
            base_url,
            after_sign_out: self.after_sign_out,
            route_prefix: self.route_prefix,
            cookie_max_age: self.cookie_max_age,
            clients: RwLock::default(),
            max_cached_sessions: self.max_cached_sessions,
        };
        Ok(Logto {
            inner: Arc::new(inner),
        })
    }
}

impl Logto {
    /// A builder for an app served at `base_url` (an origin such as
    /// `https://app.example.com`). The callback is `<base_url>/callback`: register it as a
    /// redirect URI in Logto Console, and `<base_url>/` as a post sign-out redirect URI.
    pub fn builder(config: LogtoConfig, base_url: impl Into<String>) -> LogtoBuilder {
        LogtoBuilder {
            config,
            base_url: base_url.into(),
            store: None,
            client: None,
            after_sign_out: "/".to_owned(),
            route_prefix: String::new(),
            cookie_max_age: Some(Duration::from_secs(30 * 24 * 3600)),
            max_cached_sessions: DEFAULT_CACHED_SESSIONS,
            sign_in_secret: None,
        }
    }

    /// The state of an app configured by environment variables: `LOGTO_ENDPOINT`,
    /// `LOGTO_APP_ID`, `LOGTO_APP_SECRET`, `LOGTO_SCOPES` and `LOGTO_RESOURCES` (see
    /// [`LogtoConfig::from_vars`](logto_proto::Config::from_vars)), `BASE_URL`
    /// (default `http://localhost:3000`) and `LOGTO_SESSION_STORE`: unset or `memory` for
    /// a [`MemoryStore`], `redis://host:port/db` for a
    /// `RedisStore` (the `redis` feature) shared by every
    /// instance pointed at it, and `LOGTO_COOKIE_SECRET` (see
    /// [`LogtoBuilder::sign_in_secret`]). The error names the variable.
    pub fn from_env() -> Result<Logto, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let config = LogtoConfig::from_vars(var).map_err(logto_proto::ClientError::Config)?;
        let base_url = var("BASE_URL").unwrap_or_else(|| "http://localhost:3000".to_owned());
        let mut builder = Logto::builder(config, base_url);
        if let Some(secret) = var("LOGTO_COOKIE_SECRET") {
            builder = builder.sign_in_secret(secret);
        }
        match var("LOGTO_SESSION_STORE") {
            None => builder.build(),
            Some(store) => builder.store_from_url(&store)?.build(),
        }
    }

    /// `Logto::builder(config, base_url).build()` with a [`MemoryStore`].
    pub fn new(config: LogtoConfig, base_url: impl Into<String>) -> Result<Logto, Error> {
        Logto::builder(config, base_url).build()
    }

    /// The app's client (not bound to a browser session): its configuration, and a template
    /// for [`LogtoClient::for_session`].
    pub fn client(&self) -> &LogtoClient {
        &self.inner.client
    }

    /// The base URL the app is served at.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// `<base URL><prefix>/callback`.
    pub(crate) fn callback_url(&self) -> String {
        format!("{}{}/callback", self.inner.origin, self.inner.route_prefix)
    }

    pub(crate) fn cookie_name(&self) -> &'static str {
        // `__Host-`: the browser takes it only over https, for this host, path `/`.
        match self.inner.secure {
            true => "__Host-logto_session",
            false => "logto_session",
        }
    }

    /// The cookie of a sign-in under way: its pending state, sealed.
    pub(crate) fn sign_in_cookie_name(&self) -> &'static str {
        match self.inner.secure {
            true => "__Host-logto_sign_in",
            false => "logto_sign_in",
        }
    }

    pub(crate) fn return_to_cookie_name(&self) -> &'static str {
        match self.inner.secure {
            true => "__Host-logto_return_to",
            false => "logto_return_to",
        }
    }

    /// A cookie of this app: HttpOnly, SameSite=Lax, path `/`, Secure on https.
    pub(crate) fn cookie(
        &self,
        name: &'static str,
        value: String,
        max_age: Option<Duration>,
    ) -> String {
        let mut cookie = Cookie::build((name, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.inner.secure)
            .path("/");
        if let Some(max_age) = max_age {
            let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
        }
        cookie.build().to_string()
    }

    pub(crate) fn session_cookie(&self, id: &SessionId) -> String {
        self.cookie(
            self.cookie_name(),
            id.cookie_value().to_owned(),
            self.inner.cookie_max_age,
        )
    }

    /// A `Set-Cookie` value that removes cookie `name`.
    pub(crate) fn removal_cookie(&self, name: &'static str) -> String {
        self.cookie(name, String::new(), Some(Duration::ZERO))
    }

    /// The value of cookie `name` in the request, if any.
    pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value_trimmed().to_owned())
    }

    /// The session id the request's cookie names, if it is well formed.
    pub(crate) fn session_id(&self, headers: &HeaderMap) -> Option<SessionId> {
        Self::cookie_value(headers, self.cookie_name()).and_then(|v| SessionId::parse(&v))
    }

    /// The pending sign-in the request's sign-in cookie carries, if this app sealed it.
    pub(crate) fn pending_sign_in(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.sign_in_cookie_name();
        let sealed = Self::cookie_value(headers, name)?;
        self.inner.sign_in_sealer.open(name, &sealed)
    }

    /// The request's session: its client when the cookie names a stored session, otherwise
    /// a client over an empty session (not signed in, writes refused).
    pub(crate) async fn session(&self, headers: &HeaderMap) -> Result<LogtoSession, Error> {
        let Some(id) = self.session_id(headers) else {
            return Ok(self.no_session());
        };
        let cached = self.read_clients().get(&id).cloned();
        if let Some(client) = cached {
            return Ok(LogtoSession {
                client,
                id: Some(id),
            });
        }
        // Only stored sessions get a client: made-up ids must not fill the cache.
        if self.inner.store.get(id.store_key()).await?.is_none() {
            return Ok(self.no_session());
        }
        let client = Arc::new(self.client_for(&id));
        let mut clients = self.write_clients();
        if clients.len() >= self.inner.max_cached_sessions {
            // Any one will do: an evicted session only parses its snapshot again.
            if let Some(evicted) = clients.keys().next().cloned() {
                clients.remove(&evicted);
            }
        }
        let client = clients.entry(id.clone()).or_insert(client).clone();
        Ok(LogtoSession {
            client,
            id: Some(id),
        })
    }

    /// A client for session `id` (not cached).
    pub(crate) fn client_for(&self, id: &SessionId) -> LogtoClient {
        self.inner.client.for_session(SessionStorage {
            store: self.inner.store.clone(),
            id: id.clone(),
        })
    }

    pub(crate) fn no_session(&self) -> LogtoSession {
        LogtoSession {
            client: self.inner.no_session.clone(),
            id: None,
        }
    }

    /// Drops the cached client of session `id` (signed out, or renewed).
    pub(crate) fn forget(&self, id: &SessionId) {
        self.write_clients().remove(id);
    }

    fn read_clients(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SessionId, Arc<LogtoClient>>> {
        self.inner
            .clients
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_clients(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<SessionId, Arc<LogtoClient>>> {
        self.inner
            .clients
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The request's Logto session: a [`LogtoClient`] (through `Deref`) for tokens, user info
/// and the ID token of the browser session the cookie names. Without a session (no cookie,
/// or an expired one) it is a client that is not signed in.
///
/// ```no_run
/// use logto_axum::{Error, LogtoSession};
///
/// async fn api_token(session: LogtoSession) -> Result<String, Error> {
///     Ok(session.access_token("https://api.example.com").await?)
/// }
/// ```
#[derive(Clone)]
pub struct LogtoSession {
    client: Arc<LogtoClient>,
    pub(crate) id: Option<SessionId>,
}

impl LogtoSession {
    /// The session's client.
    pub fn client(&self) -> &LogtoClient {
        &self.client
    }

    /// Whether the request's cookie named a session of the store (signed in or not; it may
    /// have expired or been signed out since this process last looked).
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// The `Authorization` header for a call to `resource`'s API on the user's behalf:
    /// `Bearer <access token>`, the token as [`access_token`](LogtoClient::access_token)
    /// gives it (cached, refreshed when due), marked sensitive so that HTTP logging
    /// middleware leaves it out. Attach it to a request of the app's own HTTP client (any
    /// client on the `http` crate's types: reqwest, hyper, ...). A visitor who is not signed
    /// in gets [`ClientError::NotAuthenticated`](crate::ClientError::NotAuthenticated)
    /// (401 as a response).
    ///
    /// ```no_run
    /// use axum::http::header::AUTHORIZATION;
    /// use logto_axum::{Error, LogtoSession};
    ///
    /// async fn orders(session: LogtoSession, http: reqwest::Client) -> Result<String, Box<dyn std::error::Error>> {
    ///     let bearer = session.bearer_header("https://api.example.com").await?;
    ///     let orders = http
    ///         .get("https://api.example.com/orders")
    ///         .header(AUTHORIZATION, bearer)
    ///         .send()
    ///         .await?
    ///         .error_for_status()?
    ///         .text()
    ///         .await?;
    ///     Ok(orders)
    /// }
    /// ```
    pub async fn bearer_header(&self, resource: &str) -> Result<HeaderValue, Error> {
        let token = self.client.access_token(resource).await?;
        bearer_header_value(&token)
    }
}

/// `Bearer <token>` as a sensitive header value. A token the provider sent with characters
/// a header cannot carry is a malformed token response (the token itself stays out of the
/// error).
fn bearer_header_value(token: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
        ClientError::Protocol(logto_proto::Error::Response(ResponseError::Malformed {
            what: "token",
            reason: "the access token has characters an HTTP header cannot carry".to_owned(),
        }))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl std::ops::Deref for LogtoSession {
    type Target = LogtoClient;
    fn deref(&self) -> &LogtoClient {
        &self.client
    }
}

impl fmt::Debug for LogtoSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoSession")
            .field("exists", &self.exists())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_is_sensitive_and_refuses_what_a_header_cannot_carry() {
        let value = bearer_header_value("eyJ.abc.def").unwrap();
        assert_eq!(value, "Bearer eyJ.abc.def");
        assert!(value.is_sensitive());
        let refused = bearer_header_value("eyJ\r\nX-Injected: 1").unwrap_err();
        assert_eq!(refused.kind(), "protocol");
        assert!(!format!("{refused:?}").contains("Injected"), "{refused:?}");
    }
}
