//! # logto-reqwest
//!
//! The async Logto client on tokio: the Logto driver (`logto-driver`) sending with
//! [`reqwest`], the HTTP client most tokio apps already have. Every method runs the core's
//! session protocol; no OpenID Connect rule lives here. Pick it for a tokio app that is not
//! on axum (`logto-axum` uses it by default), or to hand the SDK the `reqwest::Client` the
//! app already configured (proxy, private CA, timeouts).
//!
//! ```no_run
//! use logto_reqwest::{LogtoClient, LogtoConfig, UserScope};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
//!     .app_secret("app-secret")
//!     .scopes([UserScope::Email, UserScope::Organizations])
//!     .resources(["https://api.example.com"])
//!     .build()?;
//! let client = LogtoClient::new(config)?;
//!
//! // 1. Send the user to Logto.
//! let url = client.sign_in("https://app.example.com/callback").await?;
//! # let callback_url = url;
//! // 2. Logto sends the user back to the callback with a code.
//! let claims = client.handle_sign_in_callback(&callback_url).await?;
//! println!("signed in as {}", claims.sub);
//!
//! // 3. Tokens and user info, refreshed when needed.
//! let user = client.fetch_user_info().await?;
//! let api_token = client.access_token("https://api.example.com").await?;
//!
//! // 4. Sign out: the end-session URL to send the user to.
//! let end_session = client.sign_out(Some("https://app.example.com/")).await?;
//! # let _ = (user, api_token, end_session);
//! # Ok(())
//! # }
//! ```
//!
//! ## The app's own client
//! [`LogtoClient::with_http_client`] takes a `reqwest::Client`; build it with
//! `.redirect(reqwest::redirect::Policy::none())` and the connect timeout you want (reqwest
//! sets both per client, not per request), or hand [`ReqwestTransport::from_builder`] the
//! builder and it sets both. A client that follows redirects anyway never replays a request
//! body (its secrets go to the token endpoint only), and an answer that a followed redirect
//! produced is refused. The config's request timeout and the body limit apply to every
//! request whatever the client says.
//!
//! ## Why reqwest, and which one
//! reqwest is the tokio HTTP client of most Rust services: an axum or actix-web app
//! already builds it (hyper, hyper-util, rustls), so the SDK adds no second HTTP or TLS
//! stack and no C HTTP library; its TLS is rustls on aws-lc-rs, the crypto library the SDK
//! already verifies signatures with (`aws-lc`, default). With default features off and
//! `rustcrypto`, nothing needs a C compiler: signatures are verified by pure-Rust crates
//! and TLS takes the rustls `CryptoProvider` the app installs as the process default
//! before the first client is built (building one without it is a `Connect` error saying
//! so). A bare hyper-util client would save one crate and cost every user the connection
//! pool, proxy and TLS set-up reqwest gives.
//!
//! This crate takes **reqwest 0.13** (re-exported as [`reqwest`]). reqwest's types appear
//! only in this crate's constructors (`with_http_client`, [`ReqwestTransport::new`],
//! [`ReqwestTransport::from_builder`], [`ReqwestTransport::default_client`]) and that
//! re-export: a reqwest release that
//! breaks its API gets a new major version of this crate, while `logto-axum` and the
//! driver take any [`AsyncTransport`](logto_driver::aio::AsyncTransport) and never name
//! reqwest, so they do not strand an app on an old reqwest.
//!
//! ## Sessions, storage and concurrency
//! As in the other clients: a [`LogtoClient`] holds one session in an [`AsyncStorage`]
//! ([`MemoryStore`] by default, [`FileStore`], `logto-redis`'s `RedisStore`, or your own);
//! refreshes are single-flight per session across tasks and processes that share a store.
//!
//! ## Features
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod transport;

logto_driver::__transport_reexports!(storage: [AsyncStorage, StorageFuture]);
pub use reqwest;
pub use transport::ReqwestTransport;

logto_driver::__transport_facade! {
    mode: aio,
    storage: AsyncStorage,
    http_client: reqwest::Client,
    default_client: |config| ReqwestTransport::default_client(config).map_err(Error::Transport),
    transport: |client| ReqwestTransport::new(client),
    client_docs: {
        /// A Logto client for one session, async on tokio, sending with reqwest: the
        /// driver's [`LogtoClient`](logto_driver::aio::LogtoClient) (every method is its
        /// own, through `Deref`) with the constructors that take a [`reqwest::Client`].
        ///
        /// Cloning gives another handle on the same session (same storage, same refresh
        /// lock), to use from several tasks. [`for_session`](Self::for_session) gives a
        /// client for another session that shares the HTTP client and the provider cache: a
        /// web app keeps one client and makes one per request around that request's session
        /// store.
    },
    machine_docs: {
        /// A machine-to-machine client (a Logto "Machine-to-machine" app: client credentials
        /// with its secret), sending with reqwest: the driver's
        /// [`MachineClient`](logto_driver::aio::MachineClient) (tokens cached per target
        /// until they near expiry, one fetch for concurrent callers,
        /// [`invalidate`](logto_driver::aio::MachineClient::invalidate) after a 401).
        ///
        /// ```no_run
        /// use logto_reqwest::{LogtoConfig, MachineClient, TokenTarget};
        /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
        /// let config = LogtoConfig::builder("https://tenant.logto.app", "m2m-app-id")
        ///     .app_secret("m2m-app-secret")
        ///     .build()?;
        /// let machine = MachineClient::new(config)?;
        /// let token = machine.access_token("https://api.example.com", ["read"]).await?;
        /// let management = machine.token_for(&TokenTarget::management_api("tenant")).await?;
        /// # let _ = (token, management);
        /// # Ok(()) }
        /// ```
    },
    validator_docs: {
        /// Protects an API, sending with reqwest: the driver's
        /// [`ApiValidator`](logto_driver::aio::ApiValidator) (bearer tokens verified with
        /// the provider's keys, verified tokens cached, each route's [`Requirement`] checked
        /// on every request).
        ///
        /// ```no_run
        /// use logto_reqwest::{ApiValidator, Requirement};
        /// # async fn example(authorization: Option<&str>) -> Result<(), logto_reqwest::Error> {
        /// // The tenant's URL, without `/oidc`.
        /// let validator = ApiValidator::new("https://tenant.logto.app")?;
        /// let requirement = Requirement::resource("https://api.example.com").scopes(["read"]);
        /// let token = validator.authorize(authorization, &requirement).await?;
        /// println!("request by {:?}", token.claims.sub);
        /// # Ok(()) }
        /// ```
    }
}
