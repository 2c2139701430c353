//! Flows 2 and 5: JWKS and ID-token verification (OIDC Core 3.1.3.7), for every algorithm,
//! with every rejection, and key rotation with an algorithm change.

mod support;

use logto_proto::internals::*;
use logto_proto::{adapter::*, errors::*, resource::*};
use logto_proto::{decode_claims, Error, IdTokenClaims, SignInOptions, TokenTarget, UnixTime};
use serde_json::{json, Value};
use support::*;

const NONCE: &str = "n-0S6_WzA2Mj";

fn jwks_of(keys: &[&SigningKey]) -> Jwks {
    let doc = json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() });
    Jwks::parse(doc.to_string().as_bytes(), UnixTime::from_secs(T0)).unwrap()
}

fn check(now: u64) -> IdTokenCheck<'static> {
    IdTokenCheck {
        issuer: ISSUER,
        client_id: APP_ID,
        now: UnixTime::from_secs(now),
        clock_tolerance: 60,
        nonce: NonceCheck::Required(NONCE),
        subject: None,
        auth_time: None,
    }
}

fn verify_with(key: &SigningKey, claims: &Value, now: u64) -> Result<IdTokenClaims, IdTokenError> {
    verify_id_token(&key.sign(claims), &jwks_of(&[key]), &check(now))
}

#[test]
fn every_algorithm_verifies() {
    for alg in ["ES384", "RS256", "PS256", "ES256"] {
        let key = SigningKey::generate(alg, "k1");
        let claims = verify_with(&key, &id_claims(T0, Some(NONCE)), T0)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.sub, USER, "{alg}");
        assert_eq!(claims.roles.as_deref(), Some(&["admin".to_string()][..]));
        assert_eq!(
            claims.extra.get("at_hash"),
            None,
            "modelled claims are not duplicated in extra"
        );
    }
}

#[test]
fn unknown_claims_are_kept() {
    let key = SigningKey::generate("ES384", "k1");
    let mut c = id_claims(T0, Some(NONCE));
    c["tenant_tier"] = json!("gold");
    let claims = verify_with(&key, &c, T0).unwrap();
    assert_eq!(claims.extra.get("tenant_tier"), Some(&json!("gold")));
}

#[test]
fn bad_signature_is_rejected_for_every_algorithm() {
    for alg in ["ES384", "RS256", "PS256", "ES256"] {
        let key = SigningKey::generate(alg, "k1");
        let token = key.sign(&id_claims(T0, Some(NONCE)));
        // Change the payload, keep the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut forged = id_claims(T0, Some(NONCE));
        forged["sub"] = json!("admin");
        let payload = b64(forged.to_string().as_bytes());
        parts[1] = &payload;
        let err = verify_id_token(&parts.join("."), &jwks_of(&[&key]), &check(T0)).unwrap_err();
        assert_eq!(err, IdTokenError::BadSignature, "{alg}");
        // Signed by another key with the same kid.
        let other = SigningKey::generate(alg, "k1");
        let err = verify_id_token(
            &other.sign(&id_claims(T0, Some(NONCE))),
            &jwks_of(&[&key]),
            &check(T0),
        )
        .unwrap_err();
        assert_eq!(err, IdTokenError::BadSignature, "{alg}");
    }
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let key = SigningKey::generate("ES384", "k1");
    let jwks = jwks_of(&[&key]);
    for alg in ["none", "HS256", "HS384", "RS512", "foo"] {
        let token = raw_jwt(
            &json!({"alg": alg, "kid": "k1"}),
            &id_claims(T0, Some(NONCE)),
            b"",
        );
        let err = verify_id_token(&token, &jwks, &check(T0)).unwrap_err();
        assert_eq!(err, IdTokenError::UnsupportedAlgorithm { alg: alg.into() });
    }
}

#[test]
fn a_key_cannot_verify_another_algorithm() {
    let ec = SigningKey::generate("ES384", "k1");
    // An RS256 header naming the EC key.
    let token = raw_jwt(
        &json!({"alg": "RS256", "kid": "k1"}),
        &id_claims(T0, Some(NONCE)),
        &[1; 256],
    );
    let err = verify_id_token(&token, &jwks_of(&[&ec]), &check(T0)).unwrap_err();
    assert_eq!(
        err,
        IdTokenError::KeyMismatch {
            alg: "RS256".into(),
            kid: Some("k1".into())
        }
    );
}

