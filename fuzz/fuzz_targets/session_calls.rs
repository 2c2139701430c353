#![no_main]
//! Session calls (`logto_proto::adapter::Call`) of two clients interleaved by the fuzzer on
//! one store, with every answer the fuzzer's choice: the store's value as read (the real one
//! or fuzz text), compare-and-swap results (honest, or a conflict with fuzz text written by
//! "someone else"), HTTP answers (the example provider's documents, fuzz bodies and statuses,
//! transport failures), waits, clock jumps and dropped calls.
//!
//! Invariants: no panic; a call answered by the protocol never reports misuse
//! (`Error::Usage`); a call ends within a bounded number of steps once the store answers
//! honestly; nothing a call writes fails to parse back as a session.
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use logto_proto::adapter::*;
use logto_proto::adapter::{Call, CallInputs, CallStep, SessionReader};
use logto_proto::{
    AccessToken, Config, Error, IdTokenClaims, SignInOptions, SignOutResult, TokenTarget, UnixTime,
    UserInfo,
};
use logto_proto_fuzz::example;
use std::sync::OnceLock;

#[derive(Arbitrary, Debug)]
enum Kind {
    SignIn,
    Callback,
    Token { target: u8, force: bool },
    UserInfo,
    Clear,
    SignOut,
}

#[derive(Arbitrary, Debug)]
enum Answer {
    /// The honest answer: the store as it is, a real compare-and-swap, the example provider.
    Honest,
    /// The store holds this text (read), or someone else wrote it first (write).
    Foreign(String),
    /// This HTTP answer (status and body).
    Http(u16, Vec<u8>),
    Transport,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Start { client: bool, kind: Kind },
    Step { client: bool, answer: Answer },
    Drop { client: bool },
    Wait(u16),
}

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::builder("https://tenant.logto.app", "app-id")
            .app_secret("app-secret")
            .scopes(["urn:logto:scope:organizations"])
            .resources(["https://api.example.com"])
            .build()
            .expect("example config")
    })
}

