//! Flows 6-9: access tokens, organization tokens, user info and sign-out, with every
//! failure keeping what must be kept.

mod support;

use logto_proto::internals::*;
use logto_proto::{
    adapter, decode_claims, AccessToken, AccessTokenClaims, Audience, ClientError, Config, Error,
    OrganizationTokenClaims, Secret, SignInOptions, TokenTarget, TransportError,
    TransportErrorKind, UnixTime, UserScope,
};
use logto_proto::{adapter::*, errors::*, scopes::*};
use serde_json::json;
use support::*;

fn refreshes(h: &Harness) -> usize {
    h.provider.refresh_requests()
}

fn form(request: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

#[test]
fn a_fresh_cached_token_needs_no_request() {
    let mut h = Harness::signed_in("ES384");
    let first = h.access_token(TokenTarget::resource(API), false).unwrap();
    let sent = h.provider.requests.len();
    h.provider.now += 1000;
    let again = h.access_token(TokenTarget::resource(API), false).unwrap();
    assert_eq!(again, first);
    assert_eq!(
        h.provider.requests.len(),
        sent,
        "no request for a fresh token"
    );
    let claims: AccessTokenClaims = decode_claims(first.token.expose()).unwrap();
    assert_eq!(claims.aud, Some(Audience(vec![API.into()])));
    assert_eq!(claims.scope.as_deref(), Some("read:data"));
}

#[test]
fn the_refresh_request_and_the_expiry_maths() {
    let mut h = Harness::signed_in("ES384");
    h.provider.access_ttl = 600;
    let rt = h.snapshot.refresh_token().unwrap().expose().to_owned();
    let token = h.access_token(TokenTarget::resource(API), false).unwrap();
    let request = h.provider.requests.last().unwrap();
    assert_eq!(
        form(request),
        vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), rt.clone()),
            ("resource".into(), API.into()),
            ("client_id".into(), APP_ID.into()),
        ]
    );
    // expires_at = min(now + expires_in, JWT exp).
    assert_eq!(token.expires_at, UnixTime::from_secs(T0 + 600));
    // The token is used until `leeway` (60 s) before expiry, then refreshed.
    h.provider.now = T0 + 539;
    h.access_token(TokenTarget::resource(API), false).unwrap();
    assert_eq!(refreshes(&h), 1);
    h.provider.now = T0 + 540;
    h.access_token(TokenTarget::resource(API), false).unwrap();
    assert_eq!(refreshes(&h), 2);
    // The rotated refresh token replaced the old one.
    assert_ne!(h.snapshot.refresh_token().unwrap().expose(), rt);
}

#[test]
fn a_jwt_exp_earlier_than_expires_in_wins() {
    let mut h = Harness::signed_in("ES384");
    // The server says 3600 s, but the JWT says it expires in 100 s.
    h.provider.access_ttl = 3600;
    let token = h.access_token(TokenTarget::resource(API), false).unwrap();
    assert_eq!(token.expires_at, UnixTime::from_secs(T0 + 3600));
    let claims: AccessTokenClaims = decode_claims(token.token.expose()).unwrap();
    assert_eq!(claims.exp, Some(UnixTime::from_secs(T0 + 3600)));
    let mut resp = HttpResponse::new(200, json!({"access_token": h.provider.sign(&json!({"aud": API, "exp": T0 + 100})), "token_type": "Bearer", "expires_in": 3600}).to_string());
    resp.headers
        .push(("content-type".into(), "application/json".into()));
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
        .access_token(TokenTarget::resource("https://other"), false);
    let now = UnixTime::from_secs(T0);
    let token = run(&mut op, || now, |_| Ok::<_, ()>(resp.clone())).unwrap();
    assert_eq!(token.expires_at, UnixTime::from_secs(T0 + 100));
}

#[test]
fn rotation_never_presents_a_consumed_refresh_token() {
    let mut h = Harness::signed_in("ES384");
    let mut seen = std::collections::HashSet::new();
    for (i, target) in [
        TokenTarget::resource(API),
        TokenTarget::userinfo(),
        TokenTarget::organization("org1"),
        TokenTarget::resource_in_organization(API, "org1"),
    ]
    .into_iter()
    .enumerate()
    {
        h.provider.now += 1;
        h.access_token(target, true).unwrap();
        let sent = form(h.provider.requests.last().unwrap());
        let rt = sent
            .iter()
            .find(|(k, _)| k == "refresh_token")
            .unwrap()
            .1
            .clone();
        assert!(seen.insert(rt), "refresh #{i} presented a consumed token");
    }
}

