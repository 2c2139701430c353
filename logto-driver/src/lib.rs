//! The Logto SDK's drivers, written once per mode over pluggable HTTP transports.
//!
//! The sans-IO core `logto-proto` holds every protocol and session rule as plain values; a
//! driver performs what the core asks for: it sends requests, reads and compare-and-swaps
//! the stored session, reads the clock and the random source, and waits. This crate is
//! that driver, once per mode:
//!
//! - [`blocking`]: [`blocking::LogtoClient`], [`blocking::MachineClient`] and
//!   [`blocking::ApiValidator`] over a [`blocking::Transport`] and a
//!   [`Storage`](logto_store::Storage);
//! - [`aio`]: the same over an [`aio::AsyncTransport`] and an
//!   [`AsyncStorage`](logto_store::AsyncStorage), on any executor.
//!
//! The method lists of both modes, their docs and the driver loop come from one source, so
//! the two modes cannot drift apart.
//!
//! ## Transports
//! A transport sends one request and returns its answer; everything else (timeouts, the
//! largest body, that redirects are answers) is the driver's, stated in [`RequestLimits`].
//! `logto-ureq` (blocking), `logto-reqwest` (tokio) and `logto-isahc` (any executor) are
//! transports with the constructors their users know. An app with a runtime or an HTTP
//! stack of its own implements one `send` and gets the whole client:
//!
//! ```
//! use logto_driver::blocking::{LogtoClient, Transport};
//! use logto_driver::RequestLimits;
//! use logto_proto::{Config, HttpRequest, HttpResponse, TransportError, TransportErrorKind};
//! use logto_store::MemoryStore;
//!
//! /// Sends through the app's own HTTP stack (here: refuses, as with no network).
//! struct AppHttp;
//!
//! impl Transport for AppHttp {
//!     fn send(&self, request: HttpRequest, _: &RequestLimits) -> Result<HttpResponse, TransportError> {
//!         Err(TransportError::new(TransportErrorKind::Connect, &request.url, "offline"))
//!     }
//! }
//!
//! let config = Config::builder("https://tenant.logto.app", "app-id").build()?;
//! let client = LogtoClient::with_transport(config, MemoryStore::new(), AppHttp);
//! assert!(!client.is_authenticated()?);
//! let refused = client.sign_in("https://app.example.com/callback").unwrap_err();
//! assert_eq!(refused.kind(), "transport");
//! # Ok::<(), logto_proto::ClientError>(())
//! ```
//!
//! `examples/std_net` is such a transport, written on `std::net` alone (its `main` gets a
//! machine token and verifies it as an API would); `tests/std_net.rs` runs the full client
//! cases over it against the local provider: sign-in, refresh under concurrency, machine
//! tokens, API validation.
//!
//! ## Features
#![doc = document_features::document_features!()]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aio;
pub mod blocking;
mod cancel;
mod facade;
#[cfg(feature = "loopback")]
mod loopback;
mod methods;
mod shared;
mod transport;
mod verified_cache;

pub use cancel::Cancel;
pub(crate) use cancel::CANCEL_CHECK;
#[doc(hidden)]
pub use facade::__private;
#[cfg(feature = "loopback")]
pub use loopback::{BrowserSignIn, DEFAULT_BROWSER_SIGN_IN_WAIT};
pub use shared::{Clock, Entropy};
pub use transport::{text_headers, RequestLimits, MAX_RESPONSE_BODY};
pub use verified_cache::VerifiedTokenCache;

/// How many verified tokens an API validator keeps by default.
pub const DEFAULT_VERIFIED_CACHE: usize = 10_000;
