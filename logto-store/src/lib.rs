//! The session store contract of the Logto SDK, and the stores every driver shares.
//!
//! The client keeps one versioned session snapshot per session. What it asks of a store is
//! small: read a value, and compare-and-swap it (with an explicit [`Expected`]: absent,
//! equal to this value, or anything). The session protocol in `logto-proto` builds the
//! rest on that (single-flight refresh across processes, a lease, merges after conflicts).
//!
//! | trait | for |
//! | --- | --- |
//! | [`Storage`] | blocking drivers (`logto-ureq`) |
//! | [`AsyncStorage`] | async drivers (`logto-isahc`, `logto-axum`); boxed futures, no runtime of its own |
//! | [`SessionStore`], [`AsyncSessionStore`] | back-channel logout: end the sessions of a logout token |
//!
//! Each trait states what a store must guarantee. Stores:
//!
//! - [`MemoryStore`]: one process; expiry, a sweep, a bound on unfinished sign-ins, the
//!   logout index. The default of every driver and framework crate.
//! - [`FileStore`]: one file per key, atomic across processes (a CLI, a daemon).
//! - `logto-redis`'s `RedisStore`: several instances sharing sessions.
//!
//! This crate depends on the protocol core only: a store never pulls in an HTTP client.
//!
//! ```
//! use logto_store::{Expected, MemoryStore, Storage};
//! let store = MemoryStore::new();
//! let stored = store.get("session")?;
//! let written = store.compare_and_swap("session", Expected::from(stored.as_deref()), Some("{}"))?;
//! assert!(written);
//! # Ok::<(), logto_store::StorageError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod conformance;
mod contract;
mod file;
mod memory;

pub use contract::{
    AsyncSessionStore, AsyncStorage, Expected, SessionStore, Storage, StorageFuture, StoredSession,
};
pub use file::FileStore;
pub use logto_proto::resource::LogoutTarget;
pub use logto_proto::StorageError;
pub use memory::{MemoryStore, MemoryStoreLimits, StoreClock};

/// Renamed [`MemoryStore`] (one memory store for every driver).
#[deprecated(since = "0.2.0", note = "renamed `MemoryStore`")]
#[doc(hidden)]
pub type MemoryStorage = MemoryStore;

/// Renamed [`FileStore`].
#[deprecated(since = "0.2.0", note = "renamed `FileStore`")]
#[doc(hidden)]
pub type FileStorage = FileStore;
