#![no_main]
//! `ProviderError::from_response(status, body)`: status from the first 2 bytes (big endian),
//! the rest is the body. Never panics; keeps the status; `is` is consistent with `error`/`code`.
use libfuzzer_sys::fuzz_target;
use logto_proto::errors::ProviderError;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let e = ProviderError::from_response(status, &data[2..]);
    assert_eq!(e.status, status);
    let _ = e.to_string();
    if let Some(code) = e.error.clone() {
        assert!(e.is(&code), "is({code:?}) false for {e:?}");
    }
    let _ = e.is("invalid_grant");
});
