//! [`MemoryStore`]: the sessions of one process, for every driver.

use crate::contract::{
    AsyncSessionStore, AsyncStorage, Expected, SessionStore, Storage, StorageFuture, StoredSession,
};
use logto_proto::resource::LogoutTarget;
use logto_proto::StorageError;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(test)]
mod tests;

/// How long the sessions of a [`MemoryStore`] live, and how many may be waiting for a sign-in.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MemoryStoreLimits {
    /// A signed-in session unused for this long is gone (default 7 days).
    pub idle_timeout: Duration,
    /// A signed-in session older than this is gone however much it is used (default 30
    /// days). A sign-in starts a new session, so this counts from the last sign-in.
    pub absolute_timeout: Duration,
    /// A session that never signed in (a sign-in under way, or one signed out) unused for
    /// this long is gone (default 10 minutes: the core refuses older sign-ins anyway).
    pub pending_timeout: Duration,
    /// At most this many sessions that never signed in (default 4096, at least 1); beyond
    /// it the oldest goes. Visitors who start a sign-in and never finish it (or a script hammering
    /// `/sign-in`) cannot fill the memory.
    pub max_pending: usize,
    /// Expired sessions are swept at most this often, during a write (default 60 s); a read
    /// never returns an expired session whatever the sweep.
    pub sweep_interval: Duration,
}

impl MemoryStoreLimits {
    /// The default limits, except that a signed-in session never expires here (the
    /// provider's refresh-token lifetime still applies): the store of a client holding one
    /// session for as long as it runs (`LogtoClient::new` of the drivers).
    pub fn keep_signed_in() -> Self {
        MemoryStoreLimits {
            idle_timeout: Duration::MAX,
            absolute_timeout: Duration::MAX,
            ..MemoryStoreLimits::default()
        }
    }
}

impl Default for MemoryStoreLimits {
    fn default() -> Self {
        MemoryStoreLimits {
            idle_timeout: Duration::from_secs(7 * 24 * 3600),
            absolute_timeout: Duration::from_secs(30 * 24 * 3600),
            pending_timeout: Duration::from_secs(600),
            max_pending: 4096,
            sweep_interval: Duration::from_secs(60),
        }
    }
}

/// Seconds since the Unix epoch (the store's clock; replaceable for tests).
pub type StoreClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The sessions of one process, in its memory: atomic compare-and-swap under one lock,
/// idle and absolute expiry, a periodic sweep, a cap on sessions that never signed in (see
/// [`MemoryStoreLimits`]) and the back-channel logout index. A [`Storage`], an
/// [`AsyncStorage`] and both session-store extensions: the blocking and the async drivers
/// and the web frameworks use the same one.
///
/// Sessions live as long as the process: several instances behind a load balancer need a
/// shared store instead (`logto-redis`). Cloning gives another handle on the same map.
///
/// ```
/// use logto_store::{Expected, MemoryStore, Storage};
/// let store = MemoryStore::new();
/// assert!(store.compare_and_swap("k", Expected::Absent, Some("v1"))?);
/// assert!(!store.compare_and_swap("k", Expected::Absent, Some("v2"))?);
/// assert!(store.compare_and_swap("k", Expected::Value("v1"), Some("v2"))?);
/// assert_eq!(store.get("k")?.as_deref(), Some("v2"));
/// # Ok::<(), logto_store::StorageError>(())
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Reads share the lock (a session's requests run in parallel); writes take it alone.
    state: RwLock<State>,
    limits: MemoryStoreLimits,
    clock: StoreClock,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Entry>,
    /// Ids of sessions that never signed in, oldest first (may also hold ids that have
    /// signed in or gone since: they are skipped).
    pending: VecDeque<String>,
    pending_count: usize,
    last_sweep: u64,
    /// Back-channel logout: the sessions listed under each index key (see
    /// [`logout_index_keys`]).
    index: HashMap<String, HashSet<String>>,
    /// Logout tokens seen ([`SessionStore::end_sessions_once`]), with when each record
    /// expires.
    once: HashMap<String, u64>,
}

struct Entry {
    /// Shared so that a read copies it outside the lock.
    value: Arc<str>,
    created: u64,
    /// Updated by reads under the shared lock.
    last_used: AtomicU64,
    signed_in: bool,
    /// The index keys the session is listed under.
    targets: Vec<String>,
}