#[test]
fn invalid_grant_ends_the_session_cleanly() {
    let mut h = Harness::signed_in("ES384");
    h.provider.faults.push_back(Fault::Status(400, json!({"code": "oidc.invalid_grant", "message": "grant request is invalid", "error": "invalid_grant", "error_description": "grant request is invalid"})));
    let err = h
        .access_token(TokenTarget::resource(API), true)
        .unwrap_err();
    match err {
        Error::SessionExpired(p) => {
            assert_eq!(p.status, 400);
            assert_eq!(p.code.as_deref(), Some("oidc.invalid_grant"));
            assert_eq!(
                p.error_description.as_deref(),
                Some("grant request is invalid")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!h.snapshot.is_authenticated());
    assert!(h.snapshot.refresh_token().is_none());
    assert!(h.snapshot.access_tokens().is_empty());
    assert_eq!(
        h.access_token(TokenTarget::resource(API), false)
            .unwrap_err(),
        Error::NotAuthenticated
    );
}

#[test]
fn transient_failures_keep_every_token() {
    for fault in [
        Fault::Status(500, json!({"message": "internal"})),
        Fault::Status(503, json!("down")),
        Fault::Malformed,
        Fault::Status(400, json!({"error": "invalid_scope"})),
    ] {
        let mut h = Harness::signed_in("ES384");
        let cached = h.access_token(TokenTarget::resource(API), false).unwrap();
        let before = h.snapshot.clone();
        h.provider.faults.push_back(fault.clone());
        let err = h
            .access_token(TokenTarget::organization("org1"), false)
            .unwrap_err();
        assert!(
            matches!(err, Error::Provider(_) | Error::Response(_)),
            "{fault:?}: {err:?}"
        );
        assert_eq!(h.snapshot, before, "{fault:?}: the session is untouched");
        // The kept refresh token still works afterwards.
        let org = h
            .access_token(TokenTarget::organization("org1"), false)
            .unwrap();
        assert!(org.token.expose().contains('.'));
        assert_eq!(
            h.access_token(TokenTarget::resource(API), false).unwrap(),
            cached
        );
    }
    // A transport failure (no response at all) keeps the session too.
    let mut h = Harness::signed_in("ES384");
    let before = h.snapshot.clone();
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
        .access_token(TokenTarget::resource(API), true);
    let err = run(
        &mut op,
        || UnixTime::from_secs(T0),
        |_| Err::<HttpResponse, _>("timeout"),
    )
    .unwrap_err();
    assert!(matches!(err, RunError::Transport("timeout")));
    assert_eq!(h.snapshot, before);
}

#[test]
fn client_errors_name_their_kind_and_http_status() {
    let cases = [
        (
            Fault::Status(403, json!({"error": "access_denied"})),
            "provider",
            403,
        ),
        (
            Fault::Status(401, json!({"error": "invalid_client"})),
            "provider",
            502,
        ),
        (
            Fault::Status(400, json!({"error": "invalid_target"})),
            "provider",
            502,
        ),
        (
            Fault::Status(500, json!({"message": "internal"})),
            "provider",
            502,
        ),
        (Fault::Malformed, "protocol", 502),
        (
            Fault::Status(400, json!({"error": "invalid_grant"})),
            "session_expired",
            401,
        ),
    ];
    for (fault, kind, status) in cases {
        let mut h = Harness::signed_in("ES384");
        h.provider.faults.push_back(fault.clone());
        let err = ClientError::from(
            h.access_token(TokenTarget::organization("org1"), false)
                .unwrap_err(),
        );
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, status),
            "{fault:?}: {err:?}"
        );
    }
    let mut h = Harness::new("ES384");
    let err = ClientError::from(h.access_token(TokenTarget::userinfo(), false).unwrap_err());
    assert_eq!((err.kind(), err.http_status()), ("not_authenticated", 401));
    let timeout = ClientError::Transport(TransportError::new(
        TransportErrorKind::Timeout,
        "https://tenant.logto.app/oidc/token",
        "timed out",
    ));
    assert_eq!((timeout.kind(), timeout.http_status()), ("transport", 504));
}

