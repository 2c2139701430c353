//! # logto-axum
//!
//! [Logto](https://logto.io) sign-in for [axum] apps: the sign-in, sign-up, callback and
//! sign-out routes, extractors for the signed-in user and the session's client, and
//! server-side sessions whose refresh stays single-flight under concurrent requests. Built
//! on the async driver of `logto-driver` (the session protocol of the `logto-proto` core),
//! sending with reqwest: the hyper and rustls stack an axum app already runs, so it builds
//! no C HTTP library and runs no second HTTP stack. [`LogtoBuilder::transport`] takes the
//! app's own client (`logto_reqwest::ReqwestTransport::new(app_client)`) or any
//! [`AsyncTransport`].
//!
//! ## A complete app
//!
//! ```no_run
//! use axum::{response::Html, routing::get, Json, Router};
//! use logto_axum::{Error, IdTokenClaims, Logto, LogtoConfig, LogtoSession, User};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The SDK's error details go to `tracing` (a response only names the error's kind).
//!     tracing_subscriber::fmt().init();
//!     let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
//!         .app_secret("app-secret")
//!         .resources(["https://api.example.com"])
//!         .build()?;
//!     let logto = Logto::new(config, "http://localhost:3000")?;
//!     let app = Router::new()
//!         .route("/", get(home))
//!         .route("/me", get(me))
//!         .route("/api-token", get(api_token))
//!         .merge(logto.routes()) // /sign-in, /sign-up, /callback, /sign-out
//!         .layer(logto.layer());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//!
//! async fn home(user: Option<User>) -> Html<String> {
//!     match user {
//!         // `name` (the display name) comes with the `profile` scope, one of the defaults.
//!         // The user edits it: escape it for HTML.
//!         Some(user) => Html(format!(
//!             "Hello {}! <a href=\"/sign-out\">Sign out</a>",
//!             escape_html(user.claims.name.as_deref().unwrap_or("there"))
//!         )),
//!         None => Html("<a href=\"/sign-in\">Sign in</a>".to_owned()),
//!     }
//! }
//!
//! fn escape_html(text: &str) -> String {
//!     text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
//! }
//!
//! /// Signed-in users only: a page visitor is sent to sign in, an API caller gets a 401.
//! async fn me(user: User) -> Json<IdTokenClaims> {
//!     Json(user.claims)
//! }
//!
//! /// An access token for the app's API (refreshed when needed, one refresh per session).
//! async fn api_token(session: LogtoSession) -> Result<String, Error> {
//!     Ok(session.access_token("https://api.example.com").await?)
//! }
//! ```
//!
//! With `axum = "0.8"`, `tokio = { version = "1", features = ["macros", "rt-multi-thread"] }`
//! and `tracing-subscriber = "0.3"` beside `logto-axum` in `Cargo.toml`. To call the API
//! with the token, attach [`LogtoSession::bearer_header`] to the app's own client's request
//! (the workspace README's `/orders` example).
//!
//! Register `http://localhost:3000/callback` as a redirect URI and `http://localhost:3000/`
//! as a post sign-out redirect URI of the app in Logto Console.
//!
//! ## Protecting a route
//! Take [`User`] as an argument: the handler runs only for a signed-in visitor. A page
//! visit (a browser's navigation, or a plain GET such as curl's) redirects the others to
//! `/sign-in?return_to=<the page>` and comes back after the sign-in; a script's call
//! (`fetch`, XHR, `Accept: application/json`) gets `401 {"error": "Not authenticated"}`.
//! Take [`ApiUser`] on API routes, which answer 401 to every signed-out request, and
//! `Option<User>` on a page that serves both kinds of visitor. To guard a whole router,
//! use a `route_layer` with `axum::middleware::from_extractor::<User>()`.
//!
//! ## Tokens and user info
//! [`LogtoSession`] (or `user.session`) is the session's [`LogtoClient`]:
//! `access_token(resource)`, `organization_token(id)`, `fetch_user_info()`, and the rest
//! of the client API. Tokens are cached in the session and refreshed when they expire;
//! concurrent requests of one browser make a single refresh, also across app instances
//! sharing a store. Handlers return `Result<_, logto_axum::Error>`: an error answers with
//! the status of [`Error::http_status`] and `{"error": "<kind>"}`, and the details go to
//! the server log through `tracing`.
//!
//! ## The SDK's errors in your app's error type
//! A session call (through [`LogtoSession`]) fails with a [`ClientError`]; the routes and
//! extractors with an [`Error`], which wraps a `ClientError` as [`Error::Client`] and
//! converts from one. An app with an error type of its own converts from both, and answers
//! the SDK's cases as this crate does:
//!
//! ```
//! use axum::http::StatusCode;
//! use axum::response::{IntoResponse, Response};
//! use logto_axum::{ClientError, LogtoSession};
//!
//! /// The app's error: the SDK's, or its own.
//! enum AppError {
//!     Logto(logto_axum::Error),
//!     Orders(String),
//! }
//!
//! impl From<ClientError> for AppError {
//!     fn from(e: ClientError) -> Self {
//!         AppError::Logto(e.into())
//!     }
//! }
//!
//! impl From<logto_axum::Error> for AppError {
//!     fn from(e: logto_axum::Error) -> Self {
//!         AppError::Logto(e)
//!     }
//! }
//!
//! impl IntoResponse for AppError {
//!     fn into_response(self) -> Response {
//!         match self {
//!             // 401 to sign in again, 502/504 when the provider failed, 503 for the store...
//!             AppError::Logto(e) => e.into_response(),
//!             AppError::Orders(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
//!         }
//!     }
//! }
//!
//! async fn orders(session: LogtoSession) -> Result<String, AppError> {
//!     let token = session.access_token("https://shopping.example/api").await?;
//!     // ... call the API with `Authorization: Bearer {token}` ...
//!     # let _ = token;
//!     Err(AppError::Orders("the orders API is not written yet".into()))
//! }
//! # let _ = orders;
//! ```
//!
//! ## Sessions
//! The browser holds an opaque random id: the `logto_session` cookie (HttpOnly,
//! SameSite=Lax, path `/`; on https `Secure` and named `__Host-logto_session`), and while a
//! sign-in is under way a `logto_sign_in` cookie holding that sign-in's pending state
//! (state, PKCE verifier, nonce), sealed with AES-256-GCM under a key derived from the app
//! secret or [`LogtoBuilder::sign_in_secret`]: starting a sign-in writes nothing to the
//! store, so anonymous `/sign-in` requests cost memory nowhere and evict nobody. The
//! signed-in session is replaced only when a callback succeeds, under an id nobody saw
//! before (the callback stores the pending sign-in there before any token), so a planted
//! or leaked sign-in cookie is worthless, a link to `/sign-in` from another site signs
//! nobody out, and a failed callback keeps the session. The Logto snapshot (ID, access and refresh tokens)
//! stays server-side, in the store, under a SHA-256 digest of the id (the store never sees
//! a cookie's value). Apps that use tower-sessions for their own data can keep it: the
//! Logto snapshot does not live in its per-request copy.
//!
//! The default store, [`MemoryStore`], lives in the process (idle and absolute expiry, a
//! periodic sweep, a cap on sessions that never signed in). Any [`AsyncSessionStore`] (the
//! contract of `logto-store`) can replace it ([`LogtoBuilder::store`]); its keys are `logto:`
//! and a digest of a session id. What a store must guarantee:
//! - **compare-and-swap is atomic** (`compare_and_swap` writes only if the stored value is
//!   the one expected, in one step): the refresh lease and every write of the session
//!   protocol rely on it, and without it two requests can present one refresh token, which
//!   makes Logto revoke the grant;
//! - **integrity and confidentiality**: what it returns is trusted (the tokens were
//!   verified before they were stored), so keep it server-side;
//! - **a written value stays** until the next write or its expiry: a store that drops a
//!   write loses the rotated refresh token;
//! - **back-channel logout**: it lists each signed-in session under its
//!   [`logout_index_keys`](logto_proto::adapter::logout_index_keys) (from the ID
//!   token's `sid` and `sub`) in the same step as the write, deletes the sessions listed
//!   under a target's [`index_keys`](logto_proto::resource::LogoutTarget::index_keys) on
//!   [`AsyncSessionStore::end_sessions`], and records logout-token ids once, in the same
//!   step ([`AsyncSessionStore::end_sessions_once`]).
//!
//! ## Several instances: Redis
//! Behind a load balancer, every instance must see the same sessions. With the `redis`
//! feature (off by default: `features = ["redis"]`), `RedisStore` keeps them in Redis:
//! compare-and-swap runs as one script on the server, every key has a TTL, and the logout
//! index lives there too, so a refresh stays single-flight across instances and a sign-out
//! anywhere ends the session everywhere.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn app(config: logto_axum::LogtoConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use logto_axum::{Logto, RedisStore};
//! let store = RedisStore::open("redis://127.0.0.1:6379/0")?;
//! let logto = Logto::builder(config, "https://app.example.com").store(store).build()?;
//! # Ok(()) }
//! ```
//!
//! [`Logto::from_env`] picks it from `LOGTO_SESSION_STORE=redis://host:port/db`. While Redis
//! cannot be reached, session requests fail with 503 (`storage_unavailable`); nothing stored
//! is lost.
//!
//! ## Back-channel logout
//! [`routes`](Logto::routes) serves `POST /backchannel-logout`: register
//! `<base URL>/backchannel-logout` as the app's back-channel logout URI in Logto Console (and
//! turn on "session required", so that the logout token names the provider session). When
//! the user signs out at Logto (from any app, or an admin ends the session), Logto POSTs a
//! logout token there; the route verifies it (signature with the provider's keys, issuer,
//! audience, age, event, no nonce, never the same `jti` twice) and deletes every session of
//! that provider session, and the user's sessions whose ID token named no session (or
//! every session of the user, when the token names no session), from the store, on every
//! instance that shares it. It answers 200, or 400 with an OAuth error body, and
//! `Cache-Control: no-store`, as the spec says.
//!
//! ## Features
//!
//! Signatures are verified with aws-lc-rs, which is also reqwest's TLS provider: one crypto
//! library (`aws-lc`, default; `rustcrypto` with default features off builds with no C
//! compiler, see `logto-reqwest`). The store is [`MemoryStore`] unless the `redis`
//! feature (off by default) and its `RedisStore` are chosen.
//!
//!
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
#[cfg(feature = "isahc")]
pub use logto_isahc;
logto_web::__framework_reexports!();
pub use logto::{Logto, LogtoBuilder};
pub use session::{ApiUser, LogtoSession, User};
