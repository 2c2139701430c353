//! The Logto state of an axum app: the client, the session store and the base URL, built
//! once and shared by the routes and the extractors.

use crate::Error;
use logto_driver::aio::LogtoClient;

logto_web::__framework_state! {
    /// Logto for an axum app: the app's [`LogtoClient`](crate::LogtoClient), its session store and
    /// its base URL (the framework-neutral [`LogtoWeb`](crate::LogtoWeb), which it dereferences
    /// to), and the routes. Cheap to clone (one reference count); keep it in the router's state or
    /// pass it along.
    ///
    /// Build it with [`Logto::builder`](crate::Logto::builder) (or
    /// [`Logto::from_env`](crate::Logto::from_env)), mount [`routes`](Logto::routes) and add
    /// [`layer`](Logto::layer) so that the extractors find it.
    pub struct Logto;
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
    pub fn builder;
}

impl Logto {
    // Kept as methods of their own (not only through `Deref`), so that paths such as
    // `Logto::client` of earlier versions still name them.

    /// The app's client (not bound to a browser session); see
    /// [`LogtoWeb::client`](crate::LogtoWeb::client).
    pub fn client(&self) -> &LogtoClient {
        self.web.client()
    }

    /// The base URL the app is served at.
    pub fn base_url(&self) -> &url::Url {
        self.web.base_url()
    }

    /// Handles a back-channel logout request from its form body; see
    /// [`LogtoWeb::handle_backchannel_logout`](crate::LogtoWeb::handle_backchannel_logout).
    pub async fn handle_backchannel_logout(&self, form_body: &[u8]) -> Result<usize, Error> {
        self.web.handle_backchannel_logout(form_body).await
    }
}