#[test]
fn claim_checks_carry_the_values_compared() {
    let key = SigningKey::generate("ES384", "k1");
    let mut c = id_claims(T0, Some(NONCE));
    c["iss"] = json!("https://evil.example/oidc");
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::Issuer {
            expected: ISSUER.into(),
            found: "https://evil.example/oidc".into()
        }
    );

    let mut c = id_claims(T0, Some(NONCE));
    c["aud"] = json!(["other-app"]);
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::Audience {
            expected: APP_ID.into(),
            found: vec!["other-app".into()]
        }
    );

    // Several audiences need azp = us.
    let mut c = id_claims(T0, Some(NONCE));
    c["aud"] = json!([APP_ID, "other-app"]);
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::AuthorizedParty {
            expected: APP_ID.into(),
            found: None
        }
    );
    c["azp"] = json!(APP_ID);
    assert!(verify_with(&key, &c, T0).is_ok());
    c["azp"] = json!("other-app");
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::AuthorizedParty {
            expected: APP_ID.into(),
            found: Some("other-app".into())
        }
    );

    let mut c = id_claims(T0, Some(NONCE));
    c["nonce"] = json!("other");
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::NonceMismatch
    );
    let c = id_claims(T0, None);
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::NonceMissing
    );

    // OIDC Core 12.2 on refresh: the same auth_time when both tokens carry one.
    let refresh_check = |auth_time: u64| IdTokenCheck {
        nonce: NonceCheck::IfPresent(None),
        subject: Some(USER),
        auth_time: Some(UnixTime::from_secs(auth_time)),
        ..check(T0)
    };
    let mut c = id_claims(T0, None);
    c["auth_time"] = json!(T0 - 100);
    let token = key.sign(&c);
    assert!(verify_id_token(&token, &jwks_of(&[&key]), &refresh_check(T0 - 100)).is_ok());
    assert_eq!(
        verify_id_token(&token, &jwks_of(&[&key]), &refresh_check(T0 - 50)).unwrap_err(),
        IdTokenError::AuthTimeChanged {
            expected: UnixTime::from_secs(T0 - 50),
            found: UnixTime::from_secs(T0 - 100),
        }
    );
    // A token without auth_time has nothing to compare.
    let token = key.sign(&id_claims(T0, None));
    assert!(verify_id_token(&token, &jwks_of(&[&key]), &refresh_check(T0 - 50)).is_ok());

    let mut c = id_claims(T0, Some(NONCE));
    c.as_object_mut().unwrap().remove("sub");
    assert!(matches!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::InvalidClaims { .. }
    ));
    let mut c = id_claims(T0, Some(NONCE));
    c["exp"] = json!("tomorrow");
    assert!(matches!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::InvalidClaims { .. }
    ));
}

#[test]
fn a_payload_that_is_not_utf8_is_a_claims_error() {
    let key = SigningKey::generate("ES384", "k1");
    let jwks = jwks_of(&[&key]);
    let header = b64(json!({"alg": "ES384", "kid": "k1"}).to_string().as_bytes());
    // Valid JSON structure, but a string holding a lone 0xff byte.
    let payload = b64(b"{\"iss\":\"\xff\"}");
    let token = format!("{header}.{payload}.{}", b64(b"sig"));
    let err = verify_id_token(&token, &jwks, &check(T0)).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::InvalidClaims { reason } if reason.contains("UTF-8")),
        "{err:?}"
    );
    assert!(matches!(
        decode_claims::<IdTokenClaims>(&token),
        Err(ClaimsError::Invalid { reason }) if reason.contains("UTF-8")
    ));
}

#[test]
fn expiry_and_issue_time_at_the_tolerance_boundary() {
    let key = SigningKey::generate("ES384", "k1");
    let exp = T0 + 3600;
    let c = id_claims(T0, Some(NONCE));
    // Valid until exp + tolerance (exclusive).
    assert!(verify_with(&key, &c, exp + 59).is_ok());
    assert_eq!(
        verify_with(&key, &c, exp + 60).unwrap_err(),
        IdTokenError::Expired {
            now: UnixTime::from_secs(exp + 60),
            exp: UnixTime::from_secs(exp)
        }
    );
    // iat up to tolerance in the future is accepted, beyond it is not.
    assert!(verify_with(&key, &c, T0 - 60).is_ok());
    assert_eq!(
        verify_with(&key, &c, T0 - 61).unwrap_err(),
        IdTokenError::IssuedInFuture {
            now: UnixTime::from_secs(T0 - 61),
            iat: UnixTime::from_secs(T0)
        }
    );
    let mut c = id_claims(T0, Some(NONCE));
    c["nbf"] = json!(T0 + 100);
    assert_eq!(
        verify_with(&key, &c, T0).unwrap_err(),
        IdTokenError::NotYetValid {
            now: UnixTime::from_secs(T0),
            nbf: UnixTime::from_secs(T0 + 100)
        }
    );
}

