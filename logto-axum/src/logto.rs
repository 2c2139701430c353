//! The Logto state of an axum app: the client, the session store and the base URL, built
//! once and shared by the routes and the extractors.

use crate::Error;
use logto_driver::aio::LogtoClient;
use logto_proto::Config as LogtoConfig;
use logto_web::{LogtoWeb, WebBuilder};
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
