//! Device sign-in and token exchange in the core, against the simulated provider: the
//! polling rules as a property over any order of answers and clock jumps, and the typed
//! outcomes.

mod support;

use logto_proto::internals::*;
use logto_proto::{adapter::*, errors::*};
use logto_proto::{
    decode_claims, AccessToken, AccessTokenClaims, DeviceAuthorization, Error, IdTokenClaims,
    Secret, TokenExchange, UnixTime,
};
use proptest::prelude::*;
use serde_json::json;
use std::collections::HashMap;
use support::*;

const DEVICE_ENDPOINT: &str = "https://tenant.logto.app/oidc/device/auth";

fn discovery_with_device() -> HttpResponse {
    let mut doc = discovery();
    doc["device_authorization_endpoint"] = json!(DEVICE_ENDPOINT);
    HttpResponse::new(200, doc.to_string())
}

fn device_answer(interval: Option<u64>, expires_in: u64) -> HttpResponse {
    let mut body = json!({
        "device_code": "device-code-1", "user_code": "WDJB-MJHT",
        "verification_uri": "https://tenant.logto.app/oidc/device",
        "verification_uri_complete": "https://tenant.logto.app/oidc/device?user_code=WDJB-MJHT",
        "expires_in": expires_in,
    });
    if let Some(interval) = interval {
        body["interval"] = json!(interval);
    }
    HttpResponse::new(200, body.to_string())
}

fn form(request: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn refused(error: &str) -> HttpResponse {
    HttpResponse::new(
        400,
        json!({"error": error, "error_description": error, "code": format!("oidc.{error}")})
            .to_string(),
    )
}

/// How the simulated provider answers one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Pending,
    SlowDown,
    Denied,
    Expired,
    Unanswered,
    SignedIn,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        6 => Just(Answer::Pending),
        3 => Just(Answer::SlowDown),
        2 => Just(Answer::Unanswered),
        1 => Just(Answer::Denied),
        1 => Just(Answer::Expired),
        1 => Just(Answer::SignedIn),
    ]
}

/// Starts a device sign-in on `h` at `now`: the codes the user is shown.
fn start(h: &mut Harness, interval: Option<u64>, expires_in: u64, now: u64) -> DeviceAuthorization {
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).start_device_sign_in();
    let now = UnixTime::from_secs(now);
    let Step::Send(discovery) = op.step(now).unwrap() else {
        panic!("discovery first")
    };
    assert!(discovery.url.ends_with("/.well-known/openid-configuration"));
    op.handle_response(discovery_with_device(), now).unwrap();
    let Step::Send(request) = op.step(now).unwrap() else {
        panic!("the device request")
    };
    assert_eq!(request.url, DEVICE_ENDPOINT);
    let sent = form(&request);
    assert_eq!(sent["client_id"], APP_ID);
    assert!(
        sent["scope"].split(' ').any(|s| s == "offline_access"),
        "{sent:?}"
    );
    op.handle_response(device_answer(interval, expires_in), now)
        .unwrap();
    let Step::Done(device) = op.step(now).unwrap() else {
        panic!("done")
    };
    device
}

/// What one run of the polling saw.
#[derive(Debug, Default)]
struct Run {
    /// Clock time of each poll, and the seconds the driver waited since the previous one.
    polls: Vec<(u64, u64)>,
    /// The interval in force before each poll.
    intervals: Vec<u64>,
    outcome: Option<Result<IdTokenClaims, Error>>,
}

