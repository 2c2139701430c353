#![no_main]
//! `Snapshot::from_json` on arbitrary text: never panics; whatever it accepts round-trips
//! through `to_json` to an equal value, and the accessors do not panic.
use libfuzzer_sys::fuzz_target;
use logto_proto::adapter::Snapshot;
use logto_proto::UnixTime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = Snapshot::from_json(text) else {
        return;
    };
    let json = s.to_json();
    let again = Snapshot::from_json(&json).expect("to_json output must load");
    assert_eq!(again, s, "round trip changed the snapshot: {json}");
    assert_eq!(again.to_json(), json, "to_json is not stable");
    let _ = s.is_authenticated();
    let _ = s.id_token_claims();
    let _ = s.fresh_access_token(
        &logto_proto::TokenTarget::userinfo(),
        UnixTime::from_secs(logto_proto_fuzz::T0),
        60,
    );
});
