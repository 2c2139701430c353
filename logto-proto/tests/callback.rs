//! Flow 4: the callback. Every rejection leaves the pending sign-in as it was; a code is
//! never exchanged twice.

mod support;

use logto_proto::{adapter::*, errors::*};
use logto_proto::{ClientAuth, ClientError, Config, Error, SignInOptions, UnixTime};
use support::*;

fn pending() -> (Harness, String) {
    let mut h = Harness::new("ES384");
    let url = h.sign_in_url(SignInOptions::new(REDIRECT_URI));
    let callback = h.provider.authorize(&url);
    (h, callback)
}

fn with_param(callback: &str, key: &str, value: Option<&str>) -> String {
    let mut url = url::Url::parse(callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != key)
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(key, v);
        }
    }
    url.into()
}

fn token_requests(h: &Harness) -> usize {
    h.provider
        .requests
        .iter()
        .filter(|r| r.url.ends_with("/token"))
        .count()
}

fn rejected(callback: &str) -> (Harness, Error) {
    let (mut h, _) = pending();
    let before = h.snapshot.clone();
    let err = h.callback(callback).unwrap_err();
    assert_eq!(
        h.snapshot, before,
        "a rejected callback leaves the session as it was"
    );
    assert_eq!(
        token_requests(&h),
        0,
        "nothing is sent for a rejected callback"
    );
    (h, err)
}

#[test]
fn a_valid_callback_signs_in_and_stores_the_tokens() {
    let (mut h, callback) = pending();
    let claims = h.callback(&callback).unwrap();
    assert_eq!(claims.sub, USER);
    assert_eq!(claims.username.as_deref(), Some("alice"));
    assert_eq!(claims.created_at, Some(1_700_000_000_000));
    assert_eq!(claims.picture, None);
    assert!(h.snapshot.is_authenticated());
    assert!(h.snapshot.pending_sign_in().is_none());
    assert!(h.snapshot.refresh_token().is_some());
    assert_eq!(h.snapshot.id_token_claims().unwrap(), claims);
    // The code exchange: form body with the stored redirect URI and verifier, Basic auth
    // with form-urlencoded credentials.
    let exchange = h
        .provider
        .requests
        .iter()
        .find(|r| r.url.ends_with("/token"))
        .unwrap();
    assert_eq!(exchange.method, Method::Post);
    assert_eq!(
        exchange.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        exchange.header("authorization"),
        Some("Basic YXBwLWlkOmFwcCtzZWNyZXQlMjYlM0Q=")
    );
    let body = String::from_utf8(exchange.body.clone()).unwrap();
    assert_eq!(
        body,
        format!(
            "grant_type=authorization_code&code=code-1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
             &code_verifier=BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc&client_id=app-id"
        )
    );
}

