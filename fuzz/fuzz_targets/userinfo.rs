#![no_main]
//! `UserInfo::parse` on arbitrary bytes: never panics.
use libfuzzer_sys::fuzz_target;
use logto_proto::UserInfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = UserInfo::parse(data) {
        let _ = format!("{info:?}");
    }
});
