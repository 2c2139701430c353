//! The core's hot paths against the raw crypto floor, measured in the same run.
//!
//! `cargo bench -p logto-proto` measures the default `aws-lc` backend;
//! `cargo bench -p logto-proto --no-default-features --features rustcrypto` the other. The
//! floor (`floor/*`) is always aws-lc-rs verifying the same signing input with a pre-parsed
//! key. See BENCHMARKS.md for the figures.

use aws_lc_rs::signature::{self as lc, ParsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use jwt_simple::prelude::*;
use logto_proto::internals::*;
use logto_proto::{adapter::*, resource::*};
use logto_proto::{
    Config, DirectSignIn, FirstScreen, Identifier, InteractionMode, SignInOptions, TokenTarget,
    UnixTime, CRYPTO_BACKEND,
};
use serde_json::{json, Map, Value};
use std::hint::black_box;

const ISSUER: &str = "https://tenant.logto.app/oidc";
const NOW: u64 = 1_767_225_600;

enum Key {
    Es384(ES384KeyPair),
    Es256(ES256KeyPair),
    Rs256(RS256KeyPair),
    Ps256(PS256KeyPair),
}

impl Key {
    fn new(alg: &str, kid: &str) -> Key {
        match alg {
            "ES384" => Key::Es384(ES384KeyPair::generate().with_key_id(kid)),
            "ES256" => Key::Es256(ES256KeyPair::generate().with_key_id(kid)),
            "RS256" => Key::Rs256(RS256KeyPair::generate(2048).unwrap().with_key_id(kid)),
            _ => Key::Ps256(PS256KeyPair::generate(2048).unwrap().with_key_id(kid)),
        }
    }
    fn jwk(&self) -> Value {
        serde_json::from_str(&match self {
            Key::Es384(k) => k.public_key().to_jwk(),
            Key::Es256(k) => k.public_key().to_jwk(),
            Key::Rs256(k) => k.public_key().to_jwk(),
            Key::Ps256(k) => k.public_key().to_jwk(),
        })
        .unwrap()
    }
    fn sign(&self, payload: &Value) -> String {
        let mut c = Claims::with_custom_claims(
            payload.as_object().unwrap().clone(),
            Duration::from_secs(0),
        );
        c.issued_at = None;
        c.expires_at = None;
        c.invalid_before = None;
        match self {
            Key::Es384(k) => k.sign(c),
            Key::Es256(k) => k.sign(c),
            Key::Rs256(k) => k.sign(c),
            Key::Ps256(k) => k.sign(c),
        }
        .unwrap()
    }
    /// The floor: aws-lc-rs with a pre-parsed key.
    fn floor_key(&self) -> ParsedPublicKey {
        let jwk = self.jwk();
        let b = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap();
        match self {
            Key::Es384(_) | Key::Es256(_) => {
                let mut point = vec![4];
                point.extend(b("x"));
                point.extend(b("y"));
                let alg: &'static dyn lc::VerificationAlgorithm = if matches!(self, Key::Es384(_)) {
                    &lc::ECDSA_P384_SHA384_FIXED
                } else {
                    &lc::ECDSA_P256_SHA256_FIXED
                };
                ParsedPublicKey::new(alg, point).unwrap()
            }
            Key::Rs256(_) | Key::Ps256(_) => {
                use aws_lc_rs::encoding::AsDer;
                let (n, e) = (b("n"), b("e"));
                let der = lc::RsaPublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                }
                .as_der()
                .unwrap();
                let alg: &'static dyn lc::VerificationAlgorithm = if matches!(self, Key::Rs256(_)) {
                    &lc::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &lc::RSA_PSS_2048_8192_SHA256
                };
                ParsedPublicKey::new(alg, der.as_ref()).unwrap()
            }
        }
    }
}

/// A realistic Logto ID token payload (about 1 KB once signed).
fn id_claims(nonce: &str) -> Value {
    json!({
        "iss": ISSUER, "sub": "p3kz8h2xq0ab", "aud": "app-id", "exp": NOW + 3600, "iat": NOW,
        "nonce": nonce, "at_hash": "k1YdD0a8QzFDlY6kbWmFAg", "sid": "a7f0c1d8-4b8e-4d0a-9f6e-2b9a3c1d2e4f",
        "auth_time": NOW - 5, "name": "Alice Example", "picture": null, "username": "alice",
        "email": "alice@example.com", "email_verified": true, "phone_number": "+15555550100",
        "phone_number_verified": true, "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_500_000_i64,
        "roles": ["admin", "billing"], "organizations": ["org1", "org2"],
        "organization_roles": ["org1:admin", "org2:viewer"],
    })
}