impl Entry {
    fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.len())
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

fn system_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl MemoryStore {
    /// An empty store with the default limits.
    pub fn new() -> Self {
        MemoryStore::with_limits(MemoryStoreLimits::default())
    }

    /// An empty store with these limits.
    pub fn with_limits(limits: MemoryStoreLimits) -> Self {
        MemoryStore::with_clock(limits, Arc::new(system_seconds))
    }

    /// An empty store reading the time from `clock` (seconds since the epoch), for tests.
    pub fn with_clock(limits: MemoryStoreLimits, clock: StoreClock) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                state: RwLock::default(),
                limits,
                clock,
            }),
        }
    }

    /// How many sessions are stored (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.read_state().sessions.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many stored sessions never signed in.
    pub fn pending_len(&self) -> usize {
        self.read_state().pending_count
    }

    // A panic under the lock cannot leave an entry half-written: recover the map.
    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self, key: &str) -> Option<String> {
        let now = (self.inner.clock)();
        let value = {
            let state = self.read_state();
            let entry = state.sessions.get(key)?;
            if self.inner.limits.expired(entry, now) {
                None
            } else {
                entry.last_used.fetch_max(now, Ordering::Relaxed);
                Some(entry.value.clone())
            }
        };
        match value {
            Some(value) => Some(value.to_string()),
            None => {
                // Expired: gone for every reader from now on.
                self.write_state()
                    .remove_if_expired(key, &self.inner.limits, now);
                None
            }
        }
    }

    /// Writes `new` if the current value is `expected`; whether it wrote.
    fn swap(&self, key: &str, expected: Expected<'_>, new: Option<&str>) -> bool {
        // Parsed before the lock: only the sessions that never signed in are capped, and
        // only signed-in ones are indexed for back-channel logout.
        let kind = new.map(StoredSession::of).unwrap_or_default();
        let now = (self.inner.clock)();
        let limits = &self.inner.limits;
        let mut state = self.write_state();
        if now.saturating_sub(state.last_sweep) >= limits.sweep_interval.as_secs() {
            state.sweep(limits, now);
        }
        // An expired session is gone: what is written next starts a new one (with a new age).
        state.remove_if_expired(key, limits, now);
        let current = state.sessions.get(key).map(|entry| &*entry.value);
        if !expected.matches(current) {
            return false;
        }
        match new {
            Some(value) => state.put(key, value, kind, now),
            None => state.remove(key),
        }
        state.enforce_cap(limits.max_pending.max(1));
        true
    }
}

impl MemoryStoreLimits {
    fn expired(&self, entry: &Entry, now: u64) -> bool {
        let idle = now.saturating_sub(entry.last_used());
        if entry.signed_in {
            idle > self.idle_timeout.as_secs()
                || now.saturating_sub(entry.created) > self.absolute_timeout.as_secs()
        } else {
            idle > self.pending_timeout.as_secs()
        }
    }
}

impl State {
    fn put(&mut self, key: &str, value: &str, kind: StoredSession, now: u64) {
        let StoredSession {
            signed_in,
            index_keys: targets,
        } = kind;
        self.unindex(key);
        for target in &targets {
            self.index
                .entry(target.clone())
                .or_default()
                .insert(key.to_owned());
        }
        match self.sessions.get_mut(key) {
            Some(entry) => {
                // A session that signs in leaves the capped set; one that signs out joins it.
                match (entry.signed_in, signed_in) {
                    (false, true) => self.pending_count -= 1,
                    (true, false) => {
                        self.pending_count += 1;
                        self.pending.push_back(key.to_owned());
                    }
                    _ => {}
                }
                entry.value = value.into();
                *entry.last_used.get_mut() = now;
                entry.signed_in = signed_in;
                entry.targets = targets;
            }
            None => {
                if !signed_in {
                    self.pending_count += 1;
                    self.pending.push_back(key.to_owned());
                }
                let entry = Entry {
                    value: value.into(),
                    created: now,
                    last_used: AtomicU64::new(now),
                    signed_in,
                    targets,
                };
                self.sessions.insert(key.to_owned(), entry);
            }
        }
    }

    fn remove_if_expired(&mut self, key: &str, limits: &MemoryStoreLimits, now: u64) {
        if self
            .sessions
            .get(key)
            .is_some_and(|entry| limits.expired(entry, now))
        {
            self.remove(key);
        }
    }

