#![no_main]
//! A back-channel logout request body (form-encoded, anyone can POST it) against fixed
//! public keys whose private halves the fuzzer cannot have: the body must never be
//! accepted, and nothing may panic.
use libfuzzer_sys::fuzz_target;
use logto_proto::resource::{logout_token_from_form, verify_logout_token, Jwks, LogoutTokenCheck};
use logto_proto::UnixTime;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static JWKS: OnceLock<Jwks> = OnceLock::new();
    let jwks = JWKS.get_or_init(logto_proto_fuzz::fixed_jwks);
    let check = LogoutTokenCheck::new(
        "https://tenant.logto.app/oidc",
        logto_proto_fuzz::LOCAL_APP_ID,
        UnixTime::from_secs(logto_proto_fuzz::T0),
        60,
    );
    // The body as the route receives it, and the same bytes as a bare token.
    let tokens = [
        logout_token_from_form(data).ok(),
        Some(String::from_utf8_lossy(data).into_owned()),
    ];
    for token in tokens.into_iter().flatten() {
        if let Ok(logout) = verify_logout_token(&token, jwks, &check) {
            panic!("forged logout token accepted: {token:?} -> {logout:?}");
        }
    }
});
