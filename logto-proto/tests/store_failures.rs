//! A store that fails writes (a network store down or restarting) in the middle of a
//! session call: a refresh token the provider has just rotated is written again until the
//! store is back, for as long as the call's refresh lease lasts; any other write fails at
//! once, leaving the stored session as it was.

mod support;

use logto_proto::adapter::*;
use logto_proto::adapter::{Call, CallInputs, CallStep, SessionReader};
use logto_proto::{adapter, AccessToken, Error, TokenTarget};
use std::time::Duration;
use support::*;

/// A session signed in at the simulated provider, as a store holds it.
fn signed_in_store() -> (Harness, Option<String>) {
    let h = Harness::signed_in("ES384");
    let stored = Some(h.snapshot.to_json());
    (h, stored)
}

struct Run {
    outcome: Result<AccessToken, Error>,
    waits: Vec<Duration>,
    /// Whether the call gave up on a failed write.
    gave_up: bool,
}

/// Drives a forced refresh; `fail(write_number, after_refresh, now)` says whether the
/// store fails that write. Every wait advances the clock by `wait_secs`.
fn refresh(
    h: &mut Harness,
    store: &mut Option<String>,
    wait_secs: u64,
    mut fail: impl FnMut(usize, bool) -> bool,
) -> Run {
    refresh_with(h, store, wait_secs, &mut fail, &mut Hooks::default())
}

/// Another writer's change to the store, given whether the refresh was sent.
type OtherWriter<'a> = &'a mut dyn FnMut(&mut Option<String>, bool);

/// What a test does to the world around a call besides failing writes.
#[derive(Default)]
struct Hooks<'a> {
    /// Called before each response is handed to the call.
    before_response: Option<&'a mut dyn FnMut(&mut SimProvider)>,
    /// Called before each write, with the store and whether the refresh was sent (another
    /// writer's change, to make the write conflict).
    before_write: Option<OtherWriter<'a>>,
    /// Whether the store fails read number `n` (after the refresh was sent or not).
    fail_read: Option<&'a mut dyn FnMut(usize, bool) -> bool>,
}

/// [`refresh`], with [`Hooks`].
fn refresh_with(
    h: &mut Harness,
    store: &mut Option<String>,
    wait_secs: u64,
    fail: &mut dyn FnMut(usize, bool) -> bool,
    hooks: &mut Hooks<'_>,
) -> Run {
    let env = CallInputs::new(&h.config, std::sync::Arc::new(h.cache.clone()), "client", 1);
    let mut call = Call::access_token(env, TokenTarget::resource(API), true);
    let mut reader = SessionReader::default();
    let (mut waits, mut writes, mut reads, mut refreshed) = (Vec::new(), 0, 0, false);
    loop {
        let now = h.now();
        let step = match call.step(now) {
            Ok(step) => step,
            Err(e) => {
                return Run {
                    outcome: Err(e),
                    waits,
                    gave_up: false,
                }
            }
        };
        match step {
            CallStep::Done(token) => {
                return Run {
                    outcome: Ok(token),
                    waits,
                    gave_up: false,
                }
            }
            CallStep::ReadSession => {
                reads += 1;
                if hooks
                    .fail_read
                    .as_mut()
                    .is_some_and(|f| f(reads, refreshed))
                {
                    if !call.handle_read_failed(now) {
                        return Run {
                            outcome: Err(Error::Usage("the store failed a read")),
                            waits,
                            gave_up: true,
                        };
                    }
                    continue;
                }
                call.handle_read(store.clone(), &mut reader, now).unwrap()
            }
            CallStep::WriteSession { expected, new } => {
                writes += 1;
                if let Some(before_write) = hooks.before_write.as_mut() {
                    before_write(store, refreshed);
                }
                if fail(writes, refreshed) {
                    if !call.handle_write_failed(now) {
                        return Run {
                            outcome: Err(Error::Usage("the store failed")),
                            waits,
                            gave_up: true,
                        };
                    }
                    continue;
                }
                let written = *store == expected;
                if written {
                    *store = new;
                }
                call.handle_written(written, now).unwrap();
            }
            CallStep::Wait(duration) => {
                waits.push(duration);
                h.provider.now += wait_secs;
                call.handle_waited(h.now()).unwrap();
            }
            CallStep::Send(request) => {
                refreshed |= String::from_utf8_lossy(&request.body).contains("refresh_token");
                let response = h.provider.handle(request);
                if let Some(before_response) = hooks.before_response.as_mut() {
                    before_response(&mut h.provider);
                }
                call.handle_response(response, h.now()).unwrap();
            }
            _ => unreachable!(),
        }
    }
}

