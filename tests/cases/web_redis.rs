//! Two instances of an app built like the sample (whatever its framework: `crate::sdk`
//! names the crate under test, `crate::support` its app), on two loopback ports, sharing
//! one real `redis-server` and one browser's cookie, against the project's provider with
//! refresh tokens rotating on every use and back-channel logout to the second instance.

use crate::sdk::RedisStore;
use crate::support::{self, burst, token_path, Instance, Port};
use logto_integration::{raw, Browser, Fault, FaultMode, Provider, RedisServer, Visitor};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Cluster {
    redis: RedisServer,
    provider: Provider,
    a: Instance,
    b: Instance,
}

impl Cluster {
    fn start(access_token_ttl: u64) -> Cluster {
        let redis = RedisServer::start();
        let (port_a, port_b) = (Port::bind(), Port::bind());
        let callbacks = [&port_a.base, &port_b.base].map(|base| format!("{base}/callback"));
        let provider = Provider::builder()
            .rotate_refresh_tokens_every_use()
            .access_token_ttl(access_token_ttl)
            .redirect_uris(&[&callbacks[0], &callbacks[1]])
            .env(
                "POST_LOGOUT_REDIRECT_URIS",
                &format!("{}/,{}/", port_a.base, port_b.base),
            )
            .backchannel_logout_uri(&format!("{}/backchannel-logout", port_b.base))
            .start();
        // Each instance its own store and connections, as two processes would have.
        let store = || {
            RedisStore::builder(redis.url())
                .connect_timeout(Duration::from_millis(500))
                .command_timeout(Duration::from_secs(1))
                .build()
                .unwrap()
        };
        let a = Instance::start(port_a, support::config(&provider), store(), "");
        let b = Instance::start(port_b, support::config(&provider), store(), "");
        Cluster {
            redis,
            provider,
            a,
            b,
        }
    }

    /// A browser signed in through instance A; its provider session stays in `browser`.
    fn signed_in_visitor(&self, browser: &Browser) -> Visitor {
        let visitor = Visitor::new(&self.a.base);
        support::sign_in(&visitor, "/sign-in", &self.provider, browser);
        visitor
    }

    /// `path` on instance A for even `i`, on instance B for odd.
    fn either(&self, i: usize, path: &str) -> String {
        let base = if i.is_multiple_of(2) {
            &self.a.base
        } else {
            &self.b.base
        };
        format!("{base}{path}")
    }
}

fn token_of(reply: &raw::HttpReply) -> Value {
    reply.ok_json()["token"].clone()
}

#[test]
fn redis_two_instances_share_a_session_and_refresh_once() {
    let cluster = Cluster::start(8);
    let visitor = cluster.signed_in_visitor(&Browser::new());
    let on_b = visitor.get(&format!("{}/api/id-token-claims", cluster.b.base));
    assert_eq!(on_b.ok_json()["sub"], "user-alice", "B knows A's session");
    let first = token_of(&visitor.get(&token_path()));
    std::thread::sleep(Duration::from_millis(8200)); // the access token (8 s) expires
    let before = cluster.provider.refresh_count();

    let paths: Vec<String> = (0..50).map(|i| cluster.either(i, &token_path())).collect();
    let replies = burst(&visitor, &paths);

    assert_eq!(
        cluster.provider.refresh_count(),
        before + 1,
        "exactly one refresh across both instances"
    );
    let tokens: Vec<Value> = replies.iter().map(token_of).collect();
    assert!(tokens.iter().all(|t| *t == tokens[0] && *t != first));
    // Still signed in on both, and the grant lives: the next refresh works.
    for base in [&cluster.a.base, &cluster.b.base] {
        visitor
            .get(&format!("{base}/api/id-token-claims"))
            .expect_status(200);
    }
    std::thread::sleep(Duration::from_millis(8200));
    let path = format!("{}{}", cluster.b.base, token_path());
    assert_ne!(token_of(&visitor.get(&path)), tokens[0]);
    assert_eq!(cluster.provider.refresh_count(), before + 2);
}

