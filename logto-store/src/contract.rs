//! The store contract: what the session protocol asks of a store, in each mode.

use logto_proto::adapter::{logout_index_keys, read_session};
use logto_proto::resource::LogoutTarget;
use logto_proto::StorageError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What a [`compare_and_swap`](Storage::compare_and_swap) expects to find under its key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Expected<'a> {
    /// Nothing: the write creates the key.
    Absent,
    /// Exactly this value.
    Value(&'a str),
    /// Whatever is there, or nothing: an unconditional write.
    Any,
}

impl Expected<'_> {
    /// Whether `current` (the stored value, `None` when absent) is what is expected.
    ///
    /// ```
    /// use logto_store::Expected;
    /// assert!(Expected::Absent.matches(None));
    /// assert!(Expected::Value("a").matches(Some("a")));
    /// assert!(!Expected::Value("a").matches(None));
    /// assert!(Expected::Any.matches(Some("b")));
    /// ```
    pub fn matches(self, current: Option<&str>) -> bool {
        match self {
            Expected::Absent => current.is_none(),
            Expected::Value(value) => current == Some(value),
            Expected::Any => true,
        }
    }
}

impl<'a> From<Option<&'a str>> for Expected<'a> {
    /// `None` is [`Absent`](Expected::Absent), `Some(value)` is
    /// [`Value(value)`](Expected::Value): what a read returned, expected again.
    fn from(stored: Option<&'a str>) -> Self {
        match stored {
            Some(value) => Expected::Value(value),
            None => Expected::Absent,
        }
    }
}

impl fmt::Debug for Expected<'_> {
    // A stored session holds a refresh token: only its length shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Absent => f.write_str("Absent"),
            Expected::Value(value) => write!(f, "Value(<{} bytes>)", value.len()),
            Expected::Any => f.write_str("Any"),
        }
    }
}

/// A store of session snapshots by key, blocking: what the session protocol needs, a read
/// and a compare-and-swap.
///
/// # What a store must guarantee
/// - **Integrity and confidentiality**: what [`get`](Self::get) returns is trusted. The
///   ID-token claims and the cached tokens are read from it without verifying them again
///   (they were verified before they were stored), and it holds the refresh token. Keep it
///   server-side (memory, a file, a database, Redis), or seal it with authenticated
///   encryption if it must travel: a store the user can edit lets the user be anyone.
/// - **Atomic compare-and-swap**: [`compare_and_swap`](Self::compare_and_swap) compares and
///   writes as one step for every client and process sharing the store. The client takes
///   its refresh lease through it, so that one process at a time presents a refresh token
///   (a second presentation of a rotated one makes the provider revoke the grant).
/// - **Read your writes**: in the process that wrote, a `get` after a successful write
///   returns that write (or a later one), whichever handle of the store reads. Other
///   processes may see it later, within a bound the store states (`logto-redis`'s local
///   copy: milliseconds, at most its `local_copy_ttl`); their writes still compare against
///   the current value, so a stale read never becomes a stale write.
/// - **Failures are errors, never answers**: a store that cannot be reached returns
///   [`StorageError::Unavailable`] (never `Ok(None)`, which reads as "signed out"). A write
///   refused by the store leaves what was stored; a write whose answer was lost (a
///   timeout) may or may not have been made, and the caller reads again to know.
/// - A value is kept as given: the same bytes come back.
///
/// [`MemoryStore`](crate::MemoryStore), [`FileStore`](crate::FileStore) and `logto-redis`'s
/// `RedisStore` implement it; [`conformance`](crate::conformance) checks a store of your
/// own.
pub trait Storage: Send + Sync {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<String>, StorageError>;

    /// Writes `new` under `key` (`None`: deletes it) if what is stored is `expected`, in
    /// one atomic step; returns whether it wrote.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError>;
}

/// The future an [`AsyncStorage`] or [`AsyncSessionStore`] method returns: boxed, `Send`,
/// tied to no runtime.
pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// [`Storage`] for async code: the same two operations and the same guarantees, as futures
/// that need no particular runtime (the store's own I/O may: see each store's docs).
pub trait AsyncStorage: Send + Sync {
    /// The value under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>>;

    /// Writes `new` under `key` (`None`: deletes it) if what is stored is `expected`, in
    /// one atomic step; returns whether it wrote.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool>;
}

