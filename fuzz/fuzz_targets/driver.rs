#![no_main]
//! A whole session driven by the fuzzer: it picks a sequence of operations (sign in, callback
//! with a valid or tampered URL, access tokens for several targets incl. organizations,
//! userinfo, sign out, snapshot reload, cache loss, time passing) and every HTTP answer (status
//! and body: fuzz bytes, the real discovery/JWKS/token documents, token responses with
//! fuzz-chosen fields, Logto error bodies incl. `invalid_grant`) or a transport error.
//! The provider is `logto_proto::example`, whose ID token is really signed, so the happy paths
//! are reachable.
//!
//! Invariants: no panic; `Snapshot::from_json(s.to_json()) == s` after every operation; a
//! failed access-token operation (transport error or any error but `invalid_grant`) keeps the
//! refresh token, except for a rotated one the provider returned in a 2xx token response;
//! `invalid_grant` on refresh clears the tokens; after sign-out there are no tokens and no
//! pending sign-in; a callback whose `state` is not exactly the pending one changes nothing
//! (so never authenticates) and sends nothing to the token endpoint.
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use logto_proto::adapter::*;
use logto_proto::internals::*;
use logto_proto::{Config, Error, SignInOptions, TokenTarget, UnixTime};
use logto_proto_fuzz::example;
use std::sync::OnceLock;

const ISSUER: &str = "https://tenant.logto.app/oidc";
const TOKEN_ENDPOINT: &str = "https://tenant.logto.app/oidc/token";
const REDIRECT: &str = "https://app.example.com/callback";
const API: &str = "https://api.example.com";

#[derive(Arbitrary, Debug)]
enum Action {
    /// Sign-in and a valid callback answered by a correct provider (a shortcut to a session).
    Login,
    SignIn {
        entropy: Option<u8>,
        organization: bool,
    },
    Callback(CallbackUrl),
    AccessToken {
        target: u8,
        force: bool,
    },
    /// `true`: built `without_refresh`.
    UserInfo(bool),
    SignOut {
        redirect: bool,
    },
    Reload,
    /// Refresh lease of holder A (false) or B (true) for `ttl` seconds.
    Lease {
        holder: bool,
        ttl: u16,
    },
    Release {
        holder: bool,
    },
    ForgetCache,
    Wait(u16),
    WaitLong(u8),
}

