//! # logto-redis
//!
//! A Redis session store for the Logto SDK, so that several instances of an app behind a
//! load balancer share their users' sessions. [`RedisStore`] implements the store contract
//! of `logto-store` in both modes: [`Storage`](logto_store::Storage) and
//! [`SessionStore`](logto_store::SessionStore) on pooled blocking connections (feature
//! `blocking`, for `logto-ureq`), [`AsyncStorage`](logto_store::AsyncStorage) and
//! [`AsyncSessionStore`](logto_store::AsyncSessionStore) on one multiplexed tokio
//! connection (feature `tokio`, for `logto-isahc` and `logto-axum`). It depends on the
//! protocol core, the contract and redis-rs: no HTTP client.
//!
//! ```no_run
//! use logto_redis::RedisStore;
//! use logto_store::{Expected, Storage};
//! use std::time::Duration;
//!
//! let store = RedisStore::builder("redis://127.0.0.1:6379/0")
//!     .key_prefix("myapp:")
//!     .session_ttl(Duration::from_secs(7 * 24 * 3600))
//!     .build()?;
//! // Give it to a client (`LogtoClient::with_storage(config, store)`), or use it directly:
//! assert!(store.compare_and_swap("k", Expected::Absent, Some("v"))?);
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
//!   its [logout index keys](logto_proto::adapter::logout_index_keys), so that
//!   `end_sessions_once` removes every session a logout token names, whichever instance
//!   wrote it, and refuses the same token twice.
//! - **A timeout on every command** ([`command_timeout`]) and on connecting
//!   ([`connect_timeout`]); reconnection after the server restarts, without the caller
//!   seeing the stale connection: a command that may run twice runs again on the new one.
//! - **Typed errors that lose nothing**: an unreachable or silent server is
//!   [`StorageError::Unavailable`] (a web app answers 503, and the session is still there
//!   once the server is back), any other Redis error [`StorageError::Backend`]; a write the
//!   server refused leaves the stored session as it was (one whose answer timed out may
//!   have been made: the session protocol reads again). No message carries the URL's
//!   password.
//!
//! Keys: `<prefix><key>` for a session (a hash: the value, and the index keys it is listed
//! under, so that an index entry left by a value since replaced ends nothing),
//! `<prefix>index:<index key>` for the logout index, and `<prefix>once:<key>` for the
//! logout tokens seen. Redis Cluster is not supported (the scripts touch keys of several
//! slots); a standalone server, or a primary with replicas, is.
//!
//! ## Connections, per mode
//! - **Blocking** (`blocking`): redis-rs's plain connections, pooled with
//!   [r2d2](https://docs.rs/r2d2) (at most [`pool_size`]). Each has socket read and write
//!   timeouts, so no command can hang; a connection that failed reports itself closed and
//!   the pool drops it, and after a restart a command runs again on a fresh connection.
//! - **Async** (`tokio`): one multiplexed connection of redis-rs's `ConnectionManager`,
//!   made on first use inside the app's tokio runtime. Concurrent requests pipeline their
//!   commands on it, with no thread pool and no per-request connection checkout: this is
//!   what an axum app already runs, and the fastest way to Redis from it. The manager
//!   reconnects after a failure; the failed command is run again on the new connection
//!   when it may run twice, so a restart costs a reconnect, not an error. The async side
//!   needs a tokio runtime with its time and I/O drivers (`enable_all`, as `#[tokio::main]`
//!   has): used outside a runtime it answers [`StorageError::Backend`] saying so, never a
//!   panic.
//!
//! ## A local copy that Redis invalidates (async side)
//! Most requests of a signed-in session only read it. So that they need no round trip to
//! Redis, the async side keeps a copy of the sessions it read (at most 10,000, the least
//! recently used going first), with Redis's server-assisted client-side caching (RESP3
//! client tracking, Redis 6 or later): Redis remembers which keys the connection read and
//! pushes their invalidation as soon as anyone writes or deletes them.
//! - **What it never changes**: every write is the compare-and-swap script on the server,
//!   so no write is based on a stale read; a write that finds the value changed fails and
//!   the session protocol reads it again, from Redis.
//! - **Own writes**: for a second after this process writes a key (or fails to), its reads
//!   of that key go to Redis (Redis sends the invalidation of a connection's own write
//!   just after the write's answer).
//! - **Writes elsewhere** (a refresh, a sign-out or a back-channel logout handled by
//!   another instance) reach this process's reads as soon as the invalidation arrives,
//!   milliseconds on an open connection; and in any case within
//!   [`local_copy_ttl`](RedisStoreBuilder::local_copy_ttl) ([`DEFAULT_LOCAL_COPY_TTL`], 1
//!   s): a copy older than that is read again, so a connection that went silent without
//!   closing serves a stale session for at most that long, then errors. A new connection
//!   (after a failure or a restart) starts with no copy.
//!
//! `local_copy_ttl(None)` turns the copy off (every read asks Redis), for a server that
//! does not speak RESP3. The blocking side keeps no copy.
//!
//! [`session_ttl`]: RedisStoreBuilder::session_ttl
//! [`pending_ttl`]: RedisStoreBuilder::pending_ttl
//! [`command_timeout`]: RedisStoreBuilder::command_timeout
//! [`connect_timeout`]: RedisStoreBuilder::connect_timeout
//! [`pool_size`]: RedisStoreBuilder::pool_size
//!
//! ## Features
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Without a side the store builds but has no operation: its shared parts go unused.
#![cfg_attr(
    not(any(feature = "blocking", feature = "tokio")),
    allow(dead_code, unused_variables)
)]

#[cfg(feature = "tokio")]
mod aio;
#[cfg(feature = "blocking")]
mod blocking;
mod error;
mod store;

pub use error::Error;
pub use logto_proto::resource::LogoutTarget;
pub use logto_proto::StorageError;
pub use store::{RedisStore, RedisStoreBuilder, DEFAULT_LOCAL_COPY_TTL};