/// Drives the completion: each wait moves the clock by its length plus `jumps[i]` (a clock
/// that steps forward or back meanwhile), and the polls take `answers` in order (then
/// "pending").
fn complete(
    h: &mut Harness,
    device: DeviceAuthorization,
    start: u64,
    answers: &[Answer],
    jumps: &[i64],
) -> Run {
    let mut run = Run::default();
    let mut clock = start;
    let mut waited = 0u64;
    let mut interval = device.interval().max(1);
    let mut answers = answers.iter().copied();
    // Each jump happens once, then the clock runs true: a clock cannot run backwards for ever.
    let mut jumps = jumps.iter().copied().chain(std::iter::repeat(0));
    let mut op =
        Context::new(&h.config, &mut h.cache, &mut h.snapshot).complete_device_sign_in(device);
    for _ in 0..10_000 {
        let now = UnixTime::from_secs(clock);
        match op.step(now) {
            Ok(Step::Wait(d)) => {
                assert!(d.as_secs() > 0, "a wait of zero would spin");
                waited += d.as_secs();
                let jump = jumps.next().unwrap_or(0);
                clock = clock.saturating_add_signed(d.as_secs() as i64 + jump);
            }
            Ok(Step::Send(request)) if request.url.ends_with("/openid-configuration") => {
                // The metadata went stale while the user took their time: fetched again.
                op.handle_response(discovery_with_device(), now).unwrap();
            }
            Ok(Step::Send(request)) if request.url.ends_with("/jwks") => {
                op.handle_response(HttpResponse::new(200, h.provider.jwks().to_string()), now)
                    .unwrap();
            }
            Ok(Step::Send(request)) => {
                assert!(request.url.ends_with("/token"), "{}", request.url);
                let sent = form(&request);
                assert_eq!(sent["grant_type"], DEVICE_CODE_GRANT);
                assert_eq!(sent["device_code"], "device-code-1");
                run.polls.push((clock, waited));
                run.intervals.push(interval);
                waited = 0;
                let answer = answers.next().unwrap_or(Answer::Pending);
                let response = match answer {
                    Answer::Pending => refused("authorization_pending"),
                    Answer::SlowDown => {
                        interval += SLOW_DOWN_STEP;
                        refused("slow_down")
                    }
                    Answer::Denied => refused("access_denied"),
                    Answer::Expired => refused("expired_token"),
                    Answer::Unanswered => {
                        if op.handle_transport_error(now) {
                            interval = (interval * 2).min(60).max(interval);
                            continue;
                        }
                        run.outcome = Some(Err(Error::RequestFailed));
                        return run;
                    }
                    Answer::SignedIn => {
                        let id = h.provider.sign(&id_claims(clock, None));
                        HttpResponse::new(
                            200,
                            json!({
                                "access_token": "at-device", "token_type": "Bearer",
                                "expires_in": 3600, "scope": "openid offline_access",
                                "id_token": id, "refresh_token": "rt-device",
                            })
                            .to_string(),
                        )
                    }
                };
                if let Err(e) = op.handle_response(response, now) {
                    run.outcome = Some(Err(e));
                    return run;
                }
            }
            Ok(Step::Done(claims)) => {
                run.outcome = Some(Ok(claims));
                return run;
            }
            Ok(other) => panic!("unexpected step {other:?}"),
            Err(e) => {
                run.outcome = Some(Err(e));
                return run;
            }
        }
    }
    panic!("the polling never ended");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Whatever the provider answers and the clock does: no poll comes sooner than the
    /// interval in force (by the driver's timer, and by the clock), none at or after the
    /// expiry, each `slow_down` adds 5 s for good, and the outcome is the one the answers
    /// call for.
    #[test]
    fn device_polling_keeps_the_interval_and_the_expiry(
        interval in proptest::option::of(1u64..12),
        expires_in in 1u64..400,
        answers in proptest::collection::vec(answer(), 0..40),
        jumps in proptest::collection::vec(-20i64..40, 0..8),
    ) {
        let mut h = Harness::new("ES384");
        let device = start(&mut h, interval, expires_in, T0);
        let expires_at = T0 + expires_in;
        let run = complete(&mut h, device, T0, &answers, &jumps);
        let mut previous: Option<u64> = None;
        for (i, ((at, waited), interval)) in run.polls.iter().zip(&run.intervals).enumerate() {
            prop_assert!(*at < expires_at, "poll {i} at {at}, expiry {expires_at}");
            prop_assert!(waited >= interval, "poll {i} after {waited} s of waits, interval {interval}");
            if let Some(before) = previous {
                prop_assert!(*at >= before + interval, "poll {i} at {at}, previous at {before}, interval {interval}");
            }
            previous = Some(*at);
        }
        let decisive = answers.iter().take(run.polls.len()).copied().find(|a| {
            matches!(a, Answer::Denied | Answer::Expired | Answer::SignedIn)
        });
        let outcome = run.outcome.expect("an outcome");
        match (decisive, &outcome) {
            (Some(Answer::SignedIn), Ok(claims)) => {
                prop_assert_eq!(claims.sub.as_str(), USER);
                prop_assert_eq!(h.snapshot.refresh_token().map(Secret::expose), Some("rt-device"));
            }
            (Some(Answer::Denied), Err(Error::Device(DeviceError::Denied(e)))) => {
                prop_assert!(e.is("access_denied"));
            }
            (Some(Answer::Expired), Err(Error::Device(DeviceError::Expired { expires_at: at, .. }))) => {
                prop_assert_eq!(at.as_secs(), expires_at);
            }
            (None, Err(Error::Device(DeviceError::Expired { now, .. }))) => {
                prop_assert!(now.as_secs() >= expires_at);
            }
            (None, Err(Error::RequestFailed)) => {
                let longest = answers
                    .iter()
                    .take(run.polls.len())
                    .fold((0, 0), |(run, longest), a| match a {
                        Answer::Unanswered => (run + 1, longest.max(run + 1)),
                        _ => (0, longest),
                    })
                    .1;
                prop_assert!(longest >= 5, "gave up after {longest} unanswered polls in a row");
            }
            (decisive, outcome) => prop_assert!(false, "answers {decisive:?} ended as {outcome:?}"),
        }
        if outcome.is_err() {
            prop_assert!(!h.snapshot.is_authenticated(), "a failed device sign-in stores nothing");
        }
    }
}

