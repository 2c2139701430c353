//! The provider handle: start options, what it serves, and its test controls.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::process::NodeProcess;
use crate::raw::{self, HttpReply};

/// How long discovery may take to answer after the process started listening.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Client credentials registered at the provider.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// The secret of a confidential client; `None` for the public one.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `client_secret_basic` or `none`.
    pub token_endpoint_auth_method: String,
}

impl ClientCredentials {
    /// How this client authenticates at the token and revocation endpoints: Basic with its
    /// secret, or nothing for the public client.
    pub fn auth(&self) -> raw::ClientAuth<'_> {
        match &self.client_secret {
            Some(secret) => raw::ClientAuth::Basic {
                client_id: &self.client_id,
                client_secret: secret,
            },
            None => raw::ClientAuth::None,
        }
    }
}

/// A user of the fixtures.
#[derive(Debug, Clone, Deserialize)]
pub struct TestUser {
    /// The `sub` of the user's tokens.
    pub id: String,
    /// Username (an identifier accepted by the sign-in form).
    pub username: String,
    /// Password.
    pub password: String,
    /// Primary email (also accepted as identifier).
    pub email: Option<String>,
    /// Primary phone (also accepted as identifier).
    pub phone: Option<String>,
    /// Global role names (`roles` claim).
    pub roles: Vec<String>,
    /// Organization id -> organization role names, as the provider started.
    pub organizations: BTreeMap<String, Vec<String>>,
}

/// An API resource of the fixtures.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiResource {
    /// The resource indicator (the `aud` of its access tokens).
    pub indicator: String,
    /// Every scope the resource defines.
    pub scopes: Vec<String>,
}

/// An organization of the fixtures.
#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    /// Organization id.
    pub id: String,
    /// Name (`organization_data`).
    pub name: String,
    /// Description (`organization_data`), may be null.
    pub description: Option<String>,
}

/// What `GET /__test/config` returns.
#[derive(Debug, Clone, Deserialize)]
struct ServedConfig {
    issuer: String,
    signing_alg: String,
    confidential_client: ClientCredentials,
    public_client: ClientCredentials,
    native_client: ClientCredentials,
    #[serde(default)]
    machine_clients: Vec<ClientCredentials>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    resources: Vec<ApiResource>,
    organizations: Vec<Organization>,
    users: Vec<TestUser>,
}

