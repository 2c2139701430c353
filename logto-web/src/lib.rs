//! # logto-web
//!
//! [Logto](https://logto.io) sign-in for web apps, framework-neutral: the rules of
//! logto-axum and logto-actix, written once over plain values. An adapter for a framework
//! turns its request into a [`WebRequest`] (method, path and query, the [`RequestHeaders`]
//! the rules read, the body), calls [`LogtoWeb::handle`] for one of the [`Route`]s, and
//! sends the [`Answer`] (status, `Location`, `Set-Cookie` values, body) as it is. Its
//! extractors ask [`LogtoWeb::session`] for the request's [`WebSession`],
//! [`LogtoWeb::signed_in`] and [`LogtoWeb::require_signed_in`] for the user (with the
//! [`Guard`] that says what anyone else gets), and [`ApiProtection`] for bearer tokens. Every failure is an [`Error`], whose
//! [`answer`](Error::answer) is the same whatever the framework.
//!
//! In scope: the sign-in flow with its own sealed pending state and the move to a fresh
//! session id, `return_to` checks, cookies, server-side sessions in any
//! [`AsyncSessionStore`] and the cache of their clients, sign-out with its cross-site
//! refusal, back-channel logout, telling page visits from script calls, the RFC 6750
//! answers. Out of scope: routing, reading bodies, a framework's request and response
//! types (the adapters' part). The session protocol itself (refresh, leases,
//! compare-and-swap writes) is the core's (`logto-proto`), driven by `logto-driver`.
//!
//! An adapter reads only the headers through [`RequestHeaders`] and the route's path
//! parameter; every decision is the rules'.
//!
//! Apps use [logto-axum](https://docs.rs/logto-axum) or
//! [logto-actix](https://docs.rs/logto-actix); this crate is for an adapter of another
//! framework.
//!
//! ```no_run
//! use logto_web::{LogtoWeb, RequestHeaders, Route, WebRequest};
//!
//! # async fn serve(config: logto_proto::Config) -> Result<(), logto_web::Error> {
//! let logto: LogtoWeb = LogtoWeb::builder(config, "https://app.example.com").build()?;
//! // A request the framework routed to `/sign-in`:
//! let request = WebRequest {
//!     method: "GET",
//!     path_and_query: "/sign-in?return_to=/orders",
//!     headers: RequestHeaders::from_pairs([("accept", &b"text/html"[..])]),
//!     body: &[],
//! };
//! let answer = logto.handle(Route::SignIn, &request).await;
//! assert_eq!(answer.status, 303); // to Logto, with the sealed sign-in cookie
//! # Ok(()) }
//! ```
//!
//! ## Features
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// An event through `tracing` with the `tracing` feature; nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "tracing")]
        ::tracing::$level!($($arg)+);
    }};
}

/// The items logto-axum and logto-actix both re-export, listed once so that neither can
/// lack one the other has. Expanded at a framework crate's root (which depends on
/// `logto-driver`, `logto-proto`, `logto-store` and `logto-web`, and has the `redis` and
/// `reqwest` features).
#[doc(hidden)]
#[macro_export]
macro_rules! __framework_reexports {
    () => {
        pub use logto_driver::aio::{ApiValidator, AsyncTransport, LogtoClient};
        pub use logto_proto::errors::AccessTokenError;
        pub use logto_proto::resource::{Requirement, VerifiedAccessToken};
        pub use logto_proto::{self as proto, ClientError, Config as LogtoConfig};
        pub use logto_proto::{IdTokenClaims, UserInfo};
        #[cfg(feature = "redis")]
        pub use logto_redis::{self, RedisStore};
        #[cfg(feature = "reqwest")]
        pub use logto_reqwest;
        pub use logto_store::{
            self, AsyncSessionStore, AsyncStorage, Expected, MemoryStore, MemoryStoreLimits,
            StorageFuture, StoreClock,
        };
        pub use logto_web::{self, Error, LogtoWeb, WebBuilder};
    };
}

#[cfg(feature = "actix")]
mod actix;
mod answer;
mod api;
#[cfg(feature = "axum")]
mod axum;
mod builder;
mod error;
mod framework_types;
mod request;
mod routes;
mod session;
mod sign_in_cookie;
mod transport;
mod visit;
mod web;

pub use answer::Answer;
pub use api::{require_scopes, ApiProtection, OrganizationParam};
pub use builder::WebBuilder;
pub use error::Error;
pub use logto_proto::{self as proto, ClientError, Config as LogtoConfig};
pub use logto_store::AsyncSessionStore;
pub use request::{RequestHeaders, WebRequest};
pub use routes::{Route, BACKCHANNEL_LOGOUT_BODY_LIMIT};
pub use session::WebSession;
pub use visit::{is_page_visit, Guard, SignedIn};
pub use web::LogtoWeb;

/// What the framework macros name, reachable from the crates that expand them.
#[doc(hidden)]
pub mod __private {
    pub use logto_driver::aio::{ApiValidator, LogtoClient};
    pub use logto_proto::resource::{Requirement, VerifiedAccessToken};
    pub use logto_proto::IdTokenClaims;
}

#[cfg(test)]
mod tests;
