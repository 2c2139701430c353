//! Protecting an API: verifying a Logto access token (ES384, Logto's default) the first
//! time it is presented and again, beside the raw-crypto floor and the `jsonwebtoken`
//! crate's validation of the same token, in the same run.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use jwt_simple::prelude::*;
use logto_driver::VerifiedTokenCache;
use logto_proto::resource::*;
use logto_proto::UnixTime;
use serde_json::{json, Value};
use std::hint::black_box;
use std::sync::Arc;

const ISSUER: &str = "https://tenant.logto.app/oidc";
const API: &str = "https://shopping.example/api";
const NOW: u64 = 1_767_225_600;

/// A Logto user access token for an API (`typ: at+jwt`, about 600 bytes).
fn token(key: &ES384KeyPair) -> String {
    let claims = json!({
        "jti": "k1YdD0a8QzFDlY6kbWmFAgk1YdD0a8QzFDl", "sub": "p3kz8h2xq0ab",
        "iat": NOW, "exp": NOW + 3600, "scope": "read write read:orders",
        "client_id": "m0tu6dk1h2ks8wq9ynx2a", "iss": ISSUER, "aud": API,
    });
    let mut c =
        Claims::with_custom_claims(claims.as_object().unwrap().clone(), Duration::from_secs(0));
    c.issued_at = None;
    c.expires_at = None;
    c.invalid_before = None;
    let options = HeaderOptions {
        signature_type: Some("at+jwt".into()),
        ..HeaderOptions::default()
    };
    key.sign_with_options(c, &options).unwrap()
}

fn benches(c: &mut Criterion) {
    let now = UnixTime::from_secs(NOW);
    let keys = [
        ES384KeyPair::generate().with_key_id("previous"),
        ES384KeyPair::generate().with_key_id("current"),
        ES384KeyPair::generate().with_key_id("next"),
    ];
    let jwk = |k: &ES384KeyPair| serde_json::from_str::<Value>(&k.public_key().to_jwk()).unwrap();
    let jwks_doc = json!({ "keys": keys.iter().map(jwk).collect::<Vec<_>>() }).to_string();
    let jwks = Jwks::parse(jwks_doc.as_bytes(), now).unwrap();
    let token = token(&keys[1]);
    let check = AccessTokenCheck::new(ISSUER, now, 60);
    let route = Requirement::resource(API).scopes(["read"]);

    // First seen: the whole verification, then the route's requirement.
    c.bench_function("access_token/first_seen/ES384", |b| {
        b.iter(|| {
            let verified = verify_access_token(black_box(&token), &jwks, &check).unwrap();
            verified.authorize(&route, now, 60).unwrap();
        })
    });

    // The floor: aws-lc-rs verifying the same signing input with a key parsed beforehand.
    let current = jwk(&keys[1]);
    let b64 = |k: &str| {
        URL_SAFE_NO_PAD
            .decode(current[k].as_str().unwrap())
            .unwrap()
    };
    let mut point = vec![4];
    point.extend(b64("x"));
    point.extend(b64("y"));
    let floor = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
        point,
    )
    .unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    c.bench_function("floor/ES384", |b| {
        b.iter(|| {
            floor
                .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                .unwrap()
        })
    });

    // jsonwebtoken (what the common axum JWT crates use), the same checks: ES384 only,
    // issuer, audience, exp.
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        current["x"].as_str().unwrap(),
        current["y"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES384);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[API]);
    // jsonwebtoken reads the system clock; the token's exp is far enough ahead of it.
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
    c.bench_function("jsonwebtoken/ES384", |b| {
        b.iter(|| jsonwebtoken::decode::<Value>(black_box(&token), &decoding, &validation).unwrap())
    });

    // Seen before: what the adapters' validators do for a token they verified already (the
    // verified-token cache, keyed by the token's SHA-256), then the route's requirement.
    let cache = VerifiedTokenCache::new(10_000);
    let verified = Arc::new(verify_access_token(&token, &jwks, &check).unwrap());
    cache.insert(&token, verified, now);
    let seen_before = |token: &str| {
        let hit = cache.get(token, now).unwrap();
        hit.authorize(&route, now, 60).unwrap();
    };
    c.bench_function("access_token/seen_before", |b| {
        b.iter(|| seen_before(black_box(&token)))
    });

    // The same on one and on two threads at once: time per validation (half of one
    // thread's if it scales perfectly).
    for threads in [1u64, 2] {
        c.bench_function(
            &format!("access_token/seen_before/{threads}_threads"),
            |b| {
                b.iter_custom(|iters| {
                    let start = std::time::Instant::now();
                    std::thread::scope(|scope| {
                        for _ in 0..threads {
                            scope.spawn(|| {
                                for _ in 0..iters / threads {
                                    seen_before(black_box(&token));
                                }
                            });
                        }
                    });
                    start.elapsed()
                })
            },
        );
    }
}

criterion_group!(api, benches);
criterion_main!(api);