#[test]
fn redis_restart_mid_burst_is_a_503_and_loses_nothing() {
    let mut cluster = Cluster::start(8);
    let visitor = cluster.signed_in_visitor(&Browser::new());
    let token = token_of(&visitor.get(&token_path()));
    let before = cluster.provider.refresh_count();

    // Requests to both instances, four at a time, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let (visitor, stop) = (visitor.clone(), stop.clone());
            let paths = [
                format!("{}/api/id-token-claims", cluster.a.base),
                format!("{}{}", cluster.b.base, token_path()),
                format!("{}{}", cluster.a.base, token_path()),
                format!("{}/api/id-token-claims", cluster.b.base),
            ];
            std::thread::spawn(move || {
                let mut replies = Vec::new();
                let mut i = worker;
                while !stop.load(Ordering::SeqCst) {
                    replies.push(visitor.get(&paths[i % paths.len()]));
                    i += 1;
                }
                replies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    cluster.redis.stop();
    std::thread::sleep(Duration::from_millis(1500));
    cluster.redis.start_again();
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::SeqCst);
    let per_worker: Vec<Vec<raw::HttpReply>> =
        workers.into_iter().map(|w| w.join().unwrap()).collect();
    for replies in &per_worker {
        let last = replies.last().expect("each worker sent requests");
        assert_eq!(
            last.status, 200,
            "served again after the restart: {}",
            last.body
        );
    }
    let replies: Vec<&raw::HttpReply> = per_worker.iter().flatten().collect();

    let unavailable = replies.iter().filter(|r| r.status == 503).count();
    assert!(unavailable > 0, "requests during the outage failed");
    for reply in &replies {
        match reply.status {
            200 => {}
            503 => assert_eq!(reply.json()["error"], "storage_unavailable"),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    // Nothing lost: the same session and token, and the refresh token still works.
    assert_eq!(token_of(&visitor.get(&token_path())), token);
    assert_eq!(
        cluster.provider.refresh_count(),
        before,
        "no refresh meanwhile"
    );
    std::thread::sleep(Duration::from_millis(8200));
    let path = format!("{}{}", cluster.b.base, token_path());
    assert_ne!(token_of(&visitor.get(&path)), token);
    assert_eq!(cluster.provider.refresh_count(), before + 1);
}

#[test]
fn redis_a_refresh_whose_store_goes_down_keeps_its_rotated_token() {
    let mut cluster = Cluster::start(4);
    let visitor = cluster.signed_in_visitor(&Browser::new());
    let first = token_of(&visitor.get(&token_path()));
    std::thread::sleep(Duration::from_millis(4200)); // the access token expires
    let before = cluster.provider.refresh_count();
    // The provider rotates the refresh token at once and answers 1.5 s later, by which time
    // Redis is down: the rotated token cannot be written until it is back.
    cluster.provider.inject_fault(Fault {
        mode: FaultMode::LateAnswer,
        count: 1,
        path: None,
        grant_type: Some("refresh_token".into()),
        hang_ms: Some(1500),
    });
    let request = {
        let visitor = visitor.clone();
        std::thread::spawn(move || visitor.get(&token_path()))
    };
    // Redis goes down once the refresh request reached the provider.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while cluster.provider.refresh_count() == before {
        assert!(std::time::Instant::now() < deadline, "no refresh was sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.redis.stop();
    std::thread::sleep(Duration::from_millis(2500));
    cluster.redis.start_again();
    let refreshed = request.join().unwrap();

    let second = token_of(&refreshed);
    assert_ne!(second, first);
    assert_eq!(cluster.provider.refresh_count(), before + 1);
    // The rotated refresh token reached Redis: the next refresh presents it, and the grant
    // lives (a lost rotation would present the consumed token, and Logto would revoke it).
    std::thread::sleep(Duration::from_millis(4200));
    let path = format!("{}{}", cluster.b.base, token_path());
    let third = token_of(&visitor.get(&path));
    assert_ne!(third, second);
    assert_eq!(cluster.provider.refresh_count(), before + 2);
}

#[test]
fn redis_backchannel_logout_ends_the_session_on_both_instances() {
    let cluster = Cluster::start(3600);
    let browser = Browser::new();
    let visitor = cluster.signed_in_visitor(&browser);
    // Alice in another browser: another provider session, which stays.
    let elsewhere = cluster.signed_in_visitor(&Browser::new());
    for base in [&cluster.a.base, &cluster.b.base] {
        visitor
            .get(&format!("{base}/api/id-token-claims"))
            .expect_status(200);
    }

    // Sign-out at the provider, from the browser: end session, confirmed.
    let client_id = &cluster.provider.confidential_client().client_id;
    let end_session = format!(
        "{}?client_id={client_id}&post_logout_redirect_uri={}",
        cluster.provider.end_session_endpoint(),
        url::form_urlencoded::byte_serialize(format!("{}/", cluster.a.base).as_bytes())
            .collect::<String>()
    );
    browser.end_session(&end_session);

    let calls = cluster.provider.backchannel_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["ok"], true, "the app answered 200: {calls:?}");
    for base in [&cluster.a.base, &cluster.b.base] {
        let reply = visitor.get(&format!("{base}/api/id-token-claims"));
        assert_eq!(reply.status, 401, "signed out on {base}: {}", reply.body);
    }
    elsewhere.get("/api/id-token-claims").expect_status(200);

    // The same token again, to either instance: a replay.
    let token = cluster
        .provider
        .logout_tokens()
        .pop()
        .expect("a logout token");
    let post = |base: &str, body: String| {
        raw::agent(Duration::from_secs(10))
            .post(&format!("{base}/backchannel-logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(body)
    };
    let form = |token: &str| format!("logout_token={token}");
    let replayed = raw::reply(post(&cluster.a.base, form(&token))).unwrap();
    assert_eq!(replayed.status, 400, "{}", replayed.body);
    assert_eq!(replayed.header("cache-control"), Some("no-store"));
    assert_eq!(replayed.json()["error"], "invalid_request");
    assert!(replayed.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("used before"));

    // Forged: another session id under the provider's signature; no signature at all.
    let [header, _, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let mut claims = raw::decode_jwt(&token).1;
    claims["sid"] = Value::from("someone-else");
    claims["jti"] = Value::from("fresh-jti");
    let tampered = format!("{header}.{}.{signature}", raw::encode_jwt_part(&claims));
    let unsigned = format!(
        "{}.{}.",
        raw::encode_jwt_part(&serde_json::json!({ "alg": "none" })),
        raw::encode_jwt_part(&claims)
    );
    for (forged, why) in [
        (tampered, "signature does not verify"),
        (unsigned, "algorithm \"none\" refused"),
        ("not-a-jwt".to_owned(), "malformed"),
    ] {
        let reply = raw::reply(post(&cluster.b.base, form(&forged))).unwrap();
        assert_eq!(reply.status, 400, "{why}: {}", reply.body);
        let description = reply.json()["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(description.contains(why), "{why}: {description}");
    }
    let empty = raw::reply(post(&cluster.b.base, String::new())).unwrap();
    assert_eq!(empty.status, 400);
    // A body past the route's own limit (the app lifted axum's): refused unread.
    let huge = raw::reply(post(&cluster.b.base, form(&"a".repeat(100 * 1024)))).unwrap();
    assert_eq!(huge.status, 413, "{}", huge.body);
    elsewhere.get("/api/id-token-claims").expect_status(200);
}

#[test]
fn redis_a_sign_out_the_store_cannot_take_is_a_503_and_keeps_the_session() {
    let mut cluster = Cluster::start(60);
    let visitor = cluster.signed_in_visitor(&Browser::new());
    let session_cookie = visitor.cookie("logto_session").unwrap();
    cluster.redis.stop();
    let origin = [("origin", cluster.a.base.as_str())];
    let refused = visitor.request("POST", "/sign-out", &origin);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"], "storage_unavailable");
    assert!(
        refused.header("location").is_none(),
        "no claim of a sign-out"
    );
    assert_eq!(visitor.cookie("logto_session"), Some(session_cookie));
    cluster.redis.start_again();

    // The session lived through the outage; signing out again ends it on both instances.
    let back = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        visitor.get("/api/id-token-claims").status == 200
    });
    assert!(back, "signed in again once the store is back");
    let signed_out = visitor.request("POST", "/sign-out", &origin);
    assert_eq!(signed_out.status, 303, "{}", signed_out.body);
    let location = signed_out.header("location").unwrap();
    assert!(
        location.starts_with(&cluster.provider.end_session_endpoint()),
        "{location}"
    );
    for base in [&cluster.a.base, &cluster.b.base] {
        let json = [("accept", "application/json")];
        let after = visitor.request("GET", &format!("{base}/api/id-token-claims"), &json);
        assert_eq!(after.status, 401);
    }
}

#[test]
fn redis_twenty_thousand_anonymous_sign_ins_store_nothing() {
    let cluster = Cluster::start(60);
    let dbsize = || {
        let reply = cluster.redis.command("DBSIZE");
        reply.trim().trim_start_matches(':').parse::<u64>().unwrap()
    };
    let empty = dbsize();
    let visitor = Visitor::new(&cluster.a.base);
    let started = visitor.get("/sign-in");
    assert_eq!(started.status, 303);
    let threads: Vec<_> = [
        &cluster.a.base,
        &cluster.b.base,
        &cluster.a.base,
        &cluster.b.base,
    ]
    .into_iter()
    .map(|base| {
        let base = base.clone();
        std::thread::spawn(move || {
            for _ in 0..5000 {
                assert_eq!(Visitor::new(&base).get("/sign-in").status, 303);
            }
        })
    })
    .collect();
    std::thread::sleep(Duration::from_millis(300));
    let done = support::complete(
        &visitor,
        started.header("location").unwrap(),
        &cluster.provider,
        &Browser::new(),
    );
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(done.status, 303, "{}", done.body);
    visitor.get("/api/id-token-claims").expect_status(200);
    // One session and its two logout-index sets; nothing of the 20,000 starts.
    let keys = dbsize() - empty;
    assert!(keys <= 3, "{keys} keys");
}
