//! The Logto state of an axum app, and the request's session.

use crate::Error;
use axum::http::HeaderValue;
use logto_driver::aio::LogtoClient;
use logto_proto::Config as LogtoConfig;
use logto_web::{LogtoWeb, WebBuilder, WebSession};
use std::fmt;

/// Logto for an axum app: the app's [`LogtoClient`], its session store and its base URL
/// (the framework-neutral [`LogtoWeb`], which it dereferences to), and the routes. Cheap to
/// clone (one reference count); keep it in the router's state or pass it along.
///
/// Build it with [`Logto::builder`] (or [`Logto::from_env`]), mount [`routes`](Logto::routes)
/// and add [`layer`](Logto::layer) so that the extractors find it.
#[derive(Clone)]
pub struct Logto {
    web: LogtoWeb,
}

impl fmt::Debug for Logto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.web, f)
    }
}

/// Builds a [`Logto`]; see [`Logto::builder`] and [`WebBuilder`]'s methods.
pub type LogtoBuilder = WebBuilder<Logto>;

impl From<LogtoWeb> for Logto {
    fn from(web: LogtoWeb) -> Logto {
        Logto { web }
    }
}

impl std::ops::Deref for Logto {
    type Target = LogtoWeb;
    fn deref(&self) -> &LogtoWeb {
        &self.web
    }
}

impl Logto {
    /// A builder for an app served at `base_url` (an origin such as
    /// `https://app.example.com`). The callback is `<base_url>/callback`: register it as a
    /// redirect URI in Logto Console, and `<base_url>/` as a post sign-out redirect URI.
    ///
    /// ```no_run
    /// # fn example(config: logto_axum::LogtoConfig) -> Result<(), logto_axum::Error> {
    /// use logto_axum::Logto;
    /// use logto_axum::logto_reqwest::{reqwest, ReqwestTransport};
    ///
    /// // The app's own HTTP client (proxy, private CA, timeouts) for the provider requests.
    /// let app_client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .expect("a TLS backend");
    /// let logto = Logto::builder(config, "https://app.example.com")
    ///     .transport(ReqwestTransport::new(app_client))
    ///     .build()?;
    /// # let _ = logto; Ok(()) }
    /// ```
    pub fn builder(config: LogtoConfig, base_url: impl Into<String>) -> LogtoBuilder {
        WebBuilder::new(config, base_url)
    }

    /// The state of an app configured by environment variables (see
    /// [`WebBuilder::from_env`]: `LOGTO_ENDPOINT`, `LOGTO_APP_ID`, `LOGTO_APP_SECRET`,
    /// `BASE_URL`, `LOGTO_SESSION_STORE`, `LOGTO_COOKIE_SECRET`, ...). The error names the
    /// variable.
    pub fn from_env() -> Result<Logto, Error> {
        LogtoBuilder::from_env()?.build()
    }

    /// `Logto::builder(config, base_url).build()` with a [`MemoryStore`](crate::MemoryStore).
    pub fn new(config: LogtoConfig, base_url: impl Into<String>) -> Result<Logto, Error> {
        Logto::builder(config, base_url).build()
    }

    // Kept as methods of their own (not only through `Deref`), so that paths such as
    // `Logto::client` of earlier versions still name them.

    /// The app's client (not bound to a browser session); see [`LogtoWeb::client`].
    pub fn client(&self) -> &LogtoClient {
        self.web.client()
    }

    /// The base URL the app is served at.
    pub fn base_url(&self) -> &url::Url {
        self.web.base_url()
    }

    /// Handles a back-channel logout request from its form body; see
    /// [`LogtoWeb::handle_backchannel_logout`].
    pub async fn handle_backchannel_logout(&self, form_body: &[u8]) -> Result<usize, Error> {
        self.web.handle_backchannel_logout(form_body).await
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
pub struct LogtoSession(pub(crate) WebSession);

impl LogtoSession {
    /// The session's client.
    pub fn client(&self) -> &LogtoClient {
        self.0.client()
    }

    /// Whether the request's cookie named a session of the store (signed in or not; it may
    /// have expired or been signed out since this process last looked).
    pub fn exists(&self) -> bool {
        self.0.exists()
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
        self.0.bearer_header(resource, sensitive_header).await
    }
}

/// `value` as a header value marked sensitive, if a header can carry it.
fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl std::ops::Deref for LogtoSession {
    type Target = LogtoClient;
    fn deref(&self) -> &LogtoClient {
        self.0.client()
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
    use super::sensitive_header;

    #[test]
    fn a_bearer_header_is_sensitive_and_refuses_what_a_header_cannot_carry() {
        let value = sensitive_header("Bearer eyJ.abc.def").unwrap();
        assert_eq!(value, "Bearer eyJ.abc.def");
        assert!(value.is_sensitive());
        assert!(sensitive_header("Bearer eyJ\r\nX-Injected: 1").is_none());
    }
}
