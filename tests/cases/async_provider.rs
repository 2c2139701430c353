//! The async client (whatever its transport: `crate::sdk` names the crate under test)
//! against the project's Logto-compatible provider: the whole guide
//! flow, a public client, sign-up mode, single-flight refresh under 100 tasks and across
//! two clients sharing a file store, and faults that must leave the session intact.

use crate::sdk::*;
use logto_integration::fixtures::{API_RESOURCE, ORG1};
use logto_integration::{raw, Browser, Fault, FaultMode, Provider};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn config(provider: &Provider, confidential: bool) -> proto::ConfigBuilder {
    let client = if confidential {
        provider.confidential_client()
    } else {
        provider.public_client()
    };
    let mut builder = LogtoConfig::builder(provider.endpoint(), &client.client_id)
        .scopes([
            "email",
            "custom_data",
            "urn:logto:scope:organizations",
            "read:data",
            "read:books",
        ])
        .resources([API_RESOURCE]);
    if let Some(secret) = &client.client_secret {
        builder = builder.app_secret(secret);
    }
    builder
}

pub(crate) async fn sign_in(provider: &Provider, client: &LogtoClient) -> IdTokenClaims {
    let url = client.sign_in(provider.redirect_uri()).await.unwrap();
    let alice = provider.alice();
    let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
    client.handle_sign_in_callback(&callback).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_guide_flow() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
    assert!(!client.is_authenticated().await.unwrap());
    let claims = sign_in(&provider, &client).await;
    assert!(client.is_authenticated().await.unwrap());
    assert_eq!(claims.sub, provider.alice().id);
    assert_eq!(client.id_token_claims().await.unwrap(), claims);
    assert!(client.id_token().await.unwrap().is_some());
    assert!(client.refresh_token().await.unwrap().is_some());

    let info = client.fetch_user_info().await.unwrap();
    assert_eq!(info.sub, claims.sub);
    assert!(
        info.custom_data.is_some(),
        "custom_data comes from userinfo"
    );

    let token = client.access_token(API_RESOURCE).await.unwrap();
    let claims = client.access_token_claims(API_RESOURCE).await.unwrap();
    assert_eq!(claims.aud.unwrap().as_slice(), [API_RESOURCE]);
    assert_eq!(
        client.access_token(API_RESOURCE).await.unwrap(),
        token,
        "cached"
    );

    client.organization_token(ORG1).await.unwrap();
    assert_eq!(
        client
            .organization_token_claims(ORG1)
            .await
            .unwrap()
            .organization_id(),
        Some(ORG1)
    );
    let scoped = client.access_token_for(API_RESOURCE, ORG1).await.unwrap();
    let (_, payload) = raw::decode_jwt(&scoped);
    assert_eq!(payload["organization_id"], ORG1);

    let refresh = client.refresh_token().await.unwrap().unwrap();
    let result = client
        .sign_out_with_result(Some(provider.post_logout_redirect_uri()))
        .await
        .unwrap();
    assert_eq!(result.revocation, Revocation::Revoked);
    assert!(result.end_session_url.contains("id_token_hint="));
    assert!(!client.is_authenticated().await.unwrap());
    // Revocation is effective at the provider.
    let creds = provider.confidential_client();
    let reply = raw::post_form(
        &provider.token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        creds.auth(),
    );
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert!(matches!(
        client.access_token(API_RESOURCE).await,
        Err(Error::NotAuthenticated)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_public_client_and_sign_up_mode() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, false).build().unwrap()).unwrap();
    let url = client
        .sign_in_with(
            SignInOptions::new(provider.redirect_uri()).interaction_mode(InteractionMode::SignUp),
        )
        .await
        .unwrap();
    let browser = Browser::new();
    let page = browser.open(&url).expect_sign_in_page();
    assert_eq!(page.data("interaction-mode").as_deref(), Some("signUp"));
    let alice = provider.alice();
    let callback = browser
        .submit_sign_in(&page, &alice.username, &alice.password)
        .expect_redirect();
    client.handle_sign_in_callback(&callback).await.unwrap();
    client.access_token(API_RESOURCE).await.unwrap();
    client.fetch_user_info().await.unwrap();
}

/// A memory store that counts its writes.
struct CountingStorage {
    inner: MemoryStore,
    writes: AtomicUsize,
}

