//! The Redis store against a real `redis-server` (started on a free loopback port by the
//! harness, stopped by PID).

use logto_integration::RedisServer;
use logto_redis::{LogoutTarget, RedisStore, StorageError};
use logto_store::{conformance, Expected, SessionStore, Storage};
// The async side is called by its full path (`logto_store::AsyncStorage::get`): one type
// implements both sides, and importing both would make every method call ambiguous.
use std::sync::Arc;
use std::time::Duration;

/// A stored session signed in as `sub` in provider session `sid` (its ID token is not
/// verified by a store, only decoded).
fn signed_in(sub: &str, sid: &str) -> String {
    signed_in_maybe_sid(sub, Some(sid))
}

/// A session signed in as `sub`, in provider session `sid` if any.
fn signed_in_maybe_sid(sub: &str, sid: Option<&str>) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut payload = serde_json::json!({
        "iss": "http://127.0.0.1/oidc", "sub": sub, "aud": "web-app",
        "iat": 1_700_000_000u64, "exp": 4_000_000_000u64,
    });
    if let Some(sid) = sid {
        payload["sid"] = sid.into();
    }
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"ES384"}"#),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    serde_json::json!({ "v": 1, "id": token }).to_string()
}

const PENDING: &str = r#"{"v":1}"#;

/// Writes `value` under `key`, where nothing was.
fn put(store: &RedisStore, key: &str, value: &str) {
    assert!(store
        .compare_and_swap(key, Expected::Absent, Some(value))
        .unwrap());
}

