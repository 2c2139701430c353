//! Model-based property test of the session engine: 2-4 clients interleave their calls
//! (sign-in, callback, access tokens for several resources and organizations, userinfo,
//! forced refresh, clearing tokens, sign-out) step by step on one simulated store and one
//! simulated provider that, like Logto, revokes the whole grant when a consumed refresh token
//! is presented. Calls are dropped at any step, the clock jumps past token expiry and lease
//! lifetimes, and writes conflict whenever another client wrote in between.
//!
//! Invariants, after every step:
//! - no consumed refresh token is ever presented (the grant is never revoked by a client);
//! - a signed-out session never comes back: the stored refresh token, if any, belongs to a
//!   grant made after the last completed sign-out;
//! - when no call is in flight, a stored refresh token is live at the provider (no rotated
//!   token was lost, no consumed one written back);
//! - a call that found a fresh cached token made no request and no write.
//!
//! A second property: N clients that all need one expired token cause exactly one refresh.
//! `PROPTEST_CASES` sets the number of sequences (default 256).

mod support;

use logto_proto::adapter::*;
use logto_proto::adapter::{Call, CallInputs, SessionReader};
use logto_proto::{
    adapter, AccessToken, Config, Error, IdTokenClaims, SignInOptions, SignOutResult, TokenTarget,
    UnixTime, UserInfo,
};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use support::*;

/// What the sequences reached: completed sign-ins, refreshes, write conflicts, lease waits,
/// dropped calls, sign-outs, calls refused because the session was signed out meanwhile.
static REACHED: [AtomicUsize; 7] = [const { AtomicUsize::new(0) }; 7];

fn targets() -> [TokenTarget; 4] {
    [
        TokenTarget::userinfo(),
        TokenTarget::resource(API),
        TokenTarget::organization("org1"),
        TokenTarget::resource_in_organization(API, "org1"),
    ]
}

#[derive(Clone, Debug)]
enum Kind {
    SignIn,
    Callback,
    Token { target: usize, force: bool },
    UserInfo,
    Clear,
    SignOut,
}

#[derive(Clone, Debug)]
enum Op {
    Start { client: usize, kind: Kind },
    Advance { client: usize, times: u8 },
    Drop { client: usize },
    Wait(u64),
    Fault500,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        2 => Just(Kind::SignIn),
        3 => Just(Kind::Callback),
        6 => (0usize..4, prop::bool::weighted(0.2)).prop_map(|(target, force)| Kind::Token { target, force }),
        2 => Just(Kind::UserInfo),
        1 => Just(Kind::Clear),
        1 => Just(Kind::SignOut),
    ]
}

fn op(clients: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..clients, kind()).prop_map(|(client, kind)| Op::Start { client, kind }),
        10 => (0..clients, 1u8..6).prop_map(|(client, times)| Op::Advance { client, times }),
        1 => (0..clients).prop_map(|client| Op::Drop { client }),
        1 => prop_oneof![1u64..30, 3000u64..4000].prop_map(Op::Wait),
        1 => Just(Op::Fault500),
    ]
}

