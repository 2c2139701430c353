#![no_main]
//! `ProviderMetadata::parse` on arbitrary bytes: never panics; accepted metadata always has
//! the configured issuer.
use libfuzzer_sys::fuzz_target;
use logto_proto::adapter::ProviderMetadata;
use logto_proto::UnixTime;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static CONFIG: OnceLock<logto_proto::Config> = OnceLock::new();
    let config = CONFIG.get_or_init(logto_proto_fuzz::local_config);
    let now = UnixTime::from_secs(logto_proto_fuzz::T0);
    if let Ok(m) = ProviderMetadata::parse(config, data, now) {
        assert_eq!(m.issuer, logto_proto_fuzz::LOCAL_ISSUER);
        assert_eq!(m.fetched_at, now);
    }
});