#[test]
fn a_device_sign_in_replaces_the_session_it_runs_in() {
    let mut h = Harness::signed_in("ES384");
    h.cache = ProviderCache::new();
    let before = h.snapshot.clone();
    let device = start(&mut h, Some(1), 60, T0);
    assert_eq!(h.snapshot, before, "starting changes nothing");
    let run = complete(
        &mut h,
        device,
        T0,
        &[Answer::Pending, Answer::SignedIn],
        &[0],
    );
    assert!(run.outcome.unwrap().is_ok());
    assert_eq!(
        h.snapshot.refresh_token().map(Secret::expose),
        Some("rt-device")
    );
    assert!(h.snapshot.id_token_claims().is_ok());
}

#[test]
fn a_provider_without_device_flow_is_a_typed_error() {
    let mut h = Harness::new("ES384");
    let now = UnixTime::from_secs(T0);
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).start_device_sign_in();
    let Step::Send(_) = op.step(now).unwrap() else {
        panic!()
    };
    op.handle_response(HttpResponse::new(200, discovery().to_string()), now)
        .unwrap();
    assert!(matches!(
        op.step(now),
        Err(Error::Discovery(DiscoveryError::MissingEndpoint {
            name: "device_authorization_endpoint"
        }))
    ));
}

#[test]
fn an_id_token_for_another_app_is_refused_after_polling() {
    let mut h = Harness::new("ES384");
    let device = start(&mut h, Some(1), 60, T0);
    let mut claims = id_claims(T0, None);
    claims["aud"] = json!("another-app");
    let id = h.provider.sign(&claims);
    let mut op =
        Context::new(&h.config, &mut h.cache, &mut h.snapshot).complete_device_sign_in(device);
    let now = UnixTime::from_secs(T0 + 1);
    assert!(matches!(op.step(now), Ok(Step::Wait(_))));
    let Ok(Step::Send(_)) = op.step(now) else {
        panic!("the poll")
    };
    let body = json!({"access_token": "at", "token_type": "Bearer", "id_token": id, "refresh_token": "rt"});
    op.handle_response(HttpResponse::new(200, body.to_string()), now)
        .unwrap();
    let Ok(Step::Send(jwks)) = op.step(now) else {
        panic!("the keys")
    };
    assert!(jwks.url.ends_with("/jwks"));
    op.handle_response(HttpResponse::new(200, h.provider.jwks().to_string()), now)
        .unwrap();
    assert!(matches!(op.step(now), Err(Error::IdToken(_))));
    drop(op);
    assert!(!h.snapshot.is_authenticated());
}

