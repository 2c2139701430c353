//! The memory store's rules, on a clock the tests move.

use super::{
    Arc, AtomicU64, Duration, Expected, LogoutTarget, MemoryStore, MemoryStoreLimits, Ordering,
    SessionStore, Storage, StoredSession,
};

/// Whether a stored value counts as a signed-in session.
fn is_signed_in(value: &str) -> bool {
    StoredSession::of(value).signed_in
}

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

fn put(store: &MemoryStore, id: &str, value: &str) {
    let current = store.get(id).unwrap();
    assert!(store
        .compare_and_swap(id, current.as_deref().into(), Some(value))
        .unwrap());
}

#[test]
fn the_fixture_snapshots_are_what_their_names_say() {
    assert!(is_signed_in(SIGNED_IN));
    assert!(!is_signed_in(PENDING));
    // Not a snapshot: kept like a signed-in session (as in Redis), never capped as pending.
    assert!(is_signed_in("not json"));
}

#[test]
fn compare_and_swap_writes_only_over_the_expected_value() {
    let (store, _) = store(MemoryStoreLimits::default());
    assert!(store
        .compare_and_swap("a", Expected::Absent, Some("1"))
        .unwrap());
    assert!(!store
        .compare_and_swap("a", Expected::Absent, Some("2"))
        .unwrap());
    assert!(!store
        .compare_and_swap("a", Expected::Value("0"), Some("2"))
        .unwrap());
    assert_eq!(store.get("a").unwrap().as_deref(), Some("1"));
    assert!(store
        .compare_and_swap("a", Expected::Value("1"), None)
        .unwrap());
    assert_eq!(store.get("a").unwrap(), None);
    assert!(store.is_empty());
}

#[test]
fn sessions_expire_when_idle_and_at_their_absolute_age() {
    let limits = MemoryStoreLimits {
        idle_timeout: Duration::from_secs(100),
        absolute_timeout: Duration::from_secs(250),
        pending_timeout: Duration::from_secs(10),
        ..MemoryStoreLimits::default()
    };
    let (store, now) = store(limits);
    put(&store, "user", SIGNED_IN);
    put(&store, "pending", PENDING);
    now.fetch_add(11, Ordering::SeqCst);
    assert_eq!(store.get("pending").unwrap(), None, "pending: 10 s");
    assert!(store.get("user").unwrap().is_some());
    // Used every 90 s, the signed-in session lives until its absolute age.
    for _ in 0..2 {
        now.fetch_add(90, Ordering::SeqCst);
        assert!(store.get("user").unwrap().is_some());
    }
    now.fetch_add(90, Ordering::SeqCst); // 281 s old, used 90 s ago
    assert_eq!(store.get("user").unwrap(), None, "absolute: 250 s");
    assert!(store.is_empty(), "an expired read removes the entry");

    put(&store, "idle", SIGNED_IN);
    now.fetch_add(101, Ordering::SeqCst);
    assert_eq!(store.get("idle").unwrap(), None, "idle: 100 s");
    // An expired value is not the expected one.
    put(&store, "again", SIGNED_IN);
    now.fetch_add(101, Ordering::SeqCst);
    let stale = store.compare_and_swap("again", Expected::Value(SIGNED_IN), Some(PENDING));
    assert!(!stale.unwrap());
}

#[test]
fn only_sessions_that_never_signed_in_are_capped() {
    let limits = MemoryStoreLimits {
        max_pending: 3,
        ..MemoryStoreLimits::default()
    };
    let (store, now) = store(limits);
    put(&store, "user", PENDING);
    put(&store, "user", SIGNED_IN); // signs in: leaves the capped set
    for i in 0..5 {
        now.fetch_add(1, Ordering::SeqCst);
        put(&store, &format!("p{i}"), PENDING);
    }
    assert_eq!(store.pending_len(), 3);
    assert_eq!(store.len(), 4);
    assert_eq!(store.get("p0").unwrap(), None, "the oldest went first");
    assert_eq!(store.get("p1").unwrap(), None);
    assert!(store.get("p4").unwrap().is_some());
    assert!(store.get("user").unwrap().is_some());
    // Signing out joins the capped set, where the oldest goes.
    put(&store, "user", PENDING);
    assert_eq!(store.pending_len(), 3);
    assert_eq!(store.get("p2").unwrap(), None);
}

