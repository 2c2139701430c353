//! The server-side session store: the Logto snapshot of each browser session, by session id.

use logto_isahc::proto::adapter::{logout_index_keys, read_session};
use logto_isahc::{LogoutTarget, Storage, StorageFuture};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A session store for [`Logto`](crate::Logto): a [`Storage`] with what back-channel logout
/// needs, for every instance of the app that shares it.
///
/// - It indexes each signed-in session it writes under the session's
///   [`logout_index_keys`](logto_isahc::proto::adapter::logout_index_keys) (from the ID
///   token's `sid` and `sub`), so that [`end_sessions`](Self::end_sessions) finds them by
///   the target's [`index_keys`](LogoutTarget::index_keys).
/// - [`end_sessions_once`](Self::end_sessions_once) also records the logout token's replay
///   key, in the same atomic step, so that a token is accepted once (by its `jti`),
///   whichever instance receives it.
///
/// [`MemoryStore`] (one process) and, with the `redis` feature, [`RedisStore`] (shared by
/// instances) implement it; see the crate docs for what a store must guarantee.
///
/// [`RedisStore`]: logto_redis::RedisStore
pub trait SessionStore: Storage {
    /// Deletes every session indexed under `target`; how many there were.
    fn end_sessions<'a>(&'a self, target: &'a LogoutTarget) -> StorageFuture<'a, usize>;

    /// In one atomic step: unless `replay_key` is recorded (a replay: `None`, nothing
    /// ended), records it for `ttl` and deletes every session indexed under `target`;
    /// how many there were.
    fn end_sessions_once<'a>(
        &'a self,
        target: &'a LogoutTarget,
        replay_key: &'a str,
        ttl: Duration,
    ) -> StorageFuture<'a, Option<usize>>;
}

