#![no_main]
//! `verify_id_token` against fixed public keys (ES384 + RS256) whose private halves the
//! fuzzer cannot have: it must never accept the input. (The example ES384 key signed a real
//! token, but for another client id, so even that one must fail the audience check.)
use libfuzzer_sys::fuzz_target;
use logto_proto::internals::{verify_id_token, IdTokenCheck, NonceCheck};
use logto_proto::resource::Jwks;
use logto_proto::UnixTime;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static JWKS: OnceLock<Jwks> = OnceLock::new();
    let jwks = JWKS.get_or_init(logto_proto_fuzz::fixed_jwks);
    let token = String::from_utf8_lossy(data);
    let check = IdTokenCheck {
        issuer: "https://tenant.logto.app/oidc",
        client_id: logto_proto_fuzz::LOCAL_APP_ID,
        now: UnixTime::from_secs(logto_proto_fuzz::T0),
        clock_tolerance: 60,
        nonce: if data.first().is_some_and(|b| b & 1 == 1) {
            NonceCheck::IfPresent(None)
        } else {
            NonceCheck::Required("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc")
        },
        subject: None,
        auth_time: None,
    };
    if let Ok(claims) = verify_id_token(&token, jwks, &check) {
        panic!("forged ID token accepted: {token:?} -> {claims:?}");
    }
});
