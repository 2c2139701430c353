#![no_main]
//! A device sign-in on provider answers chosen by the fuzzer: the device authorization body,
//! then each poll's status and body (chunks split at 0xFF; a poll's first two bytes are its
//! status). Never panics; what parses is shown safely; no poll at or after the expiry, none
//! sooner than the interval in force, no zero wait, no `Usage` error, and the polling ends:
//! once the fuzzer's answers run out, the clock jumps to the expiry at the next wait (a code
//! may live for days; polling it out step by step proves nothing more), and the sign-in must
//! end there without another poll.
use libfuzzer_sys::fuzz_target;
use logto_proto::{adapter::*, errors::*};
use logto_proto::{DeviceAuthorization, Error, UnixTime};
use logto_proto_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let mut chunks = data.split(|b| *b == 0xFF).peekable();
    let Some(body) = chunks.next() else { return };
    let Ok(device) = DeviceAuthorization::parse(body, UnixTime::from_secs(T0)) else {
        return;
    };
    assert!(device.expires_at() >= UnixTime::from_secs(T0));
    assert!(!device.user_code().chars().any(char::is_control));
    let _ = format!("{device:?}");
    let config = local_config();
    let mut cache = local_cache(&config);
    let mut snapshot = Snapshot::new();
    let expires_at = device.expires_at().as_secs();
    let mut interval = device.interval().max(1);
    let mut op = Context::new(&config, &mut cache, &mut snapshot).complete_device_sign_in(device);
    let (mut now, mut last_poll): (u64, Option<u64>) = (T0, None);
    for _ in 0..10_000 {
        match op.step(UnixTime::from_secs(now)) {
            Ok(Step::Wait(d)) => {
                assert!(d.as_secs() > 0);
                now = now.saturating_add(d.as_secs());
                if chunks.peek().is_none() {
                    now = now.max(expires_at);
                }
            }
            Ok(Step::Send(request)) if request.url.ends_with("/token") => {
                assert!(now < expires_at, "poll at {now}, expiry {expires_at}");
                if let Some(last) = last_poll {
                    assert!(
                        now >= last.saturating_add(interval),
                        "poll at {now}, last {last}, interval {interval}"
                    );
                }
                last_poll = Some(now);
                let Some(answer) = chunks.next() else {
                    panic!("a poll after the answers ran out, at {now}, expiry {expires_at}");
                };
                if answer.len() < 2 {
                    if !op.handle_transport_error(UnixTime::from_secs(now)) {
                        return;
                    }
                    interval = interval.saturating_mul(2).clamp(interval, 60.max(interval));
                    continue;
                }
                let status = u16::from_be_bytes([answer[0], answer[1]]);
                let response = HttpResponse::new(status, answer[2..].to_vec());
                if ProviderError::from_response(status, &answer[2..]).is("slow_down")
                    && !response.is_success()
                {
                    interval = interval.saturating_add(SLOW_DOWN_STEP);
                }
                if let Err(e) = op.handle_response(response, UnixTime::from_secs(now)) {
                    assert!(!matches!(e, Error::Usage(_)), "{e:?}");
                    return;
                }
            }
            Ok(Step::Send(_)) => {
                // The JWKS for a 2xx answer's ID token: refused, which ends the sign-in.
                let _ = op.handle_response(HttpResponse::new(500, ""), UnixTime::from_secs(now));
                return;
            }
            Ok(Step::Done(_)) => unreachable!("no ID token from the fuzzer is signed"),
            Ok(_) => panic!("a step a device sign-in never takes"),
            Err(e) => {
                assert!(!matches!(e, Error::Usage(_)), "{e:?}");
                return;
            }
        }
    }
    panic!("the polling never ended");
});
