//! Protecting an API: bearer access tokens (RFC 9068) verified against the provider's keys,
//! each rejection with its RFC 6750 answer, and machine-to-machine tokens (client
//! credentials).

mod support;

use logto_proto::{adapter::*, errors::*, resource::*};
use logto_proto::{AccessToken, Config, Error, TokenTarget, UnixTime};
use serde_json::{json, Value};
use support::*;

fn machine_token(h: &mut Harness, target: TokenTarget) -> Result<AccessToken, Error> {
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).fetch_machine_token(target);
    Harness::drive(&mut h.provider, &mut op)
}

fn verify(h: &mut Harness, authorization: Option<&str>) -> Result<VerifiedAccessToken, Error> {
    let mut op =
        Context::new(&h.config, &mut h.cache, &mut h.snapshot).verify_access_token(authorization);
    Harness::drive(&mut h.provider, &mut op)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn refused(h: &mut Harness, token: &str) -> AccessTokenError {
    match verify(h, Some(&bearer(token))) {
        Err(Error::AccessToken(e)) => e,
        other => panic!("accepted or another error: {other:?}"),
    }
}

fn api_claims(now: u64) -> Value {
    json!({
        "iss": ISSUER, "sub": USER, "client_id": APP_ID, "aud": API, "scope": "read write",
        "exp": now + 3600, "iat": now, "jti": "j1",
    })
}

#[test]
fn a_machine_token_comes_from_the_client_credentials_grant() {
    let mut h = Harness::new("ES384");
    let target = TokenTarget::resource(API).with_scopes(["read", "write"]);
    let token = machine_token(&mut h, target.clone()).unwrap();
    assert_eq!(token.target, target);
    assert_eq!(token.expires_at, UnixTime::from_secs(T0 + 3600));
    assert_eq!(token.scope.as_deref(), Some("read write"));
    let request = h.provider.requests.last().unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())));
    assert!(form.contains(&("resource".into(), API.into())));
    assert!(form.contains(&("scope".into(), "read write".into())));
    assert!(request
        .header("authorization")
        .unwrap()
        .starts_with("Basic "));

    // The API verifies it: a machine, with its scopes.
    let verified = verify(&mut h, Some(&bearer(token.token.expose()))).unwrap();
    assert!(verified.is_machine());
    assert_eq!(verified.scopes, ["read", "write"]);
    let now = UnixTime::from_secs(T0);
    let route = Requirement::resource(API).scopes(["read"]);
    assert_eq!(verified.authorize(&route, now, 60), Ok(()));

    // An organization token, and one for an organization the app is not in.
    let org = machine_token(&mut h, TokenTarget::organization("org1")).unwrap();
    let verified = verify(&mut h, Some(&bearer(org.token.expose()))).unwrap();
    assert_eq!(verified.organization_id(), Some("org1"));
    assert!(verified
        .authorize(&Requirement::organization("org1"), now, 60)
        .is_ok());
    match machine_token(&mut h, TokenTarget::organization("org3")) {
        Err(Error::Provider(p)) => {
            assert_eq!((p.status, p.error.as_deref()), (403, Some("access_denied")))
        }
        other => panic!("{other:?}"),
    }
    // Without a secret there is no machine.
    let public = Config::builder(ENDPOINT, APP_ID).build().unwrap();
    let mut op = Context::new(&public, &mut h.cache, &mut h.snapshot)
        .fetch_machine_token(TokenTarget::resource(API));
    assert_eq!(
        Harness::drive(&mut h.provider, &mut op).unwrap_err(),
        Error::Config(ConfigError::MissingAppSecret)
    );
}

#[test]
fn a_user_token_is_verified_and_authorized_per_route() {
    let mut h = Harness::signed_in("ES384");
    let token = h.access_token(TokenTarget::resource(API), false).unwrap();
    let verified = verify(&mut h, Some(&bearer(token.token.expose()))).unwrap();
    assert!(!verified.is_machine());
    assert_eq!(verified.claims.sub.as_deref(), Some(USER));
    let now = UnixTime::from_secs(T0);
    assert!(verified
        .authorize(&Requirement::resource(API).scopes(["read:data"]), now, 60)
        .is_ok());

    let e = verified
        .authorize(
            &Requirement::resource(API).scopes(["read:data", "write:data"]),
            now,
            60,
        )
        .unwrap_err();
    assert_eq!(
        e,
        AccessTokenError::InsufficientScope {
            required: vec!["read:data".into(), "write:data".into()],
            missing: vec!["write:data".into()]
        }
    );
    assert_eq!(e.http_status(), 403);
    assert_eq!(
        e.www_authenticate(),
        r#"Bearer error="insufficient_scope", scope="read:data write:data""#
    );

    let e = verified
        .authorize(&Requirement::resource("https://other.example"), now, 60)
        .unwrap_err();
    assert!(matches!(e, AccessTokenError::Audience { .. }));
    assert_eq!(
        (e.http_status(), e.error_code()),
        (401, Some("invalid_token"))
    );
    // A token for no organization is no token for an organization's route.
    let e = verified
        .authorize(&Requirement::resource_in_organization(API, "org1"), now, 60)
        .unwrap_err();
    assert_eq!(
        e,
        AccessTokenError::OrganizationMismatch {
            expected: Some("org1".into()),
            found: None
        }
    );
    assert_eq!(e.http_status(), 403);
    // A verification held past the token's expiry does not authorize.
    let later = UnixTime::from_secs(T0 + 3600 + 61);
    assert!(matches!(
        verified.authorize(&Requirement::resource(API), later, 60),
        Err(AccessTokenError::Expired { .. })
    ));
}