#[test]
fn organization_tokens() {
    let mut h = Harness::signed_in("ES384");
    let token = h
        .access_token(TokenTarget::organization("org1"), false)
        .unwrap();
    let request = form(h.provider.requests.last().unwrap());
    assert!(request.contains(&("organization_id".into(), "org1".into())));
    assert!(!request.iter().any(|(k, _)| k == "resource"));
    let claims: OrganizationTokenClaims = decode_claims(token.token.expose()).unwrap();
    assert_eq!(claims.organization_id(), Some("org1"));

    // Organization-scoped API token: resource + organization.
    let token = h
        .access_token(TokenTarget::resource_in_organization(API, "org1"), false)
        .unwrap();
    let claims: AccessTokenClaims = decode_claims(token.token.expose()).unwrap();
    assert_eq!(claims.organization_id.as_deref(), Some("org1"));
    assert_eq!(claims.aud, Some(Audience(vec![API.into()])));

    // Not a member: 403, tokens kept.
    let err = h
        .access_token(TokenTarget::organization("org2"), false)
        .unwrap_err();
    match err {
        Error::Provider(p) => {
            assert_eq!(p.status, 403);
            assert!(p.is("access_denied"));
        }
        other => panic!("{other:?}"),
    }
    assert!(h.snapshot.is_authenticated());
}

#[test]
fn organization_tokens_need_the_organizations_scope() {
    let mut h = Harness::signed_in("ES384");
    for scopes in [vec!["email"], vec![]] {
        h.config = Config::builder(ENDPOINT, APP_ID)
            .app_secret(APP_SECRET)
            .scopes(scopes)
            .build()
            .unwrap();
        let sent = h.provider.requests.len();
        assert_eq!(
            h.access_token(TokenTarget::organization("org1"), false)
                .unwrap_err(),
            Error::MissingOrganizationScope
        );
        assert_eq!(h.provider.requests.len(), sent);
    }
    // The scope counts whether given as the enum or as the string.
    for config in [
        Config::builder(ENDPOINT, APP_ID)
            .app_secret(APP_SECRET)
            .scopes([UserScope::Organizations])
            .build()
            .unwrap(),
        Config::builder(ENDPOINT, APP_ID)
            .app_secret(APP_SECRET)
            .scopes(["urn:logto:scope:organizations"])
            .build()
            .unwrap(),
    ] {
        assert!(config.has_organizations_scope());
        assert_eq!(config.resources(), [ORGANIZATIONS_RESOURCE]);
    }
}

#[test]
fn force_refresh_and_clearing() {
    let mut h = Harness::signed_in("ES384");
    let a = h.access_token(TokenTarget::resource(API), false).unwrap();
    h.provider.now += 1;
    let b = h.access_token(TokenTarget::resource(API), true).unwrap();
    assert_ne!(a.token, b.token);
    assert_eq!(refreshes(&h), 2);
    h.snapshot.clear_access_token(&TokenTarget::resource(API));
    h.access_token(TokenTarget::resource(API), false).unwrap();
    assert_eq!(refreshes(&h), 3);
    h.snapshot.clear_access_tokens();
    assert!(h.snapshot.access_tokens().is_empty());
    assert!(h.snapshot.is_authenticated());
}

#[test]
fn not_authenticated_without_a_refresh_token() {
    let mut h = Harness::new("ES384");
    assert_eq!(
        h.access_token(TokenTarget::resource(API), false)
            .unwrap_err(),
        Error::NotAuthenticated
    );
    assert!(h.provider.requests.is_empty());
    assert_eq!(
        h.snapshot.id_token_claims().unwrap_err(),
        Error::NotAuthenticated
    );
}

/// Replaces the cached tokens with a userinfo token that looks fresh but that the
/// provider does not know.
fn cache_revoked_userinfo_token(h: &mut Harness) {
    let stale = AccessToken::new(
        TokenTarget::userinfo(),
        Secret::new("revoked"),
        None,
        UnixTime::from_secs(T0 + 9999),
    );
    let mut s = serde_json::to_value(&h.snapshot).unwrap();
    s["at"] = json!([serde_json::to_value(&stale).unwrap()]);
    h.snapshot = serde_json::from_value(s).unwrap();
}