impl AsyncStorage for CountingStorage {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        self.inner.get(key)
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.compare_and_swap(key, expected, new)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_user_info_with_a_fresh_token_writes_nothing() {
    let provider = Provider::start();
    // Shared through `Arc`: the client writes through it, the test reads the count.
    let storage = Arc::new(CountingStorage {
        inner: MemoryStore::new(),
        writes: AtomicUsize::new(0),
    });
    let client =
        LogtoClient::with_storage(config(&provider, true).build().unwrap(), storage.clone())
            .unwrap();
    sign_in(&provider, &client).await;
    let me = || {
        provider
            .requests()
            .iter()
            .filter(|r| r.path == "/oidc/me")
            .count()
    };
    let before = (
        storage.writes.load(Ordering::SeqCst),
        provider.refresh_count(),
        me(),
    );
    for _ in 0..3 {
        client.fetch_user_info().await.unwrap();
    }
    assert_eq!(
        (
            storage.writes.load(Ordering::SeqCst),
            provider.refresh_count(),
            me()
        ),
        (before.0, before.1, before.2 + 3),
        "a fresh token: no refresh, no lease, no storage write"
    );

    // The provider refuses the cached token once: one refresh under the lease, one retry.
    provider.inject_fault(Fault {
        path: Some("/oidc/me".into()),
        ..Fault::token(FaultMode::Status(401), 1)
    });
    let info = client.fetch_user_info().await.unwrap();
    assert_eq!(info.sub, provider.alice().id);
    assert_eq!(provider.refresh_count(), before.1 + 1);
    assert_eq!(me(), before.2 + 5);
    assert!(storage.writes.load(Ordering::SeqCst) > before.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_hundred_threads_one_refresh() {
    let provider = Provider::builder().access_token_ttl(4).start();
    let client =
        LogtoClient::new(config(&provider, false).expiry_leeway(0).build().unwrap()).unwrap();
    sign_in(&provider, &client).await;
    let first = client.access_token(API_RESOURCE).await.unwrap();
    let before = provider.refresh_count();
    tokio::time::sleep(Duration::from_millis(4100)).await; // the cached token expires
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.access_token(API_RESOURCE).await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for h in handles {
        tokens.push(h.await.unwrap());
    }
    assert_eq!(
        provider.refresh_count(),
        before + 1,
        "exactly one refresh for 100 calls"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0] && t != &first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_two_clients_sharing_a_file_store_refresh_once() {
    let provider = Provider::start();
    let dir = std::env::temp_dir().join(format!("logto-isahc-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = config(&provider, false).build().unwrap();
    // Two "processes": separate clients, separate locks, one store.
    let a = LogtoClient::with_storage(cfg.clone(), FileStore::new(&dir).unwrap()).unwrap();
    let b = LogtoClient::with_storage(cfg, FileStore::new(&dir).unwrap()).unwrap();
    sign_in(&provider, &a).await;
    assert!(b.is_authenticated().await.unwrap());
    let before = provider.refresh_count();
    let (ta, tb) = {
        let (a2, b2) = (a.clone(), b.clone());
        let ha = tokio::spawn(async move { a2.access_token(API_RESOURCE).await.unwrap() });
        let hb = tokio::spawn(async move { b2.access_token(API_RESOURCE).await.unwrap() });
        (ha.await.unwrap(), hb.await.unwrap())
    };
    assert_eq!(ta, tb);
    assert_eq!(provider.refresh_count(), before + 1);
    // Forced refreshes from both take turns, each with the rotated token: the grant survives.
    for _ in 0..3 {
        a.refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
            .await
            .unwrap();
        b.refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
            .await
            .unwrap();
    }
    assert!(b.fetch_user_info().await.is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_faults_keep_the_session() {
    let provider = Provider::builder().hang_ms(3000).start();
    let client = LogtoClient::new(
        config(&provider, true)
            .request_timeout(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap();
    sign_in(&provider, &client).await;
    async fn session(c: &LogtoClient) -> (Option<String>, Option<String>) {
        (
            c.id_token().await.unwrap(),
            c.refresh_token().await.unwrap(),
        )
    }
    let before = session(&client).await;

    provider.fail_next_token_responses(FaultMode::ServerError, 1);
    match client.access_token(API_RESOURCE).await.unwrap_err() {
        Error::Provider(p) => assert_eq!(p.status, 500),
        other => panic!("{other:?}"),
    }
    assert_eq!(session(&client).await, before);

    provider.fail_next_token_responses(FaultMode::Malformed, 1);
    assert!(matches!(
        client.access_token(API_RESOURCE).await.unwrap_err(),
        Error::Protocol(_)
    ));
    assert_eq!(session(&client).await, before);

    provider.fail_next_token_responses(FaultMode::Hang, 1);
    match client.access_token(API_RESOURCE).await.unwrap_err() {
        Error::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
    assert_eq!(session(&client).await, before);

    // Recovered: the kept refresh token works.
    client.access_token(API_RESOURCE).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oversized_body_is_a_transport_error() {
    // A discovery document of 2 MiB: more than the 1 MiB the client reads.
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2 << 20)).into_bytes();
    let endpoint = raw::serve_once(200, body);
    let client = LogtoClient::new(LogtoConfig::builder(&endpoint, "app").build().unwrap()).unwrap();
    match client
        .sign_in("http://127.0.0.1:3000/callback")
        .await
        .unwrap_err()
    {
        Error::Transport(t) => {
            assert_eq!(t.kind, TransportErrorKind::Other);
            // The same error from every transport: the driver's `RequestLimits::body_too_large`.
            let limit = format!(
                "larger than the limit of {} bytes",
                logto_driver::MAX_RESPONSE_BODY
            );
            assert!(t.message.contains(&limit), "{}", t.message);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_down_is_a_transport_error() {
    let provider = Provider::start();
    let cfg = config(&provider, true).build().unwrap();
    drop(provider);
    let client = LogtoClient::new(cfg).unwrap();
    match client
        .sign_in("http://127.0.0.1:3000/callback")
        .await
        .unwrap_err()
    {
        Error::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect),
        other => panic!("{other:?}"),
    }
    assert!(!client.is_authenticated().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corrupt_storage_is_a_typed_error_and_can_be_cleared() {
    let storage = MemoryStore::new();
    assert!(storage
        .compare_and_swap(SESSION_KEY, Expected::Any, Some("{not json"))
        .await
        .unwrap());
    let client = LogtoClient::with_storage(
        LogtoConfig::new("https://tenant.logto.app", "app").unwrap(),
        storage,
    )
    .unwrap();
    assert!(matches!(
        client.is_authenticated().await.unwrap_err(),
        Error::Storage(StorageError::Corrupt(_))
    ));
    client.clear_session().await.unwrap();
    assert!(!client.is_authenticated().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_storage_writes_atomically_and_compares_and_swaps() {
    let dir = std::env::temp_dir().join(format!("logto-isahc-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = FileStore::new(&dir).unwrap();
    assert_eq!(store.get("a/b").await.unwrap(), None);
    assert!(store
        .compare_and_swap("a/b", Expected::Any, Some("one"))
        .await
        .unwrap());
    assert_eq!(store.get("a/b").await.unwrap().as_deref(), Some("one"));
    assert!(!store
        .compare_and_swap("a/b", Expected::Value("zero"), Some("two"))
        .await
        .unwrap());
    assert!(store
        .compare_and_swap("a/b", Expected::Value("one"), Some("two"))
        .await
        .unwrap());
    assert_eq!(store.get("a/b").await.unwrap().as_deref(), Some("two"));
    // A crash mid-write leaves a temporary file, never a torn value.
    std::fs::write(dir.join("a%2Fb.tmp999"), "half").unwrap();
    assert_eq!(store.get("a/b").await.unwrap().as_deref(), Some("two"));
    assert!(store
        .compare_and_swap("a/b", Expected::Any, None)
        .await
        .unwrap());
    assert_eq!(store.get("a/b").await.unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn jwks_requests(provider: &Provider) -> usize {
    provider
        .requests()
        .iter()
        .filter(|r| r.path == "/oidc/jwks")
        .count()
}

/// A key rotation right after a refetch (the refetch another rotation caused, less than a
/// second before): the refresh and a new sign-in succeed with exactly one more JWKS request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_key_rotation_right_after_a_refetch() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
    sign_in(&provider, &client).await;
    let before = jwks_requests(&provider);

    provider.rotate_key("RS256");
    let target = TokenTarget::resource(API_RESOURCE);
    client.refreshed_token_for(&target).await.unwrap();
    assert_eq!(jwks_requests(&provider), before + 1);
    let refetched = std::time::Instant::now();

    provider.rotate_key("ES384");
    client.refreshed_token_for(&target).await.unwrap();
    assert!(
        refetched.elapsed() < Duration::from_secs(1),
        "{:?}",
        refetched.elapsed()
    );
    assert_eq!(
        jwks_requests(&provider),
        before + 2,
        "one more JWKS request"
    );

    let other = client.for_session(MemoryStore::new());
    sign_in(&provider, &other).await;
    other.fetch_user_info().await.unwrap();
    assert_eq!(jwks_requests(&provider), before + 2);
}

/// 100 sessions refreshing at once (tasks), each getting an ID token signed with a key rotated
/// in just before: one JWKS request for all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_hundred_sessions_fetch_rotated_keys_once() {
    let provider = Provider::start();
    let base = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
    let browser = Browser::new();
    let alice = provider.alice();
    let mut sessions = Vec::new();
    for _ in 0..100 {
        let session = base.for_session(MemoryStore::new());
        let url = session.sign_in(provider.redirect_uri()).await.unwrap();
        let callback = browser.sign_in(&url, &alice.username, &alice.password);
        session.handle_sign_in_callback(&callback).await.unwrap();
        sessions.push(session);
    }
    provider.rotate_key("RS256");
    let before = jwks_requests(&provider);
    let barrier = Arc::new(tokio::sync::Barrier::new(sessions.len()));
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                session
                    .refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(jwks_requests(&provider), before + 1);
}

fn revocations(provider: &Provider) -> usize {
    provider
        .requests()
        .iter()
        .filter(|r| r.path == "/oidc/token/revocation")
        .count()
}

/// A sign-out while a refresh's answer is on its way (the provider rotated the refresh
/// token, the client has not stored the new one yet): the session stays signed out, and the
/// refresh's rotated token is not written back but revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_sign_out_racing_a_refresh_stays_signed_out() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, false).build().unwrap()).unwrap();
    sign_in(&provider, &client).await;
    provider.inject_fault(Fault {
        grant_type: Some("refresh_token".into()),
        hang_ms: Some(1000),
        ..Fault::token(FaultMode::LateAnswer, 1)
    });
    let refresher = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
                .await
        })
    };
    while provider.refresh_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.sign_out(None).await.unwrap();
    assert!(matches!(
        refresher.await.unwrap(),
        Err(Error::NotAuthenticated)
    ));
    assert!(!client.is_authenticated().await.unwrap());
    assert!(client.refresh_token().await.unwrap().is_none());
    assert_eq!(
        revocations(&provider),
        2,
        "the sign-out's and the late refresh's"
    );
}

/// 99 tasks on an expired session, a third each for two resources and an organization,
/// with refresh tokens rotating on every use: one refresh per target, no reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_concurrent_targets_refresh_once_each() {
    use logto_integration::fixtures::API2_RESOURCE;
    let provider = Provider::builder().access_token_ttl(4).start();
    let config = config(&provider, false)
        .scopes(["urn:logto:scope:organizations", "read:data", "read:reports"])
        .resources([API_RESOURCE, API2_RESOURCE])
        .expiry_leeway(0)
        .build()
        .unwrap();
    let client = LogtoClient::new(config).unwrap();
    sign_in(&provider, &client).await;
    let targets = [
        TokenTarget::resource(API_RESOURCE),
        TokenTarget::resource(API2_RESOURCE),
        TokenTarget::organization(ORG1),
    ];
    for target in &targets {
        client.token_for(target).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(4100)).await; // every cached token expires
    let before = provider.refresh_count();
    let tasks: Vec<_> = (0..99)
        .map(|i| {
            let (client, target) = (client.clone(), targets[i % 3].clone());
            tokio::spawn(async move {
                let token = client.token_for(&target).await.unwrap();
                (i % 3, token.token.expose().to_owned())
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    assert_eq!(
        provider.refresh_count(),
        before + 3,
        "one refresh per target"
    );
    for target in 0..3 {
        let mine: Vec<&String> = tokens
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, tok)| tok)
            .collect();
        assert!(
            mine.iter().all(|t| *t == mine[0]),
            "target {target}: one token for all"
        );
    }
    assert!(client.is_authenticated().await.unwrap());
    client
        .refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
        .await
        .unwrap();
}

/// A call dropped right after its token response (while the ID token's new key is being
/// fetched): the rotated refresh token is already stored, and the provider accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_a_call_dropped_after_the_token_response_keeps_the_rotated_token() {
    let provider = Provider::start();
    let storage = Arc::new(MemoryStore::new());
    let client =
        LogtoClient::with_storage(config(&provider, false).build().unwrap(), storage.clone())
            .unwrap();
    sign_in(&provider, &client).await;
    let before = client.refresh_token().await.unwrap().unwrap();
    // The refreshed ID token is signed with a new key, whose JWKS answer comes late.
    provider.rotate_key("ES384");
    provider.inject_fault(Fault {
        path: Some("/oidc/jwks".into()),
        hang_ms: Some(3000),
        ..Fault::token(FaultMode::Delay, 1)
    });
    let target = TokenTarget::resource(API_RESOURCE);
    let call = client.refreshed_token_for(&target);
    let dropped = tokio::time::timeout(Duration::from_millis(1500), call).await;
    assert!(dropped.is_err(), "the call was still waiting for the JWKS");
    assert_eq!(provider.refresh_count(), 1);

    let stored = storage.get(SESSION_KEY).await.unwrap().unwrap();
    let session = proto::adapter::Snapshot::from_json(&stored).unwrap();
    let rotated = session.refresh_token().unwrap().expose().to_owned();
    assert_ne!(rotated, before, "the rotated refresh token was stored");
    let creds = provider.public_client();
    let reply = raw::post_form(
        &provider.token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rotated),
            ("client_id", &creds.client_id),
        ],
        creds.auth(),
    );
    assert_eq!(
        reply.status,
        200,
        "the stored token is live: {:?}",
        reply.json()
    );
}
