#![no_main]
//! Input = JWKS JSON, a newline, then a token (split at the last `\n`): `Jwks::parse` then
//! `verify_id_token`. Never panics; if it verifies, the claims satisfy the checks.
use libfuzzer_sys::fuzz_target;
use logto_proto::internals::{verify_id_token, IdTokenCheck, NonceCheck};
use logto_proto::resource::Jwks;
use logto_proto::UnixTime;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().rposition(|&b| b == b'\n') else {
        return;
    };
    let now = UnixTime::from_secs(logto_proto_fuzz::T0);
    let Ok(jwks) = Jwks::parse(&data[..split], now) else {
        return;
    };
    let token = String::from_utf8_lossy(&data[split + 1..]);
    let check = IdTokenCheck {
        issuer: "https://tenant.logto.app/oidc",
        client_id: "app-id",
        now,
        clock_tolerance: 60,
        nonce: NonceCheck::IfPresent(None),
        subject: None,
        auth_time: None,
    };
    if let Ok(claims) = verify_id_token(&token, &jwks, &check) {
        assert_eq!(claims.iss, "https://tenant.logto.app/oidc");
        assert!(claims.aud.contains("app-id"));
    }
});