    fn remove(&mut self, key: &str) {
        self.unindex(key);
        if let Some(entry) = self.sessions.remove(key) {
            if !entry.signed_in {
                self.pending_count -= 1;
            }
        }
    }

    /// Takes session `key` out of the logout index.
    fn unindex(&mut self, key: &str) {
        let Some(entry) = self.sessions.get(key) else {
            return;
        };
        for target in &entry.targets {
            if let Some(sessions) = self.index.get_mut(target) {
                sessions.remove(key);
                if sessions.is_empty() {
                    self.index.remove(target);
                }
            }
        }
    }

    /// Deletes the sessions indexed under any of `target`'s index keys; how many.
    fn end_sessions(&mut self, target: &LogoutTarget) -> usize {
        let mut ended = 0;
        for index_key in target.index_keys() {
            for key in self.index.remove(&index_key).unwrap_or_default() {
                if self.sessions.contains_key(&key) {
                    self.remove(&key);
                    ended += 1;
                }
            }
        }
        ended
    }

    /// Drops the oldest sessions that never signed in while there are too many.
    fn enforce_cap(&mut self, max_pending: usize) {
        while self.pending_count > max_pending {
            let Some(oldest) = self.pending.pop_front() else {
                break;
            };
            if self.sessions.get(&oldest).is_some_and(|e| !e.signed_in) {
                self.remove(&oldest);
            }
        }
    }

    fn sweep(&mut self, limits: &MemoryStoreLimits, now: u64) {
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, entry)| limits.expired(entry, now))
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
        self.once.retain(|_, expires| *expires > now);
        let mut pending: Vec<(u64, &String)> = self
            .sessions
            .iter()
            .filter(|(_, e)| !e.signed_in)
            .map(|(id, e)| (e.last_used(), id))
            .collect();
        pending.sort_unstable();
        self.pending_count = pending.len();
        self.pending = pending.into_iter().map(|(_, id)| id.clone()).collect();
        self.last_sweep = now;
    }
}

impl MemoryStore {
    /// [`SessionStore::end_sessions_once`], under the store's lock.
    fn end_sessions_once_now(
        &self,
        target: &LogoutTarget,
        replay_key: &str,
        ttl: Duration,
    ) -> Option<usize> {
        let now = (self.inner.clock)();
        let mut state = self.write_state();
        let fresh = state
            .once
            .get(replay_key)
            .is_none_or(|expires| *expires <= now);
        fresh.then(|| {
            let expires = now.saturating_add(ttl.as_secs().max(1));
            state.once.insert(replay_key.to_owned(), expires);
            state.end_sessions(target)
        })
    }
}

impl Storage for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(self.read(key))
    }

    /// Atomic: compared and written under the store's lock.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        Ok(self.swap(key, expected, new))
    }
}

/// Never waits on I/O: each future is ready when returned.
impl AsyncStorage for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        let value = self.read(key);
        Box::pin(async move { Ok(value) })
    }

    /// Atomic: compared and written under the store's lock.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        let written = self.swap(key, expected, new);
        Box::pin(async move { Ok(written) })
    }
}

impl SessionStore for MemoryStore {
    fn end_sessions(&self, target: &LogoutTarget) -> Result<usize, StorageError> {
        Ok(self.write_state().end_sessions(target))
    }

    /// Atomic: under the store's lock.
    fn end_sessions_once(
        &self,
        target: &LogoutTarget,
        replay_key: &str,
        ttl: Duration,
    ) -> Result<Option<usize>, StorageError> {
        Ok(self.end_sessions_once_now(target, replay_key, ttl))
    }
}

impl AsyncSessionStore for MemoryStore {
    fn end_sessions<'a>(&'a self, target: &'a LogoutTarget) -> StorageFuture<'a, usize> {
        let ended = self.write_state().end_sessions(target);
        Box::pin(async move { Ok(ended) })
    }

    /// Atomic: under the store's lock.
    fn end_sessions_once<'a>(
        &'a self,
        target: &'a LogoutTarget,
        replay_key: &'a str,
        ttl: Duration,
    ) -> StorageFuture<'a, Option<usize>> {
        let ended = self.end_sessions_once_now(target, replay_key, ttl);
        Box::pin(async move { Ok(ended) })
    }
}
