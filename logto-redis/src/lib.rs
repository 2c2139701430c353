//! # logto-redis
//!
//! A Redis session store for the Logto SDK, so that several instances of an app behind a
//! load balancer share their users' sessions: [`RedisStore`] is a
//! [`logto_isahc::Storage`] (feature `isahc`), a [`logto_ureq::Storage`] (feature `ureq`),
//! and the store of `logto-axum` (its `redis` feature).
//!
//! ```no_run
//! use logto_redis::RedisStore;
//! use std::time::Duration;
//!
//! let store = RedisStore::builder("redis://127.0.0.1:6379/0")
//!     .key_prefix("myapp:")
//!     .session_ttl(Duration::from_secs(7 * 24 * 3600))
//!     .build()?;
//! # #[cfg(feature = "ureq")] {
//! let config = logto_ureq::LogtoConfig::builder("https://tenant.logto.app", "app-id").build()?;
//! let client = logto_ureq::LogtoClient::with_storage(config, store)?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What it guarantees
//! - **Atomic compare-and-swap on the server**: one Lua script compares the stored value
//!   and writes, so that the refresh lease and every write of the session protocol hold
//!   across processes: concurrent requests on several instances make one refresh, and a
//!   consumed refresh token is never presented again (Logto would revoke the grant).
//! - **A TTL on every key**, set again on every write: [`session_ttl`] for a signed-in
//!   session (7 days by default), [`pending_ttl`] for one that never signed in (10
//!   minutes), so that abandoned sign-ins and idle sessions leave Redis by themselves.
//! - **Back-channel logout**: each signed-in session is indexed, in the same script, under
//!   its ID token's `sid` and `sub`, so that
//!   [`end_sessions_once`](RedisStore::end_sessions_once) removes every session a logout
//!   token names, whichever instance wrote it, and refuses the same token twice.
//! - **A timeout on every command** ([`command_timeout`]) and on connecting
//!   ([`connect_timeout`]); reused connections (a pool of [`pool_size`]); reconnection after
//!   the server restarts: a pooled connection the server closed is dropped and the command
//!   runs again on a new one, without the caller seeing the stale one.
//! - **Typed errors that lose nothing**: an unreachable or silent server is
//!   [`StorageError::Unavailable`] (a web app answers 503), any other Redis error
//!   [`StorageError::Backend`]; a failed write leaves the stored session as it was.
//!
//! Keys: `<prefix><key>` for a session (a hash: the value, and the logout targets it is
//! indexed under, so that an index entry left by a value since replaced ends nothing),
//! `<prefix>index:sid:<sid>` and `<prefix>index:sub:<sub>` for the logout index, and
//! `<prefix>once:<key>` for the logout tokens seen
//! ([`end_sessions_once`](RedisStore::end_sessions_once)). Redis Cluster is not supported
//! (the scripts touch keys of several slots); a standalone server, or a primary with
//! replicas, is.
//!
//! ## Why redis-rs, and its blocking connections
//! The client is [redis-rs](https://docs.rs/redis) over its plain blocking connection,
//! pooled with [r2d2](https://docs.rs/r2d2), and not its async `ConnectionManager` nor
//! fred:
//! - the blocking connection has socket read and write timeouts, so no command can hang,
//!   and a connection that failed reports itself closed, so the pool drops it; after a
//!   restart a command is retried here on a fresh connection. `ConnectionManager`
//!   reconnects only after it has failed the first command with the closed connection's
//!   error (redis-rs issues 1223 and 1415), and gained response timeouts late;
//! - both async clients are bound to an async runtime (fred to tokio), while
//!   `logto-isahc` runs on any executor and `logto-ureq` on none: one blocking
//!   implementation serves both, the async store running it on a blocking thread pool
//!   (as `logto_isahc::FileStorage` does). A command on loopback costs tens of
//!   microseconds either way.
//!
//! [`session_ttl`]: RedisStoreBuilder::session_ttl
//! [`pending_ttl`]: RedisStoreBuilder::pending_ttl
//! [`command_timeout`]: RedisStoreBuilder::command_timeout
//! [`connect_timeout`]: RedisStoreBuilder::connect_timeout
//! [`pool_size`]: RedisStoreBuilder::pool_size
//!
//! ## Features
//!
//! The `isahc` and `ureq` features choose which client's `Storage` trait the store
//! implements; `logto-axum` uses it through its own `redis` feature.
//!
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adapters;
mod error;
mod store;

pub use error::Error;
pub use logto_proto::{LogoutTarget, StorageError};
pub use store::{RedisStore, RedisStoreBuilder};
