//! The blocking client against the project's Logto-compatible provider: the whole guide
//! flow, a public client, sign-up mode, single-flight refresh under 100 threads and across
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

pub(crate) fn sign_in(provider: &Provider, client: &LogtoClient) -> IdTokenClaims {
    let url = client.sign_in(provider.redirect_uri()).unwrap();
    let alice = provider.alice();
    let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
    client.handle_sign_in_callback(&callback).unwrap()
}

#[test]
fn provider_guide_flow() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
    assert!(!client.is_authenticated().unwrap());
    let claims = sign_in(&provider, &client);
    assert!(client.is_authenticated().unwrap());
    assert_eq!(claims.sub, provider.alice().id);
    assert_eq!(client.id_token_claims().unwrap(), claims);
    assert!(client.id_token().unwrap().is_some());
    assert!(client.refresh_token().unwrap().is_some());

    let info = client.fetch_user_info().unwrap();
    assert_eq!(info.sub, claims.sub);
    assert!(
        info.custom_data.is_some(),
        "custom_data comes from userinfo"
    );

    let token = client.access_token(API_RESOURCE).unwrap();
    let claims = client.access_token_claims(API_RESOURCE).unwrap();
    assert_eq!(claims.aud.unwrap().as_slice(), [API_RESOURCE]);
    assert_eq!(client.access_token(API_RESOURCE).unwrap(), token, "cached");

    client.organization_token(ORG1).unwrap();
    assert_eq!(
        client
            .organization_token_claims(ORG1)
            .unwrap()
            .organization_id(),
        Some(ORG1)
    );
    let scoped = client.access_token_for(API_RESOURCE, ORG1).unwrap();
    let (_, payload) = raw::decode_jwt(&scoped);
    assert_eq!(payload["organization_id"], ORG1);

    let refresh = client.refresh_token().unwrap().unwrap();
    let result = client
        .sign_out_with_result(Some(provider.post_logout_redirect_uri()))
        .unwrap();
    assert_eq!(result.revocation, Revocation::Revoked);
    assert!(result.end_session_url.contains("id_token_hint="));
    assert!(!client.is_authenticated().unwrap());
    // Revocation is effective at the provider.
    let creds = provider.confidential_client();
    let reply = raw::post_form(
        &provider.token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        creds.auth(),
    );
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert!(matches!(
        client.access_token(API_RESOURCE),
        Err(Error::NotAuthenticated)
    ));
}

#[test]
fn provider_public_client_and_sign_up_mode() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, false).build().unwrap()).unwrap();
    let url = client
        .sign_in_with(
            SignInOptions::new(provider.redirect_uri()).interaction_mode(InteractionMode::SignUp),
        )
        .unwrap();
    let browser = Browser::new();
    let page = browser.open(&url).expect_sign_in_page();
    assert_eq!(page.data("interaction-mode").as_deref(), Some("signUp"));
    let alice = provider.alice();
    let callback = browser
        .submit_sign_in(&page, &alice.username, &alice.password)
        .expect_redirect();
    client.handle_sign_in_callback(&callback).unwrap();
    client.access_token(API_RESOURCE).unwrap();
    client.fetch_user_info().unwrap();
}

/// A memory store that counts its writes.
struct CountingStorage {
    inner: MemoryStore,
    writes: AtomicUsize,
}

impl Storage for CountingStorage {
    fn get(&self, key: &str) -> Result<Option<String>, StorageError> {
        self.inner.get(key)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.compare_and_swap(key, expected, new)
    }
}

#[test]
fn provider_user_info_with_a_fresh_token_writes_nothing() {
    let provider = Provider::start();
    // Shared through `Arc`: the client writes through it, the test reads the count.
    let storage = Arc::new(CountingStorage {
        inner: MemoryStore::new(),
        writes: AtomicUsize::new(0),
    });
    let client =
        LogtoClient::with_storage(config(&provider, true).build().unwrap(), storage.clone())
            .unwrap();
    sign_in(&provider, &client);
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
        client.fetch_user_info().unwrap();
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
    let info = client.fetch_user_info().unwrap();
    assert_eq!(info.sub, provider.alice().id);
    assert_eq!(provider.refresh_count(), before.1 + 1);
    assert_eq!(me(), before.2 + 5);
    assert!(storage.writes.load(Ordering::SeqCst) > before.0);
}