fn stored_refresh_token(store: &Option<String>) -> String {
    let snapshot = Snapshot::from_json(store.as_deref().unwrap()).unwrap();
    snapshot.refresh_token().unwrap().expose().to_owned()
}

#[test]
fn a_rotated_refresh_token_is_written_again_until_the_store_is_back() {
    let (mut h, mut store) = signed_in_store();
    let before = stored_refresh_token(&store);
    // The store fails the three writes after the token response, then comes back.
    let mut failed = 0;
    let run = refresh(&mut h, &mut store, 0, |_, refreshed| {
        let fail = refreshed && failed < 3;
        failed += usize::from(fail);
        fail
    });
    assert!(run.outcome.is_ok(), "{:?}", run.outcome.err());
    assert_eq!(
        run.waits,
        [200, 400, 800].map(Duration::from_millis),
        "growing waits"
    );
    let after = stored_refresh_token(&store);
    assert_ne!(after, before, "the rotated token reached the store");
    assert!(h.provider.is_live_refresh_token(&after));
    // The session goes on: the next refresh presents the stored token, no reuse.
    h.snapshot = Snapshot::from_json(store.as_deref().unwrap()).unwrap();
    let again = refresh(&mut h, &mut store, 0, |_, _| false);
    assert!(again.outcome.is_ok());
    assert_eq!(h.provider.reuse_detected, 0);
}

#[test]
fn a_failed_write_before_the_refresh_ends_the_call_with_nothing_changed() {
    let (mut h, mut store) = signed_in_store();
    let before = store.clone();
    let refreshes = h.provider.refresh_requests();
    // The first write takes the lease: it fails, and nothing is worth waiting for.
    let run = refresh(&mut h, &mut store, 0, |write, _| write == 1);
    assert!(run.gave_up);
    assert!(run.waits.is_empty());
    assert_eq!(store, before, "the stored session is as it was");
    assert_eq!(
        h.provider.refresh_requests(),
        refreshes,
        "no refresh was made"
    );
}

#[test]
fn a_store_down_past_the_lease_is_given_up_on() {
    let (mut h, mut store) = signed_in_store();
    let lease = adapter::refresh_lease_ttl(&h.config);
    // Every write after the refresh fails, and each wait lasts five seconds.
    let run = refresh(&mut h, &mut store, 5, |_, refreshed| refreshed);
    assert!(run.gave_up);
    let waited: u64 = run.waits.len() as u64 * 5;
    assert!(
        waited <= lease + 5 && waited + 5 >= lease,
        "tried for about the lease ({lease} s): {waited} s"
    );
}

#[test]
fn a_frozen_clock_does_not_make_the_retries_endless() {
    let (mut h, mut store) = signed_in_store();
    let lease = adapter::refresh_lease_ttl(&h.config);
    // The clock never moves while the store keeps failing.
    let run = refresh(&mut h, &mut store, 0, |_, refreshed| refreshed);
    assert!(run.gave_up);
    assert_eq!(run.waits.len() as u64, lease * 5);
}

#[test]
fn the_retries_end_with_the_lease_as_stored_not_as_renewed() {
    let (mut h, mut store) = signed_in_store();
    let lease = adapter::refresh_lease_ttl(&h.config);
    // The token response comes late: the call renews the lease in the write that fails, but
    // the store still holds the lease it took, which ends `lease` seconds after it was taken.
    let taken = h.provider.now;
    let late = 20;
    let run = refresh_late(&mut h, &mut store, late);
    assert!(run.gave_up);
    let gave_up_at = h.provider.now;
    assert!(
        gave_up_at <= taken + lease + 1,
        "gave up at +{} s, the stored lease ends at +{lease} s",
        gave_up_at - taken
    );
}