#[test]
fn user_info_uses_the_default_token_and_retries_once_on_401() {
    let mut h = Harness::signed_in("ES384");
    let fetch = |h: &mut Harness| {
        let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).fetch_user_info();
        Harness::drive(&mut h.provider, &mut op)
    };
    let info = fetch(&mut h).unwrap();
    assert_eq!(info.sub, USER);
    assert_eq!(info.custom_data, Some(json!({"plan": "pro"})));
    let me = h.provider.requests.last().unwrap();
    assert_eq!(me.method, Method::Get);
    assert!(me
        .header("authorization")
        .unwrap()
        .starts_with("Bearer at-"));
    assert_eq!(refreshes(&h), 0, "the token from the code exchange is used");

    // A token the provider no longer accepts: one forced refresh, one retry.
    h.snapshot.clear_access_tokens();
    cache_revoked_userinfo_token(&mut h);
    let info = fetch(&mut h).unwrap();
    assert_eq!(info.sub, USER);
    assert_eq!(refreshes(&h), 1);
}

#[test]
fn without_refresh_stops_where_a_refresh_would_go_out() {
    let mut h = Harness::signed_in("ES384");
    let fetch = |h: &mut Harness| {
        let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
            .fetch_user_info()
            .without_refresh();
        Harness::drive(&mut h.provider, &mut op)
    };
    // A fresh token: the userinfo request only.
    let before = h.provider.requests.len();
    assert_eq!(fetch(&mut h).unwrap().sub, USER);
    assert_eq!(h.provider.requests.len(), before + 1);

    // The provider refuses the cached token: it is cleared, and no refresh is sent.
    cache_revoked_userinfo_token(&mut h);
    let refresh_token = h.snapshot.refresh_token().unwrap().expose().to_owned();
    assert_eq!(fetch(&mut h).unwrap_err(), Error::RefreshNeeded);
    assert_eq!(refreshes(&h), 0);
    assert!(h
        .snapshot
        .fresh_access_token(&TokenTarget::userinfo(), UnixTime::from_secs(T0), 0)
        .is_none());
    assert_eq!(h.snapshot.refresh_token().unwrap().expose(), refresh_token);

    // No cached token at all: the same stop, before any request.
    let before = h.provider.requests.len();
    assert_eq!(fetch(&mut h).unwrap_err(), Error::RefreshNeeded);
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
        .access_token(TokenTarget::resource(API), false)
        .without_refresh();
    assert_eq!(
        Harness::drive(&mut h.provider, &mut op).unwrap_err(),
        Error::RefreshNeeded
    );
    assert_eq!(h.provider.requests.len(), before);

    // The same operations allowed to refresh do so once and succeed.
    assert_eq!(
        h.access_token(TokenTarget::resource(API), false)
            .unwrap()
            .target,
        TokenTarget::resource(API)
    );
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).fetch_user_info();
    assert_eq!(Harness::drive(&mut h.provider, &mut op).unwrap().sub, USER);
    assert_eq!(refreshes(&h), 2);
}

#[test]
fn sign_out_revokes_and_builds_the_end_session_url() {
    let mut h = Harness::signed_in("ES384");
    let id_token = h.snapshot.id_token().unwrap().expose().to_owned();
    let rt = h.snapshot.refresh_token().unwrap().expose().to_owned();
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
        .sign_out(Some("https://app.example.com/"));
    let result = Harness::drive(&mut h.provider, &mut op).unwrap();
    assert_eq!(result.revocation, Revocation::Revoked);
    assert_eq!(
        result.end_session_url,
        format!("https://tenant.logto.app/oidc/session/end?client_id=app-id&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2F&id_token_hint={id_token}")
    );
    let revoke = h.provider.requests.last().unwrap();
    assert!(revoke.url.ends_with("/token/revocation"));
    assert_eq!(
        revoke.header("authorization"),
        Some("Basic YXBwLWlkOmFwcCtzZWNyZXQlMjYlM0Q=")
    );
    assert_eq!(
        form(revoke),
        vec![
            ("token".into(), rt),
            ("token_type_hint".into(), "refresh_token".into()),
            ("client_id".into(), APP_ID.into())
        ]
    );
    assert_eq!(h.snapshot, Snapshot::new());
    assert_eq!(
        h.access_token(TokenTarget::resource(API), false)
            .unwrap_err(),
        Error::NotAuthenticated
    );
}