/// One request the provider received (`GET /__test/requests`).
#[derive(Debug, Clone, Deserialize)]
pub struct RequestRecord {
    /// Arrival order, from 1.
    pub seq: u64,
    /// Arrival time, epoch milliseconds (provider clock).
    pub time_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/oidc/token`.
    pub path: String,
    /// The request's `User-Agent`, if it had one.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// `grant_type` of a token request.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// `resource` of a token request (a string, or a list when repeated).
    #[serde(default)]
    pub resource: Option<Value>,
    /// `organization_id` of a token request.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// `scope` of a token request.
    #[serde(default)]
    pub scope: Option<String>,
    /// Response status; `None` while pending or when the connection was dropped.
    #[serde(default)]
    pub status: Option<u16>,
    /// The injected fault that answered it, if any.
    #[serde(default)]
    pub fault: Option<String>,
    /// A device-code poll answered `slow_down` (too soon after the last, or a fault).
    #[serde(default)]
    pub slow_down: bool,
    /// `subject_token_type` of a token exchange.
    #[serde(default)]
    pub subject_token_type: Option<String>,
}

/// How an injected fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// HTTP 500 with a Logto-shaped `server_error` body.
    ServerError,
    /// Any status with a Logto-shaped `server_error` body (e.g. 503, 429).
    Status(u16),
    /// Holds the request open (`HANG_MS`, default 30 s, or [`Fault::hang_ms`]), then drops the
    /// connection without answering.
    Hang,
    /// HTTP 200, `application/json`, with a truncated (invalid) JSON body.
    Malformed,
    /// Holds the request for [`Fault::hang_ms`], then handles it normally (a slow provider:
    /// the request reaches the provider's logic late, and its answer comes late).
    Delay,
    /// Handles the request at once (a refresh token is rotated then), and holds the answer
    /// for [`Fault::hang_ms`].
    LateAnswer,
    /// A device-code poll answered `slow_down`, growing the code's interval by 5 s as Logto
    /// does (with `grant_type` the device-code grant).
    SlowDown,
}

/// A fault to inject into the next matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    /// What the faulty responses look like.
    pub mode: FaultMode,
    /// How many matching requests it answers.
    pub count: u32,
    /// Path it applies to (default `/oidc/token`); e.g. `/oidc/jwks`, `/oidc/me`.
    pub path: Option<String>,
    /// Only token requests with this `grant_type` (e.g. `refresh_token`).
    pub grant_type: Option<String>,
    /// Duration in milliseconds for [`FaultMode::Hang`] and [`FaultMode::Delay`].
    pub hang_ms: Option<u64>,
}

impl Fault {
    /// `count` token-endpoint responses of this mode.
    pub fn token(mode: FaultMode, count: u32) -> Fault {
        Fault {
            mode,
            count,
            path: None,
            grant_type: None,
            hang_ms: None,
        }
    }
}

/// The key a rotation created.
#[derive(Debug, Clone, Deserialize)]
pub struct RotatedKey {
    /// Its `kid`.
    pub kid: String,
    /// Its algorithm.
    pub alg: String,
    /// The algorithm ID tokens are signed with now.
    pub signing_alg: String,
}

/// Options for [`Provider::builder`].
#[derive(Debug, Clone, Default)]
pub struct ProviderBuilder {
    env: Vec<(String, String)>,
}

impl ProviderBuilder {
    /// Signing algorithm of the initial key: `ES384` (default, like Logto), `ES256`, `ES512`,
    /// `RS256` or `PS256`.
    pub fn signing_alg(self, alg: &str) -> Self {
        self.env("SIGNING_ALG", alg)
    }

    /// TTL of every access token (opaque, resource and organization), in seconds.
    pub fn access_token_ttl(self, seconds: u64) -> Self {
        self.env("ACCESS_TOKEN_TTL", &seconds.to_string())
    }

    /// TTL of ID tokens, in seconds.
    pub fn id_token_ttl(self, seconds: u64) -> Self {
        self.env("ID_TOKEN_TTL", &seconds.to_string())
    }

    /// TTL of refresh tokens, in seconds (default 14 days).
    pub fn refresh_token_ttl(self, seconds: u64) -> Self {
        self.env("REFRESH_TOKEN_TTL", &seconds.to_string())
    }

    /// Every refresh rotates the refresh token, for the web app too (Logto does so for
    /// public clients); presenting a used one revokes the grant.
    pub fn rotate_refresh_tokens_every_use(self) -> Self {
        self.env("REFRESH_TOKEN_ROTATION", "every-use")
    }

    /// Redirect URIs registered for both clients (replaces the defaults).
    pub fn redirect_uris(self, uris: &[&str]) -> Self {
        self.env("REDIRECT_URIS", &uris.join(","))
    }

    /// Registers `uri` as the web app's back-channel logout URI, with `sid` required: ending
    /// a user's provider session POSTs a logout token there.
    pub fn backchannel_logout_uri(self, uri: &str) -> Self {
        self.env("BACKCHANNEL_LOGOUT_URI", uri)
    }

    /// How long a [`FaultMode::Hang`] holds a request, in milliseconds (default 30 000).
    pub fn hang_ms(self, milliseconds: u64) -> Self {
        self.env("HANG_MS", &milliseconds.to_string())
    }

    /// Any environment variable of the provider (see `tests/provider/README.md`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(existing, _)| existing != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts the provider and waits until discovery answers. Panics (with setup instructions)
    /// if Node.js or the provider's packages are missing, or if it does not come up.
    pub fn start(self) -> Provider {
        let process = NodeProcess::spawn(&self.env);
        let endpoint = process.endpoint.clone();
        wait_for_discovery(&endpoint, &process);
        let config: ServedConfig =
            serde_json::from_value(raw::get(&format!("{endpoint}/__test/config")).ok_json())
                .expect("the provider's /__test/config");
        Provider {
            process,
            endpoint,
            config,
        }
    }
}

fn wait_for_discovery(endpoint: &str, process: &NodeProcess) {
    let url = format!("{endpoint}/oidc/.well-known/openid-configuration");
    let deadline = Instant::now() + READY_TIMEOUT;
    let agent = raw::agent(Duration::from_secs(2));
    loop {
        match raw::reply(agent.get(&url).call()) {
            Ok(reply) if reply.status == 200 => return,
            outcome if Instant::now() >= deadline => panic!(
                "the test provider at {endpoint} did not serve discovery within \
                 {READY_TIMEOUT:?} (last: {outcome:?}).\n--- provider stderr ---\n{}",
                process.stderr.text()
            ),
            _ => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A running Logto-compatible provider (one `node` process on an ephemeral loopback port).
/// Dropping it stops the process, also when the test panics.
pub struct Provider {
    process: NodeProcess,
    endpoint: String,
    config: ServedConfig,
}

impl Provider {
    /// Starts a provider with the defaults (ES384 keys, Logto-like TTLs).
    pub fn start() -> Provider {
        Provider::builder().start()
    }

    /// Start options.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder::default()
    }

    // ---- Where it is -------------------------------------------------------------------------

    /// The Logto endpoint, `http://127.0.0.1:<port>` (what an SDK is configured with).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The issuer, `http://127.0.0.1:<port>/oidc`.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// `{endpoint}/oidc/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/oidc/.well-known/openid-configuration", self.endpoint)
    }

    /// `{endpoint}/oidc/auth`.
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/oidc/auth", self.endpoint)
    }

    /// `{endpoint}/oidc/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oidc/token", self.endpoint)
    }

    /// `{endpoint}/oidc/me`.
    pub fn userinfo_endpoint(&self) -> String {
        format!("{}/oidc/me", self.endpoint)
    }

    /// `{endpoint}/oidc/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/oidc/jwks", self.endpoint)
    }

    /// `{endpoint}/oidc/token/revocation`.
    pub fn revocation_endpoint(&self) -> String {
        format!("{}/oidc/token/revocation", self.endpoint)
    }

    /// `{endpoint}/oidc/session/end`.
    pub fn end_session_endpoint(&self) -> String {
        format!("{}/oidc/session/end", self.endpoint)
    }

    // ---- Clients, users, resources -----------------------------------------------------------

    /// The confidential client (`client_secret_basic`; `client_secret_post` is accepted too).
    pub fn confidential_client(&self) -> &ClientCredentials {
        &self.config.confidential_client
    }

    /// The public client (`token_endpoint_auth_method: none`, SPA-like).
    pub fn public_client(&self) -> &ClientCredentials {
        &self.config.public_client
    }

    /// The native app (public, like a Logto native app): device flow, loopback redirects
    /// `http://127.0.0.1:<any port>/callback`, token exchange allowed.
    pub fn native_client(&self) -> &ClientCredentials {
        &self.config.native_client
    }

    /// A personal access token of the user `user_id` (Logto: the user's personal access
    /// tokens), valid for `expires_in` seconds (`None`: no expiry).
    pub fn personal_access_token(&self, user_id: &str, expires_in: Option<u64>) -> String {
        let body = json!({ "user_id": user_id, "expires_in": expires_in });
        let reply = self.control("POST", "personal-access-tokens", Some(body));
        reply["token"].as_str().expect("a token").to_owned()
    }

    /// An impersonation subject token for `user_id`, as Logto's Management API issues it
    /// (`POST /api/subject-tokens`): good for one exchange, for `expires_in` seconds.
    pub fn subject_token(&self, user_id: &str, expires_in: u64) -> String {
        let body = json!({ "user_id": user_id, "expires_in": expires_in });
        let reply = self.control("POST", "subject-tokens", Some(body));
        reply["token"].as_str().expect("a token").to_owned()
    }

    /// The machine-to-machine app (client credentials, `client_secret_basic`): its machine
    /// roles grant `read:data write:data` on `https://api.example.com` and `read:reports` on
    /// `https://api2.example.com`.
    pub fn machine_client(&self) -> &ClientCredentials {
        &self.config.machine_clients[0]
    }

    /// The first registered redirect URI (`http://127.0.0.1/callback` by default).
    pub fn redirect_uri(&self) -> &str {
        &self.config.redirect_uris[0]
    }

    /// Every registered redirect URI (both clients have the same).
    pub fn redirect_uris(&self) -> &[String] {
        &self.config.redirect_uris
    }

    /// The first registered post-logout redirect URI.
    pub fn post_logout_redirect_uri(&self) -> &str {
        &self.config.post_logout_redirect_uris[0]
    }

    /// Every registered post-logout redirect URI.
    pub fn post_logout_redirect_uris(&self) -> &[String] {
        &self.config.post_logout_redirect_uris
    }

    /// The users of the fixtures.
    pub fn users(&self) -> &[TestUser] {
        &self.config.users
    }

    /// A user by username. Panics if there is none.
    #[track_caller]
    pub fn user(&self, username: &str) -> &TestUser {
        self.config
            .users
            .iter()
            .find(|user| user.username == username)
            .unwrap_or_else(|| panic!("no test user {username}"))
    }

    /// Alice: full profile, role `admin`, member of `org1` (admin) and `org2` (viewer).
    pub fn alice(&self) -> &TestUser {
        self.user("alice")
    }

    /// Bob: empty profile, no roles, no organizations.
    pub fn bob(&self) -> &TestUser {
        self.user("bob")
    }

    /// The API resources.
    pub fn resources(&self) -> &[ApiResource] {
        &self.config.resources
    }

    /// The organizations.
    pub fn organizations(&self) -> &[Organization] {
        &self.config.organizations
    }

    /// The algorithm the provider started with (see [`Provider::signing_alg`] for the current).
    pub fn initial_signing_alg(&self) -> &str {
        &self.config.signing_alg
    }

    // ---- Browser shortcuts -------------------------------------------------------------------

    /// Signs in with a fresh [`Browser`] and returns the callback URL (not followed).
    #[track_caller]
    pub fn sign_in(&self, authorization_url: &str, identifier: &str, password: &str) -> String {
        Browser::new().sign_in(authorization_url, identifier, password)
    }

    /// Cancels on the sign-in page with a fresh [`Browser`]; the callback URL carries
    /// `error=access_denied`.
    #[track_caller]
    pub fn cancel_sign_in(&self, authorization_url: &str) -> String {
        Browser::new().cancel_sign_in(authorization_url)
    }

    // ---- Test controls -----------------------------------------------------------------------

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/__test/{path}", self.endpoint);
        let agent = raw::agent(raw::DEFAULT_TIMEOUT);
        let result = match method {
            "GET" => agent.get(&url).call(),
            "DELETE" => agent.delete(&url).call(),
            "PUT" => agent
                .put(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(Value::Null).to_string()),
            _ => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(Value::Null).to_string()),
        };
        let reply: HttpReply = raw::reply(result)
            .unwrap_or_else(|error| panic!("test control {method} {url} failed: {error}"));
        assert_eq!(
            reply.status, 200,
            "test control {method} {url} failed: {}",
            reply.body
        );
        reply.json()
    }

    /// Makes the next `count` token-endpoint responses fail in `mode`.
    pub fn fail_next_token_responses(&self, mode: FaultMode, count: u32) {
        self.inject_fault(Fault::token(mode, count));
    }

    /// Injects a fault (any path, optionally only one grant type).
    pub fn inject_fault(&self, fault: Fault) {
        let (mode, status) = match fault.mode {
            FaultMode::ServerError => ("500", None),
            FaultMode::Status(status) => ("status", Some(status)),
            FaultMode::Hang => ("hang", None),
            FaultMode::Malformed => ("malformed", None),
            FaultMode::Delay => ("delay", None),
            FaultMode::LateAnswer => ("late_answer", None),
            FaultMode::SlowDown => ("slow_down", None),
        };
        let mut body = json!({ "mode": mode, "count": fault.count });
        if let Some(status) = status {
            body["status"] = json!(status);
        }
        if let Some(path) = fault.path {
            body["path"] = json!(path);
        }
        if let Some(grant_type) = fault.grant_type {
            body["grant_type"] = json!(grant_type);
        }
        if let Some(hang_ms) = fault.hang_ms {
            body["hang_ms"] = json!(hang_ms);
        }
        self.control("POST", "faults", Some(body));
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.control("DELETE", "faults", None);
    }

    /// Immediate key rotation: a new key of `alg` signs from now on (ID tokens and JWT access
    /// tokens); the previous keys stay in the JWKS, after the new one.
    pub fn rotate_key(&self, alg: &str) -> RotatedKey {
        self.rotate(json!({ "alg": alg }))
    }

    /// Rotation that also drops every previous key from the JWKS.
    pub fn rotate_key_retiring_previous(&self, alg: &str) -> RotatedKey {
        self.rotate(json!({ "alg": alg, "retire_previous": true }))
    }

    /// Publishes a new key of `alg` last in the JWKS without signing with it (Logto's "next"
    /// key). Give it an algorithm other than the signing one to be sure it does not sign.
    pub fn stage_key(&self, alg: &str) -> RotatedKey {
        self.rotate(json!({ "alg": alg, "staged": true }))
    }

    fn rotate(&self, body: Value) -> RotatedKey {
        serde_json::from_value(self.control("POST", "rotate-key", Some(body)))
            .expect("rotate-key reply")
    }

    /// The algorithm ID tokens are signed with now.
    pub fn signing_alg(&self) -> String {
        self.control("GET", "config", None)["signing_alg"]
            .as_str()
            .expect("signing_alg")
            .to_owned()
    }

    /// The `kid`s the JWKS publishes, in order.
    pub fn published_kids(&self) -> Vec<String> {
        raw::get(&self.jwks_uri()).ok_json()["keys"]
            .as_array()
            .expect("JWKS keys")
            .iter()
            .map(|key| key["kid"].as_str().expect("kid").to_owned())
            .collect()
    }

    /// Every request received since the start (or the last reset), test controls excluded.
    pub fn requests(&self) -> Vec<RequestRecord> {
        serde_json::from_value(self.control("GET", "requests", None)["requests"].clone())
            .expect("request log")
    }

    /// How many token requests with `grant_type=refresh_token` arrived (faulted ones included).
    pub fn refresh_count(&self) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.grant_type.as_deref() == Some("refresh_token"))
            .count()
    }

    /// How many requests reached the token endpoint.
    pub fn token_request_count(&self) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.path == "/oidc/token")
            .count()
    }

    /// Empties the request log.
    pub fn reset_requests(&self) {
        self.control("POST", "requests/reset", None);
    }

    /// Resets faults, the request log and the clock offset.
    pub fn reset(&self) {
        self.control("POST", "reset", None);
    }

    /// Replaces a user's organization memberships: organization id -> organization roles
    /// (`admin`, `viewer`). Takes effect at the next token request.
    pub fn set_organizations(&self, username: &str, memberships: &[(&str, &[&str])]) {
        let body: serde_json::Map<String, Value> = memberships
            .iter()
            .map(|(org, roles)| ((*org).to_owned(), json!(roles)))
            .collect();
        self.control(
            "PUT",
            &format!("users/{username}/organizations"),
            Some(Value::Object(body)),
        );
    }

    /// Moves the provider's clock by `seconds` from real time (tokens' `iat`/`exp`, expiry
    /// checks). `0` restores it.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.control("POST", "clock", Some(json!({ "offset_seconds": seconds })));
    }

    /// The back-channel logout calls made so far (`{client_id, sub, sid, ok, error?}`).
    pub fn backchannel_calls(&self) -> Vec<Value> {
        self.control("GET", "backchannel", None)["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The logout tokens the provider sent so far, oldest first.
    pub fn logout_tokens(&self) -> Vec<String> {
        self.control("GET", "backchannel", None)["logout_tokens"]
            .as_array()
            .map(|tokens| {
                tokens
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What the provider printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr.text()
    }
}
