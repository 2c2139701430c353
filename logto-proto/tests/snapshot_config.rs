//! Flows 1 and 11: configuration, discovery, and the snapshot format.

mod support;

use logto_proto::internals::*;
use logto_proto::{adapter, ClientAuth, Config, TokenTarget, UnixTime};
use logto_proto::{adapter::*, errors::*};
use proptest::prelude::*;
use serde_json::json;
use support::*;

#[test]
fn endpoint_validation_and_normalisation() {
    for (given, endpoint) in [
        ("https://tenant.logto.app", "https://tenant.logto.app"),
        ("https://tenant.logto.app/", "https://tenant.logto.app"),
        (
            "https://cloud.example/tenant-1/",
            "https://cloud.example/tenant-1",
        ),
        ("http://localhost:3001", "http://localhost:3001"),
        ("http://127.0.0.1:3001/", "http://127.0.0.1:3001"),
        ("http://[::1]:3001", "http://[::1]:3001"),
    ] {
        let config = Config::new(given, "app").unwrap();
        assert_eq!(config.endpoint(), endpoint);
        assert_eq!(
            config.discovery_url(),
            format!("{endpoint}/oidc/.well-known/openid-configuration")
        );
        assert_eq!(config.issuer(), format!("{endpoint}/oidc"));
    }
    assert_eq!(
        Config::new("http://tenant.logto.app", "app").unwrap_err(),
        ConfigError::InsecureEndpoint {
            endpoint: "http://tenant.logto.app".into()
        }
    );
    assert!(Config::builder("http://tenant.logto.app", "app")
        .allow_insecure_http(true)
        .build()
        .is_ok());
    for bad in [
        "",
        "tenant.logto.app",
        "ftp://x",
        "https://x/?q=1",
        "https://u:p@x/",
    ] {
        assert!(
            matches!(
                Config::new(bad, "app").unwrap_err(),
                ConfigError::InvalidEndpoint { .. }
            ),
            "{bad}"
        );
    }
    assert_eq!(
        Config::new("https://x", " ").unwrap_err(),
        ConfigError::EmptyAppId
    );
    assert_eq!(
        Config::builder("https://x", "app")
            .client_auth(ClientAuth::ClientSecretPost)
            .build()
            .unwrap_err(),
        ConfigError::MissingAppSecret
    );
    assert_eq!(
        Config::builder("https://x", "app")
            .app_secret("s")
            .client_auth(ClientAuth::None)
            .build()
            .unwrap()
            .client_auth(),
        ClientAuth::None
    );
}

#[test]
fn discovery_requires_the_endpoint_issuer() {
    let config = Config::new("https://cloud.example/tenant-1/", "app").unwrap();
    let mut doc = discovery();
    doc["issuer"] = json!("https://cloud.example/tenant-1/oidc");
    assert!(
        ProviderMetadata::parse(&config, doc.to_string().as_bytes(), UnixTime::from_secs(T0))
            .is_ok()
    );
    doc["issuer"] = json!("https://cloud.example/oidc");
    assert_eq!(
        ProviderMetadata::parse(&config, doc.to_string().as_bytes(), UnixTime::from_secs(T0))
            .unwrap_err(),
        DiscoveryError::IssuerMismatch {
            expected: "https://cloud.example/tenant-1/oidc".into(),
            found: "https://cloud.example/oidc".into()
        }
    );
    for bad in [&b""[..], b"{}", b"[]", b"{\"issuer\": 5}", b"\xff\xfe"] {
        assert!(matches!(
            ProviderMetadata::parse(&config, bad, UnixTime::from_secs(T0)),
            Err(DiscoveryError::Malformed { .. })
        ));
    }
}