#[test]
fn sign_out_never_blocks_on_revocation() {
    // The revocation endpoint fails: reported, sign-out completes.
    let mut h = Harness::signed_in("ES384");
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).sign_out(None);
    let provider = &mut h.provider;
    let result = run(
        &mut op,
        || UnixTime::from_secs(T0),
        |req| {
            Ok::<_, ()>(if req.url.ends_with("revocation") {
                HttpResponse::new(503, "down")
            } else {
                provider.handle(req)
            })
        },
    )
    .unwrap();
    assert!(matches!(
        result.revocation,
        Revocation::Failed(ProviderError { status: 503, .. })
    ));
    assert!(!result.end_session_url.contains("post_logout_redirect_uri"));
    assert_eq!(h.snapshot, Snapshot::new());

    // The revocation request cannot be sent: still signed out.
    let mut h = Harness::signed_in("ES384");
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).sign_out(None);
    let result = run(
        &mut op,
        || UnixTime::from_secs(T0),
        |req| {
            if req.url.ends_with("revocation") {
                Err("refused")
            } else {
                Ok(HttpResponse::new(500, ""))
            }
        },
    )
    .unwrap();
    assert_eq!(result.revocation, Revocation::Unreachable);
    assert_eq!(h.snapshot, Snapshot::new());
}

#[test]
fn operations_refuse_misuse() {
    let mut h = Harness::signed_in("ES384");
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
        .access_token(TokenTarget::resource(API), true);
    let now = UnixTime::from_secs(T0);
    assert!(matches!(op.step(now), Ok(Step::Send(_))));
    assert_eq!(
        op.step(now).unwrap_err(),
        Error::Usage("a response is awaited: call handle_response")
    );
    op.handle_response(HttpResponse::new(500, ""), now)
        .unwrap_err();
    assert_eq!(
        op.step(now).unwrap_err(),
        Error::Usage("the operation is over")
    );
    assert!(op.handle_response(HttpResponse::new(200, ""), now).is_err());
}

#[test]
fn opaque_access_tokens_have_no_claims() {
    let h = Harness::signed_in("ES384");
    let default = &h.snapshot.access_tokens()[0];
    assert_eq!(default.target, TokenTarget::userinfo());
    assert_eq!(
        decode_claims::<AccessTokenClaims>(default.token.expose()),
        Err(ClaimsError::NotAJwt)
    );
}

