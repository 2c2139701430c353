//! # logto-ureq
//!
//! The blocking Logto client: the [`logto_proto`] core driven by [`ureq`]. Every method is a
//! loop that asks a core operation for its next request, sends it, feeds the response back
//! with the current time and saves the session; no OpenID Connect rule lives here.
//!
//! ```no_run
//! use logto_ureq::{LogtoClient, LogtoConfig, UserScope};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
//!     .app_secret("app-secret")
//!     .scopes([UserScope::Email, UserScope::Organizations])
//!     .resources(["https://api.example.com"])
//!     .build()?;
//! let client = LogtoClient::new(config)?;
//!
//! // 1. Send the user to Logto.
//! let url = client.sign_in("https://app.example.com/callback")?;
//! # let callback_url = url;
//! // 2. Logto sends the user back to the callback with a code.
//! let claims = client.handle_sign_in_callback(&callback_url)?;
//! println!("signed in as {}", claims.sub);
//!
//! // 3. Tokens and user info, refreshed when needed.
//! let user = client.fetch_user_info()?;
//! let api_token = client.access_token("https://api.example.com")?;
//! let org_token = client.organization_token("org-id")?;
//!
//! // 4. Sign out: the end-session URL to send the user to.
//! let end_session = client.sign_out(Some("https://app.example.com/"))?;
//! # let _ = (user, api_token, org_token, end_session);
//! # Ok(())
//! # }
//! ```
//!
//! ## Protecting an API, and machines
//! [`ApiValidator`] verifies the access tokens presented to your API (signature with the
//! tenant's keys, issuer, expiry; cached until they expire) and checks what a route requires
//! ([`Requirement`]: audience, organization, scopes). `endpoint` is the tenant's URL, without
//! `/oidc`. It takes the `Authorization` header as a request brings it, or a bare token:
//!
//! ```no_run
//! use logto_ureq::{ApiValidator, Requirement};
//!
//! # fn main() -> Result<(), logto_ureq::Error> {
//! let validator = ApiValidator::new("https://tenant.logto.app")?;
//! let read_orders = Requirement::resource("https://shopping.example/api").scopes(["read"]);
//! # let token = std::env::args().nth(1).unwrap_or_default();
//! let verified = validator.authorize_token(&token, &read_orders)?; // or authorize(header, ..)
//! println!("{} may read orders", verified.claims.sub.as_deref().unwrap_or("?"));
//! # Ok(())
//! # }
//! ```
//!
//! A machine (a Logto machine-to-machine app) gets tokens for the APIs it calls with
//! [`MachineClient`], cached per target and fetched once for concurrent callers:
//!
//! ```no_run
//! use logto_ureq::{LogtoConfig, MachineClient};
//!
//! # fn main() -> Result<(), logto_ureq::Error> {
//! let config = LogtoConfig::builder("https://tenant.logto.app", "m2m-app-id")
//!     .app_secret("m2m-app-secret")
//!     .build()?;
//! let machine = MachineClient::new(config)?;
//! let token = machine.access_token("https://shopping.example/api", ["read"])?;
//! # let _ = token;
//! # Ok(())
//! # }
//! ```
//!
//! ## Sessions and storage
//! A [`LogtoClient`] holds one session in a [`Storage`] (a read and a compare-and-swap,
//! from `logto-store`): a [`MemoryStore`] of its own by default, a [`FileStore`] for a file
//! per session, `logto-redis`'s `RedisStore` for several processes, or your own. A web app keeps one client and derives one
//! per request with [`LogtoClient::for_session`]; they share the HTTP agent and the provider
//! metadata and keys.
//!
//! ## Concurrency and refresh-token rotation
//! Logto rotates refresh tokens, and presenting a consumed one revokes the whole grant. Every
//! call runs the core's session protocol ([`logto_proto::adapter::Call`]): a refresh happens
//! only under the session's refresh lease, taken with [`Storage::compare_and_swap`], so that
//! concurrent calls (threads, tasks, processes sharing one store) make one refresh and the
//! others re-read the rotated token; the rotated token is written as soon as it arrives; and
//! every write is a compare-and-swap merged with what another client wrote meanwhile (a
//! session signed out elsewhere stays signed out). This crate only performs the steps.
//! Implement `compare_and_swap` atomically for a store shared by several processes.
//!
//! ## Features
//!
//! One crypto library per build. With `aws-lc` (default), aws-lc-rs verifies signatures and
//! is the TLS provider of the SDK's own agent: no ring. With default features off and
//! `rustcrypto`, the build needs no C compiler: signatures are verified by pure-Rust crates,
//! and TLS takes the rustls `CryptoProvider` the app installs as the process default (an
//! https request without one is a `Connect` error saying so). An agent of the app's own
//! (`with_http_client`) keeps its TLS configuration, as [`UreqTransport::new`] says.
//! Without the `tracing` feature the crate logs nothing. Install any `tracing` subscriber
//! to see the events; none carries a token or secret.
//!
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod transport;