#[test]
fn back_channel_logout_ends_the_sessions_of_a_sid_or_a_sub() {
    let (store, now) = store(MemoryStoreLimits::default());
    put(&store, "a", &signed_in_as("u1", "s1"));
    put(&store, "b", &signed_in_as("u1", "s1"));
    put(&store, "c", &signed_in_as("u1", "s2"));
    put(&store, "d", &signed_in_as("u2", "s3"));
    put(&store, "pending", PENDING);
    let sid = LogoutTarget::Session { sid: "s1".into() };
    assert_eq!(store.end_sessions(&sid).unwrap(), 2);
    assert_eq!(store.get("a").unwrap(), None);
    assert_eq!(store.get("b").unwrap(), None);
    assert_eq!(store.end_sessions(&sid).unwrap(), 0);
    // A session signed out (deleted) or signed in again elsewhere leaves the index.
    put(&store, "d", PENDING);
    let user = LogoutTarget::User { sub: "u2".into() };
    assert_eq!(store.end_sessions(&user).unwrap(), 0);
    assert!(
        store.get("d").unwrap().is_some(),
        "d signed out: not u2's now"
    );
    let user = LogoutTarget::User { sub: "u1".into() };
    assert_eq!(store.end_sessions(&user).unwrap(), 1, "c");
    assert_eq!(store.len(), 2, "d and pending");
    // An expired session leaves the index with the sweep.
    put(&store, "e", &signed_in_as("u3", "s4"));
    now.fetch_add(8 * 24 * 3600, Ordering::SeqCst);
    put(&store, "f", PENDING); // sweeps
    assert!(
        store.write_state().index.is_empty(),
        "no index entry outlives its session"
    );
}

#[test]
fn a_logout_naming_sid_and_sub_also_ends_the_users_sessions_without_a_sid() {
    let (store, _) = store(MemoryStoreLimits::default());
    put(&store, "in-s1", &signed_in("u1", Some("s1")));
    put(&store, "in-s2", &signed_in("u1", Some("s2")));
    put(&store, "no-sid", &signed_in("u1", None));
    put(&store, "other-user", &signed_in("u2", None));
    let target = LogoutTarget::SessionOfUser {
        sid: "s1".into(),
        sub: "u1".into(),
    };
    let ended = store.end_sessions_once(&target, "jti", Duration::from_secs(60));
    assert_eq!(ended.unwrap(), Some(2), "in-s1 and no-sid");
    assert_eq!(store.get("in-s1").unwrap(), None);
    assert_eq!(store.get("no-sid").unwrap(), None);
    assert!(store.get("in-s2").unwrap().is_some(), "another sid");
    assert!(store.get("other-user").unwrap().is_some());
    // A logout naming only the sid leaves a session without one.
    put(&store, "no-sid", &signed_in("u1", None));
    let sid = LogoutTarget::Session { sid: "s2".into() };
    assert_eq!(store.end_sessions(&sid).unwrap(), 1, "in-s2");
    assert!(store.get("no-sid").unwrap().is_some());
}

#[test]
fn a_logout_token_ends_sessions_once_until_its_record_expires() {
    let limits = MemoryStoreLimits {
        sweep_interval: Duration::from_secs(1),
        ..MemoryStoreLimits::default()
    };
    let (store, now) = store(limits);
    let ttl = Duration::from_secs(120);
    let sid = LogoutTarget::Session { sid: "s1".into() };
    put(&store, "a", &signed_in_as("u1", "s1"));
    let once = |key| store.end_sessions_once(&sid, key, ttl);
    assert_eq!(once("jti").unwrap(), Some(1));
    put(&store, "b", &signed_in_as("u1", "s1"));
    assert_eq!(once("jti").unwrap(), None, "a replay ends nothing");
    assert!(store.get("b").unwrap().is_some());
    now.fetch_add(121, Ordering::SeqCst);
    assert_eq!(once("jti").unwrap(), Some(1), "the record expired");
    now.fetch_add(121, Ordering::SeqCst);
    put(&store, "p", PENDING); // the sweep drops expired records
    assert!(store.write_state().once.is_empty());
}

#[test]
fn a_write_sweeps_expired_sessions_once_per_interval() {
    let limits = MemoryStoreLimits {
        pending_timeout: Duration::from_secs(10),
        sweep_interval: Duration::from_secs(60),
        ..MemoryStoreLimits::default()
    };
    let (store, now) = store(limits);
    put(&store, "first", PENDING); // sweeps (first write) and stores
    for i in 0..10 {
        put(&store, &format!("p{i}"), PENDING);
    }
    now.fetch_add(30, Ordering::SeqCst);
    put(&store, "late", PENDING);
    assert_eq!(store.len(), 12, "no sweep within the interval");
    now.fetch_add(31, Ordering::SeqCst);
    put(&store, "later", PENDING);
    assert_eq!(store.len(), 1, "the sweep left only the fresh write");
    assert_eq!(store.pending_len(), 1);
}