/// The default session store: a map in this process's memory, with atomic
/// compare-and-swap under one lock, idle and absolute expiry, a periodic sweep and a cap on
/// sessions that never signed in (see [`MemoryStoreLimits`]).
///
/// Sessions live as long as the process: several instances behind a load balancer need a
/// shared store instead. Cloning gives another handle on the same map.
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
    /// Logout tokens seen ([`SessionStore::end_sessions_once`]), with when each record expires.
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

    /// Writes `new` if the current value is `expected` (`Some(None)`: absent), or whatever
    /// it is (`None`).
    fn swap(&self, key: &str, expected: Option<Option<&str>>, new: Option<&str>) -> bool {
        // Parsed before the lock: only the sessions that never signed in are capped, and
        // only signed-in ones are indexed for back-channel logout.
        let kind = new.map(SessionKind::of).unwrap_or_default();
        let now = (self.inner.clock)();
        let limits = &self.inner.limits;
        let mut state = self.write_state();
        if now.saturating_sub(state.last_sweep) >= limits.sweep_interval.as_secs() {
            state.sweep(limits, now);
        }
        // An expired session is gone: what is written next starts a new one (with a new age).
        state.remove_if_expired(key, limits, now);
        let current = state.sessions.get(key).map(|entry| &*entry.value);
        if expected.is_some_and(|expected| current != expected) {
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

/// What the store needs to know of a value: whether it is a signed-in session, and the
/// logout index keys it goes under.
#[derive(Default)]
struct SessionKind {
    signed_in: bool,
    targets: Vec<String>,
}

impl SessionKind {
    fn of(value: &str) -> SessionKind {
        match read_session(Some(value)) {
            Ok(session) => SessionKind {
                signed_in: session.is_authenticated(),
                targets: logout_index_keys(&session),
            },
            Err(_) => SessionKind::default(),
        }
    }
}

#[cfg(test)]
fn is_signed_in(value: &str) -> bool {
    SessionKind::of(value).signed_in
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
    fn put(&mut self, key: &str, value: &str, kind: SessionKind, now: u64) {
        let SessionKind { signed_in, targets } = kind;
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

impl Storage for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        let value = self.read(key);
        Box::pin(async move { Ok(value) })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        self.swap(key, None, Some(value));
        Box::pin(async move { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        self.swap(key, None, None);
        Box::pin(async move { Ok(()) })
    }

    /// Atomic: compared and written under the store's lock.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        let written = self.swap(key, Some(expected), new);
        Box::pin(async move { Ok(written) })
    }
}

impl SessionStore for MemoryStore {
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
        let now = (self.inner.clock)();
        let mut state = self.write_state();
        let fresh = state
            .once
            .get(replay_key)
            .is_none_or(|expires| *expires <= now);
        let ended = fresh.then(|| {
            let expires = now.saturating_add(ttl.as_secs().max(1));
            state.once.insert(replay_key.to_owned(), expires);
            state.end_sessions(target)
        });
        Box::pin(async move { Ok(ended) })
    }
}

#[cfg(feature = "redis")]
impl SessionStore for logto_redis::RedisStore {
    fn end_sessions<'a>(&'a self, target: &'a LogoutTarget) -> StorageFuture<'a, usize> {
        let (store, target) = (self.clone(), target.clone());
        Box::pin(blocking::unblock(move || store.end_sessions(&target)))
    }

    /// Atomic: one script on the server.
    fn end_sessions_once<'a>(
        &'a self,
        target: &'a LogoutTarget,
        replay_key: &'a str,
        ttl: Duration,
    ) -> StorageFuture<'a, Option<usize>> {
        let (store, target, key) = (self.clone(), target.clone(), replay_key.to_owned());
        Box::pin(blocking::unblock(move || {
            store.end_sessions_once(&target, &key, ttl)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PENDING: &str = r#"{"v":1}"#;
    const SIGNED_IN: &str = r#"{"v":1,"id":"e30.e30.sig"}"#;

    /// A session signed in as `sub` in provider session `sid` (a store decodes the ID
    /// token, it does not verify it).
    fn signed_in_as(sub: &str, sid: &str) -> String {
        signed_in(sub, Some(sid))
    }

    /// A session signed in as `sub`, in provider session `sid` if any.
    fn signed_in(sub: &str, sid: Option<&str>) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let mut payload = serde_json::json!({
            "iss": "https://tenant.logto.app/oidc", "sub": sub, "aud": "app",
            "iat": 1, "exp": 2,
        });
        if let Some(sid) = sid {
            payload["sid"] = sid.into();
        }
        let token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload.to_string()));
        serde_json::json!({ "v": 1, "id": token }).to_string()
    }

    fn store(limits: MemoryStoreLimits) -> (MemoryStore, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = now.clone();
        let store = MemoryStore::with_clock(limits, Arc::new(move || clock.load(Ordering::SeqCst)));
        (store, now)
    }

    async fn put(store: &MemoryStore, id: &str, value: &str) {
        let current = store.get(id).await.unwrap();
        assert!(store
            .compare_and_swap(id, current.as_deref(), Some(value))
            .await
            .unwrap());
    }

    #[test]
    fn the_fixture_snapshots_are_what_their_names_say() {
        assert!(is_signed_in(SIGNED_IN));
        assert!(!is_signed_in(PENDING));
        assert!(!is_signed_in("not json"));
    }

    #[tokio::test]
    async fn compare_and_swap_writes_only_over_the_expected_value() {
        let (store, _) = store(MemoryStoreLimits::default());
        assert!(store.compare_and_swap("a", None, Some("1")).await.unwrap());
        assert!(!store.compare_and_swap("a", None, Some("2")).await.unwrap());
        assert!(!store
            .compare_and_swap("a", Some("0"), Some("2"))
            .await
            .unwrap());
        assert_eq!(store.get("a").await.unwrap().as_deref(), Some("1"));
        assert!(store.compare_and_swap("a", Some("1"), None).await.unwrap());
        assert_eq!(store.get("a").await.unwrap(), None);
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn sessions_expire_when_idle_and_at_their_absolute_age() {
        let limits = MemoryStoreLimits {
            idle_timeout: Duration::from_secs(100),
            absolute_timeout: Duration::from_secs(250),
            pending_timeout: Duration::from_secs(10),
            ..MemoryStoreLimits::default()
        };
        let (store, now) = store(limits);
        put(&store, "user", SIGNED_IN).await;
        put(&store, "pending", PENDING).await;
        now.fetch_add(11, Ordering::SeqCst);
        assert_eq!(store.get("pending").await.unwrap(), None, "pending: 10 s");
        assert!(store.get("user").await.unwrap().is_some());
        // Used every 90 s, the signed-in session lives until its absolute age.
        for _ in 0..2 {
            now.fetch_add(90, Ordering::SeqCst);
            assert!(store.get("user").await.unwrap().is_some());
        }
        now.fetch_add(90, Ordering::SeqCst); // 281 s old, used 90 s ago
        assert_eq!(store.get("user").await.unwrap(), None, "absolute: 250 s");
        assert!(store.is_empty(), "an expired read removes the entry");

        put(&store, "idle", SIGNED_IN).await;
        now.fetch_add(101, Ordering::SeqCst);
        assert_eq!(store.get("idle").await.unwrap(), None, "idle: 100 s");
        // An expired value is not the expected one.
        put(&store, "again", SIGNED_IN).await;
        now.fetch_add(101, Ordering::SeqCst);
        let stale = store.compare_and_swap("again", Some(SIGNED_IN), Some(PENDING));
        assert!(!stale.await.unwrap());
    }

    #[tokio::test]
    async fn only_sessions_that_never_signed_in_are_capped() {
        let limits = MemoryStoreLimits {
            max_pending: 3,
            ..MemoryStoreLimits::default()
        };
        let (store, now) = store(limits);
        put(&store, "user", PENDING).await;
        put(&store, "user", SIGNED_IN).await; // signs in: leaves the capped set
        for i in 0..5 {
            now.fetch_add(1, Ordering::SeqCst);
            put(&store, &format!("p{i}"), PENDING).await;
        }
        assert_eq!(store.pending_len(), 3);
        assert_eq!(store.len(), 4);
        assert_eq!(
            store.get("p0").await.unwrap(),
            None,
            "the oldest went first"
        );
        assert_eq!(store.get("p1").await.unwrap(), None);
        assert!(store.get("p4").await.unwrap().is_some());
        assert!(store.get("user").await.unwrap().is_some());
        // Signing out joins the capped set, where the oldest goes.
        put(&store, "user", PENDING).await;
        assert_eq!(store.pending_len(), 3);
        assert_eq!(store.get("p2").await.unwrap(), None);
    }

    #[tokio::test]
    async fn back_channel_logout_ends_the_sessions_of_a_sid_or_a_sub() {
        let (store, now) = store(MemoryStoreLimits::default());
        put(&store, "a", &signed_in_as("u1", "s1")).await;
        put(&store, "b", &signed_in_as("u1", "s1")).await;
        put(&store, "c", &signed_in_as("u1", "s2")).await;
        put(&store, "d", &signed_in_as("u2", "s3")).await;
        put(&store, "pending", PENDING).await;
        let sid = LogoutTarget::Session { sid: "s1".into() };
        assert_eq!(store.end_sessions(&sid).await.unwrap(), 2);
        assert_eq!(store.get("a").await.unwrap(), None);
        assert_eq!(store.get("b").await.unwrap(), None);
        assert_eq!(store.end_sessions(&sid).await.unwrap(), 0);
        // A session signed out (deleted) or signed in again elsewhere leaves the index.
        put(&store, "d", PENDING).await;
        let user = LogoutTarget::User { sub: "u2".into() };
        assert_eq!(store.end_sessions(&user).await.unwrap(), 0);
        assert!(
            store.get("d").await.unwrap().is_some(),
            "d signed out: not u2's now"
        );
        let user = LogoutTarget::User { sub: "u1".into() };
        assert_eq!(store.end_sessions(&user).await.unwrap(), 1, "c");
        assert_eq!(store.len(), 2, "d and pending");
        // An expired session leaves the index with the sweep.
        put(&store, "e", &signed_in_as("u3", "s4")).await;
        now.fetch_add(8 * 24 * 3600, Ordering::SeqCst);
        put(&store, "f", PENDING).await; // sweeps
        assert!(
            store.write_state().index.is_empty(),
            "no index entry outlives its session"
        );
    }

    #[tokio::test]
    async fn a_logout_naming_sid_and_sub_also_ends_the_users_sessions_without_a_sid() {
        let (store, _) = store(MemoryStoreLimits::default());
        put(&store, "in-s1", &signed_in("u1", Some("s1"))).await;
        put(&store, "in-s2", &signed_in("u1", Some("s2"))).await;
        put(&store, "no-sid", &signed_in("u1", None)).await;
        put(&store, "other-user", &signed_in("u2", None)).await;
        let target = LogoutTarget::SessionOfUser {
            sid: "s1".into(),
            sub: "u1".into(),
        };
        let ended = store.end_sessions_once(&target, "jti", Duration::from_secs(60));
        assert_eq!(ended.await.unwrap(), Some(2), "in-s1 and no-sid");
        assert_eq!(store.get("in-s1").await.unwrap(), None);
        assert_eq!(store.get("no-sid").await.unwrap(), None);
        assert!(store.get("in-s2").await.unwrap().is_some(), "another sid");
        assert!(store.get("other-user").await.unwrap().is_some());
        // A logout naming only the sid leaves a session without one.
        put(&store, "no-sid", &signed_in("u1", None)).await;
        let sid = LogoutTarget::Session { sid: "s2".into() };
        assert_eq!(store.end_sessions(&sid).await.unwrap(), 1, "in-s2");
        assert!(store.get("no-sid").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_logout_token_ends_sessions_once_until_its_record_expires() {
        let limits = MemoryStoreLimits {
            sweep_interval: Duration::from_secs(1),
            ..MemoryStoreLimits::default()
        };
        let (store, now) = store(limits);
        let ttl = Duration::from_secs(120);
        let sid = LogoutTarget::Session { sid: "s1".into() };
        put(&store, "a", &signed_in_as("u1", "s1")).await;
        let once = |key| store.end_sessions_once(&sid, key, ttl);
        assert_eq!(once("jti").await.unwrap(), Some(1));
        put(&store, "b", &signed_in_as("u1", "s1")).await;
        assert_eq!(once("jti").await.unwrap(), None, "a replay ends nothing");
        assert!(store.get("b").await.unwrap().is_some());
        now.fetch_add(121, Ordering::SeqCst);
        assert_eq!(once("jti").await.unwrap(), Some(1), "the record expired");
        now.fetch_add(121, Ordering::SeqCst);
        put(&store, "p", PENDING).await; // the sweep drops expired records
        assert!(store.write_state().once.is_empty());
    }

    #[tokio::test]
    async fn a_write_sweeps_expired_sessions_once_per_interval() {
        let limits = MemoryStoreLimits {
            pending_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(60),
            ..MemoryStoreLimits::default()
        };
        let (store, now) = store(limits);
        put(&store, "first", PENDING).await; // sweeps (first write) and stores
        for i in 0..10 {
            put(&store, &format!("p{i}"), PENDING).await;
        }
        now.fetch_add(30, Ordering::SeqCst);
        put(&store, "late", PENDING).await;
        assert_eq!(store.len(), 12, "no sweep within the interval");
        now.fetch_add(31, Ordering::SeqCst);
        put(&store, "later", PENDING).await;
        assert_eq!(store.len(), 1, "the sweep left only the fresh write");
        assert_eq!(store.pending_len(), 1);
    }
}