logto_driver::__transport_reexports!(storage: [Storage]);
#[cfg(feature = "loopback")]
pub use logto_driver::{BrowserSignIn, DEFAULT_BROWSER_SIGN_IN_WAIT};
#[allow(deprecated)]
pub use logto_store::{FileStorage, MemoryStorage};
pub use transport::UreqTransport;

logto_driver::__transport_facade! {
    mode: blocking,
    storage: Storage,
    http_client: ureq::Agent,
    default_client: |config| Ok::<_, Error>(UreqTransport::default_agent(config)),
    transport: |agent| UreqTransport::new(agent),
    client_docs: {
        /// A Logto client for one session, blocking, sending with ureq: the driver's
        /// [`LogtoClient`](logto_driver::blocking::LogtoClient) (every method is its own,
        /// through `Deref`) with the constructors that take a [`ureq::Agent`].
        ///
        /// Cloning gives another handle on the same session (same storage, same refresh
        /// lock), to use from several threads. [`for_session`](Self::for_session) gives a
        /// client for another session that shares the HTTP agent and the provider cache: a
        /// web app keeps one client and makes one per request around that request's session
        /// store.
    },
    machine_docs: {
        /// A machine-to-machine client (a Logto "Machine-to-machine" app: client credentials
        /// with its secret), sending with ureq: the driver's
        /// [`MachineClient`](logto_driver::blocking::MachineClient) (tokens cached per
        /// target until they near expiry, one fetch for concurrent callers,
        /// [`invalidate`](logto_driver::blocking::MachineClient::invalidate) after a 401).
        ///
        /// ```no_run
        /// use logto_ureq::{LogtoConfig, MachineClient, TokenTarget};
        /// # fn example() -> Result<(), Box<dyn std::error::Error>> {
        /// let config = LogtoConfig::builder("https://tenant.logto.app", "m2m-app-id")
        ///     .app_secret("m2m-app-secret")
        ///     .build()?;
        /// let machine = MachineClient::new(config)?;
        /// let token = machine.access_token("https://api.example.com", ["read"])?;
        /// let management = machine.token_for(&TokenTarget::management_api("tenant"))?;
        /// # let _ = (token, management);
        /// # Ok(()) }
        /// ```
    },
    validator_docs: {
        /// Protects an API, sending with ureq: the driver's
        /// [`ApiValidator`](logto_driver::blocking::ApiValidator) (bearer tokens verified
        /// with the provider's keys, verified tokens cached, each route's [`Requirement`]
        /// checked on every request).
        ///
        /// ```no_run
        /// use logto_ureq::{ApiValidator, Requirement};
        /// # fn example(authorization: Option<&str>) -> Result<(), logto_ureq::Error> {
        /// // The tenant's URL, without `/oidc`.
        /// let validator = ApiValidator::new("https://tenant.logto.app")?;
        /// let requirement = Requirement::resource("https://api.example.com").scopes(["read"]);
        /// let token = validator.authorize(authorization, &requirement)?;
        /// println!("request by {:?}", token.claims.sub);
        /// # Ok(()) }
        /// ```
    }
}
