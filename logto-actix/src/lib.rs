//! # logto-actix
//!
//! [Logto](https://logto.io) sign-in for [actix-web](https://actix.rs) apps: the sign-in,
//! sign-up, callback, sign-out and back-channel logout routes, extractors for the signed-in
//! user and the session's client, API protection with the tokens Logto issues, and
//! server-side sessions whose refresh stays single-flight under concurrent requests, also
//! across instances sharing a Redis store. The rules are logto-web's, the same as
//! logto-axum's; the provider requests go through reqwest, the tokio stack actix-web runs.
//!
//! ## A complete app
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use logto_actix::{Error, Logto, LogtoConfig, LogtoSession, OptionalUser, User};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
//!         .app_secret("app-secret")
//!         .resources(["https://api.example.com"])
//!         .build()?;
//!     let logto = Logto::new(config, "http://localhost:3000")?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .configure(logto.configure()) // /sign-in, /sign-up, /callback, /sign-out
//!             .route("/", web::get().to(home))
//!             .route("/me", web::get().to(me))
//!             .route("/api-token", web::get().to(api_token))
//!     })
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//!
//! async fn home(OptionalUser(user): OptionalUser) -> HttpResponse {
//!     let body = match user {
//!         Some(user) => format!("Hello {}! <a href=\"/sign-out\">Sign out</a>", user.claims.sub),
//!         None => "<a href=\"/sign-in\">Sign in</a>".to_owned(),
//!     };
//!     HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body)
//! }
//!
//! /// Signed-in users only: a page visitor is sent to sign in, an API caller gets a 401.
//! async fn me(user: User) -> web::Json<logto_actix::IdTokenClaims> {
//!     web::Json(user.claims)
//! }
//!
//! /// An access token for the app's API (refreshed when needed, one refresh per session).
//! async fn api_token(session: LogtoSession) -> Result<String, Error> {
//!     Ok(session.access_token("https://api.example.com").await?)
//! }
//! ```
//!
//! Register `http://localhost:3000/callback` as a redirect URI and `http://localhost:3000/`
//! as a post sign-out redirect URI of the app in Logto Console.
//!
//! ## Protecting a route
//! Take [`User`]: the handler runs only for a signed-in visitor. A page visit is redirected
//! to `/sign-in?return_to=<the page>` and comes back after the sign-in; a script's call
//! (`fetch`, XHR, `Accept: application/json`) gets `401 {"error": "Not authenticated"}`.
//! Take [`ApiUser`] on API routes, which answer 401 to every signed-out request, and
//! [`OptionalUser`] on a page that serves both (not `Option<User>`: actix-web's `Option`
//! extractor turns every failure into `None`, so a store outage would look like a
//! signed-out visitor). The same goes for `Option<LogtoSession>` and `Option<ApiToken>`:
//! take the extractor itself, or `Result<ApiToken, Error>` to see why it failed.
//!
//! ## Errors
//! Handlers return `Result<_, logto_actix::Error>`: [`Error`] implements actix-web's
//! `ResponseError`, answering with [`Error::http_status`] and `{"error": "<kind>"}` (a
//! redirect for a page that needs sign-in, the RFC 6750 challenge for a refused bearer
//! token), the details going to the server log through `tracing`. It is the same type
//! as logto-axum's, with the same kinds and statuses.
//!
//! ## Sessions and stores
//! As in logto-axum: an opaque random id in an HttpOnly cookie, the tokens server-side in
//! a store with atomic compare-and-swap ([`MemoryStore`] by default; with the `redis`
//! feature, `RedisStore` for several instances, or `LOGTO_SESSION_STORE=redis://...` with
//! [`Logto::from_env`]). A sign-in start writes nothing to the store; a callback moves the
//! browser to a fresh session id; back-channel logout ends the sessions on every instance
//! that shares the store.
//!
//! ## Protecting an API
//! [`LogtoApi`] verifies the bearer tokens Logto issues for one API resource; add it as
//! app data, and take [`ApiToken`] (any token for the API) or [`OrganizationToken`] (an
//! organization token for the organization the path names) in the handlers, with
//! `require_scopes` per route.
//!
//! ## Features
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod extract;
mod logto;
mod routes;
mod session;

pub use api::{ApiToken, LogtoApi, OrganizationToken};
pub use extract::OptionalUser;
logto_web::__framework_reexports!();
pub use logto::{Logto, LogtoBuilder};
pub use session::{ApiUser, LogtoSession, User};