#[test]
fn malformed_tokens_are_typed_errors() {
    let key = SigningKey::generate("ES384", "k1");
    let jwks = jwks_of(&[&key]);
    for token in [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "!!.!!.!!",
        "e30.e30.",
        "eyJhbGciOiJFUzM4NCJ9..sig",
    ] {
        let err = verify_id_token(token, &jwks, &check(T0)).unwrap_err();
        assert!(
            matches!(
                err,
                IdTokenError::Malformed { .. } | IdTokenError::UnknownKey { .. }
            ),
            "{token:?}: {err:?}"
        );
    }
    let token = raw_jwt(
        &json!({"alg": "ES384", "kid": "k1", "crit": ["exp"]}),
        &id_claims(T0, Some(NONCE)),
        b"x",
    );
    assert!(matches!(
        verify_id_token(&token, &jwks, &check(T0)).unwrap_err(),
        IdTokenError::Malformed { .. }
    ));
}

#[test]
fn key_selection_by_kid() {
    let a = SigningKey::generate("ES384", "a");
    let b = SigningKey::generate("RS256", "b");
    let jwks = jwks_of(&[&a, &b]);
    assert!(verify_id_token(&b.sign(&id_claims(T0, Some(NONCE))), &jwks, &check(T0)).is_ok());
    let c = SigningKey::generate("ES384", "c");
    assert_eq!(
        verify_id_token(&c.sign(&id_claims(T0, Some(NONCE))), &jwks, &check(T0)).unwrap_err(),
        IdTokenError::UnknownKey {
            kid: Some("c".into())
        }
    );
}

#[test]
fn jwks_parsing_keeps_signing_keys_only() {
    let ec = SigningKey::generate("ES384", "ec");
    let mut enc = ec.public_jwk();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let doc = json!({"keys": [
        ec.public_jwk(), enc,
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "EC", "crv": "P-384", "x": "!!", "y": "AA", "kid": "broken"},
        {"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA"},
        {"kty": "RSA", "n": "", "e": "AQAB"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed"},
        "not an object",
    ]});
    let jwks = Jwks::parse(doc.to_string().as_bytes(), UnixTime::from_secs(T0)).unwrap();
    let kids: Vec<_> = jwks.keys().iter().map(|k| k.kid().unwrap_or("-")).collect();
    assert_eq!(kids, ["ec", "ed"]);
    for bad in [&b"{}"[..], b"{\"keys\": 1}", b"\xff", b"null"] {
        assert!(matches!(
            Jwks::parse(bad, UnixTime::from_secs(T0)),
            Err(JwksError::Malformed { .. })
        ));
    }
}

#[test]
fn rotation_with_an_algorithm_change_refetches_the_jwks_once() {
    let mut h = Harness::signed_in("ES384");
    let jwks_fetches = |h: &Harness| {
        h.provider
            .requests
            .iter()
            .filter(|r| r.url.ends_with("/jwks"))
            .count()
    };
    assert_eq!(jwks_fetches(&h), 1);
    // The provider rotates to an RSA key: the refreshed ID token has an unknown kid.
    h.provider.rotate_key("RS256");
    h.provider.now += 10;
    h.access_token(TokenTarget::resource(API), false).unwrap();
    assert_eq!(jwks_fetches(&h), 2, "one refetch for the unknown kid");
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            h.snapshot
                .id_token()
                .unwrap()
                .expose()
                .split('.')
                .next()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    // Further refreshes reuse the refetched JWKS.
    h.access_token(TokenTarget::resource(API), true).unwrap();
    assert_eq!(jwks_fetches(&h), 2);
}

#[test]
fn every_token_response_with_an_unknown_kid_gets_one_refetch() {
    let mut h = Harness::signed_in("ES384");
    assert_eq!(h.provider.jwks_requests(), 1);
    h.provider.sign_with_hidden_key("hidden");
    for attempt in 1..=2 {
        // Same second: no cooldown applies to ID tokens from the token endpoint.
        let err = h
            .access_token(TokenTarget::resource(API), true)
            .unwrap_err();
        assert_eq!(
            err,
            Error::IdToken(IdTokenError::UnknownKey {
                kid: Some("hidden".into())
            })
        );
        assert_eq!(h.provider.jwks_requests(), 1 + attempt, "one refetch each");
        // The refresh token rotated by that response was kept although the ID token failed.
        let kept = h.snapshot.refresh_token().unwrap().expose().to_owned();
        assert!(h.provider.is_live_refresh_token(&kept));
    }
}