#[test]
fn discovery_operation_and_its_failures() {
    let config = config();
    let mut cache = ProviderCache::new();
    let mut snapshot = Snapshot::new();
    let now = UnixTime::from_secs(T0);
    let mut op = Context::new(&config, &mut cache, &mut snapshot).discover();
    let Step::Send(request) = op.step(now).unwrap() else {
        panic!()
    };
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        "https://tenant.logto.app/oidc/.well-known/openid-configuration"
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    op.handle_response(HttpResponse::new(500, r#"{"error":"server_error"}"#), now)
        .unwrap_err();
    assert!(cache.metadata.is_none());

    let mut op = Context::new(&config, &mut cache, &mut snapshot).discover();
    let m = run(
        &mut op,
        || now,
        |_| Ok::<_, ()>(HttpResponse::new(200, discovery().to_string())),
    )
    .unwrap();
    assert_eq!(m.fetched_at, now);
    assert_eq!(cache.metadata.as_ref(), Some(&m));

    // Merging keeps the newer entry.
    let mut shared = ProviderCache::new();
    shared.merge(&cache, now);
    assert_eq!(shared, cache);
    let mut older = cache.clone();
    older.metadata.as_mut().unwrap().fetched_at = UnixTime::from_secs(1);
    shared.merge(&older, now);
    assert_eq!(shared.metadata.as_ref().unwrap().fetched_at, now);
    // An entry dated after `now` (the clock stepped back) is the oldest of all: a fetch at
    // `now` replaces it, and it is not fresh meanwhile.
    let mut future = cache.clone();
    future.metadata.as_mut().unwrap().fetched_at = now.add_secs(3600);
    let mut shared = ProviderCache::new();
    shared.merge(&future, now);
    assert!(shared.metadata.is_none(), "a future entry is never taken");
    let mut stepped_back = future.clone();
    assert!(stepped_back.fresh_metadata(&config, now).is_none());
    stepped_back.merge(&cache, now);
    assert_eq!(stepped_back.metadata.as_ref().unwrap().fetched_at, now);
    assert!(stepped_back.fresh_metadata(&config, now).is_some());
}

#[test]
fn corrupt_snapshots_are_typed_errors() {
    for bad in [
        "",
        "null",
        "[]",
        "{}",
        r#"{"v":"1"}"#,
        r#"{"v":1,"rt":5}"#,
        r#"{"v":1,"at":[{"t":"x"}]}"#,
        "{\"v\":1",
        "\u{0}",
    ] {
        assert!(
            matches!(Snapshot::from_json(bad), Err(SnapshotError::Corrupt { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(
        Snapshot::from_json(r#"{"v":2,"new":"format"}"#).unwrap_err(),
        SnapshotError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
}

#[test]
fn a_signed_in_snapshot_is_compact_and_round_trips() {
    let mut h = Harness::signed_in("ES384");
    h.access_token(TokenTarget::resource(API), false).unwrap();
    h.access_token(TokenTarget::organization("org1"), false)
        .unwrap();
    let json = h.snapshot.to_json();
    let back = Snapshot::from_json(&json).unwrap();
    assert_eq!(back, h.snapshot);
    // Each token once.
    let id = h.snapshot.id_token().unwrap().expose();
    assert_eq!(json.matches(id).count(), 1);
    assert_eq!(back.access_tokens().len(), 3);
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/=-]{1,40}"
}

fn snapshot_strategy() -> impl Strategy<Value = Snapshot> {
    let access = proptest::collection::vec(
        (
            proptest::option::of("\\PC{0,12}"),
            proptest::option::of("[a-z0-9]{1,6}"),
            token(),
            proptest::option::of("[a-z: ]{0,12}"),
            any::<u64>(),
        ),
        0..4,
    );
    (proptest::option::of(token()), proptest::option::of(token()), access, proptest::option::of(("\\PC{0,20}", any::<u64>(), any::<[u8; 32]>())))
        .prop_map(|(id, rt, access, pending)| {
            let mut v = json!({"v": 1});
            if let Some(id) = id { v["id"] = json!(id); }
            if let Some(rt) = rt { v["rt"] = json!(rt); }
            let mut list = Vec::new();
            for (r, o, t, s, e) in access {
                let mut a = json!({"t": t, "e": e});
                if let Some(r) = r { a["r"] = json!(r); }
                if let Some(o) = o { a["o"] = json!(o); }
                if let Some(s) = s { a["s"] = json!(s); }
                list.push(a);
            }
            if !list.is_empty() { v["at"] = json!(list); }
            if let Some((ru, at, bytes)) = pending {
                v["p"] = json!({"st": b64(&bytes), "cv": b64(&bytes[..16]), "n": "nonce", "ru": ru, "at": at});
            }
            Snapshot::from_json(&v.to_string()).unwrap()
        })
}

proptest! {
    #[test]
    fn snapshot_round_trip(s in snapshot_strategy()) {
        let json = s.to_json();
        prop_assert_eq!(Snapshot::from_json(&json).unwrap(), s.clone());
        // And serialising again gives the same text.
        prop_assert_eq!(Snapshot::from_json(&json).unwrap().to_json(), json);
    }

    #[test]
    fn arbitrary_text_never_panics_the_snapshot_reader(text in "\\PC{0,200}") {
        let _ = Snapshot::from_json(&text);
    }
}

#[test]
fn the_refresh_lease_serialises_writers() {
    let mut a = Snapshot::new();
    let t = UnixTime::from_secs(T0);
    assert_eq!(a.acquire_refresh_lease("a", t, 30), LeaseState::Acquired);
    let mut b = Snapshot::from_json(&a.to_json()).unwrap();
    assert_eq!(
        b.acquire_refresh_lease("b", t.add_secs(29), 30),
        LeaseState::HeldElsewhere {
            until: t.add_secs(30)
        }
    );
    // It lapses on its own.
    assert_eq!(
        b.acquire_refresh_lease("b", t.add_secs(30), 30),
        LeaseState::Acquired
    );
    assert_eq!(b.refresh_lease().unwrap().holder, "b");
    // Only the holder releases it.
    b.release_refresh_lease("a");
    assert!(b.refresh_lease().is_some());
    b.release_refresh_lease("b");
    assert!(b.refresh_lease().is_none());
    a.release_refresh_lease("a");
    assert_eq!(a, Snapshot::new());
}

/// Every endpoint of the discovery document must be https, or http on loopback; the error
/// names the field.
#[test]
fn discovery_endpoints_must_be_https_or_loopback() {
    let config = config();
    let fields = [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
    ];
    let parse = |doc: &serde_json::Value| {
        ProviderMetadata::parse(&config, doc.to_string().as_bytes(), UnixTime::from_secs(T0))
    };
    assert!(parse(&discovery()).is_ok());
    for field in fields {
        let mut doc = discovery();
        doc[field] = serde_json::json!("http://tenant.logto.app/oidc/x");
        assert_eq!(
            parse(&doc).unwrap_err(),
            DiscoveryError::InsecureEndpoint {
                name: field,
                url: "http://tenant.logto.app/oidc/x".into()
            }
        );
        for bad in [
            "/oidc/token",
            "not a url",
            "ftp://tenant.logto.app/x",
            "https://u:p@tenant.logto.app/x",
        ] {
            doc[field] = serde_json::json!(bad);
            match parse(&doc).unwrap_err() {
                DiscoveryError::InvalidEndpoint { name, url, .. } => {
                    assert_eq!(name, field);
                    assert!(!url.contains("u:p"), "credentials redacted: {url}");
                }
                other => panic!("{field} = {bad}: {other:?}"),
            }
        }
        // http on a loopback host is fine (a local provider).
        for loopback in [
            "http://127.0.0.1:3001/oidc/x",
            "http://localhost/x",
            "http://[::1]/x",
        ] {
            doc[field] = serde_json::json!(loopback);
            assert!(parse(&doc).is_ok(), "{loopback}");
        }
    }
}

#[test]
fn a_lease_from_beyond_its_ttl_counts_as_lapsed() {
    let t = UnixTime::from_secs(T0);
    let mut s = Snapshot::new();
    // Written by a corrupt store or a clock far ahead: it cannot block refreshes.
    assert_eq!(
        s.acquire_refresh_lease("other", t.add_secs(10_000), 30),
        LeaseState::Acquired
    );
    assert_eq!(s.acquire_refresh_lease("me", t, 30), LeaseState::Acquired);
    assert_eq!(s.refresh_lease().unwrap().holder, "me");
    // Within the TTL ahead it is honoured, up to its end.
    let mut s = Snapshot::new();
    s.acquire_refresh_lease("other", t, 30);
    assert_eq!(
        s.acquire_refresh_lease("me", t.sub_secs(1), 30),
        LeaseState::Acquired,
        "seen from a clock 1 s behind, it ends beyond one TTL"
    );
    let mut s = Snapshot::new();
    s.acquire_refresh_lease("other", t.sub_secs(5), 30);
    assert_eq!(
        s.acquire_refresh_lease("me", t, 30),
        LeaseState::HeldElsewhere {
            until: t.add_secs(25)
        }
    );
    // The TTL arithmetic saturates.
    let config = Config::builder(ENDPOINT, APP_ID)
        .request_timeout(std::time::Duration::from_secs(u64::MAX))
        .build()
        .unwrap();
    assert_eq!(adapter::refresh_lease_ttl(&config), u64::MAX);
}

#[test]
fn config_errors_never_show_endpoint_credentials() {
    for endpoint in [
        "https://admin:hunter2@tenant.logto.app",
        "http://admin:hunter2@logto.example",
    ] {
        let err = Config::new(endpoint, APP_ID).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