#[test]
fn provider_hundred_threads_one_refresh() {
    let provider = Provider::builder().access_token_ttl(4).start();
    let client =
        LogtoClient::new(config(&provider, false).expiry_leeway(0).build().unwrap()).unwrap();
    sign_in(&provider, &client);
    let first = client.access_token(API_RESOURCE).unwrap();
    let before = provider.refresh_count();
    std::thread::sleep(Duration::from_millis(4100)); // the cached token expires
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|_| s.spawn(|| client.access_token(API_RESOURCE).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        provider.refresh_count(),
        before + 1,
        "exactly one refresh for 100 calls"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0] && t != &first));
}

#[test]
fn provider_two_clients_sharing_a_file_store_refresh_once() {
    let provider = Provider::start();
    let dir = std::env::temp_dir().join(format!("logto-ureq-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = config(&provider, false).build().unwrap();
    // Two "processes": separate clients, separate locks, one store.
    let a = LogtoClient::with_storage(cfg.clone(), FileStore::new(&dir).unwrap()).unwrap();
    let b = LogtoClient::with_storage(cfg, FileStore::new(&dir).unwrap()).unwrap();
    sign_in(&provider, &a);
    assert!(b.is_authenticated().unwrap());
    let before = provider.refresh_count();
    let (ta, tb) = std::thread::scope(|s| {
        let ha = s.spawn(|| a.access_token(API_RESOURCE).unwrap());
        let hb = s.spawn(|| b.access_token(API_RESOURCE).unwrap());
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(ta, tb);
    assert_eq!(provider.refresh_count(), before + 1);
    // Forced refreshes from both take turns, each with the rotated token: the grant survives.
    for _ in 0..3 {
        a.refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
            .unwrap();
        b.refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
            .unwrap();
    }
    assert!(b.fetch_user_info().is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn provider_faults_keep_the_session() {
    let provider = Provider::builder().hang_ms(3000).start();
    let client = LogtoClient::new(
        config(&provider, true)
            .request_timeout(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap();
    sign_in(&provider, &client);
    let session = |c: &LogtoClient| (c.id_token().unwrap(), c.refresh_token().unwrap());
    let before = session(&client);

    provider.fail_next_token_responses(FaultMode::ServerError, 1);
    match client.access_token(API_RESOURCE).unwrap_err() {
        Error::Provider(p) => assert_eq!(p.status, 500),
        other => panic!("{other:?}"),
    }
    assert_eq!(session(&client), before);

    provider.fail_next_token_responses(FaultMode::Malformed, 1);
    assert!(matches!(
        client.access_token(API_RESOURCE).unwrap_err(),
        Error::Protocol(_)
    ));
    assert_eq!(session(&client), before);

    provider.fail_next_token_responses(FaultMode::Hang, 1);
    match client.access_token(API_RESOURCE).unwrap_err() {
        Error::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
    assert_eq!(session(&client), before);

    // Recovered: the kept refresh token works.
    client.access_token(API_RESOURCE).unwrap();
}

#[test]
fn an_oversized_body_is_a_transport_error() {
    // A discovery document of 2 MiB: more than the 1 MiB the client reads.
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2 << 20)).into_bytes();
    let endpoint = raw::serve_once(200, body);
    let client = LogtoClient::new(LogtoConfig::builder(&endpoint, "app").build().unwrap()).unwrap();
    match client
        .sign_in("http://127.0.0.1:3000/callback")
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

#[test]
fn provider_down_is_a_transport_error() {
    let provider = Provider::start();
    let cfg = config(&provider, true).build().unwrap();
    drop(provider);
    let client = LogtoClient::new(cfg).unwrap();
    match client
        .sign_in("http://127.0.0.1:3000/callback")
        .unwrap_err()
    {
        Error::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect),
        other => panic!("{other:?}"),
    }
    assert!(!client.is_authenticated().unwrap());
}

#[test]
fn corrupt_storage_is_a_typed_error_and_can_be_cleared() {
    let storage = MemoryStore::new();
    assert!(storage
        .compare_and_swap(SESSION_KEY, Expected::Any, Some("{not json"))
        .unwrap());
    let client = LogtoClient::with_storage(
        LogtoConfig::new("https://tenant.logto.app", "app").unwrap(),
        storage,
    )
    .unwrap();
    assert!(matches!(
        client.is_authenticated().unwrap_err(),
        Error::Storage(StorageError::Corrupt(_))
    ));
    client.clear_session().unwrap();
    assert!(!client.is_authenticated().unwrap());
}

#[test]
fn file_storage_writes_atomically_and_compares_and_swaps() {
    let dir = std::env::temp_dir().join(format!("logto-ureq-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = FileStore::new(&dir).unwrap();
    assert_eq!(store.get("a/b").unwrap(), None);
    assert!(store
        .compare_and_swap("a/b", Expected::Any, Some("one"))
        .unwrap());
    assert_eq!(store.get("a/b").unwrap().as_deref(), Some("one"));
    assert!(!store
        .compare_and_swap("a/b", Expected::Value("zero"), Some("two"))
        .unwrap());
    assert!(store
        .compare_and_swap("a/b", Expected::Value("one"), Some("two"))
        .unwrap());
    assert_eq!(store.get("a/b").unwrap().as_deref(), Some("two"));
    // A crash mid-write leaves a temporary file, never a torn value.
    std::fs::write(dir.join("a%2Fb.tmp999"), "half").unwrap();
    assert_eq!(store.get("a/b").unwrap().as_deref(), Some("two"));
    assert!(store.compare_and_swap("a/b", Expected::Any, None).unwrap());
    assert_eq!(store.get("a/b").unwrap(), None);
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
#[test]
fn provider_key_rotation_right_after_a_refetch() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
    sign_in(&provider, &client);
    let before = jwks_requests(&provider);

    provider.rotate_key("RS256");
    client
        .refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
        .unwrap();
    assert_eq!(jwks_requests(&provider), before + 1);
    let refetched = std::time::Instant::now();

    provider.rotate_key("ES384");
    client
        .refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
        .unwrap();
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

    // Another session (same provider cache) signs in with the keys already at hand.
    let other = client.for_session(MemoryStore::new());
    sign_in(&provider, &other);
    other.fetch_user_info().unwrap();
    assert_eq!(jwks_requests(&provider), before + 2);
}

/// 100 sessions refreshing at once, each getting an ID token signed with a key rotated in
/// just before: one JWKS request for all of them.
#[test]
fn provider_hundred_sessions_fetch_rotated_keys_once() {
    let provider = Provider::start();
    let base = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
    let browser = Browser::new();
    let alice = provider.alice();
    let sessions: Vec<LogtoClient> = (0..100)
        .map(|_| {
            let session = base.for_session(MemoryStore::new());
            let url = session.sign_in(provider.redirect_uri()).unwrap();
            let callback = browser.sign_in(&url, &alice.username, &alice.password);
            session.handle_sign_in_callback(&callback).unwrap();
            session
        })
        .collect();
    provider.rotate_key("RS256");
    let before = jwks_requests(&provider);
    let barrier = Arc::new(std::sync::Barrier::new(sessions.len()));
    let threads: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                session.refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
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
#[test]
fn provider_sign_out_racing_a_refresh_stays_signed_out() {
    let provider = Provider::start();
    let client = LogtoClient::new(config(&provider, false).build().unwrap()).unwrap();
    sign_in(&provider, &client);
    provider.inject_fault(Fault {
        grant_type: Some("refresh_token".into()),
        hang_ms: Some(1000),
        ..Fault::token(FaultMode::LateAnswer, 1)
    });
    let refresher = {
        let client = client.clone();
        std::thread::spawn(move || client.refreshed_token_for(&TokenTarget::resource(API_RESOURCE)))
    };
    while provider.refresh_count() == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    client.sign_out(None).unwrap();
    assert!(matches!(
        refresher.join().unwrap(),
        Err(Error::NotAuthenticated)
    ));
    assert!(!client.is_authenticated().unwrap());
    assert!(client.refresh_token().unwrap().is_none());
    assert_eq!(
        revocations(&provider),
        2,
        "the sign-out's and the late refresh's"
    );
    assert!(matches!(
        client.access_token(API_RESOURCE),
        Err(Error::NotAuthenticated)
    ));
}

/// 99 callers on an expired session, a third each for two resources and an organization,
/// with refresh tokens rotating on every use: one refresh per target, no reuse.
#[test]
fn provider_concurrent_targets_refresh_once_each() {
    use logto_integration::fixtures::API2_RESOURCE;
    let provider = Provider::builder().access_token_ttl(4).start();
    let config = config(&provider, false)
        .scopes(["urn:logto:scope:organizations", "read:data", "read:reports"])
        .resources([API_RESOURCE, API2_RESOURCE])
        .expiry_leeway(0)
        .build()
        .unwrap();
    let client = LogtoClient::new(config).unwrap();
    sign_in(&provider, &client);
    let targets = [
        TokenTarget::resource(API_RESOURCE),
        TokenTarget::resource(API2_RESOURCE),
        TokenTarget::organization(ORG1),
    ];
    for target in &targets {
        client.token_for(target).unwrap();
    }
    std::thread::sleep(Duration::from_millis(4100)); // every cached token expires
    let before = provider.refresh_count();
    let tokens: Vec<(usize, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..99)
            .map(|i| {
                let (client, target) = (&client, targets[i % 3].clone());
                s.spawn(move || {
                    (
                        i % 3,
                        client.token_for(&target).unwrap().token.expose().to_owned(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
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
    // Still signed in, with a refresh token the provider accepts.
    assert!(client.is_authenticated().unwrap());
    client
        .refreshed_token_for(&TokenTarget::resource(API_RESOURCE))
        .unwrap();
}

/// A provider error names the endpoint that answered; a transport error the host it tried.
#[test]
fn errors_name_the_endpoint_and_the_host() {
    let provider = Provider::start();
    let app = provider.machine_client();
    let config = LogtoConfig::builder(provider.endpoint(), &app.client_id)
        .app_secret(app.client_secret.as_deref().unwrap())
        .build()
        .unwrap();
    let client = LogtoClient::new(config).unwrap();
    // An API the provider does not know: the token endpoint refuses the grant.
    let refused = client
        .fetch_machine_token(TokenTarget::resource("https://unknown.example/api"))
        .unwrap_err();
    let Error::Provider(error) = &refused else {
        panic!("expected a provider error, got {refused:?}");
    };
    let token_endpoint = format!("{}/token", provider.issuer());
    assert_eq!(error.endpoint(), Some(token_endpoint.as_str()));
    assert!(refused.to_string().contains(&token_endpoint), "{refused}");

    // Nothing listens on this port: the connection is refused.
    let port = logto_integration::examples::free_port();
    let config = LogtoConfig::builder(format!("http://127.0.0.1:{port}"), "app")
        .build()
        .unwrap();
    let failed = LogtoClient::new(config)
        .unwrap()
        .sign_in("http://127.0.0.1/callback")
        .unwrap_err();
    let Error::Transport(error) = &failed else {
        panic!("expected a transport error, got {failed:?}");
    };
    assert_eq!(error.kind, proto::TransportErrorKind::Connect);
    assert_eq!(error.host, format!("127.0.0.1:{port}"));
    assert!(
        failed
            .to_string()
            .contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{failed}"
    );
}