#[test]
fn an_organization_scoped_api_token_must_name_the_routes_organization() {
    let mut h = Harness::signed_in("ES384");
    let target = TokenTarget::resource_in_organization(API, "org1");
    let token = h.access_token(target, false).unwrap();
    let verified = verify(&mut h, Some(&bearer(token.token.expose()))).unwrap();
    let now = UnixTime::from_secs(T0);
    assert!(verified
        .authorize(&Requirement::resource_in_organization(API, "org1"), now, 60)
        .is_ok());
    let other = verified.authorize(&Requirement::resource_in_organization(API, "org2"), now, 60);
    assert_eq!(
        other,
        Err(AccessTokenError::OrganizationMismatch {
            expected: Some("org2".into()),
            found: Some("org1".into())
        })
    );
    // Nor is it a token for the API's global routes.
    assert!(verified
        .authorize(&Requirement::resource(API), now, 60)
        .is_err());
}

#[test]
fn every_malformed_or_forged_token_is_a_401_invalid_token() {
    let mut h = Harness::new("ES384");
    let key = &h.provider.keys[0];
    let kid = key.public_jwk()["kid"].clone();
    let claims = api_claims(T0);
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    // Without `exp` (a `null` one is refused as a bad token by the rustcrypto backend's
    // parser before the claims are read).
    let mut without_exp = claims.clone();
    without_exp.as_object_mut().unwrap().remove("exp");
    let cases: Vec<(String, &str)> = vec![
        ("not-a-jwt".into(), "Malformed"),
        (
            raw_jwt(&json!({"alg": "none"}), &claims, b""),
            "UnsupportedAlgorithm",
        ),
        (
            raw_jwt(&json!({"alg": "HS256", "kid": kid}), &claims, b"mac"),
            "UnsupportedAlgorithm",
        ),
        (
            SigningKey::generate("ES384", kid.as_str().unwrap()).sign_typed(&claims, "at+jwt"),
            "BadSignature",
        ),
        (
            key.sign_typed(&with("exp", json!(T0 - 61)), "at+jwt"),
            "Expired",
        ),
        (
            key.sign_typed(&with("nbf", json!(T0 + 61)), "at+jwt"),
            "NotYetValid",
        ),
        (
            key.sign_typed(&with("iat", json!(T0 + 61)), "at+jwt"),
            "IssuedInFuture",
        ),
        (
            key.sign_typed(&with("iss", json!("https://evil.example/oidc")), "at+jwt"),
            "Issuer",
        ),
        (key.sign_typed(&without_exp, "at+jwt"), "MissingExpiry"),
        (key.sign_typed(&claims, "JWT"), "Type"),
        (key.sign_typed(&claims, "logout+jwt"), "Type"),
        (key.sign(&claims), "Type"), // jwt-simple's default `typ: JWT`
    ];
    let valid = key.sign_typed(&claims, "at+jwt");
    // Algorithm confusion: HS256 keyed with the provider's public key, which anyone has.
    let public = key.public_jwk().to_string();
    let confused = {
        use jwt_simple::prelude::*;
        let hmac = HS256Key::from_bytes(public.as_bytes()).with_key_id(kid.as_str().unwrap());
        let custom: serde_json::Map<String, Value> = claims.as_object().unwrap().clone();
        let mut c = Claims::with_custom_claims(custom, Duration::from_secs(0));
        c.issued_at = None;
        c.expires_at = None;
        c.invalid_before = None;
        hmac.authenticate(c).unwrap()
    };
    for (token, kind) in cases {
        let e = refused(&mut h, &token);
        let shown = format!("{e:?}");
        assert!(
            shown.starts_with(kind) || shown.contains(&format!("({kind}")),
            "{kind}: {shown}"
        );
        assert_eq!(
            (e.http_status(), e.error_code()),
            (401, Some("invalid_token")),
            "{kind}"
        );
    }
    // The header itself.
    for (header, expected) in [
        (None, AccessTokenError::Missing),
        (Some("Basic YTpi"), AccessTokenError::NotBearer),
        (Some("Bearer "), AccessTokenError::NotBearer),
        (Some("Bearer a b"), AccessTokenError::NotBearer),
    ] {
        assert_eq!(verify(&mut h, header), Err(Error::AccessToken(expected)));
    }
    assert_eq!(AccessTokenError::Missing.www_authenticate(), "Bearer");
    let e = refused(&mut h, &confused);
    assert!(
        matches!(e, AccessTokenError::Jws(IdTokenError::UnsupportedAlgorithm { ref alg }) if alg == "HS256"),
        "{e:?}"
    );
    // A valid one, to be sure the cases above failed for their reason.
    assert!(verify(&mut h, Some(&bearer(&valid))).is_ok());
}