fn store(server: &RedisServer) -> RedisStore {
    RedisStore::builder(server.url())
        .key_prefix("test:")
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[test]
fn redis_two_writers_one_wins_the_other_rereads() {
    let server = RedisServer::start();
    // Two stores: two processes' pools on one server.
    let (a, b) = (store(&server), store(&server));
    assert!(a
        .compare_and_swap("s", Expected::Absent, Some("v0"))
        .unwrap());
    let read_by_a = a.get("s").unwrap();
    let read_by_b = b.get("s").unwrap();
    assert_eq!(read_by_a.as_deref(), Some("v0"));
    assert!(a
        .compare_and_swap("s", Expected::from(read_by_a.as_deref()), Some("a"))
        .unwrap());
    assert!(
        !b.compare_and_swap("s", Expected::from(read_by_b.as_deref()), Some("b"))
            .unwrap(),
        "the second writer's compare fails"
    );
    assert_eq!(b.get("s").unwrap().as_deref(), Some("a"), "nothing lost");
    let reread = b.get("s").unwrap();
    assert!(b
        .compare_and_swap("s", Expected::from(reread.as_deref()), Some("b"))
        .unwrap());
    assert_eq!(a.get("s").unwrap().as_deref(), Some("b"));
    // Absent means absent, and a delete compares too.
    assert!(!a
        .compare_and_swap("s", Expected::Absent, Some("c"))
        .unwrap());
    assert!(!a.compare_and_swap("s", Expected::Value("a"), None).unwrap());
    assert!(a.compare_and_swap("s", Expected::Value("b"), None).unwrap());
    assert_eq!(a.get("s").unwrap(), None);
}

#[test]
fn redis_concurrent_compare_and_swap_loses_no_increment() {
    let server = RedisServer::start();
    // Two stores stand for two instances: 8 threads over both, 25 increments each.
    conformance::concurrent_increments(&[store(&server), store(&server)], "", 8, 25);
}

#[test]
fn redis_every_write_sets_a_ttl_by_session_kind() {
    let server = RedisServer::start();
    let store = RedisStore::builder(server.url())
        .session_ttl(Duration::from_secs(3600))
        .pending_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    assert!(store
        .compare_and_swap("p", Expected::Absent, Some(PENDING))
        .unwrap());
    let pending = store.ttl("p").unwrap().unwrap();
    assert!(pending <= Duration::from_secs(60) && pending > Duration::from_secs(50));
    let value = signed_in("u1", "s1");
    assert!(store
        .compare_and_swap("p", Expected::Value(PENDING), Some(&value))
        .unwrap());
    let signed = store.ttl("p").unwrap().unwrap();
    assert!(signed > Duration::from_secs(3500), "{signed:?}");
    // The default prefix, and a set without compare writes a TTL too.
    assert_eq!(server.command("EXISTS logto-rs:p"), ":1");
    assert_eq!(server.command("TYPE logto-rs:p"), "+hash");
    assert!(store
        .compare_and_swap("q", Expected::Any, Some("not a snapshot"))
        .unwrap());
    assert!(store.ttl("q").unwrap().is_some());
}

#[test]
fn redis_end_sessions_removes_every_session_of_a_sid_or_a_sub() {
    let server = RedisServer::start();
    let (one, other) = (store(&server), store(&server));
    put(&one, "a", &signed_in("u1", "s1"));
    put(&other, "b", &signed_in("u1", "s1"));
    put(&one, "c", &signed_in("u1", "s2"));
    put(&other, "d", &signed_in("u2", "s3"));
    put(&one, "pending", PENDING);

    let sid = LogoutTarget::Session { sid: "s1".into() };
    assert_eq!(other.end_sessions(&sid).unwrap(), 2);
    for gone in ["a", "b"] {
        assert_eq!(one.get(gone).unwrap(), None, "{gone}");
    }
    assert!(one.get("c").unwrap().is_some());
    // Ended by their sid, they leave their user's index set too.
    assert_eq!(server.command("SISMEMBER test:index:sub:u1 test:a"), ":0");
    assert_eq!(server.command("SISMEMBER test:index:sub:u1 test:c"), ":1");
    assert_eq!(one.end_sessions(&sid).unwrap(), 0, "nothing left to end");

    let user = LogoutTarget::User { sub: "u1".into() };
    assert_eq!(
        one.end_sessions(&user).unwrap(),
        1,
        "c: a, b are gone already"
    );
    assert!(one.get("d").unwrap().is_some());
    assert!(one.get("pending").unwrap().is_some());

    // A session deleted by a sign-out leaves its index sets.
    assert_eq!(server.command("SISMEMBER test:index:sub:u2 test:d"), ":1");
    let stored = one.get("d").unwrap();
    assert!(one
        .compare_and_swap("d", Expected::from(stored.as_deref()), None)
        .unwrap());
    assert_eq!(server.command("SISMEMBER test:index:sub:u2 test:d"), ":0");
}

#[test]
fn redis_a_logout_naming_sid_and_sub_also_ends_the_users_sessions_without_a_sid() {
    let server = RedisServer::start();
    let (one, other) = (store(&server), store(&server));
    put(&one, "in-s1", &signed_in_maybe_sid("u1", Some("s1")));
    put(&other, "in-s2", &signed_in_maybe_sid("u1", Some("s2")));
    put(&one, "no-sid", &signed_in_maybe_sid("u1", None));
    put(&other, "other-user", &signed_in_maybe_sid("u2", None));
    let target = LogoutTarget::SessionOfUser {
        sid: "s1".into(),
        sub: "u1".into(),
    };
    let ended = other.end_sessions_once(&target, "jti-both", Duration::from_secs(60));
    assert_eq!(ended.unwrap(), Some(2), "in-s1 and no-sid");
    assert_eq!(one.get("in-s1").unwrap(), None);
    assert_eq!(one.get("no-sid").unwrap(), None);
    assert!(one.get("in-s2").unwrap().is_some(), "another sid");
    assert!(one.get("other-user").unwrap().is_some());
    let replay = one.end_sessions_once(&target, "jti-both", Duration::from_secs(60));
    assert_eq!(replay.unwrap(), None);
    // A logout naming only a sid leaves a session without one.
    put(&one, "no-sid", &signed_in_maybe_sid("u1", None));
    let sid = LogoutTarget::Session { sid: "s2".into() };
    assert_eq!(one.end_sessions(&sid).unwrap(), 1, "in-s2");
    assert!(one.get("no-sid").unwrap().is_some());
}

#[test]
fn redis_the_index_follows_what_a_key_holds_now() {
    let server = RedisServer::start();
    let store = store(&server);
    // A refresh replaces the session's value: it is still found by its sid.
    let first = signed_in("u1", "s1");
    assert!(store
        .compare_and_swap("k", Expected::Absent, Some(&first))
        .unwrap());
    let refreshed = first.replace(r#""v":1"#, r#""rt":"rotated","v":1"#);
    assert_ne!(refreshed, first);
    assert!(store
        .compare_and_swap("k", Expected::Value(&first), Some(&refreshed))
        .unwrap());
    assert_eq!(server.command("SISMEMBER test:index:sid:s1 test:k"), ":1");
    // A fixed key (one session per store, as a CLI keeps it) signed in by another user,
    // even with a plain set: the first user's logout does not end the second's session.
    assert!(store
        .compare_and_swap("k", Expected::Any, Some(&signed_in("u2", "s2")))
        .unwrap());
    assert_eq!(server.command("SISMEMBER test:index:sid:s1 test:k"), ":0");
    let u1 = LogoutTarget::User { sub: "u1".into() };
    assert_eq!(store.end_sessions(&u1).unwrap(), 0);
    assert!(store.get("k").unwrap().is_some());
    // An index entry left behind (say, by a value that expired) ends nothing either.
    assert_eq!(server.command("SADD test:index:sub:u1 test:k"), ":1");
    assert_eq!(store.end_sessions(&u1).unwrap(), 0);
    assert!(store.get("k").unwrap().is_some());
    let u2 = LogoutTarget::User { sub: "u2".into() };
    assert_eq!(store.end_sessions(&u2).unwrap(), 1);
}

#[test]
fn redis_a_logout_token_ends_sessions_once_until_its_record_expires() {
    let server = RedisServer::start();
    let store = store(&server);
    let sid = LogoutTarget::Session { sid: "s1".into() };
    let second = Duration::from_secs(1);
    assert!(store
        .compare_and_swap("a", Expected::Absent, Some(&signed_in("u1", "s1")))
        .unwrap());
    assert_eq!(
        store.end_sessions_once(&sid, "jti-1", second).unwrap(),
        Some(1)
    );
    assert!(store
        .compare_and_swap("b", Expected::Absent, Some(&signed_in("u1", "s1")))
        .unwrap());
    assert_eq!(
        store.end_sessions_once(&sid, "jti-1", second).unwrap(),
        None,
        "a replay"
    );
    assert!(store.get("b").unwrap().is_some(), "a replay ends nothing");
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        store.end_sessions_once(&sid, "jti-1", second).unwrap(),
        Some(1),
        "expired"
    );
}

#[test]
fn redis_an_outage_is_a_typed_error_and_a_restart_loses_nothing() {
    let mut server = RedisServer::start();
    let store = store(&server);
    let value = signed_in("u1", "s1");
    assert!(store
        .compare_and_swap("s", Expected::Absent, Some(&value))
        .unwrap());
    // Fill the pool with connections the restart will close.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || store.get("s").unwrap())
        })
        .collect();
    threads.into_iter().for_each(|t| drop(t.join().unwrap()));

    server.stop();
    let read = store.get("s").unwrap_err();
    assert!(matches!(read, StorageError::Unavailable { .. }), "{read:?}");
    let write = store
        .compare_and_swap("s", Expected::Value(&value), Some(PENDING))
        .unwrap_err();
    assert!(
        matches!(write, StorageError::Unavailable { .. }),
        "{write:?}"
    );
    let message = write.to_string();
    assert!(message.contains("127.0.0.1"), "{message}");

    server.start_again();
    // The stale pooled connections are dropped without the caller seeing them.
    assert_eq!(store.get("s").unwrap().as_deref(), Some(value.as_str()));
    assert!(store
        .compare_and_swap("s", Expected::Value(&value), Some(PENDING))
        .unwrap());
    let sid = LogoutTarget::Session { sid: "s1".into() };
    assert_eq!(store.end_sessions(&sid).unwrap(), 0, "the index followed");
}

