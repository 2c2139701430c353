#![no_main]
//! `Jwks::parse` on arbitrary bytes: never panics; a parsed set keeps its fetch time.
use libfuzzer_sys::fuzz_target;
use logto_proto::resource::Jwks;
use logto_proto::UnixTime;

fuzz_target!(|data: &[u8]| {
    let now = UnixTime::from_secs(logto_proto_fuzz::T0);
    if let Ok(jwks) = Jwks::parse(data, now) {
        assert_eq!(jwks.fetched_at(), now);
        for k in jwks.keys() {
            let _ = (k.kid(), k.alg());
        }
        let _ = jwks.raw();
    }
});
