//! Back-channel logout: the logout token's checks (Back-Channel Logout 1.0, 2.6), one
//! rejection each, the sessions it targets, and the keys it may make the core fetch.

mod support;

use logto_proto::{adapter::*, errors::*, resource::*};
use logto_proto::{Error, UnixTime};
use serde_json::{json, Value};
use support::*;

fn logout_claims(now: u64) -> Value {
    json!({
        "iss": ISSUER, "aud": APP_ID, "iat": now, "exp": now + 120, "jti": "jti-1",
        "sub": USER, "sid": "sid-1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    })
}

fn form(token: &str) -> Vec<u8> {
    format!("logout_token={token}").into_bytes()
}

/// Drives a back-channel logout through the simulated provider with `cache`.
fn handle(h: &mut Harness, body: &[u8]) -> Result<BackchannelLogout, Error> {
    let mut op =
        Context::new(&h.config, &mut h.cache, &mut h.snapshot).handle_backchannel_logout(body);
    Harness::drive(&mut h.provider, &mut op)
}

fn refused(h: &mut Harness, claims: &Value) -> LogoutTokenError {
    let token = h.provider.sign(claims);
    match handle(h, &form(&token)) {
        Err(Error::LogoutToken(e)) => e,
        other => panic!("accepted or other error: {other:?}"),
    }
}

#[test]
fn a_logout_token_with_a_sid_ends_that_provider_session() {
    let mut h = Harness::new("ES384");
    let token = h.provider.keys[0].sign_typed(&logout_claims(T0), LOGOUT_TOKEN_TYPE);
    let logout = handle(&mut h, &form(&token)).unwrap();
    // With its user: the user's sessions stored without a sid end too.
    assert_eq!(
        logout.target,
        LogoutTarget::SessionOfUser {
            sid: "sid-1".into(),
            sub: USER.into(),
        }
    );
    assert_eq!(logout.claims.sub.as_deref(), Some(USER));
    assert_eq!(logout.replay_key(), format!("logout-jti:{ISSUER} jti-1"));
    // Remembered until exp plus the clock tolerance.
    let ttl = logout.replay_ttl(UnixTime::from_secs(T0));
    assert_eq!(ttl.as_secs(), 120 + 60);
    assert!(h.snapshot == Snapshot::new(), "the session is not touched");

    // An `exp` at the end of time: remembered for the longest a store keeps a record.
    let mut claims = logout_claims(T0);
    claims["exp"] = json!(u64::MAX - 1);
    claims["jti"] = json!("jti-far");
    let token = h.provider.keys[0].sign_typed(&claims, LOGOUT_TOKEN_TYPE);
    let far = handle(&mut h, &form(&token)).unwrap();
    let ttl = far.replay_ttl(UnixTime::from_secs(T0));
    assert_eq!(ttl.as_secs(), REPLAY_RECORD_MAX_TTL);
    // Discovery and the JWKS, once.
    assert_eq!(h.provider.requests.len(), 2);
}

#[test]
fn a_logout_token_with_a_sid_and_no_sub_ends_that_provider_session_only() {
    let mut h = Harness::new("ES384");
    let mut claims = logout_claims(T0);
    claims.as_object_mut().unwrap().remove("sub");
    let body = form(&h.provider.sign(&claims));
    let logout = handle(&mut h, &body).unwrap();
    let target = LogoutTarget::Session {
        sid: "sid-1".into(),
    };
    assert_eq!(logout.target, target);
    assert_eq!(target.index_keys(), ["sid:sid-1"]);
}

#[test]
fn a_logout_token_without_sid_ends_every_session_of_the_user() {
    let mut h = Harness::new("ES384");
    let mut claims = logout_claims(T0);
    claims.as_object_mut().unwrap().remove("sid");
    claims.as_object_mut().unwrap().remove("exp");
    let body = form(&h.provider.sign(&claims));
    let logout = handle(&mut h, &body).unwrap();
    assert_eq!(logout.target, LogoutTarget::User { sub: USER.into() });
    // Without exp: iat plus two minutes, plus the tolerance.
    assert_eq!(logout.valid_until, UnixTime::from_secs(T0 + 120 + 60));
}

#[test]
fn each_check_of_section_2_6_refuses_with_its_own_error() {
    let mut h = Harness::new("ES384");
    let base = logout_claims(T0);
    let with = |key: &str, value: Value| {
        let mut c = base.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };

    let e = refused(&mut h, &with("iss", json!("https://evil.example/oidc")));
    assert_eq!(
        e,
        LogoutTokenError::Issuer {
            expected: ISSUER.into(),
            found: "https://evil.example/oidc".into()
        }
    );
    let e = refused(&mut h, &with("aud", json!(["other-app"])));
    assert!(matches!(e, LogoutTokenError::Audience { ref found, .. } if found == &["other-app"]));
    let e = refused(&mut h, &with("iat", json!(T0 + 61)));
    assert_eq!(
        e,
        LogoutTokenError::IssuedInFuture {
            now: UnixTime::from_secs(T0),
            iat: UnixTime::from_secs(T0 + 61)
        }
    );
    let e = refused(&mut h, &with("exp", json!(T0 - 60)));
    assert!(
        matches!(e, LogoutTokenError::Expired { valid_until, .. } if valid_until == UnixTime::from_secs(T0 - 60))
    );
    let mut old = without("exp");
    old["iat"] = json!(T0 - 181);
    assert!(matches!(
        refused(&mut h, &old),
        LogoutTokenError::Expired { .. }
    ));
    assert_eq!(
        refused(&mut h, &without("events")),
        LogoutTokenError::MissingEvent
    );
    let other_event = with(
        "events",
        json!({ "http://schemas.openid.net/event/other": {} }),
    );
    assert_eq!(
        refused(&mut h, &other_event),
        LogoutTokenError::MissingEvent
    );
    let not_an_object = with("events", json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" }));
    assert_eq!(
        refused(&mut h, &not_an_object),
        LogoutTokenError::MissingEvent
    );
    assert_eq!(
        refused(&mut h, &with("nonce", json!("n"))),
        LogoutTokenError::NonceForbidden
    );
    assert_eq!(
        refused(&mut h, &with("nonce", Value::Null)),
        LogoutTokenError::NonceForbidden
    );
    let mut anonymous = without("sid");
    anonymous.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        refused(&mut h, &anonymous),
        LogoutTokenError::MissingSubjectAndSession
    );
    assert_eq!(
        refused(&mut h, &without("jti")),
        LogoutTokenError::MissingJti
    );
    let e = refused(&mut h, &with("iat", json!("yesterday")));
    assert!(
        matches!(e, LogoutTokenError::Jws(IdTokenError::InvalidClaims { .. })),
        "{e:?}"
    );

    // An ID token or an access token signed with the same keys is not a logout token.
    let typed = h.provider.keys[0].sign_typed(&base, "at+jwt");
    match handle(&mut h, &form(&typed)) {
        Err(Error::LogoutToken(LogoutTokenError::Type { found })) => assert_eq!(found, "at+jwt"),
        other => panic!("{other:?}"),
    }
    // The body must carry exactly one token.
    for body in [
        &b""[..],
        b"token=x",
        b"logout_token=",
        b"logout_token=a&logout_token=b",
    ] {
        assert!(matches!(
            handle(&mut h, body),
            Err(Error::LogoutToken(LogoutTokenError::Missing))
        ));
    }
}

#[test]
fn forged_logout_tokens_fail_the_jws_checks() {
    let mut h = Harness::new("ES384");
    let claims = logout_claims(T0);
    let kid = h.provider.keys[0].public_jwk()["kid"].clone();
    let cases = [
        // Another key under the provider's kid.
        SigningKey::generate("ES384", kid.as_str().unwrap()).sign(&claims),
        raw_jwt(&json!({"alg": "none"}), &claims, b""),
        raw_jwt(&json!({"alg": "HS256", "kid": kid}), &claims, b"mac"),
        "a.b".to_owned(),
    ];
    let expected = [
        "BadSignature",
        "UnsupportedAlgorithm",
        "UnsupportedAlgorithm",
        "Malformed",
    ];
    for (token, kind) in cases.iter().zip(expected) {
        match handle(&mut h, &form(token)) {
            Err(Error::LogoutToken(LogoutTokenError::Jws(e))) => {
                assert!(format!("{e:?}").starts_with(kind), "{kind}: {e:?}")
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[test]
fn a_rotated_key_is_fetched_once_and_made_up_kids_only_once_per_cooldown() {
    let mut h = Harness::new("ES384");
    let body = form(&h.provider.sign(&logout_claims(T0)));
    let first = handle(&mut h, &body);
    assert!(first.is_ok());
    let jwks_before = h.provider.jwks_requests();

    // A rotation right after the first-use fetch: the cooldown counts only from refetches
    // for an unknown kid, so the new key's token is accepted with one JWKS request.
    h.provider.now += 1;
    h.provider.rotate_key("ES384");
    let token = h.provider.sign(&logout_claims(h.provider.now));
    assert!(handle(&mut h, &form(&token)).is_ok());
    assert_eq!(h.provider.jwks_requests(), jwks_before + 1);

    // A second rotation within the cooldown of that refetch: refused, nothing fetched.
    h.provider.now += 1;
    h.provider.rotate_key("ES384");
    let token = h.provider.sign(&logout_claims(h.provider.now));
    match handle(&mut h, &form(&token)) {
        Err(Error::LogoutToken(LogoutTokenError::Jws(IdTokenError::UnknownKey { .. }))) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(h.provider.jwks_requests(), jwks_before + 1);

    // After the cooldown: one fetch, and the new key's token is accepted.
    h.provider.now += h.config.jwks_refetch_cooldown();
    let token = h.provider.sign(&logout_claims(h.provider.now));
    assert!(handle(&mut h, &form(&token)).is_ok());
    assert_eq!(h.provider.jwks_requests(), jwks_before + 2);

    // A thousand made-up kids, shared cache: at most one JWKS request per cooldown.
    let mut shared = h.cache.clone();
    let before = h.provider.jwks_requests();
    for i in 0..1000u64 {
        if i % 100 == 0 {
            h.provider.now += 1;
        }
        let header = json!({ "alg": "ES384", "kid": format!("made-up-{i}") });
        let token = raw_jwt(&header, &logout_claims(h.provider.now), &[0; 96]);
        let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
            .handle_backchannel_logout(&form(&token));
        assert!(Harness::drive_shared(&mut h.provider, &mut shared, &mut op).is_err());
        h.cache = shared.clone();
    }
    let seconds = 10; // the clock moved ten seconds over the thousand tokens
    let allowed = seconds / h.config.jwks_refetch_cooldown() as usize + 1;
    let fetched = h.provider.jwks_requests() - before;
    assert!(
        fetched <= allowed,
        "{fetched} JWKS requests for {seconds} s"
    );
}
