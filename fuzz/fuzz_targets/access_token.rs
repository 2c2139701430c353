#![no_main]
//! A bearer access token (anyone can present one to an API) against fixed public keys whose
//! private halves the fuzzer cannot have: never accepted, never a panic, whatever the
//! `Authorization` header.
use libfuzzer_sys::fuzz_target;
use logto_proto::resource::{bearer_token, verify_access_token, AccessTokenCheck, Jwks};
use logto_proto::UnixTime;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static JWKS: OnceLock<Jwks> = OnceLock::new();
    let jwks = JWKS.get_or_init(logto_proto_fuzz::fixed_jwks);
    let check = AccessTokenCheck::new(
        "https://tenant.logto.app/oidc",
        UnixTime::from_secs(logto_proto_fuzz::T0),
        60,
    );
    let text = String::from_utf8_lossy(data);
    let header = format!("Bearer {text}");
    let tokens = [
        bearer_token(Some(&text)).ok(),
        bearer_token(Some(&header)).ok(),
    ];
    for token in tokens.into_iter().flatten() {
        if let Ok(verified) = verify_access_token(token, jwks, &check) {
            panic!("forged access token accepted: {token:?} -> {verified:?}");
        }
    }
});