fn exchange(
    h: &mut Harness,
    exchange: TokenExchange,
    answer: HttpResponse,
) -> (HashMap<String, String>, Result<AccessToken, Error>) {
    let now = UnixTime::from_secs(T0);
    let mut op = Context::new(&h.config, &mut h.cache, &mut h.snapshot).exchange_token(exchange);
    let Step::Send(mut request) = op.step(now).unwrap() else {
        panic!()
    };
    if request.url.ends_with("/openid-configuration") {
        op.handle_response(HttpResponse::new(200, discovery().to_string()), now)
            .unwrap();
        let Step::Send(next) = op.step(now).unwrap() else {
            panic!()
        };
        request = next;
    }
    assert!(request.url.ends_with("/token"));
    let sent = form(&request);
    assert!(
        !format!("{op:?}").contains("pat_secret"),
        "Debug shows no token"
    );
    if let Err(e) = op.handle_response(answer, now) {
        return (sent, Err(e));
    }
    match op.step(now) {
        Ok(Step::Done(token)) => (sent, Ok(token)),
        Ok(other) => panic!("{other:?}"),
        Err(e) => (sent, Err(e)),
    }
}

#[test]
fn a_token_exchange_sends_what_rfc_8693_names_and_types_the_answer() {
    let mut h = Harness::new("ES384");
    let act = h.provider.sign_typed_current(&json!({
        "iss": ISSUER, "sub": USER, "aud": API, "exp": T0 + 600, "iat": T0,
        "scope": "read:data", "act": {"sub": "actor-1"},
    }));
    let body = json!({"access_token": act, "token_type": "Bearer", "expires_in": 600, "scope": "read:data"});
    let request = TokenExchange::personal_access_token("pat_secret")
        .actor("actor-token")
        .resource(API)
        .organization("org1")
        .scopes(["read:data"]);
    let (sent, token) = exchange(&mut h, request, HttpResponse::new(200, body.to_string()));
    assert_eq!(sent["grant_type"], TOKEN_EXCHANGE_GRANT);
    assert_eq!(sent["subject_token"], "pat_secret");
    assert_eq!(sent["subject_token_type"], PERSONAL_ACCESS_TOKEN_TYPE);
    assert_eq!(sent["actor_token"], "actor-token");
    assert_eq!(sent["actor_token_type"], ACCESS_TOKEN_TOKEN_TYPE);
    assert_eq!(
        (
            sent["resource"].as_str(),
            sent["organization_id"].as_str(),
            sent["scope"].as_str()
        ),
        (API, "org1", "read:data")
    );
    let token = token.unwrap();
    assert_eq!(token.expires_at, UnixTime::from_secs(T0 + 600));
    assert_eq!(token.target.resource.as_deref(), Some(API));
    let claims: AccessTokenClaims = decode_claims(token.token.expose()).unwrap();
    assert_eq!(claims.act.and_then(|a| a.sub).as_deref(), Some("actor-1"));
    assert!(!h.snapshot.is_authenticated(), "nothing is stored");

    let (_, consumed) = exchange(
        &mut h,
        TokenExchange::impersonation("pat_secret"),
        refused("invalid_grant"),
    );
    assert!(
        matches!(&consumed, Err(Error::TokenExchange(TokenExchangeError::TokenRefused(e))) if e.is("invalid_grant")),
        "{consumed:?}"
    );
    let (_, off) = exchange(
        &mut h,
        TokenExchange::impersonation("pat_secret"),
        refused("unauthorized_client"),
    );
    assert!(matches!(
        off,
        Err(Error::TokenExchange(TokenExchangeError::NotAllowed(_)))
    ));
    assert!(!consumed.unwrap_err().to_string().contains("pat_secret"));
}

/// What happens to the store around a device sign-in's session call.
#[derive(Default)]
struct StoreAround {
    /// Text another writer puts in the store just before the call's first write.
    written_meanwhile: Option<String>,
    /// Writes the store fails before it works again.
    failing_writes: usize,
}