/// Like [`refresh`] with every write after the refresh failing, a token response that
/// arrives `late` seconds after it was sent, and each wait a second long.
fn refresh_late(h: &mut Harness, store: &mut Option<String>, late: u64) -> Run {
    let mut sent = false;
    let mut delayed = false;
    let mut delay = |provider: &mut SimProvider| {
        if sent && !delayed {
            provider.now += late;
            delayed = true;
        }
        sent = true;
    };
    let mut hooks = Hooks {
        before_response: Some(&mut delay),
        ..Hooks::default()
    };
    refresh_with(h, store, 1, &mut |_, refreshed| refreshed, &mut hooks)
}

#[test]
fn a_failed_read_to_merge_a_rotated_token_is_read_again() {
    let (mut h, mut store) = signed_in_store();
    // Another client writes the session (it clears the cached access tokens) while this
    // call's refresh is in flight, so the rotated token's write conflicts; the store then
    // fails the two reads the merge needs, and comes back.
    let mut other_writer_done = false;
    let mut other_writer = |store: &mut Option<String>, refreshed: bool| {
        if refreshed && !other_writer_done {
            let mut snapshot = Snapshot::from_json(store.as_deref().unwrap()).unwrap();
            snapshot.clear_access_tokens();
            *store = Some(snapshot.to_json());
            other_writer_done = true;
        }
    };
    let mut failed = 0;
    let mut fail_read = |_: usize, refreshed: bool| {
        let fail = refreshed && failed < 2;
        failed += usize::from(fail);
        fail
    };
    let mut hooks = Hooks {
        before_write: Some(&mut other_writer),
        fail_read: Some(&mut fail_read),
        ..Hooks::default()
    };
    let run = refresh_with(&mut h, &mut store, 0, &mut |_, _| false, &mut hooks);
    assert!(run.outcome.is_ok(), "{:?}", run.outcome.err());
    assert_eq!(run.waits.len(), 2, "two failed reads, two waits");
    let stored = stored_refresh_token(&store);
    assert!(
        h.provider.is_live_refresh_token(&stored),
        "the rotated token reached the store"
    );
}

/// A device sign-in replaced the stored session while this call's refresh was in flight:
/// its rotated refresh token belongs to a session that no longer exists. It is revoked,
/// never written over the new session, and the call reports that it is not signed in.
#[test]
fn a_rotation_is_never_written_over_a_session_put_in_its_place() {
    let (mut h, mut store) = signed_in_store();
    // The new session: another sign-in, with a refresh token of its own.
    let mut replacement = Snapshot::from_json(store.as_deref().unwrap()).unwrap();
    replacement.clear_access_tokens();
    let replaced = replacement
        .to_json()
        .replace(&stored_refresh_token(&store), "rt-of-the-new-session");
    let mut replaced_once = false;
    let mut put_in_place = |store: &mut Option<String>, refreshed: bool| {
        if refreshed && !replaced_once {
            *store = Some(replaced.clone());
            replaced_once = true;
        }
    };
    let mut hooks = Hooks {
        before_write: Some(&mut put_in_place),
        ..Hooks::default()
    };
    let run = refresh_with(&mut h, &mut store, 0, &mut |_, _| false, &mut hooks);
    assert!(
        matches!(run.outcome, Err(Error::NotAuthenticated)),
        "{:?}",
        run.outcome
    );
    assert_eq!(
        store.as_deref(),
        Some(replaced.as_str()),
        "the new session is untouched"
    );
    let revoked = h
        .provider
        .requests
        .iter()
        .any(|r| r.url.ends_with("/token/revocation"));
    assert!(
        revoked,
        "the rotated refresh token of the replaced session is revoked"
    );
}