#[test]
fn a_new_key_is_accepted_at_once_and_made_up_kids_cost_one_fetch_per_cooldown() {
    let mut h = Harness::new("ES384");
    let first = h.provider.keys[0].sign_typed(&api_claims(T0), "at+jwt");
    verify(&mut h, Some(&bearer(&first))).unwrap();
    let jwks = h.provider.jwks_requests();

    // A rotation a second after the first-use fetch: the first token of the new key is
    // accepted with one JWKS request (the cooldown counts from unknown-kid refetches only).
    h.provider.now += 1;
    h.provider.rotate_key("ES384");
    let rotated = h.provider.sign_typed_current(&api_claims(h.provider.now));
    verify(&mut h, Some(&bearer(&rotated))).unwrap();
    assert_eq!(h.provider.jwks_requests(), jwks + 1);

    // A thousand made-up kids over ten seconds: at most one request per cooldown.
    let mut shared = h.cache.clone();
    let before = h.provider.jwks_requests();
    for i in 0..1000u64 {
        if i % 100 == 0 {
            h.provider.now += 1;
        }
        let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": format!("made-up-{i}") });
        let token = raw_jwt(&header, &api_claims(h.provider.now), &[0; 96]);
        let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot)
            .verify_access_token(Some(&bearer(&token)));
        assert!(Harness::drive_shared(&mut h.provider, &mut shared, &mut op).is_err());
        h.cache = shared.clone();
    }
    let allowed = 10 / h.config.jwks_refetch_cooldown() as usize + 1;
    let fetched = h.provider.jwks_requests() - before;
    assert!(fetched <= allowed, "{fetched} JWKS requests in 10 s");
}

#[test]
fn a_token_without_typ_is_refused_unless_the_config_allows_it() {
    let mut h = Harness::new("ES384");
    let key = &h.provider.keys[0];
    let kid = key.public_jwk()["kid"].clone();
    let untyped = key.sign_with_header(&json!({"alg": "ES384", "kid": kid}), &api_claims(T0));
    let typed = key.sign_with_header(
        &json!({"alg": "ES384", "kid": kid, "typ": "at+jwt"}),
        &api_claims(T0),
    );
    assert!(verify(&mut h, Some(&bearer(&typed))).is_ok());
    let e = refused(&mut h, &untyped);
    assert_eq!(e, AccessTokenError::MissingType);
    assert_eq!(
        (e.http_status(), e.error_code()),
        (401, Some("invalid_token"))
    );

    // An explicit opt-out, for an issuer whose access tokens carry no `typ`.
    h.config = Config::builder(ENDPOINT, APP_ID)
        .app_secret(APP_SECRET)
        .require_access_token_type(false)
        .build()
        .unwrap();
    assert!(verify(&mut h, Some(&bearer(&untyped))).is_ok());
    // A `typ` of another kind is refused either way.
    let logout = h.provider.keys[0].sign_typed(&api_claims(T0), "logout+jwt");
    assert!(matches!(
        refused(&mut h, &logout),
        AccessTokenError::Type { .. }
    ));
}

#[test]
fn header_values_in_errors_are_escaped_and_short() {
    let mut h = Harness::new("ES384");
    let forged_line = "ES384\n2026-01-01 INFO admin signed in";
    let huge = "k".repeat(64 * 1024);
    for header in [
        json!({"alg": format!("x\n{forged_line}"), "typ": "at+jwt"}),
        json!({"alg": huge.clone(), "typ": "at+jwt"}),
        json!({"alg": "ES384", "typ": "at+jwt", "kid": format!("made-up\r\n{forged_line}")}),
        json!({"alg": "ES384", "typ": "at+jwt", "kid": huge.clone()}),
    ] {
        let token = raw_jwt(&header, &api_claims(T0), &[0; 96]);
        let e = refused(&mut h, &token);
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains(['\n', '\r']), "{shown}");
            assert!(shown.len() < 300, "{} bytes", shown.len());
        }
    }
}