/// Drives `Call::complete_device_sign_in` over `store`: one pending poll, then the user has
/// signed in (or, with `denied`, refused). Returns the outcome and the writes the call asked
/// for.
fn device_call(
    h: &mut Harness,
    store: &mut Option<String>,
    denied: bool,
    mut around: StoreAround,
) -> (Result<IdTokenClaims, Error>, usize) {
    use logto_proto::adapter::{Call, CallInputs, CallStep, SessionReader};
    let device = start(h, Some(1), 60, T0);
    let env = CallInputs::new(&h.config, std::sync::Arc::new(h.cache.clone()), "client", 1);
    let mut call = Call::complete_device_sign_in(env, device);
    let mut reader = SessionReader::default();
    let (mut clock, mut polls, mut writes) = (T0, 0, 0);
    loop {
        let now = UnixTime::from_secs(clock);
        match call.step(now) {
            Err(e) => return (Err(e), writes),
            Ok(CallStep::Done(claims)) => return (Ok(claims), writes),
            Ok(CallStep::Wait(d)) => {
                clock += d.as_secs().max(1);
                call.handle_waited(UnixTime::from_secs(clock)).unwrap();
            }
            Ok(CallStep::ReadSession) => call.handle_read(store.clone(), &mut reader, now).unwrap(),
            Ok(CallStep::WriteSession { expected, new }) => {
                writes += 1;
                if let Some(text) = around.written_meanwhile.take() {
                    *store = Some(text);
                }
                if around.failing_writes > 0 {
                    around.failing_writes -= 1;
                    assert!(
                        call.handle_write_failed(now),
                        "a new session is worth retrying"
                    );
                    continue;
                }
                let written = *store == expected;
                if written {
                    *store = new;
                }
                call.handle_written(written, now).unwrap();
            }
            Ok(CallStep::Send(request)) if request.url.ends_with("/jwks") => {
                let keys = HttpResponse::new(200, h.provider.jwks().to_string());
                call.handle_response(keys, now).unwrap();
            }
            Ok(CallStep::Send(request)) => {
                assert!(request.url.ends_with("/token"), "{}", request.url);
                polls += 1;
                let answer = match (polls, denied) {
                    (1, _) => refused("authorization_pending"),
                    (_, true) => refused("access_denied"),
                    (_, false) => {
                        let id = h.provider.sign(&id_claims(clock, None));
                        HttpResponse::new(200, json!({
                            "access_token": "at-device", "token_type": "Bearer", "expires_in": 3600,
                            "id_token": id, "refresh_token": "rt-device",
                        }).to_string())
                    }
                };
                call.handle_response(answer, now).unwrap();
            }
            Ok(other) => panic!("unexpected step {other:?}"),
        }
    }
}

fn stored(store: &Option<String>) -> Snapshot {
    Snapshot::from_json(store.as_deref().unwrap()).unwrap()
}

#[test]
fn a_device_sign_in_replaces_whatever_is_stored_and_only_once_signed_in() {
    // Another user's session, with a token cached and a refresh lease held elsewhere; a
    // write meanwhile makes the first compare-and-swap fail.
    let other = Harness::signed_in("ES384");
    let mut old = other.snapshot.clone();
    let leased = old.acquire_refresh_lease("another-client.1", UnixTime::from_secs(T0), 30);
    assert!(matches!(leased, LeaseState::Acquired));
    let mut h = Harness::new("ES384");
    let mut store = Some(old.to_json());
    let meanwhile = other.snapshot.to_json();
    let around = StoreAround {
        written_meanwhile: Some(meanwhile),
        failing_writes: 0,
    };
    let (outcome, writes) = device_call(&mut h, &mut store, false, around);
    assert_eq!(outcome.unwrap().sub, USER);
    assert_eq!(writes, 2, "written again after the conflict");
    let session = stored(&store);
    assert_eq!(
        session.refresh_token().map(Secret::expose),
        Some("rt-device")
    );
    assert!(
        session.refresh_lease().is_none(),
        "the replaced session's lease is gone with it"
    );
    assert_eq!(
        session.access_tokens().len(),
        1,
        "only the new session's token"
    );

    // A store whose text is unreadable is replaced too; a store that fails a while is retried.
    let mut store = Some("{not a session".to_owned());
    let around = StoreAround {
        written_meanwhile: None,
        failing_writes: 3,
    };
    let (outcome, writes) = device_call(&mut Harness::new("ES384"), &mut store, false, around);
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(writes, 4);
    assert_eq!(
        stored(&store).refresh_token().map(Secret::expose),
        Some("rt-device")
    );

    // Refused: nothing is written.
    let mut store = Some(old.to_json());
    let (outcome, writes) = device_call(
        &mut Harness::new("ES384"),
        &mut store,
        true,
        StoreAround::default(),
    );
    assert!(
        matches!(outcome, Err(Error::Device(DeviceError::Denied(_)))),
        "{outcome:?}"
    );
    assert_eq!((writes, store), (0, Some(old.to_json())));
}