#[derive(Arbitrary, Debug)]
enum CallbackUrl {
    Built {
        base: Base,
        code: Option<String>,
        state: StateChoice,
        iss: IssChoice,
        error: Option<String>,
        extra: Option<(String, String)>,
    },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Base {
    Right,
    OtherPath,
    OtherHost,
    Fuzz(String),
}

#[derive(Arbitrary, Debug)]
enum StateChoice {
    Pending,
    Example,
    Missing,
    Twice,
    FlipByte(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum IssChoice {
    Right,
    Missing,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Reply {
    /// What a correct provider answers to this request.
    Good,
    Transport,
    Http {
        status: Status,
        body: Body,
    },
}

#[derive(Arbitrary, Debug)]
enum Status {
    Ok,
    BadRequest,
    Unauthorized,
    Forbidden,
    ServerError,
    Any(u16),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Bytes(Vec<u8>),
    Discovery,
    Jwks,
    ExampleToken,
    Token(TokenFields),
    LogtoError {
        error: ErrorCode,
        description: String,
    },
    UserInfo(Vec<u8>),
    Empty,
}

#[derive(Arbitrary, Debug)]
enum ErrorCode {
    InvalidGrant,
    InvalidClient,
    AccessDenied,
    InvalidToken,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct TokenFields {
    access_token: Option<JsonValue>,
    token_type: Option<JsonValue>,
    expires_in: Option<JsonValue>,
    scope: Option<JsonValue>,
    id_token: Option<IdToken>,
    refresh_token: Option<JsonValue>,
}

#[derive(Arbitrary, Debug)]
enum IdToken {
    Example,
    Mangled { index: u16, byte: u8 },
    Value(JsonValue),
}

#[derive(Arbitrary, Debug)]
enum JsonValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Array(Vec<String>),
}

impl JsonValue {
    fn to_json(&self) -> serde_json::Value {
        match self {
            JsonValue::Str(s) => s.as_str().into(),
            JsonValue::Int(i) => (*i).into(),
            JsonValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            JsonValue::Bool(b) => (*b).into(),
            JsonValue::Null => serde_json::Value::Null,
            JsonValue::Array(v) => v.clone().into(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    actions: Vec<Action>,
    replies: Vec<Reply>,
}

fn example_id_token() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        let v: serde_json::Value = serde_json::from_str(example::TOKEN_RESPONSE).unwrap();
        v["id_token"].as_str().unwrap().to_owned()
    })
}

fn status(s: &Status) -> u16 {
    match s {
        Status::Ok => 200,
        Status::BadRequest => 400,
        Status::Unauthorized => 401,
        Status::Forbidden => 403,
        Status::ServerError => 500,
        Status::Any(n) => *n,
    }
}

fn body(b: &Body) -> Vec<u8> {
    match b {
        Body::Bytes(v) => v.clone(),
        Body::UserInfo(v) => {
            let mut j = serde_json::json!({"sub": "user-1", "name": "Alice", "custom_data": {"plan": "pro"}, "created_at": 1_700_000_000_000_i64});
            j["extra"] = String::from_utf8_lossy(v).into_owned().into();
            j.to_string().into_bytes()
        }
        Body::Discovery => example::DISCOVERY.as_bytes().to_vec(),
        Body::Jwks => example::JWKS.as_bytes().to_vec(),
        Body::ExampleToken => example::TOKEN_RESPONSE.as_bytes().to_vec(),
        Body::Token(t) => {
            let mut o = serde_json::Map::new();
            let mut put = |k: &str, v: &Option<JsonValue>| {
                if let Some(v) = v {
                    o.insert(k.to_owned(), v.to_json());
                }
            };
            put("access_token", &t.access_token);
            put("token_type", &t.token_type);
            put("expires_in", &t.expires_in);
            put("scope", &t.scope);
            put("refresh_token", &t.refresh_token);
            match &t.id_token {
                None => {}
                Some(IdToken::Example) => {
                    o.insert("id_token".into(), example_id_token().into());
                }
                Some(IdToken::Mangled { index, byte }) => {
                    let mut tok = example_id_token().as_bytes().to_vec();
                    let i = *index as usize % tok.len();
                    tok[i] = *byte;
                    o.insert(
                        "id_token".into(),
                        String::from_utf8_lossy(&tok).into_owned().into(),
                    );
                }
                Some(IdToken::Value(v)) => {
                    o.insert("id_token".into(), v.to_json());
                }
            }
            serde_json::Value::Object(o).to_string().into_bytes()
        }
        Body::LogtoError { error, description } => {
            let e = match error {
                ErrorCode::InvalidGrant => "invalid_grant",
                ErrorCode::InvalidClient => "invalid_client",
                ErrorCode::AccessDenied => "access_denied",
                ErrorCode::InvalidToken => "invalid_token",
                ErrorCode::Other(s) => s.as_str(),
            };
            serde_json::json!({"code": format!("oidc.{e}"), "message": description, "error": e, "error_description": description})
                .to_string()
                .into_bytes()
        }
        Body::Empty => Vec::new(),
    }
}

/// A correct provider's answer.
fn good(request: &HttpRequest) -> HttpResponse {
    let body: Vec<u8> = match request.url.as_str() {
        "https://tenant.logto.app/oidc/.well-known/openid-configuration" => example::DISCOVERY.into(),
        "https://tenant.logto.app/oidc/jwks" => example::JWKS.into(),
        TOKEN_ENDPOINT => example::TOKEN_RESPONSE.into(),
        "https://tenant.logto.app/oidc/me" => {
            br#"{"sub":"user-1","name":"Alice","custom_data":{"plan":"pro"},"created_at":1700000000000}"#.to_vec()
        }
        _ => Vec::new(),
    };
    HttpResponse::new(200, body)
}

enum Outcome<T> {
    Done(T),
    Failed(Error),
    Transport,
}

struct World<'r> {
    config: &'static Config,
    cache: ProviderCache,
    snapshot: Snapshot,
    now: u64,
    replies: std::slice::Iter<'r, Reply>,
    /// Refresh tokens returned by 2xx token responses during the current operation.
    rotated: Vec<String>,
    /// Whether the current operation sent a request to the token endpoint.
    token_requested: bool,
    /// The state of the pending sign-in, as the sign-in URL carried it.
    pending_state: Option<String>,
}

impl World<'_> {
    fn drive<O: Operation>(
        replies: &mut std::slice::Iter<'_, Reply>,
        rotated: &mut Vec<String>,
        token_requested: &mut bool,
        op: &mut O,
        now: UnixTime,
    ) -> Outcome<O::Output> {
        rotated.clear();
        *token_requested = false;
        for _ in 0..16 {
            let request = match op.step(now) {
                Ok(Step::Done(v)) => return Outcome::Done(v),
                Ok(Step::Send(r)) => r,
                Ok(_) => panic!("a step the driver does not know"),
                Err(e) => return Outcome::Failed(e),
            };
            let is_token = request.url == TOKEN_ENDPOINT;
            *token_requested |= is_token;
            let response = match replies.next().unwrap_or(&Reply::Good) {
                Reply::Good => good(&request),
                Reply::Transport => {
                    if op.handle_transport_error(now) {
                        continue;
                    }
                    return Outcome::Transport;
                }
                Reply::Http { status: s, body: b } => HttpResponse::new(status(s), body(b)),
            };
            if is_token && response.is_success() {
                if let Ok(t) = TokenResponse::parse(&response.body) {
                    if let Some(rt) = t.refresh_token {
                        rotated.push(rt.expose().to_owned());
                    }
                }
            }
            if let Err(e) = op.handle_response(response, now) {
                return Outcome::Failed(e);
            }
        }
        panic!("operation did not finish in 16 steps");
    }

    fn check_token_failure(&self, before: Option<String>, outcome: &Outcome<impl Sized>) {
        let after = self.snapshot.refresh_token().map(|s| s.expose().to_owned());
        match outcome {
            Outcome::Done(_) => {}
            Outcome::Failed(Error::SessionExpired(e)) => {
                assert!(e.is("invalid_grant"));
                assert!(after.is_none(), "invalid_grant left a refresh token");
                assert!(self.snapshot.id_token().is_none());
                assert!(self.snapshot.access_tokens().is_empty());
            }
            Outcome::Failed(_) | Outcome::Transport => {
                let ok =
                    after == before || after.as_ref().is_some_and(|a| self.rotated.contains(a));
                assert!(
                    ok,
                    "failed refresh changed the refresh token: {before:?} -> {after:?}"
                );
            }
        }
    }

    fn act(&mut self, action: &Action) {
        let now = UnixTime::from_secs(self.now);
        match action {
            Action::Login => {
                let saved = std::mem::replace(&mut self.replies, [].iter());
                self.act(&Action::SignIn {
                    entropy: None,
                    organization: false,
                });
                let valid = CallbackUrl::Built {
                    base: Base::Right,
                    code: Some("code-1".into()),
                    state: StateChoice::Pending,
                    iss: IssChoice::Right,
                    error: None,
                    extra: None,
                };
                self.act(&Action::Callback(valid));
                self.replies = saved;
            }
            Action::SignIn {
                entropy,
                organization,
            } => {
                let bytes = entropy.map_or([7; 96], |b| [b; 96]);
                let mut options = SignInOptions::new(REDIRECT);
                if *organization {
                    options = options.organization_id("org1");
                }
                let mut op = Context::new(self.config, &mut self.cache, &mut self.snapshot)
                    .sign_in(options, SignInEntropy::from_bytes(bytes));
                let out = Self::drive(
                    &mut self.replies,
                    &mut self.rotated,
                    &mut self.token_requested,
                    &mut op,
                    now,
                );
                drop(op);
                match out {
                    Outcome::Done(url) => {
                        let states =
                            logto_proto_fuzz::state_params(&url).expect("sign-in URL parses");
                        assert_eq!(states.len(), 1);
                        self.pending_state = states.into_iter().next();
                        assert!(self.snapshot.pending_sign_in().is_some());
                        assert!(!self.snapshot.is_authenticated());
                    }
                    _ => {
                        if self.snapshot.pending_sign_in().is_none() {
                            self.pending_state = None;
                        }
                    }
                }
            }
            Action::Callback(cb) => {
                let url = self.callback_url(cb);
                let before = self.snapshot.clone();
                let was_authenticated = before.is_authenticated();
                let state_ok = match (&self.pending_state, logto_proto_fuzz::state_params(&url)) {
                    (Some(p), Some(states)) => states.len() == 1 && &states[0] == p,
                    _ => false,
                };
                let mut op = Context::new(self.config, &mut self.cache, &mut self.snapshot)
                    .handle_sign_in_callback(url.clone());
                let out = Self::drive(
                    &mut self.replies,
                    &mut self.rotated,
                    &mut self.token_requested,
                    &mut op,
                    now,
                );
                drop(op);
                if !state_ok {
                    assert!(
                        !matches!(out, Outcome::Done(_)),
                        "callback with a wrong state succeeded: {url:?}"
                    );
                    assert!(
                        !self.token_requested,
                        "callback with a wrong state reached the token endpoint: {url:?}"
                    );
                    assert!(
                        self.snapshot == before,
                        "callback with a wrong state changed the snapshot: {url:?}"
                    );
                    assert_eq!(self.snapshot.is_authenticated(), was_authenticated);
                }
                if let Outcome::Done(claims) = out {
                    assert_eq!(claims.iss, ISSUER);
                    assert!(self.snapshot.is_authenticated());
                    assert!(self.snapshot.pending_sign_in().is_none());
                    self.pending_state = None;
                }
            }
            Action::AccessToken { target, force } => {
                let target = match target % 5 {
                    0 => TokenTarget::userinfo(),
                    1 => TokenTarget::resource(API),
                    2 => TokenTarget::organization("org1"),
                    3 => TokenTarget::resource_in_organization(API, "org1"),
                    _ => TokenTarget::resource("https://unknown.example.com"),
                };
                let before = self.snapshot.refresh_token().map(|s| s.expose().to_owned());
                let mut op = Context::new(self.config, &mut self.cache, &mut self.snapshot)
                    .access_token(target.clone(), *force);
                let out = Self::drive(
                    &mut self.replies,
                    &mut self.rotated,
                    &mut self.token_requested,
                    &mut op,
                    now,
                );
                drop(op);
                self.check_token_failure(before, &out);
                if let Outcome::Done(token) = &out {
                    assert_eq!(token.target, target);
                }
            }
            Action::UserInfo(without_refresh) => {
                let before = self.snapshot.refresh_token().map(|s| s.expose().to_owned());
                let op = Context::new(self.config, &mut self.cache, &mut self.snapshot)
                    .fetch_user_info();
                let mut op = if *without_refresh {
                    op.without_refresh()
                } else {
                    op
                };
                let out = Self::drive(
                    &mut self.replies,
                    &mut self.rotated,
                    &mut self.token_requested,
                    &mut op,
                    now,
                );
                drop(op);
                if *without_refresh {
                    // No token request, and the refresh token is untouched.
                    assert!(!self.token_requested);
                    assert_eq!(
                        self.snapshot.refresh_token().map(|s| s.expose()),
                        before.as_deref()
                    );
                }
                self.check_token_failure(before, &out);
            }
            Action::SignOut { redirect } => {
                let redirect = redirect.then_some("https://app.example.com/");
                let mut op = Context::new(self.config, &mut self.cache, &mut self.snapshot)
                    .sign_out(redirect);
                let out = Self::drive(
                    &mut self.replies,
                    &mut self.rotated,
                    &mut self.token_requested,
                    &mut op,
                    now,
                );
                drop(op);
                assert!(self.snapshot.refresh_token().is_none());
                assert!(self.snapshot.id_token().is_none());
                assert!(self.snapshot.access_tokens().is_empty());
                assert!(self.snapshot.pending_sign_in().is_none());
                assert!(!self.snapshot.is_authenticated());
                self.pending_state = None;
                if let Outcome::Done(r) = out {
                    assert!(r
                        .end_session_url
                        .starts_with("https://tenant.logto.app/oidc/session/end?client_id=app-id"));
                }
            }
            Action::Reload => {
                self.snapshot = Snapshot::from_json(&self.snapshot.to_json()).expect("reload");
            }
            Action::Lease { holder, ttl } => {
                let me = if *holder { "holder-b" } else { "holder-a" };
                let before = self.snapshot.clone();
                let held = before.refresh_lease().cloned();
                match self
                    .snapshot
                    .acquire_refresh_lease(me, now, u64::from(*ttl))
                {
                    LeaseState::Acquired => {
                        // Free, ours, lapsed, or dated beyond one TTL (which counts as lapsed).
                        let ttl = u64::from(*ttl);
                        assert!(held.as_ref().is_none_or(|l| {
                            l.holder == me || now >= l.until || l.until > now.add_secs(ttl)
                        }));
                        let l = self.snapshot.refresh_lease().expect("acquired lease");
                        assert_eq!((l.holder.as_str(), l.until), (me, now.add_secs(ttl)));
                    }
                    LeaseState::HeldElsewhere { until } => {
                        let l = held.expect("held elsewhere without a lease");
                        assert!(l.holder != me && now < l.until && until == l.until);
                        assert!(l.until <= now.add_secs(u64::from(*ttl)));
                        assert!(self.snapshot == before);
                    }
                }
            }
            Action::Release { holder } => {
                let me = if *holder { "holder-b" } else { "holder-a" };
                let held = self.snapshot.refresh_lease().cloned();
                self.snapshot.release_refresh_lease(me);
                match held {
                    Some(l) if l.holder == me => assert!(self.snapshot.refresh_lease().is_none()),
                    other => assert_eq!(self.snapshot.refresh_lease().cloned(), other),
                }
            }
            Action::ForgetCache => self.cache = ProviderCache::new(),
            Action::Wait(s) => self.now += u64::from(*s),
            Action::WaitLong(h) => self.now += u64::from(*h) * 3600,
        }
        let json = self.snapshot.to_json();
        let back = Snapshot::from_json(&json).expect("to_json output must load");
        assert!(
            back == self.snapshot,
            "snapshot does not round-trip: {json}"
        );
    }

    fn callback_url(&self, cb: &CallbackUrl) -> String {
        let CallbackUrl::Built {
            base,
            code,
            state,
            iss,
            error,
            extra,
        } = cb
        else {
            let CallbackUrl::Raw(s) = cb else {
                unreachable!()
            };
            return s.clone();
        };
        let base = match base {
            Base::Right => REDIRECT.to_owned(),
            Base::OtherPath => "https://app.example.com/callback/".to_owned(),
            Base::OtherHost => "https://evil.example.com/callback".to_owned(),
            Base::Fuzz(s) => s.clone(),
        };
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = code {
            q.append_pair("code", c);
        }
        let pending = self.pending_state.clone().unwrap_or_default();
        match state {
            StateChoice::Pending => {
                q.append_pair("state", &pending);
            }
            StateChoice::Example => {
                q.append_pair("state", example::STATE);
            }
            StateChoice::Missing => {}
            StateChoice::Twice => {
                q.append_pair("state", &pending);
                q.append_pair("state", &pending);
            }
            StateChoice::FlipByte(i) => {
                let mut s = pending.into_bytes();
                if !s.is_empty() {
                    let i = *i as usize % s.len();
                    s[i] = if s[i] == b'A' { b'B' } else { b'A' };
                }
                q.append_pair("state", &String::from_utf8(s).unwrap());
            }
            StateChoice::Other(s) => {
                q.append_pair("state", s);
            }
        }
        match iss {
            IssChoice::Right => {
                q.append_pair("iss", ISSUER);
            }
            IssChoice::Missing => {}
            IssChoice::Other(s) => {
                q.append_pair("iss", s);
            }
        }
        if let Some(e) = error {
            q.append_pair("error", e);
        }
        if let Some((k, v)) = extra {
            q.append_pair(k, v);
        }
        format!("{base}?{}", q.finish())
    }
}

fuzz_target!(|input: Input| {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    let config = CONFIG.get_or_init(logto_proto_fuzz::example_config);
    let mut world = World {
        config,
        cache: ProviderCache::new(),
        snapshot: Snapshot::new(),
        now: logto_proto_fuzz::T0,
        replies: input.replies.iter(),
        rotated: Vec::new(),
        token_requested: false,
        pending_state: None,
    };
    for action in input.actions.iter().take(32) {
        world.act(action);
    }
});