/// Rotations within one second of a forced refetch (right after a token with an unknown kid
/// was refused): the refresh and a new sign-in succeed with exactly one more JWKS request.
#[test]
fn a_rotation_right_after_a_refetch_is_picked_up_at_once() {
    for (from, to) in [("ES384", "RS256"), ("RS256", "ES384"), ("ES384", "ES384")] {
        let mut h = Harness::signed_in(from);
        h.provider.sign_with_hidden_key("hidden");
        h.access_token(TokenTarget::resource(API), true)
            .unwrap_err();
        let after_refusal = h.provider.jwks_requests();

        h.provider.rotate_key(to);
        let token = h.access_token(TokenTarget::resource(API), true).unwrap();
        assert!(token.token.expose().starts_with("ey"), "{from} -> {to}");
        assert_eq!(
            h.provider.jwks_requests(),
            after_refusal + 1,
            "{from} -> {to}"
        );
        let header = id_token_header(&h);
        assert_eq!(header["alg"], to);

        // A new sign-in with the same cache needs no JWKS request at all.
        h.snapshot = Snapshot::new();
        let url = h.sign_in_url(SignInOptions::new(REDIRECT_URI));
        let callback = h.provider.authorize(&url);
        h.callback(&callback).unwrap();
        assert_eq!(
            h.provider.jwks_requests(),
            after_refusal + 1,
            "{from} -> {to}"
        );

        // And a second rotation in the same second is picked up just as well.
        h.provider.rotate_key(from);
        let url = h.sign_in_url(SignInOptions::new(REDIRECT_URI));
        let callback = h.provider.authorize(&url);
        h.callback(&callback).unwrap();
        assert_eq!(
            h.provider.jwks_requests(),
            after_refusal + 2,
            "{from} -> {to}"
        );
    }
}

fn id_token_header(h: &Harness) -> Value {
    let token = h.snapshot.id_token().unwrap().expose().to_owned();
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap()
}

/// 100 sessions mid-refresh when the key rotates, sharing one cache as the adapters share
/// theirs: the first to verify fetches the JWKS, every other one takes it from the shared
/// cache. One JWKS request per rotation.
#[test]
fn sessions_sharing_a_cache_fetch_the_rotated_keys_once() {
    let mut h = Harness::signed_in("ES384");
    let mut shared = h.cache.clone();
    let mut sessions: Vec<Snapshot> = (0..100)
        .map(|_| {
            let mut snapshot = Snapshot::new();
            let url = {
                let mut op = Context::new(&h.config, &mut h.cache, &mut snapshot).sign_in(
                    SignInOptions::new(REDIRECT_URI),
                    SignInEntropy::from_bytes([9; 96]),
                );
                Harness::drive(&mut h.provider, &mut op).unwrap()
            };
            let callback = h.provider.authorize(&url);
            let mut op = Context::new(&h.config, &mut h.cache, &mut snapshot)
                .handle_sign_in_callback(callback);
            Harness::drive(&mut h.provider, &mut op).unwrap();
            snapshot
        })
        .collect();
    h.provider.rotate_key("RS256");
    let before = h.provider.jwks_requests();
    let now = h.now();

    // Every session opened its operation with a copy of the cache from before the rotation,
    // and got its token response (signed with the new key) before any of them verified.
    let mut copies: Vec<ProviderCache> = sessions.iter().map(|_| shared.clone()).collect();
    let mut ops: Vec<_> = sessions
        .iter_mut()
        .zip(copies.iter_mut())
        .map(|(snapshot, cache)| {
            let mut op = Context::new(&h.config, cache, snapshot)
                .access_token(TokenTarget::resource(API), true);
            let Step::Send(request) = op.step(now).unwrap() else {
                panic!("a forced refresh sends a request");
            };
            op.handle_response(h.provider.handle(request), now).unwrap();
            op
        })
        .collect();
    for op in &mut ops {
        Harness::drive_shared(&mut h.provider, &mut shared, op).unwrap();
    }
    assert_eq!(h.provider.jwks_requests(), before + 1);
}

#[test]
fn refresh_id_token_must_keep_the_subject_and_nonce() {
    let mut h = Harness::signed_in("ES384");
    h.provider.set_sub_for_all_grants("someone-else");
    let err = h
        .access_token(TokenTarget::resource(API), true)
        .unwrap_err();
    assert_eq!(
        err,
        Error::IdToken(IdTokenError::SubjectChanged {
            expected: USER.into(),
            found: "someone-else".into()
        })
    );
    assert_eq!(
        h.snapshot.id_token_claims().unwrap().sub,
        USER,
        "the session's ID token is unchanged"
    );

    // A nonce on refresh must be the session's.
    let mut h = Harness::signed_in("ES384");
    h.provider.include_nonce_on_refresh = true;
    h.access_token(TokenTarget::resource(API), true).unwrap();
}
