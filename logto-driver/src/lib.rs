//! What every driver of the Logto SDK shares, beside the sans-IO core `logto-proto`.
//!
//! The core holds the protocol's rules as plain values and never touches a lock, a thread
//! or the machine; the drivers (`logto-ureq`, `logto-isahc`, `logto-axum`) run those rules
//! on real threads. What they need for that, and would otherwise each write again, lives
//! here:
//!
//! - [`VerifiedTokenCache`]: the core's [`VerifiedTokens`](logto_proto::VerifiedTokens),
//!   replicated per thread so that an API validator serving many threads does not contend
//!   on one lock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod verified_cache;

pub use verified_cache::VerifiedTokenCache;