/// A multi-threaded tokio runtime, as an axum app runs.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn redis_both_sides_keep_the_contract_on_one_store() {
    let server = RedisServer::start();
    let store = store(&server);
    conformance::compare_and_swap(&store, "sync:");
    runtime().block_on(async {
        conformance::async_compare_and_swap(&store, "async:").await;
        // What one side writes, the other reads.
        let written =
            logto_store::AsyncStorage::compare_and_swap(&store, "k", Expected::Absent, Some("1"));
        assert!(written.await.unwrap());
        assert_eq!(Storage::get(&store, "k").unwrap().as_deref(), Some("1"));
        assert!(Storage::compare_and_swap(&store, "k", Expected::Value("1"), Some("2")).unwrap());
        let read = logto_store::AsyncStorage::get(&store, "k").await.unwrap();
        assert_eq!(read.as_deref(), Some("2"));
    });
}

#[test]
fn redis_async_concurrent_compare_and_swap_loses_no_increment() {
    let server = RedisServer::start();
    // Two stores stand for two instances: two multiplexed connections.
    let stores = [store(&server), store(&server)];
    let (tasks, rounds) = (8, 25);
    let conflicts: usize = runtime().block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|i| {
                let store = stores[i % 2].clone();
                tokio::spawn(async move {
                    let mut conflicts = 0;
                    for _ in 0..rounds {
                        loop {
                            let current = logto_store::AsyncStorage::get(&store, "counter")
                                .await
                                .unwrap();
                            let n: usize = current.as_deref().map_or(0, |v| v.parse().unwrap());
                            let next = (n + 1).to_string();
                            let expected = Expected::from(current.as_deref());
                            let written = logto_store::AsyncStorage::compare_and_swap(
                                &store,
                                "counter",
                                expected,
                                Some(&next),
                            );
                            if written.await.unwrap() {
                                break;
                            }
                            conflicts += 1;
                        }
                    }
                    conflicts
                })
            })
            .collect();
        let mut conflicts = 0;
        for handle in handles {
            conflicts += handle.await.unwrap();
        }
        conflicts
    });
    let total = Storage::get(&stores[0], "counter").unwrap();
    assert_eq!(
        total,
        Some((tasks * rounds).to_string()),
        "after {conflicts} conflicts"
    );
}

