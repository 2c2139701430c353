//! A web app's Logto state: its client, its session store, its base URL and routes, and
//! each browser session's client, found by the session cookie.

use crate::session::{SessionId, SessionStorage, WebSession};
use crate::sign_in_cookie::SignInSealer;
use crate::{Error, RequestHeaders, WebBuilder};
use cookie::{Cookie, SameSite};
use logto_driver::aio::LogtoClient;
use logto_proto::cut_untrusted;
use logto_store::AsyncSessionStore;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use url::Url;

/// The longest `return_to` path taken.
const MAX_RETURN_TO_LEN: usize = 2048;

/// Logto for a web app, whatever its framework: the app's [`LogtoClient`], its session
/// store, its base URL and the paths of its routes, and the web rules over them
/// ([`handle`](Self::handle) for the routes, [`session`](Self::session) and
/// [`signed_in`](Self::signed_in) for the extractors). Cheap to clone (one reference
/// count). logto-axum's and logto-actix's `Logto` wrap it and dereference to it.
#[derive(Clone)]
pub struct LogtoWeb {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: LogtoClient,
    /// The client of requests without a session (it reads nothing, writes nothing).
    pub(crate) no_session: Arc<LogtoClient>,
    pub(crate) store: Arc<dyn AsyncSessionStore>,
    /// The base URL without its trailing slash (`https://app.example.com`).
    pub(crate) origin: String,
    pub(crate) base_url: Url,
    pub(crate) secure: bool,
    pub(crate) after_sign_out: String,
    /// Where the routes live: `""` (at the root) or `/auth`-like.
    pub(crate) route_prefix: String,
    pub(crate) cookie_max_age: Option<Duration>,
    /// Seals a sign-in's pending state in its cookie.
    pub(crate) sign_in_sealer: SignInSealer,
    /// Each session's client (one reference count per request to share it).
    pub(crate) clients: RwLock<HashMap<SessionId, Arc<LogtoClient>>>,
    pub(crate) max_cached_sessions: usize,
}

impl fmt::Debug for LogtoWeb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logto")
            .field("config", self.inner.client.config())
            .field("base_url", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

impl LogtoWeb {
    pub(crate) fn from_inner(inner: Inner) -> LogtoWeb {
        LogtoWeb {
            inner: Arc::new(inner),
        }
    }

    /// A builder of the state itself, for an adapter of another framework.
    pub fn builder(
        config: logto_proto::Config,
        base_url: impl Into<String>,
    ) -> WebBuilder<LogtoWeb> {
        WebBuilder::new(config, base_url)
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

    /// The prefix of the routes: `""` (at the root) or `/auth`-like.
    pub fn route_prefix(&self) -> &str {
        &self.inner.route_prefix
    }

    /// `<base URL><prefix>/callback`.
    pub(crate) fn callback_url(&self) -> String {
        format!("{}{}/callback", self.inner.origin, self.inner.route_prefix)
    }

    /// The app's origin (`https://app.example.com`, no trailing slash).
    pub(crate) fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The session cookie's name. `__Host-`: the browser takes it only over https, for
    /// this host, path `/`.
    pub(crate) fn cookie_name(&self) -> &'static str {
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

    /// The cookie of the path a sign-in under way returns to.
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

    /// The session id the request's cookie names, if it is well formed.
    pub(crate) fn session_id(&self, headers: &RequestHeaders<'_>) -> Option<SessionId> {
        headers
            .cookie(self.cookie_name())
            .and_then(|v| SessionId::parse(&v))
    }

    /// The pending sign-in the request's sign-in cookie carries, if this app sealed it.
    pub(crate) fn pending_sign_in(&self, headers: &RequestHeaders<'_>) -> Option<String> {
        let name = self.sign_in_cookie_name();
        let sealed = headers.cookie(name)?;
        self.inner.sign_in_sealer.open(name, &sealed)
    }

    /// The request's session: its client when the cookie names a stored session, otherwise
    /// a client over an empty session (not signed in, writes refused).
    pub async fn session(&self, headers: &RequestHeaders<'_>) -> Result<WebSession, Error> {
        let Some(id) = self.session_id(headers) else {
            return Ok(self.no_session());
        };
        let cached = self.read_clients().get(&id).cloned();
        if let Some(client) = cached {
            return Ok(WebSession::new(client, Some(id)));
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
        Ok(WebSession::new(client, Some(id)))
    }

    /// A client for session `id` (not cached).
    pub(crate) fn client_for(&self, id: &SessionId) -> LogtoClient {
        self.inner.client.for_session(SessionStorage {
            store: self.inner.store.clone(),
            id: id.clone(),
        })
    }

    pub(crate) fn no_session(&self) -> WebSession {
        WebSession::new(self.inner.no_session.clone(), None)
    }

    /// The client of requests without a session (it reads nothing, writes nothing).
    pub(crate) fn no_session_client(&self) -> &LogtoClient {
        &self.inner.no_session
    }

    /// Drops the cached client of session `id` (signed out, or renewed).
    pub(crate) fn forget(&self, id: &SessionId) {
        self.write_clients().remove(id);
    }

    fn read_clients(&self) -> RwLockReadGuard<'_, HashMap<SessionId, Arc<LogtoClient>>> {
        self.inner
            .clients
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_clients(&self) -> RwLockWriteGuard<'_, HashMap<SessionId, Arc<LogtoClient>>> {
        self.inner
            .clients
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `return_to` as a path of this app, or the error refusing it.
    pub fn same_origin_path(&self, return_to: &str) -> Result<String, Error> {
        let rejected = || Error::ReturnToRejected {
            return_to: cut_untrusted(return_to),
        };
        // A path, not `//host` or `/\host` (which browsers read as another host).
        let path_like = return_to.starts_with('/')
            && !return_to.starts_with("//")
            && !return_to.contains('\\')
            && !return_to.chars().any(char::is_control)
            && return_to.len() <= MAX_RETURN_TO_LEN;
        if !path_like {
            return Err(rejected());
        }
        let base = &self.inner.base_url;
        let url = base.join(return_to).map_err(|_| rejected())?;
        if url.origin() != base.origin() {
            return Err(rejected());
        }
        // Checked again once normalised: `/.//host` becomes `//host`.
        let path = &url[url::Position::BeforePath..];
        if path.starts_with("//") || path.contains('\\') {
            return Err(rejected());
        }
        Ok(path.to_owned())
    }

    /// Refuses a request another site made the browser send (`Sec-Fetch-Site:
    /// cross-site` or `same-site`, or an `Origin` that is not this app's).
    pub fn refuse_cross_site(&self, headers: &RequestHeaders<'_>) -> Result<(), Error> {
        let fetch_site = headers.fetch_site();
        let origin = headers.origin();
        // `same-site` is a sibling subdomain: another app, as far as this one knows.
        let cross_site = matches!(fetch_site, Some("cross-site" | "same-site"))
            || origin.is_some_and(|origin| origin != self.inner.origin);
        match cross_site {
            false => Ok(()),
            true => Err(Error::CrossSiteRequest {
                origin: origin.map(cut_untrusted),
                fetch_site: fetch_site.map(cut_untrusted),
                expected_origin: self.inner.origin.clone(),
            }),
        }
    }
}