/// No public type that holds a secret shows it in `Debug` (nor errors in `Display`): tokens,
/// the app secret, state, PKCE verifier, nonce, code, login hint, extra parameters.
#[test]
fn secrets_never_reach_debug_output() {
    let mut h = Harness::signed_in("ES384");
    let rt = h.snapshot.refresh_token().unwrap().expose().to_owned();
    let id = h.snapshot.id_token().unwrap().expose().to_owned();
    let at = h.snapshot.access_tokens()[0].token.expose().to_owned();
    let mut dump = format!("{:?} {:?} {:?}", h.snapshot, h.config, h.provider.requests);

    // A sign-in in progress and its options.
    let options = SignInOptions::new(REDIRECT_URI)
        .login_hint("alice-hint@example.com")
        .extra_param("one_time_token", "ott-secret-value");
    dump += &format!("{options:?}");
    let mut pending = Snapshot::new();
    let callback = {
        let mut op = Context::new(&h.config, &mut h.cache, &mut pending)
            .sign_in(options, SignInEntropy::from_bytes([7; 96]));
        dump += &format!("{op:?}");
        let url = Harness::drive(&mut h.provider, &mut op).unwrap();
        h.provider.authorize(&url)
    };
    dump += &format!("{pending:?}");
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    {
        let now = h.now();
        let mut op = Context::new(&h.config, &mut h.cache, &mut pending)
            .handle_sign_in_callback(callback.clone());
        dump += &format!("{op:?}");
        let Step::Send(request) = op.step(now).unwrap() else {
            panic!("the code exchange")
        };
        dump += &format!("{request:?}");
        let response = h.provider.handle(request);
        dump += &format!("{response:?}");
        op.handle_response(response, now).unwrap();
        dump += &format!("{op:?}");
    }
    dump += &format!(
        "{:?}",
        IdTokenCheck {
            issuer: ISSUER,
            client_id: APP_ID,
            now: h.now(),
            clock_tolerance: 60,
            nonce: NonceCheck::Required("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"),
            subject: None,
            auth_time: None,
        }
    );
    dump += &format!("{:?}", NonceCheck::IfPresent(Some("nonce-secret-value")));

    // Sign-out: the end-session URL carries the ID token as id_token_hint.
    let result = {
        let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).sign_out(None);
        dump += &format!("{op:?}");
        Harness::drive(&mut h.provider, &mut op).unwrap()
    };
    assert!(result.end_session_url.contains("id_token_hint="));
    dump += &format!("{result:?}");
    dump += &format!("{:?}", adapter::session_write(None, &pending));

    // Errors that compared a secret.
    for err in [
        Error::IdToken(IdTokenError::NonceMismatch),
        Error::Callback(CallbackError::StateMismatch),
    ] {
        dump += &format!("{err} {err:?}");
    }
    // A token response whose fields have the wrong types: serde's message would quote them.
    let bad = format!(r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":"{rt}"}}"#);
    let err = TokenResponse::parse(bad.as_bytes()).unwrap_err();
    dump += &format!("{err} {err:?}");
    let err = Snapshot::from_json(&format!(r#"{{"v":1,"at":"{at}"}}"#)).unwrap_err();
    dump += &format!("{err} {err:?}");

    for secret in [
        rt.as_str(),
        id.as_str(),
        at.as_str(),
        code.as_str(),
        APP_SECRET,
        // state, verifier and nonce of the fixed entropy
        "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
        "YXBwLWlkOmFwcCtzZWNyZXQlMjYlM0Q=",
        "alice-hint",
        "ott-secret-value",
        "nonce-secret-value",
    ] {
        assert!(!dump.contains(secret), "{secret} leaked in {dump}");
    }
}

/// OIDC Core 12.2 fails closed: a refresh whose session ID token cannot be decoded is
/// refused (typed), and the rotated refresh token is kept all the same.
#[test]
fn a_refresh_without_a_readable_session_id_token_is_refused() {
    let mut h = Harness::signed_in("ES384");
    let json = h.snapshot.to_json();
    let id = h.snapshot.id_token().unwrap().expose().to_owned();
    h.snapshot = Snapshot::from_json(&json.replace(&id, "not-a-jwt")).unwrap();
    let err = h
        .access_token(TokenTarget::resource(API), true)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::IdToken(IdTokenError::SessionTokenUnreadable { .. })
        ),
        "{err:?}"
    );
    let kept = h.snapshot.refresh_token().unwrap().expose().to_owned();
    assert!(
        h.provider.is_live_refresh_token(&kept),
        "the rotated token is kept"
    );
    assert!(h
        .snapshot
        .fresh_access_token(&TokenTarget::resource(API), h.now(), 60)
        .is_none());
}

#[test]
fn narrowed_scopes_are_sent_and_cached_apart() {
    let mut h = Harness::signed_in("ES384");
    let narrow = TokenTarget::resource(API).with_scopes(["read:data"]);
    h.access_token(narrow.clone(), false).unwrap();
    let sent = form(h.provider.requests.last().unwrap());
    assert!(sent.contains(&("scope".into(), "read:data".into())));
    // The wide token is another cache entry: it needs its own refresh.
    h.access_token(TokenTarget::resource(API), false).unwrap();
    assert!(!form(h.provider.requests.last().unwrap())
        .iter()
        .any(|(k, _)| k == "scope"));
    assert_eq!(refreshes(&h), 2);
    let n = h.provider.requests.len();
    h.access_token(narrow, false).unwrap();
    assert_eq!(h.provider.requests.len(), n, "cached");
}

/// A process that has not fetched the metadata yet (an empty provider cache) and a session
/// with a fresh cached token (read from a store): userinfo fetches the metadata first.
#[test]
fn userinfo_with_a_cached_token_and_no_metadata_discovers_first() {
    let mut h = Harness::signed_in("ES384");
    h.cache = ProviderCache::new();
    let sent = h.provider.requests.len();
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).fetch_user_info();
    let info = Harness::drive(&mut h.provider, &mut op).unwrap();
    assert_eq!(info.sub, USER);
    let paths: Vec<&str> = h.provider.requests[sent..]
        .iter()
        .map(|r| r.url.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["openid-configuration", "me"],
        "no refresh, one discovery"
    );
}