#[test]
fn redis_async_an_outage_is_unavailable_and_a_restart_loses_nothing() {
    let mut server = RedisServer::start();
    let store = store(&server);
    let runtime = runtime();
    let value = signed_in("u1", "s1");
    runtime.block_on(async {
        let written = logto_store::AsyncStorage::compare_and_swap(
            &store,
            "s",
            Expected::Absent,
            Some(&value),
        );
        assert!(written.await.unwrap());
    });
    server.stop();
    runtime.block_on(async {
        let read = logto_store::AsyncStorage::get(&store, "s")
            .await
            .unwrap_err();
        assert!(matches!(read, StorageError::Unavailable { .. }), "{read:?}");
        let write =
            logto_store::AsyncStorage::compare_and_swap(&store, "s", Expected::Value(&value), None);
        let write = write.await.unwrap_err();
        assert!(
            matches!(write, StorageError::Unavailable { .. }),
            "{write:?}"
        );
        let sid = LogoutTarget::Session { sid: "s1".into() };
        let ended = logto_store::AsyncSessionStore::end_sessions_once(
            &store,
            &sid,
            "j",
            Duration::from_secs(9),
        );
        let ended = ended.await.unwrap_err();
        assert!(
            matches!(ended, StorageError::Unavailable { .. }),
            "{ended:?}"
        );
    });
    server.start_again();
    runtime.block_on(async {
        // The connection the restart closed is replaced without the caller seeing it.
        let read = logto_store::AsyncStorage::get(&store, "s").await.unwrap();
        assert_eq!(
            read.as_deref(),
            Some(value.as_str()),
            "the session survived"
        );
        let sid = LogoutTarget::Session { sid: "s1".into() };
        let ended = logto_store::AsyncSessionStore::end_sessions_once(
            &store,
            &sid,
            "j",
            Duration::from_secs(9),
        );
        assert_eq!(ended.await.unwrap(), Some(1));
        let replay = logto_store::AsyncSessionStore::end_sessions_once(
            &store,
            &sid,
            "j",
            Duration::from_secs(9),
        );
        assert_eq!(replay.await.unwrap(), None);
        assert_eq!(
            logto_store::AsyncStorage::get(&store, "s").await.unwrap(),
            None
        );
    });
}

