#![no_main]
//! `TokenResponse::parse` on arbitrary bytes: never panics; a parsed response has an access token.
use libfuzzer_sys::fuzz_target;
use logto_proto::internals::TokenResponse;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = TokenResponse::parse(data) {
        // Debug must not panic (secrets are redacted).
        let _ = format!("{r:?}");
    }
});