#[test]
fn client_secret_post_and_public_clients() {
    let mut h = Harness::new("ES384");
    h.config = Config::builder(ENDPOINT, APP_ID)
        .app_secret(APP_SECRET)
        .client_auth(ClientAuth::ClientSecretPost)
        .build()
        .unwrap();
    let url = h.sign_in_url(SignInOptions::new(REDIRECT_URI));
    let cb = h.provider.authorize(&url);
    h.callback(&cb).unwrap();
    let exchange = h
        .provider
        .requests
        .iter()
        .find(|r| r.url.ends_with("/token"))
        .unwrap();
    assert_eq!(exchange.header("authorization"), None);
    assert!(String::from_utf8_lossy(&exchange.body)
        .ends_with("&client_id=app-id&client_secret=app+secret%26%3D"));

    let public = Config::new(ENDPOINT, APP_ID).unwrap();
    let mut cache = ProviderCache::new();
    let mut snapshot = Snapshot::new();
    let mut op = Context::new(&public, &mut cache, &mut snapshot).sign_in(
        SignInOptions::new(REDIRECT_URI),
        SignInEntropy::from_bytes([1; 96]),
    );
    let url = Harness::drive(&mut h.provider, &mut op).unwrap();
    let cb = h.provider.authorize(&url);
    let mut op = Context::new(&public, &mut cache, &mut snapshot).handle_sign_in_callback(cb);
    // The simulated provider requires a secret, so the public exchange is refused, and that
    // refusal is reported with Logto's error body.
    let err = Harness::drive(&mut h.provider, &mut op).unwrap_err();
    let last = h.provider.requests.last().unwrap();
    assert_eq!(last.header("authorization"), None);
    assert!(!String::from_utf8_lossy(&last.body).contains("client_secret"));
    match err {
        Error::Provider(p) => {
            assert_eq!(p.status, 401);
            assert_eq!(p.code.as_deref(), Some("oidc.invalid_client"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_state_is_rejected() {
    let (_, cb) = pending();
    let (_, err) = rejected(&with_param(&cb, "state", Some("forged")));
    assert_eq!(err, Error::Callback(CallbackError::StateMismatch));
    let (_, err) = rejected(&with_param(&cb, "state", None));
    assert_eq!(err, Error::Callback(CallbackError::MissingState));
}

#[test]
fn state_is_checked_before_the_error() {
    let (_, cb) = pending();
    let forged = with_param(
        &with_param(&cb, "state", Some("forged")),
        "error",
        Some("access_denied"),
    );
    let (_, err) = rejected(&forged);
    assert_eq!(err, Error::Callback(CallbackError::StateMismatch));
}

#[test]
fn prefix_matched_redirect_uris_are_rejected() {
    let (_, cb) = pending();
    for evil in [
        cb.replace("/callback", "/callbackEVIL"),
        cb.replace("/callback", "/callback/extra"),
        cb.replace("https://app.example.com", "https://app.example.com.evil.io"),
        cb.replace("https://", "http://"),
        cb.replace("app.example.com", "app.example.com:8443"),
    ] {
        let (_, err) = rejected(&evil);
        assert!(
            matches!(
                err,
                Error::Callback(CallbackError::RedirectUriMismatch { .. })
            ),
            "{evil}: {err:?}"
        );
    }
    let (_, err) = rejected(&cb.replace("/callback", "/callbackEVIL"));
    assert_eq!(
        err,
        Error::Callback(CallbackError::RedirectUriMismatch {
            expected: "https://app.example.com/callback".into(),
            found: "https://app.example.com/callbackEVIL".into(),
        })
    );
    // The default port written out is the same target.
    let (mut h, cb) = pending();
    h.callback(&cb.replace("app.example.com", "app.example.com:443"))
        .unwrap();
}

#[test]
fn provider_error_carries_error_and_description() {
    let (_, cb) = pending();
    let url = with_param(
        &with_param(
            &with_param(&cb, "code", None),
            "error",
            Some("access_denied"),
        ),
        "error_description",
        Some("user cancelled"),
    );
    let (_, err) = rejected(&url);
    assert_eq!(
        err,
        Error::Callback(CallbackError::Provider {
            error: "access_denied".into(),
            description: Some("user cancelled".into())
        })
    );
    let err = ClientError::from(err);
    assert_eq!((err.kind(), err.http_status()), ("callback", 403));
    // Any other refused callback is the browser's bad request.
    let (_, err) = rejected(&with_param(&cb, "state", Some("forged")));
    let err = ClientError::from(err);
    assert_eq!((err.kind(), err.http_status()), ("callback", 400));
}

#[test]
fn issuer_mismatch_rfc9207() {
    let (_, cb) = pending();
    let (_, err) = rejected(&with_param(&cb, "iss", Some("https://evil.example/oidc")));
    assert_eq!(
        err,
        Error::Callback(CallbackError::IssuerMismatch {
            expected: ISSUER.into(),
            found: Some("https://evil.example/oidc".into())
        })
    );
    // The provider announces iss, so a callback without it is refused too.
    let (_, err) = rejected(&with_param(&cb, "iss", None));
    assert_eq!(
        err,
        Error::Callback(CallbackError::IssuerMismatch {
            expected: ISSUER.into(),
            found: None
        })
    );
}

#[test]
fn missing_code_and_repeated_parameters() {
    let (_, cb) = pending();
    let (_, err) = rejected(&with_param(&cb, "code", None));
    assert_eq!(err, Error::Callback(CallbackError::MissingCode));
    let (_, err) = rejected(&format!("{cb}&code=second"));
    assert!(matches!(
        err,
        Error::Callback(CallbackError::Malformed { .. })
    ));
    let (_, err) = rejected("::not a url::");
    assert!(matches!(
        err,
        Error::Callback(CallbackError::Malformed { .. })
    ));
}

#[test]
fn no_pending_sign_in() {
    let mut h = Harness::new("ES384");
    let err = h
        .callback("https://app.example.com/callback?code=x&state=y")
        .unwrap_err();
    assert_eq!(err, Error::Callback(CallbackError::NoPendingSignIn));
    assert!(
        h.provider.requests.is_empty(),
        "nothing is fetched without a pending sign-in"
    );
}

#[test]
fn a_failed_exchange_keeps_the_pending_sign_in_but_never_reuses_the_code() {
    let (mut h, cb) = pending();
    h.provider
        .faults
        .push_back(Fault::Status(500, serde_json::json!({"message": "boom"})));
    let err = h.callback(&cb).unwrap_err();
    assert!(
        matches!(err, Error::Provider(ProviderError { status: 500, .. })),
        "{err:?}"
    );
    assert!(h.snapshot.pending_sign_in().is_some());
    assert!(!h.snapshot.is_authenticated());
    let sent = token_requests(&h);
    let err = h.callback(&cb).unwrap_err();
    assert_eq!(err, Error::Callback(CallbackError::CodeAlreadyUsed));
    assert_eq!(token_requests(&h), sent, "the used code is not sent again");
}

#[test]
fn replayed_callback_after_success_is_rejected() {
    let (mut h, cb) = pending();
    h.callback(&cb).unwrap();
    let session = h.snapshot.clone();
    assert_eq!(
        h.callback(&cb).unwrap_err(),
        Error::Callback(CallbackError::NoPendingSignIn)
    );
    assert_eq!(h.snapshot, session, "the signed-in session is intact");
}

#[test]
fn malformed_token_response_keeps_the_pending_sign_in() {
    let (mut h, cb) = pending();
    h.provider.faults.push_back(Fault::Malformed);
    let err = h.callback(&cb).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Response(ResponseError::Malformed { what: "token", .. })
        ),
        "{err:?}"
    );
    assert!(h.snapshot.pending_sign_in().is_some());
    assert!(!h.snapshot.is_authenticated());
}

#[test]
fn nonce_mismatch_rejects_the_id_token() {
    let (mut h, _) = pending();
    // A code issued for another authorization request (another nonce).
    let other = {
        let mut other = Harness::new("ES384");
        let url = other.sign_in_url(SignInOptions::new(REDIRECT_URI));
        url.replace("nonce=Bwc", "nonce=Zzz")
    };
    let cb = h.provider.authorize(&other);
    let err = h.callback(&cb).unwrap_err();
    assert_eq!(err, Error::IdToken(IdTokenError::NonceMismatch));
    // The expected nonce is the session's secret: no rendering of the error shows it.
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"),
        "{shown}"
    );
    assert!(!h.snapshot.is_authenticated());
    assert!(
        h.snapshot.refresh_token().is_none(),
        "no token of a rejected sign-in is kept"
    );
    assert!(h.snapshot.pending_sign_in().is_some());
}

#[test]
fn a_pending_sign_in_older_than_the_max_age_is_refused_and_kept() {
    let (mut h, callback) = pending();
    let started = h.now();
    h.provider.now += h.config.sign_in_max_age() + 1;
    let err = h.callback(&callback).unwrap_err();
    assert_eq!(
        err,
        Error::Callback(CallbackError::SignInExpired {
            started_at: started,
            now: h.now(),
            max_age: 600,
        })
    );
    assert_eq!(token_requests(&h), 0, "no code exchange");
    assert!(h.snapshot.pending_sign_in().is_some());

    // At the limit it still goes through.
    let (mut h, callback) = pending();
    h.provider.now += h.config.sign_in_max_age();
    h.callback(&callback).unwrap();
}

/// The app secret never goes over http off loopback, even when the config lets the
/// endpoints be http there.
#[test]
fn the_client_secret_is_never_sent_over_http_off_loopback() {
    let config = Config::builder("http://logto.internal", APP_ID)
        .app_secret(APP_SECRET)
        .allow_insecure_http(true)
        .build()
        .unwrap();
    let doc = serde_json::json!({
        "issuer": "http://logto.internal/oidc",
        "authorization_endpoint": "http://logto.internal/oidc/auth",
        "token_endpoint": "http://logto.internal/oidc/token",
        "jwks_uri": "http://logto.internal/oidc/jwks",
    })
    .to_string();
    let mut cache = ProviderCache::new();
    let mut snapshot = Snapshot::new();
    let now = UnixTime::from_secs(T0);
    let mut sent = Vec::new();
    let mut send = |request: HttpRequest| {
        sent.push(request.url.clone());
        Ok::<_, ()>(HttpResponse::new(200, doc.clone()))
    };
    let url = {
        let mut op = Context::new(&config, &mut cache, &mut snapshot).sign_in(
            SignInOptions::new(REDIRECT_URI),
            SignInEntropy::from_bytes([7; 96]),
        );
        run(&mut op, || now, &mut send).unwrap()
    };
    let state = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = format!("{REDIRECT_URI}?code=c&state={state}");
    let mut op = Context::new(&config, &mut cache, &mut snapshot).handle_sign_in_callback(callback);
    let err = run(&mut op, || now, &mut send).unwrap_err();
    assert!(
        matches!(
            err,
            RunError::Protocol(Error::Discovery(DiscoveryError::InsecureEndpoint {
                name: "token_endpoint",
                ..
            }))
        ),
        "{err:?}"
    );
    assert!(!sent.iter().any(|u| u.ends_with("/token")), "{sent:?}");
    assert!(snapshot.pending_sign_in().is_some());
}