#[test]
fn redis_the_async_side_outside_tokio_is_an_error_not_a_panic() {
    let server = RedisServer::start();
    let store = store(&server);
    let read = futures_executor_free_block_on(logto_store::AsyncStorage::get(&store, "k"));
    let e = read.unwrap_err();
    assert!(matches!(e, StorageError::Backend { .. }), "{e:?}");
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}

/// Polls a future on this thread, outside any runtime (it must not need one to fail).
fn futures_executor_free_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

#[test]
fn redis_settings_and_passwords_stay_out_of_messages() {
    let bad = RedisStore::open("http://:hunter2@127.0.0.1/").unwrap_err();
    assert!(!bad.to_string().contains("hunter2"), "{bad}");
    let store = RedisStore::builder("redis://:hunter2@127.0.0.1:1/0")
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(!format!("{store:?}").contains("hunter2"));
    let down = store.get("k").unwrap_err();
    assert!(matches!(down, StorageError::Unavailable { .. }));
    assert!(!down.to_string().contains("hunter2"), "{down}");
    // A socket URL carries its password in the query.
    let socket = RedisStore::builder("redis+unix:///nonexistent.sock?pass=hunter2")
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(!format!("{socket:?}").contains("hunter2"));
    let down = socket.get("k").unwrap_err();
    assert!(!down.to_string().contains("hunter2"), "{down}");
    // The async side too.
    let down = runtime()
        .block_on(logto_store::AsyncStorage::get(&store, "k"))
        .unwrap_err();
    assert!(matches!(down, StorageError::Unavailable { .. }), "{down:?}");
    assert!(!down.to_string().contains("hunter2"), "{down}");
    let zero = RedisStore::builder("redis://127.0.0.1/")
        .session_ttl(Duration::from_millis(500))
        .build()
        .unwrap_err();
    assert!(matches!(
        zero,
        logto_redis::Error::InvalidSetting {
            name: "session_ttl",
            ..
        }
    ));
}

/// A TCP proxy in front of `redis-server` that, once armed, lets the next script call reach
/// the server and run, then drops the client's connection before the answer: a connection
/// reset at the worst moment.
struct DroppingProxy {
    port: u16,
    armed: Arc<std::sync::atomic::AtomicBool>,
    /// While set, nothing the server sends reaches the client: a connection that went
    /// silent without closing (a partition).
    frozen: Arc<std::sync::atomic::AtomicBool>,
}

impl DroppingProxy {
    fn start(server_port: u16) -> DroppingProxy {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let armed_for_proxy = armed.clone();
        let frozen = Arc::new(AtomicBool::new(false));
        let frozen_for_proxy = frozen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
                let script_sent = Arc::new(AtomicBool::new(false));
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let sent = script_sent.clone();
                std::thread::spawn(move || {
                    let mut buf = [0; 16 * 1024];
                    while let Ok(n @ 1..) = c_in.read(&mut buf) {
                        if buf[..n].windows(4).any(|w| w.eq_ignore_ascii_case(b"EVAL")) {
                            sent.store(true, Ordering::SeqCst);
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
                let (armed, frozen) = (armed_for_proxy.clone(), frozen_for_proxy.clone());
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0; 16 * 1024];
                    while let Ok(n @ 1..) = s_in.read(&mut buf) {
                        // The script ran on the server; its answer never arrives.
                        if script_sent.load(Ordering::SeqCst) && armed.swap(false, Ordering::SeqCst)
                        {
                            let _ = c_out.shutdown(Shutdown::Both);
                            let _ = s_in.shutdown(Shutdown::Both);
                            return;
                        }
                        if frozen.load(Ordering::SeqCst) {
                            continue;
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                    let _ = c_out.shutdown(Shutdown::Both);
                });
            }
        });
        DroppingProxy {
            port,
            armed,
            frozen,
        }
    }

    fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn redis_a_swap_retried_after_a_dropped_answer_counts_its_own_write() {
    let server = RedisServer::start();
    let proxy = DroppingProxy::start(server.port());
    let store = RedisStore::builder(format!("redis://127.0.0.1:{}/0", proxy.port))
        .key_prefix("test:")
        .pool_size(1)
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    // The script is loaded on the server (so the armed call runs it at once).
    assert!(store
        .compare_and_swap("warm", Expected::Absent, Some("w"))
        .unwrap());

    // Written where nothing was: the first run writes, its answer is lost, the retry finds
    // the value it wrote.
    proxy.arm();
    assert!(
        store
            .compare_and_swap("moved", Expected::Absent, Some("v1"))
            .unwrap(),
        "the retry counts its write"
    );
    assert_eq!(store.get("moved").unwrap().as_deref(), Some("v1"));

    // A compared write, and a compared delete.
    proxy.arm();
    assert!(store
        .compare_and_swap("moved", Expected::Value("v1"), Some("v2"))
        .unwrap());
    assert_eq!(store.get("moved").unwrap().as_deref(), Some("v2"));
    proxy.arm();
    assert!(store
        .compare_and_swap("moved", Expected::Value("v2"), None)
        .unwrap());
    assert_eq!(store.get("moved").unwrap(), None);

    // A real conflict is still one, retry or not.
    assert!(store
        .compare_and_swap("other", Expected::Absent, Some("theirs"))
        .unwrap());
    proxy.arm();
    assert!(!store
        .compare_and_swap("other", Expected::Absent, Some("mine"))
        .unwrap());
    assert_eq!(store.get("other").unwrap().as_deref(), Some("theirs"));
}

#[test]
fn redis_async_a_swap_retried_after_a_dropped_answer_counts_its_own_write() {
    let server = RedisServer::start();
    let proxy = DroppingProxy::start(server.port());
    let store = RedisStore::builder(format!("redis://127.0.0.1:{}/0", proxy.port))
        .key_prefix("test:")
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    // One runtime throughout: the multiplexed connection lives on it.
    let runtime = runtime();
    let swap = |key, expected, new| {
        runtime.block_on(logto_store::AsyncStorage::compare_and_swap(
            &store, key, expected, new,
        ))
    };
    // The script is loaded on the server (so the armed call runs it at once).
    assert!(swap("warm", Expected::Absent, Some("w")).unwrap());
    // The multiplexed connection drops after the script reached the server: the manager
    // connects again and the retry finds its own write.
    proxy.arm();
    assert!(
        swap("moved", Expected::Absent, Some("v1")).unwrap(),
        "the retry counts its write"
    );
    assert_eq!(store.get("moved").unwrap().as_deref(), Some("v1"));
    proxy.arm();
    assert!(swap("moved", Expected::Value("v1"), None).unwrap());
    assert_eq!(store.get("moved").unwrap(), None);
    // A real conflict is still one.
    assert!(swap("other", Expected::Absent, Some("theirs")).unwrap());
    proxy.arm();
    assert!(!swap("other", Expected::Absent, Some("mine")).unwrap());
    assert_eq!(store.get("other").unwrap().as_deref(), Some("theirs"));
}

/// A store whose async reads may come from a local copy for `ttl`.
fn store_with_local_copy(url: String, ttl: Duration) -> RedisStore {
    RedisStore::builder(url)
        .key_prefix("test:")
        .connect_timeout(Duration::from_millis(500))
        .command_timeout(Duration::from_millis(500))
        .local_copy_ttl(Some(ttl))
        .build()
        .unwrap()
}

#[test]
fn redis_async_a_write_elsewhere_reaches_the_local_copy_at_once() {
    let server = RedisServer::start();
    // A long copy lifetime: what ends the stale copy here is Redis's invalidation.
    let instance = store_with_local_copy(server.url(), Duration::from_secs(60));
    let elsewhere = store(&server);
    let value = signed_in("u1", "s1");
    assert!(elsewhere
        .compare_and_swap("k", Expected::Absent, Some(&value))
        .unwrap());
    runtime().block_on(async {
        let read = || logto_store::AsyncStorage::get(&instance, "k");
        for _ in 0..3 {
            assert_eq!(read().await.unwrap().as_deref(), Some(value.as_str()));
        }
        assert!(
            instance.local_copy_hits() >= 2,
            "later reads come from the copy"
        );

        // Another instance signs the session out: the copy follows within milliseconds.
        assert!(elsewhere
            .compare_and_swap("k", Expected::Value(&value), None)
            .unwrap());
        let signed_out = std::time::Instant::now();
        while read().await.unwrap().is_some() {
            assert!(
                signed_out.elapsed() < Duration::from_secs(5),
                "the invalidation never reached the copy"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // And a new value likewise.
        assert!(elsewhere
            .compare_and_swap("k", Expected::Absent, Some(PENDING))
            .unwrap());
        let written = std::time::Instant::now();
        while read().await.unwrap().as_deref() != Some(PENDING) {
            assert!(
                written.elapsed() < Duration::from_secs(5),
                "stale after a write"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

#[test]
fn redis_async_reads_its_own_writes_at_once_through_the_local_copy() {
    let server = RedisServer::start();
    let store = store_with_local_copy(server.url(), Duration::from_secs(60));
    let runtime = runtime();
    let read = || {
        runtime
            .block_on(logto_store::AsyncStorage::get(&store, "k"))
            .unwrap()
    };
    let mut current: Option<String> = None;
    for i in 0..300 {
        // Every few rounds, past the own-write window: the reads come from the copy.
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(1100));
            let hits = store.local_copy_hits();
            assert_eq!(read(), current, "round {i}, first read after the window");
            assert_eq!(read(), current, "round {i}, from the copy");
            assert!(
                store.local_copy_hits() > hits,
                "round {i}: the copy answered"
            );
        }
        for _ in 0..2 {
            assert_eq!(read(), current, "round {i}");
        }
        let next = format!("v{i}");
        let expected = Expected::from(current.as_deref());
        // Written by either side of the same store: the async side reads it at once.
        let written = match i % 2 {
            0 => runtime.block_on(logto_store::AsyncStorage::compare_and_swap(
                &store,
                "k",
                expected,
                Some(&next),
            )),
            _ => store.compare_and_swap("k", expected, Some(&next)),
        };
        assert!(written.unwrap(), "round {i}");
        current = Some(next);
    }
}

#[test]
fn redis_async_used_outside_tokio_after_use_inside_is_an_error_not_a_panic() {
    let server = RedisServer::start();
    let store = store(&server);
    runtime().block_on(async {
        let written =
            logto_store::AsyncStorage::compare_and_swap(&store, "k", Expected::Absent, Some("v"));
        assert!(written.await.unwrap());
    });
    let outside = futures_executor_free_block_on(logto_store::AsyncStorage::get(&store, "k"));
    let e = outside.unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}

#[test]
fn redis_async_a_silent_connection_serves_a_copy_no_longer_than_its_lifetime() {
    let server = RedisServer::start();
    let proxy = DroppingProxy::start(server.port());
    let ttl = Duration::from_secs(1);
    let instance = store_with_local_copy(format!("redis://127.0.0.1:{}/0", proxy.port), ttl);
    let elsewhere = store(&server);
    assert!(elsewhere
        .compare_and_swap("k", Expected::Absent, Some(PENDING))
        .unwrap());
    runtime().block_on(async {
        let read = || logto_store::AsyncStorage::get(&instance, "k");
        assert_eq!(read().await.unwrap().as_deref(), Some(PENDING));
        let copied = std::time::Instant::now();
        // The connection goes silent, then the session is deleted elsewhere: no
        // invalidation can arrive.
        proxy.freeze();
        assert!(elsewhere
            .compare_and_swap("k", Expected::Value(PENDING), None)
            .unwrap());
        tokio::time::sleep(ttl.saturating_sub(copied.elapsed()) + Duration::from_millis(50)).await;
        // Past the copy's lifetime the read asks Redis, which cannot answer: an error,
        // never the deleted session.
        let after = read().await;
        assert!(
            matches!(after, Err(StorageError::Unavailable { .. })),
            "{after:?}"
        );
    });
}

#[test]
fn redis_async_without_a_local_copy_every_read_asks_redis() {
    let server = RedisServer::start();
    let store = RedisStore::builder(server.url())
        .key_prefix("test:")
        .local_copy_ttl(None)
        .build()
        .unwrap();
    assert!(store
        .compare_and_swap("k", Expected::Absent, Some("v"))
        .unwrap());
    runtime().block_on(async {
        for _ in 0..5 {
            let read = logto_store::AsyncStorage::get(&store, "k").await.unwrap();
            assert_eq!(read.as_deref(), Some("v"));
        }
    });
    assert_eq!(store.local_copy_hits(), 0);
}