/// A call in flight, whatever it returns.
enum Running {
    SignIn(Call<'static, String>),
    Callback(Call<'static, IdTokenClaims>),
    Token(Call<'static, AccessToken>, bool),
    UserInfo(Call<'static, UserInfo>),
    Clear(Call<'static, ()>),
    SignOut(Call<'static, SignOutResult>),
}

/// What a finished call returned, for the checks.
enum Outcome {
    SignIn(Result<String, Error>),
    /// Whether the sign-in completed.
    Callback(bool),
    Token(Result<AccessToken, Error>, bool),
    UserInfo,
    Clear,
    SignOut(Result<SignOutResult, Error>),
}

struct Client {
    holder: String,
    reader: SessionReader,
    calls: u64,
    running: Option<Running>,
    /// A request the call sent and the provider has not received yet.
    in_flight: Option<HttpRequest>,
    /// Requests and writes of the running call.
    requests: usize,
    writes: usize,
    /// The running token call's target, unless forced.
    cached_target: Option<TokenTarget>,
    /// When the running call's first read found a fresh cached token.
    found_fresh: Option<UnixTime>,
    reads: usize,
    /// When the running call took its first step.
    first_step: Option<UnixTime>,
    /// Whether the running call is a sign-out.
    signing_out: bool,
}

struct World {
    config: &'static Config,
    provider: SimProvider,
    store: Option<String>,
    cache: ProviderCache,
    clients: Vec<Client>,
    auth_url: Option<String>,
    /// Grants whose refresh tokens the store ever held.
    stored_grants: std::collections::BTreeSet<usize>,
    /// The grants a sign-out ended (every grant stored before its write): gone for good.
    ended_grants: std::collections::BTreeSet<usize>,
    /// Whether the last step was a storage read or write.
    last_was_storage: bool,
}

impl World {
    fn new(clients: usize) -> World {
        World {
            config: Box::leak(Box::new(config())),
            provider: SimProvider::new("ES384"),
            store: None,
            cache: ProviderCache::new(),
            clients: (0..clients)
                .map(|i| Client {
                    holder: format!("client{i}"),
                    reader: SessionReader::default(),
                    calls: 0,
                    running: None,
                    in_flight: None,
                    requests: 0,
                    writes: 0,
                    cached_target: None,
                    found_fresh: None,
                    reads: 0,
                    first_step: None,
                    signing_out: false,
                })
                .collect(),
            auth_url: None,
            stored_grants: Default::default(),
            ended_grants: Default::default(),
            last_was_storage: false,
        }
    }

    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.provider.now)
    }

    fn stored(&self) -> Snapshot {
        self.store
            .as_deref()
            .map(|s| Snapshot::from_json(s).unwrap())
            .unwrap_or_default()
    }

    fn start(&mut self, c: usize, kind: &Kind) {
        if self.clients[c].running.is_some() {
            return;
        }
        let client = &mut self.clients[c];
        client.calls += 1;
        let env = CallInputs::new(
            self.config,
            std::sync::Arc::new(self.cache.clone()),
            Box::leak(client.holder.clone().into_boxed_str()),
            client.calls,
        );
        client.requests = 0;
        client.writes = 0;
        client.found_fresh = None;
        client.cached_target = None;
        client.reads = 0;
        client.first_step = None;
        client.signing_out = matches!(kind, Kind::SignOut);
        let running = match kind {
            Kind::SignIn => {
                let entropy = SignInEntropy::from_bytes([client.calls as u8; 96]);
                Running::SignIn(Call::sign_in(
                    env,
                    SignInOptions::new(REDIRECT_URI),
                    entropy,
                ))
            }
            Kind::Callback => {
                let Some(url) = self.auth_url.clone() else {
                    return;
                };
                let callback = self.provider.authorize(&url);
                Running::Callback(Call::handle_sign_in_callback(env, &callback))
            }
            Kind::Token { target, force } => {
                let target = targets()[*target].clone();
                client.cached_target = (!force).then(|| target.clone());
                Running::Token(Call::access_token(env, target, *force), *force)
            }
            Kind::UserInfo => Running::UserInfo(Call::fetch_user_info(env)),
            Kind::Clear => Running::Clear(Call::clear_access_tokens(
                env,
                Some(TokenTarget::resource(API)),
            )),
            Kind::SignOut => Running::SignOut(Call::sign_out(env, None)),
        };
        client.running = Some(running);
    }

    /// One step of client `c`'s call: a storage step with its answer, sending a request, or
    /// delivering the request in flight and handling the response.
    fn advance(&mut self, c: usize) -> Result<(), TestCaseError> {
        let Some(mut running) = self.clients[c].running.take() else {
            return Ok(());
        };
        let done = match &mut running {
            Running::SignIn(call) => self.advance_call(c, call).map(Outcome::SignIn),
            Running::Callback(call) => self
                .advance_call(c, call)
                .map(|r| Outcome::Callback(r.is_ok())),
            Running::Token(call, force) => {
                let force = *force;
                self.advance_call(c, call).map(|r| Outcome::Token(r, force))
            }
            Running::UserInfo(call) => self.advance_call(c, call).map(|_| Outcome::UserInfo),
            Running::Clear(call) => self.advance_call(c, call).map(|_| Outcome::Clear),
            Running::SignOut(call) => self.advance_call(c, call).map(Outcome::SignOut),
        };
        match done {
            None => self.clients[c].running = Some(running),
            Some(outcome) => self.check_outcome(c, outcome)?,
        }
        Ok(())
    }

    fn advance_call<T>(
        &mut self,
        c: usize,
        call: &mut Call<'static, T>,
    ) -> Option<Result<T, Error>> {
        let now = self.now();
        if let Some(request) = self.clients[c].in_flight.take() {
            let response = self.provider.handle(request);
            if let Err(e) = call.handle_response(response, now) {
                return Some(Err(e));
            }
            // The storage steps that follow a response (the write-back of a rotated refresh
            // token, and a merge after a conflict) run before the call can be dropped again:
            // a drop while that write is in flight counts as losing the request in flight,
            // which no client can avoid.
            return self.storage_steps(c, call);
        }
        self.one_step(c, call)
    }

    fn storage_steps<T>(
        &mut self,
        c: usize,
        call: &mut Call<'static, T>,
    ) -> Option<Result<T, Error>> {
        loop {
            let before = (self.store.clone(), self.clients[c].writes);
            let done = self.one_step(c, call);
            let storage_step = self.clients[c].in_flight.is_none()
                && done.is_none()
                && (self.store != before.0
                    || self.clients[c].writes != before.1
                    || self.last_was_storage);
            if done.is_some() || !storage_step {
                return done;
            }
        }
    }

    fn one_step<T>(&mut self, c: usize, call: &mut Call<'static, T>) -> Option<Result<T, Error>> {
        let now = self.now();
        self.clients[c].first_step.get_or_insert(now);
        self.last_was_storage = false;
        let step = match call.step(now) {
            Ok(step) => step,
            Err(e) => return Some(Err(e)),
        };
        let result = match step {
            CallStep::Done(value) => return Some(Ok(value)),
            CallStep::ReadSession => {
                self.last_was_storage = true;
                let stored = self.store.clone();
                let client = &mut self.clients[c];
                if client.reads == 0 {
                    if let Some(target) = &client.cached_target {
                        let snapshot = stored.as_deref().map(|s| Snapshot::from_json(s).unwrap());
                        let leeway = self.config.expiry_leeway();
                        let fresh = snapshot
                            .is_some_and(|s| s.fresh_access_token(target, now, leeway).is_some());
                        client.found_fresh = fresh.then_some(now);
                    }
                }
                client.reads += 1;
                call.handle_read(stored, &mut self.clients[c].reader, now)
            }
            CallStep::WriteSession { expected, new } => {
                self.last_was_storage = true;
                let written = self.store == expected;
                if written {
                    self.store = new;
                    self.clients[c].writes += 1;
                    if self.clients[c].signing_out {
                        // A sign-out's write: every session stored so far is over.
                        self.ended_grants = self.stored_grants.clone();
                    }
                    self.note_stored_grant();
                } else {
                    REACHED[2].fetch_add(1, Relaxed);
                }
                call.handle_written(written, now)
            }
            CallStep::Wait(_) => {
                REACHED[3].fetch_add(1, Relaxed);
                call.handle_waited(now)
            }
            CallStep::Send(request) => {
                self.clients[c].requests += 1;
                if request.url.ends_with("/token/revocation") && !self.clients[c].signing_out {
                    // A refresh that landed after a sign-out: its token is revoked.
                    REACHED[6].fetch_add(1, Relaxed);
                }
                if call.fetches_provider_data() && call.handle_shared_cache(&self.cache, now) {
                    return None;
                }
                if request.url.ends_with("/token")
                    && String::from_utf8_lossy(&request.body).contains("refresh_token")
                {
                    REACHED[1].fetch_add(1, Relaxed);
                }
                self.clients[c].in_flight = Some(request);
                Ok(())
            }
            _ => Err(Error::Usage("unknown step")),
        };
        self.cache.merge(call.provider_cache(), now);
        result.err().map(Err)
    }

    fn check_outcome(&mut self, c: usize, outcome: Outcome) -> Result<(), TestCaseError> {
        let client = &self.clients[c];
        let (requests, writes, found_fresh) = (client.requests, client.writes, client.found_fresh);
        let started = client.first_step.unwrap_or(self.now());
        match outcome {
            Outcome::SignIn(result) => {
                if let Ok(url) = result {
                    self.auth_url = Some(url);
                }
            }
            Outcome::Callback(signed_in) => {
                if signed_in {
                    REACHED[0].fetch_add(1, Relaxed);
                }
            }
            Outcome::Token(result, _force) => {
                if found_fresh == Some(self.now()) {
                    // A fresh cached token (and no clock jump since): no request, no write.
                    prop_assert!(result.is_ok(), "{result:?}");
                    prop_assert_eq!(requests, 0);
                    prop_assert_eq!(writes, 0);
                }
                if let Ok(token) = &result {
                    // Never a token expired before the call began (the model's clock may
                    // jump between a call's steps, so this is the time the check can use).
                    prop_assert!(token.expires_at > started, "expired token returned");
                }
            }
            Outcome::SignOut(result) => {
                prop_assert!(result.is_ok(), "{result:?}");
                REACHED[5].fetch_add(1, Relaxed);
                self.auth_url = None;
            }
            Outcome::UserInfo | Outcome::Clear => {}
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Start { client, kind } => self.start(*client, kind),
            Op::Advance { client, times } => {
                for _ in 0..*times {
                    self.advance(*client)?;
                }
            }
            Op::Drop { client } => {
                // Cancelled at a step boundary: a request not yet received is lost unsent.
                let client = &mut self.clients[*client];
                if client.running.take().is_some() {
                    REACHED[4].fetch_add(1, Relaxed);
                }
                client.in_flight = None;
            }
            Op::Wait(secs) => {
                self.provider.now += secs;
                if *secs >= self.config.request_timeout().as_secs() {
                    self.time_out_requests();
                }
            }
            Op::Fault500 => self.provider.faults.push_back(support::Fault::Status(
                500,
                serde_json::json!({"error": "server_error"}),
            )),
        }
        self.check_invariants()
    }

    /// Requests in flight longer than the request timeout fail without reaching the
    /// provider (a request that reached it and whose answer was lost is the one loss no
    /// client can avoid, and is not modelled).
    fn time_out_requests(&mut self) {
        let now = self.now();
        for client in &mut self.clients {
            if client.in_flight.take().is_none() {
                continue;
            }
            let failed = match client.running.as_mut() {
                Some(Running::SignIn(call)) => call.handle_transport_error(now),
                Some(Running::Callback(call)) => call.handle_transport_error(now),
                Some(Running::Token(call, _)) => call.handle_transport_error(now),
                Some(Running::UserInfo(call)) => call.handle_transport_error(now),
                Some(Running::Clear(call)) => call.handle_transport_error(now),
                Some(Running::SignOut(call)) => call.handle_transport_error(now),
                None => true,
            };
            assert!(failed, "a session call goes on after a failed request");
        }
    }

    fn note_stored_grant(&mut self) {
        let grant = self
            .stored()
            .refresh_token()
            .and_then(|rt| self.provider.grant_of(rt.expose()));
        self.stored_grants.extend(grant);
    }

    fn check_invariants(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            self.provider.reuse_detected,
            0,
            "a consumed refresh token was presented"
        );
        let stored = self.stored();
        if let Some(rt) = stored.refresh_token() {
            if let Some(grant) = self.provider.grant_of(rt.expose()) {
                prop_assert!(
                    !self.ended_grants.contains(&grant),
                    "a signed-out session came back"
                );
            }
            let idle = self.clients.iter().all(|c| c.running.is_none());
            if idle {
                prop_assert!(
                    self.provider.is_live_refresh_token(rt.expose()),
                    "the stored refresh token is consumed or revoked"
                );
            }
        }
        Ok(())
    }

    /// Runs every call in flight to its end (round robin), with time enough for leases of
    /// dropped calls to lapse.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        for round in 0..10_000 {
            if self.clients.iter().all(|c| c.running.is_none()) {
                return Ok(());
            }
            if round % 500 == 499 {
                self.provider.now += 200;
                self.time_out_requests();
            }
            for c in 0..self.clients.len() {
                self.advance(c)?;
                self.check_invariants()?;
            }
        }
        prop_assert!(false, "calls never finished");
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    fn interleaved_clients_cases(
        (clients, ops) in (2usize..=4).prop_flat_map(|n| (Just(n), proptest::collection::vec(op(n), 1..=80)))
    ) {
        let mut world = World::new(clients);
        // Most sequences start signed in, so that the interesting part is reached.
        world.start(0, &Kind::SignIn);
        world.settle()?;
        world.start(0, &Kind::Callback);
        world.settle()?;
        for op in &ops {
            world.step(op)?;
        }
        world.settle()?;
    }

    /// N clients needing one expired token, in any interleaving: exactly one refresh, and
    /// every one of them gets the token.
    fn one_refresh_for_many_clients_cases(
        (clients, schedule) in (2usize..=4).prop_flat_map(|n| (Just(n), proptest::collection::vec(0..n, 0..200)))
    ) {
        let mut world = World::new(clients);
        world.start(0, &Kind::SignIn);
        world.settle()?;
        world.start(0, &Kind::Callback);
        world.settle()?;
        world.provider.now += 4000; // every cached token is expired
        let refreshes = world.provider.refresh_requests();
        let kind = Kind::Token { target: 1, force: false };
        for c in 0..clients {
            world.start(c, &kind);
        }
        let mut tokens = Vec::new();
        let mut run = |world: &mut World, c: usize| -> Result<(), TestCaseError> {
            let Some(Running::Token(mut call, _)) = world.clients[c].running.take() else {
                return Ok(());
            };
            match world.advance_call(c, &mut call) {
                None => world.clients[c].running = Some(Running::Token(call, false)),
                Some(result) => tokens.push(result.map(|t| t.token.expose().to_owned())),
            }
            world.check_invariants()
        };
        for &c in &schedule {
            run(&mut world, c)?;
        }
        while world.clients.iter().any(|c| c.running.is_some()) {
            for c in 0..clients {
                run(&mut world, c)?;
            }
        }
        prop_assert_eq!(world.provider.refresh_requests(), refreshes + 1);
        prop_assert_eq!(tokens.len(), clients);
        let first = tokens[0].clone().unwrap();
        prop_assert!(tokens.iter().all(|t| t.as_ref() == Ok(&first)), "{tokens:?}");
    }
}

/// Runs the properties, then checks that the sequences reached every interesting state.
#[test]
fn interleaved_clients() {
    interleaved_clients_cases();
    one_refresh_for_many_clients_cases();
    let reached: Vec<usize> = REACHED.iter().map(|r| r.load(Relaxed)).collect();
    eprintln!(
        "reached: sign-ins, refreshes, write conflicts, lease waits, dropped calls, sign-outs, \
         revocations after a sign-out meanwhile = {reached:?}"
    );
    assert!(
        reached[..6].iter().all(|&n| n > 0),
        "unreached states: {reached:?}"
    );
}

/// Waiting for another holder's lease is bounded: with the clock standing still (the holder
/// stuck), the call gives up with a typed error after about one lease lifetime of waits.
#[test]
fn waiting_for_a_stuck_lease_ends_with_a_typed_error() {
    let mut world = World::new(2);
    world.start(0, &Kind::SignIn);
    world.settle().unwrap();
    world.start(0, &Kind::Callback);
    world.settle().unwrap();
    world.provider.now += 4000;
    // Client 0 takes the lease and is stopped there (its process hangs).
    world.start(
        0,
        &Kind::Token {
            target: 1,
            force: false,
        },
    );
    while world.stored().refresh_lease().is_none() {
        world.advance(0).unwrap();
    }
    let until = world.stored().refresh_lease().unwrap().until;
    // Client 1 waits for it, with no time passing, until it gives up.
    let env = CallInputs::new(
        world.config,
        std::sync::Arc::new(world.cache.clone()),
        "client1",
        1,
    );
    let mut call = Call::access_token(env, TokenTarget::resource(API), false);
    let mut reader = SessionReader::default();
    let now = world.now();
    let mut waits = 0;
    let outcome = loop {
        match call.step(now) {
            Ok(CallStep::ReadSession) => call
                .handle_read(world.store.clone(), &mut reader, now)
                .unwrap(),
            Ok(CallStep::Wait(duration)) => {
                assert!(duration <= std::time::Duration::from_millis(50));
                waits += 1;
                call.handle_waited(now).unwrap();
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(outcome, Error::SessionBusy { until });
    let ttl = adapter::refresh_lease_ttl(world.config);
    assert_eq!(
        waits,
        (ttl + 1) * 20,
        "about one lease lifetime of 50 ms waits"
    );
    assert_eq!(world.provider.reuse_detected, 0);
}