fn config() -> Config {
    Config::builder("https://tenant.logto.app", "app-id")
        .app_secret("secret")
        .scopes([
            "email",
            "phone",
            "custom_data",
            "urn:logto:scope:organizations",
            "read:data",
        ])
        .resources(["https://api.example.com", "https://api2.example.com"])
        .build()
        .unwrap()
}

fn discovery() -> ProviderMetadata {
    let doc = json!({"issuer": ISSUER, "authorization_endpoint": format!("{ISSUER}/auth"), "token_endpoint": format!("{ISSUER}/token"), "userinfo_endpoint": format!("{ISSUER}/me"), "jwks_uri": format!("{ISSUER}/jwks"), "end_session_endpoint": format!("{ISSUER}/session/end"), "revocation_endpoint": format!("{ISSUER}/token/revocation"), "authorization_response_iss_parameter_supported": true});
    ProviderMetadata::parse(
        &config(),
        doc.to_string().as_bytes(),
        UnixTime::from_secs(NOW),
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let backend = CRYPTO_BACKEND;
    let now = UnixTime::from_secs(NOW);
    let entropy = SignInEntropy::from_bytes([7; 96]);
    let nonce = URL_SAFE_NO_PAD.encode([7u8; 32]);

    for alg in ["ES384", "RS256", "PS256", "ES256"] {
        // A 3-key JWKS with the signing key in the middle.
        let keys = [
            Key::new("RS256", "old-1"),
            Key::new(alg, "current"),
            Key::new("ES384", "next"),
        ];
        let jwks_doc = json!({"keys": keys.iter().map(Key::jwk).collect::<Vec<_>>()}).to_string();
        let jwks = Jwks::parse(jwks_doc.as_bytes(), now).unwrap();
        let token = keys[1].sign(&id_claims(&nonce));
        let check = IdTokenCheck {
            issuer: ISSUER,
            client_id: "app-id",
            now,
            clock_tolerance: 60,
            nonce: NonceCheck::Required(&nonce),
            subject: None,
            auth_time: None,
        };
        verify_id_token(&token, &jwks, &check).unwrap();
        c.bench_function(&format!("verify_id_token/{alg}/{backend}"), |b| {
            b.iter(|| verify_id_token(black_box(&token), &jwks, &check).unwrap())
        });

        let floor = keys[1].floor_key();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        c.bench_function(&format!("floor/{alg}"), |b| {
            b.iter(|| {
                floor
                    .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .unwrap()
            })
        });

        if alg == "ES384" {
            c.bench_function(&format!("jwks_parse/3_keys/{backend}"), |b| {
                b.iter(|| Jwks::parse(black_box(jwks_doc.as_bytes()), now).unwrap())
            });

            // Token response end to end: parse, verify, store, serialise.
            let config = config();
            let mut cache = ProviderCache {
                metadata: Some(discovery()),
                jwks: Some(jwks.clone()),
            };
            let mut pending = Snapshot::new();
            sign_in_url(
                &config,
                cache.metadata.as_ref().unwrap(),
                &mut pending,
                &SignInOptions::new("https://app.example.com/callback"),
                &entropy,
                now,
            )
            .unwrap();
            let callback = format!("https://app.example.com/callback?code=abc&state={nonce}&iss=https%3A%2F%2Ftenant.logto.app%2Foidc");
            let response = HttpResponse::new(200, json!({"access_token": "opaque-access-token-value-0123456789", "token_type": "Bearer", "expires_in": 3600, "scope": "openid offline_access profile email", "id_token": token, "refresh_token": "refresh-token-value-0123456789"}).to_string());
            c.bench_function(&format!("token_response_end_to_end/ES384/{backend}"), |b| {
                b.iter_batched(
                    || pending.clone(),
                    |mut snapshot| {
                        let mut op = Context::new(&config, &mut cache, &mut snapshot)
                            .handle_sign_in_callback(callback.as_str());
                        let Ok(Step::Send(_)) = op.step(now) else {
                            panic!()
                        };
                        op.handle_response(response.clone(), now).unwrap();
                        let Ok(Step::Done(claims)) = op.step(now) else {
                            panic!()
                        };
                        black_box(claims);
                        black_box(snapshot.to_json())
                    },
                    BatchSize::SmallInput,
                )
            });

            // Parse a callback URL and build the token request.
            c.bench_function("callback_to_token_request", |b| {
                b.iter_batched(
                    || pending.clone(),
                    |mut snapshot| {
                        let mut op = Context::new(&config, &mut cache, &mut snapshot)
                            .handle_sign_in_callback(callback.as_str());
                        let Ok(Step::Send(request)) = op.step(now) else {
                            panic!()
                        };
                        black_box(request)
                    },
                    BatchSize::SmallInput,
                )
            });

            // Stored-token paths.
            let mut signed_in = pending.clone();
            {
                let mut op = Context::new(&config, &mut cache, &mut signed_in)
                    .handle_sign_in_callback(callback.as_str());
                let _ = op.step(now);
                op.handle_response(response.clone(), now).unwrap();
                let _ = op.step(now);
            }
            for (i, target) in [
                TokenTarget::resource("https://api.example.com"),
                TokenTarget::resource("https://api2.example.com"),
                TokenTarget::organization("org1"),
            ]
            .into_iter()
            .enumerate()
            {
                let at = keys[1].sign(&json!({"iss": ISSUER, "aud": target.resource.clone().unwrap_or_default(), "exp": NOW + 3600, "iat": NOW, "scope": "read:data", "jti": i}));
                let mut op =
                    Context::new(&config, &mut cache, &mut signed_in).access_token(target, false);
                let Ok(Step::Send(_)) = op.step(now) else {
                    panic!()
                };
                op.handle_response(
                    HttpResponse::new(
                        200,
                        json!({"access_token": at, "token_type": "Bearer", "expires_in": 3600})
                            .to_string(),
                    ),
                    now,
                )
                .unwrap();
                let Ok(Step::Done(_)) = op.step(now) else {
                    panic!()
                };
            }
            c.bench_function("id_token_claims_decode", |b| {
                b.iter(|| black_box(&signed_in).id_token_claims().unwrap())
            });
            c.bench_function("cached_access_token_lookup", |b| {
                b.iter(|| {
                    let mut snapshot = std::mem::take(&mut signed_in);
                    let mut op = Context::new(&config, &mut cache, &mut snapshot)
                        .access_token(TokenTarget::organization("org1"), false);
                    let Ok(Step::Done(token)) = op.step(now) else {
                        panic!()
                    };
                    drop(op);
                    signed_in = snapshot;
                    black_box(token)
                })
            });
            let stored = signed_in.to_json();
            // What an adapter's call with a fresh cached token costs in the core: the session
            // call reads the stored session (parsed before, so the reader reuses its parse),
            // finds the token and finishes, with no request and no write.
            let mut reader = logto_proto::adapter::SessionReader::default();
            let shared = std::sync::Arc::new(cache.clone());
            c.bench_function("session_call_cached_token", |b| {
                b.iter(|| {
                    let env =
                        logto_proto::adapter::CallInputs::new(&config, shared.clone(), "bench", 1);
                    let mut call = logto_proto::adapter::Call::access_token(
                        env,
                        TokenTarget::organization("org1"),
                        false,
                    );
                    let Ok(CallStep::ReadSession) = call.step(now) else {
                        panic!()
                    };
                    call.handle_read(Some(stored.clone()), &mut reader, now)
                        .unwrap();
                    let Ok(CallStep::Done(token)) = call.step(now) else {
                        panic!()
                    };
                    black_box(token)
                })
            });
            c.bench_function("snapshot_save", |b| {
                b.iter(|| black_box(&signed_in).to_json())
            });
            c.bench_function("snapshot_load", |b| {
                b.iter(|| Snapshot::from_json(black_box(&stored)).unwrap())
            });
        }
    }

    // Sign-in URL: five scopes, two resources, every Logto parameter (entropy supplied).
    let config = config();
    let metadata = discovery();
    let options = SignInOptions::new("https://app.example.com/callback")
        .interaction_mode(InteractionMode::SignIn)
        .first_screen(FirstScreen::SignIn)
        .identifiers([Identifier::Email, Identifier::Username])
        .direct_sign_in(DirectSignIn::Social("google".into()))
        .login_hint("alice@example.com")
        .ui_locales("en")
        .organization_id("org1")
        .extra_param("one_time_token", "ott");
    c.bench_function("sign_in_url", |b| {
        let mut snapshot = Snapshot::new();
        b.iter(|| {
            sign_in_url(
                &config,
                &metadata,
                &mut snapshot,
                black_box(&options),
                &entropy,
                now,
            )
            .unwrap()
        })
    });
    let _ = Map::<String, Value>::new();
}

criterion_group!(core, benches);
criterion_main!(core);
