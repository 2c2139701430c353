//! # logto-isahc
//!
//! The async Logto client: the [`logto_proto`] core driven by [`isahc`]. Every method is a
//! loop that asks a core operation for its next request, sends it, feeds the response back
//! with the current time and saves the session; no OpenID Connect rule lives here. It runs on
//! any executor (tokio, async-std, smol, `futures::executor`): isahc does its I/O on its own
//! thread.
//!
//! ```no_run
//! use logto_isahc::{LogtoClient, LogtoConfig, UserScope};
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
//! let org_token = client.organization_token("org-id").await?;
//!
//! // 4. Sign out: the end-session URL to send the user to.
//! let end_session = client.sign_out(Some("https://app.example.com/")).await?;
//! # let _ = (user, api_token, org_token, end_session);
//! # Ok(())
//! # }
//! ```
//!
//! ## Sessions and storage
//! A [`LogtoClient`] holds one session in a [`AsyncStorage`] (a read and a compare-and-swap,
//! from `logto-store`): a [`MemoryStore`] of its own by default, a [`FileStore`] for a file
//! per session, `logto-redis`'s `RedisStore` for several processes, or your own. A web app keeps one client and derives one
//! per request with [`LogtoClient::for_session`]; they share the HTTP agent and the provider
//! metadata and keys.
//!
//! ## Concurrency and refresh-token rotation
//! Logto rotates refresh tokens, and presenting a consumed one revokes the whole grant. Every
//! call runs the core's session protocol ([`logto_proto::adapter::Call`]): a refresh happens
//! only under the session's refresh lease, taken with [`AsyncStorage::compare_and_swap`], so that
//! concurrent calls (threads, tasks, processes sharing one store) make one refresh and the
//! others re-read the rotated token; the rotated token is written as soon as it arrives; and
//! every write is a compare-and-swap merged with what another client wrote meanwhile (a
//! session signed out elsewhere stays signed out). This crate only performs the steps.
//! Implement `compare_and_swap` atomically for a store shared by several processes.
//!
//! ## Features
//!
//! Signatures are verified with aws-lc-rs (`aws-lc`, default) or, with default features off,
//! pure-Rust crates (`rustcrypto`); curl itself is C either way. Without the `tracing`
//! feature the crate logs nothing. Install any `tracing` subscriber to see the
//! events; none carries a token or secret.
//!
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod transport;

logto_driver::__transport_reexports!(storage: [AsyncStorage, StorageFuture]);
#[allow(deprecated)]
pub use logto_store::{FileStorage, MemoryStorage};
pub use transport::IsahcTransport;

logto_driver::__transport_facade! {
    mode: aio,
    storage: AsyncStorage,
    http_client: isahc::HttpClient,
    default_client: |config| IsahcTransport::default_client(config).map_err(Error::Transport),
    transport: |client| IsahcTransport::new(client),
    client_docs: {
        /// A Logto client for one session, async, sending with isahc (any executor: curl
        /// runs its own I/O thread): the driver's
        /// [`LogtoClient`](logto_driver::aio::LogtoClient) (every method is its own,
        /// through `Deref`) with the constructors that take an [`isahc::HttpClient`].
        ///
        /// Cloning gives another handle on the same session (same storage, same refresh
        /// lock), to use from several tasks. [`for_session`](Self::for_session) gives a
        /// client for another session that shares the HTTP client and the provider cache: a
        /// web app keeps one client and makes one per request around that request's session
        /// store.
    },
    machine_docs: {
        /// A machine-to-machine client (a Logto "Machine-to-machine" app: client credentials
        /// with its secret), sending with isahc: the driver's
        /// [`MachineClient`](logto_driver::aio::MachineClient) (tokens cached per target
        /// until they near expiry, one fetch for concurrent callers,
        /// [`invalidate`](logto_driver::aio::MachineClient::invalidate) after a 401).
        ///
        /// ```no_run
        /// use logto_isahc::{LogtoConfig, MachineClient, TokenTarget};
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
        /// Protects an API, sending with isahc: the driver's
        /// [`ApiValidator`](logto_driver::aio::ApiValidator) (bearer tokens verified with
        /// the provider's keys, verified tokens cached, each route's [`Requirement`] checked
        /// on every request).
        ///
        /// ```no_run
        /// use logto_isahc::{ApiValidator, Requirement};
        /// # async fn example(authorization: Option<&str>) -> Result<(), logto_isahc::Error> {
        /// // The tenant's URL, without `/oidc`.
        /// let validator = ApiValidator::new("https://tenant.logto.app")?;
        /// let requirement = Requirement::resource("https://api.example.com").scopes(["read"]);
        /// let token = validator.authorize(authorization, &requirement).await?;
        /// println!("request by {:?}", token.claims.sub);
        /// # Ok(()) }
        /// ```
    }
}