enum Running {
    SignIn(Call<'static, String>),
    Callback(Call<'static, IdTokenClaims>),
    Token(Call<'static, AccessToken>),
    UserInfo(Call<'static, UserInfo>),
    Clear(Call<'static, ()>),
    SignOut(Call<'static, SignOutResult>),
}

struct World {
    store: Option<String>,
    now: u64,
    readers: [SessionReader; 2],
    calls: u64,
}

fn honest_http(request: &HttpRequest) -> HttpResponse {
    let body = if request.url.ends_with("openid-configuration") {
        example::DISCOVERY
    } else if request.url.ends_with("/jwks") {
        example::JWKS
    } else if request.url.ends_with("/token") {
        example::TOKEN_RESPONSE
    } else {
        "{}"
    };
    HttpResponse::new(200, body)
}

/// One step of a call with the fuzzer's answer; `Some` when the call is over.
fn step<T>(
    world: &mut World,
    client: usize,
    call: &mut Call<'static, T>,
    answer: &Answer,
) -> Option<()> {
    let now = UnixTime::from_secs(world.now);
    let step = match call.step(now) {
        Ok(step) => step,
        Err(Error::Usage(what)) => {
            panic!("misuse reported to a driver that follows the protocol: {what}")
        }
        Err(_) => return Some(()),
    };
    let handled = match step {
        CallStep::Done(_) => return Some(()),
        CallStep::ReadSession => {
            let stored = match answer {
                Answer::Foreign(text) => Some(text.clone()),
                _ => world.store.clone(),
            };
            call.handle_read(stored, &mut world.readers[client], now)
        }
        CallStep::WriteSession { expected, new } => {
            if let Some(text) = &new {
                assert!(
                    Snapshot::from_json(text).is_ok(),
                    "a call wrote a session it cannot read"
                );
            }
            let written = match answer {
                Answer::Foreign(text) => {
                    world.store = Some(text.clone());
                    false
                }
                _ if world.store == expected => {
                    world.store = new;
                    true
                }
                _ => false,
            };
            call.handle_written(written, now)
        }
        CallStep::Wait(_) => call.handle_waited(now),
        CallStep::Send(request) => match answer {
            Answer::Transport => {
                let _ = call.handle_transport_error(now);
                Ok(())
            }
            Answer::Http(status, body) => {
                call.handle_response(HttpResponse::new(*status, body.clone()), now)
            }
            _ => call.handle_response(honest_http(&request), now),
        },
        _ => return Some(()),
    };
    match handled {
        Err(Error::Usage(what)) => {
            panic!("misuse reported to a driver that follows the protocol: {what}")
        }
        Err(_) => Some(()),
        Ok(()) => None,
    }
}

fn advance(world: &mut World, client: usize, running: &mut Running, answer: &Answer) -> bool {
    match running {
        Running::SignIn(call) => step(world, client, call, answer).is_some(),
        Running::Callback(call) => step(world, client, call, answer).is_some(),
        Running::Token(call) => step(world, client, call, answer).is_some(),
        Running::UserInfo(call) => step(world, client, call, answer).is_some(),
        Running::Clear(call) => step(world, client, call, answer).is_some(),
        Running::SignOut(call) => step(world, client, call, answer).is_some(),
    }
}

fuzz_target!(|actions: Vec<Action>| {
    let mut world = World {
        store: None,
        now: logto_proto_fuzz::T0,
        readers: [SessionReader::default(), SessionReader::default()],
        calls: 0,
    };
    let mut running: [Option<Running>; 2] = [None, None];
    for action in actions.iter().take(400) {
        match action {
            Action::Start { client, kind } => {
                let c = usize::from(*client);
                if running[c].is_some() {
                    continue;
                }
                world.calls += 1;
                let env = CallInputs::new(
                    config(),
                    std::sync::Arc::default(),
                    if *client { "b" } else { "a" },
                    world.calls,
                );
                let targets = [
                    TokenTarget::userinfo(),
                    TokenTarget::resource("https://api.example.com"),
                    TokenTarget::organization("org1"),
                ];
                running[c] = Some(match kind {
                    Kind::SignIn => Running::SignIn(Call::sign_in(
                        env,
                        SignInOptions::new("https://app.example.com/callback"),
                        SignInEntropy::from_bytes([7; 96]),
                    )),
                    Kind::Callback => Running::Callback(Call::handle_sign_in_callback(
                        env,
                        &format!(
                            "https://app.example.com/callback?code=c&state={}&iss=https%3A%2F%2Ftenant.logto.app%2Foidc",
                            example::STATE
                        ),
                    )),
                    Kind::Token { target, force } => Running::Token(Call::access_token(
                        env,
                        targets[usize::from(*target) % 3].clone(),
                        *force,
                    )),
                    Kind::UserInfo => Running::UserInfo(Call::fetch_user_info(env)),
                    Kind::Clear => Running::Clear(Call::clear_access_tokens(env, None)),
                    Kind::SignOut => Running::SignOut(Call::sign_out(env, None)),
                });
            }
            Action::Step { client, answer } => {
                let c = usize::from(*client);
                if let Some(call) = running[c].as_mut() {
                    if advance(&mut world, c, call, answer) {
                        running[c] = None;
                    }
                }
            }
            Action::Drop { client } => running[usize::from(*client)] = None,
            Action::Wait(secs) => world.now += u64::from(*secs),
        }
    }
    // With honest answers (and time for leases of dropped calls to lapse) every call ends.
    for c in 0..2 {
        let mut steps = 0;
        while let Some(call) = running[c].as_mut() {
            steps += 1;
            assert!(steps < 10_000, "a call never ended");
            if steps % 1000 == 0 {
                world.now += 200;
            }
            if advance(&mut world, c, call, &Answer::Honest) {
                running[c] = None;
            }
        }
    }
});