/// A [`Storage`] that serves back-channel logout: it lists each signed-in session it writes
/// under the session's
/// [`logout_index_keys`](logto_proto::adapter::logout_index_keys), in the same atomic step
/// as the write, and ends the sessions of a [`LogoutTarget`] by its
/// [`index_keys`](LogoutTarget::index_keys), for every instance of the app sharing it.
pub trait SessionStore: Storage {
    /// Deletes every session listed under `target`; how many there were.
    fn end_sessions(&self, target: &LogoutTarget) -> Result<usize, StorageError>;

    /// In one atomic step: unless `replay_key` is recorded (a replay: `None`, nothing
    /// ended), records it for `ttl` and deletes every session listed under `target`; how
    /// many there were. A logout token is so accepted once, whichever instance receives it.
    fn end_sessions_once(
        &self,
        target: &LogoutTarget,
        replay_key: &str,
        ttl: Duration,
    ) -> Result<Option<usize>, StorageError>;
}

/// [`SessionStore`] for async code.
pub trait AsyncSessionStore: AsyncStorage {
    /// Deletes every session listed under `target`; how many there were.
    fn end_sessions<'a>(&'a self, target: &'a LogoutTarget) -> StorageFuture<'a, usize>;

    /// In one atomic step: unless `replay_key` is recorded (a replay: `None`, nothing
    /// ended), records it for `ttl` and deletes every session listed under `target`; how
    /// many there were.
    fn end_sessions_once<'a>(
        &'a self,
        target: &'a LogoutTarget,
        replay_key: &'a str,
        ttl: Duration,
    ) -> StorageFuture<'a, Option<usize>>;
}

/// What a store needs to know of a value it holds, from one parse: whether it is a
/// signed-in session (kept long) or one that never signed in (a sign-in under way, kept
/// briefly), and the logout index keys a [`SessionStore`] lists it under (none unless
/// signed in). One rule for every store.
///
/// ```
/// use logto_store::StoredSession;
/// let pending = StoredSession::of(r#"{"v":1}"#);
/// assert!(!pending.signed_in && pending.index_keys.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredSession {
    /// Whether the value is a signed-in session.
    pub signed_in: bool,
    /// The [`logout_index_keys`] of the session.
    pub index_keys: Vec<String>,
}

impl StoredSession {
    /// The classification of `value`. A value that is not a session snapshot (the SDK
    /// never writes one) is kept like a signed-in session, unindexed, so that every store
    /// expires it alike.
    pub fn of(value: &str) -> StoredSession {
        match read_session(Some(value)) {
            Ok(session) => StoredSession {
                signed_in: session.is_authenticated(),
                index_keys: logout_index_keys(&session),
            },
            Err(_) => StoredSession {
                signed_in: true,
                index_keys: Vec::new(),
            },
        }
    }
}

/// A shared store: the client and the app hold the same one.
impl<S: Storage + ?Sized> Storage for Arc<S> {
    fn get(&self, key: &str) -> Result<Option<String>, StorageError> {
        (**self).get(key)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        (**self).compare_and_swap(key, expected, new)
    }
}

/// A shared store: the client and the app hold the same one.
impl<S: AsyncStorage + ?Sized> AsyncStorage for Arc<S> {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        (**self).get(key)
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        (**self).compare_and_swap(key, expected, new)
    }
}

impl<S: SessionStore + ?Sized> SessionStore for Arc<S> {
    fn end_sessions(&self, target: &LogoutTarget) -> Result<usize, StorageError> {
        (**self).end_sessions(target)
    }

    fn end_sessions_once(
        &self,
        target: &LogoutTarget,
        replay_key: &str,
        ttl: Duration,
    ) -> Result<Option<usize>, StorageError> {
        (**self).end_sessions_once(target, replay_key, ttl)
    }
}

impl<S: AsyncSessionStore + ?Sized> AsyncSessionStore for Arc<S> {
    fn end_sessions<'a>(&'a self, target: &'a LogoutTarget) -> StorageFuture<'a, usize> {
        (**self).end_sessions(target)
    }

    fn end_sessions_once<'a>(
        &'a self,
        target: &'a LogoutTarget,
        replay_key: &'a str,
        ttl: Duration,
    ) -> StorageFuture<'a, Option<usize>> {
        (**self).end_sessions_once(target, replay_key, ttl)
    }
}
