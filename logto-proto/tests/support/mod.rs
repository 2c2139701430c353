//! A deterministic simulated Logto provider for the core's tests: it signs real tokens with
//! real keys (jwt-simple), checks PKCE, client auth, refresh-token rotation and reuse, and
//! answers with Logto's error bodies. No network: it maps `HttpRequest` to `HttpResponse`.
#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jwt_simple::prelude::*;
use logto_proto::adapter::*;
use logto_proto::{
    AccessToken, Config, Error, IdTokenClaims, SignInOptions, TokenTarget, UnixTime,
};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};

pub const ENDPOINT: &str = "https://tenant.logto.app";
pub const ISSUER: &str = "https://tenant.logto.app/oidc";
pub const APP_ID: &str = "app-id";
pub const APP_SECRET: &str = "app secret&=";
pub const REDIRECT_URI: &str = "https://app.example.com/callback";
pub const USER: &str = "user-1";
pub const T0: u64 = 1_767_225_600;
pub const API: &str = "https://api.example.com";

/// A signing key of the simulated provider.
pub enum SigningKey {
    Es384(ES384KeyPair),
    Es256(ES256KeyPair),
    Rs256(RS256KeyPair),
    Ps256(PS256KeyPair),
}

impl SigningKey {
    pub fn generate(alg: &str, kid: &str) -> SigningKey {
        match alg {
            "ES384" => SigningKey::Es384(ES384KeyPair::generate().with_key_id(kid)),
            "ES256" => SigningKey::Es256(ES256KeyPair::generate().with_key_id(kid)),
            "RS256" => SigningKey::Rs256(RS256KeyPair::generate(2048).unwrap().with_key_id(kid)),
            "PS256" => SigningKey::Ps256(PS256KeyPair::generate(2048).unwrap().with_key_id(kid)),
            other => panic!("no test key for {other}"),
        }
    }

    pub fn alg(&self) -> &'static str {
        match self {
            SigningKey::Es384(_) => "ES384",
            SigningKey::Es256(_) => "ES256",
            SigningKey::Rs256(_) => "RS256",
            SigningKey::Ps256(_) => "PS256",
        }
    }

    pub fn public_jwk(&self) -> Value {
        let s = match self {
            SigningKey::Es384(k) => k.public_key().to_jwk(),
            SigningKey::Es256(k) => k.public_key().to_jwk(),
            SigningKey::Rs256(k) => k.public_key().to_jwk(),
            SigningKey::Ps256(k) => k.public_key().to_jwk(),
        };
        serde_json::from_str(&s).unwrap()
    }

    /// Signs exactly `payload` with the header's `typ` set to `typ`.
    pub fn sign_typed(&self, payload: &Value, typ: &str) -> String {
        let custom: Map<String, Value> = payload.as_object().unwrap().clone();
        let mut claims = Claims::with_custom_claims(custom, Duration::from_secs(0));
        claims.issued_at = None;
        claims.expires_at = None;
        claims.invalid_before = None;
        let options = HeaderOptions {
            signature_type: Some(typ.to_owned()),
            ..HeaderOptions::default()
        };
        match self {
            SigningKey::Es384(k) => k.sign_with_options(claims, &options),
            SigningKey::Es256(k) => k.sign_with_options(claims, &options),
            SigningKey::Rs256(k) => k.sign_with_options(claims, &options),
            SigningKey::Ps256(k) => k.sign_with_options(claims, &options),
        }
        .unwrap()
    }

    /// Signs exactly `payload` under exactly `header` (ES384 keys only; jwt-simple always
    /// adds a `typ`, so this signs with aws-lc-rs instead).
    pub fn sign_with_header(&self, header: &Value, payload: &Value) -> String {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
        let SigningKey::Es384(k) = self else {
            panic!("sign_with_header signs with ES384 keys only")
        };
        let der = k.to_der().unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &der).unwrap();
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload.to_string().as_bytes())
        );
        let signature = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }

    /// Signs exactly `payload` (no claim is added).
    pub fn sign(&self, payload: &Value) -> String {
        let custom: Map<String, Value> = payload.as_object().unwrap().clone();
        let mut claims = Claims::with_custom_claims(custom, Duration::from_secs(0));
        claims.issued_at = None;
        claims.expires_at = None;
        claims.invalid_before = None;
        match self {
            SigningKey::Es384(k) => k.sign(claims),
            SigningKey::Es256(k) => k.sign(claims),
            SigningKey::Rs256(k) => k.sign(claims),
            SigningKey::Ps256(k) => k.sign(claims),
        }
        .unwrap()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with any header and payload and a given signature (for forged tokens).
pub fn raw_jwt(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes()),
        b64(signature)
    )
}

pub fn id_claims(now: u64, nonce: Option<&str>) -> Value {
    let mut c = json!({
        "iss": ISSUER, "sub": USER, "aud": APP_ID,
        "exp": now + 3600, "iat": now, "at_hash": "x",
        "name": "Alice", "username": "alice", "picture": null,
        "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_500_000_i64,
        "roles": ["admin"], "organizations": ["org1"], "organization_roles": ["org1:member"],
    });
    if let Some(n) = nonce {
        c["nonce"] = json!(n);
    }
    c
}

pub fn config() -> Config {
    Config::builder(ENDPOINT, APP_ID)
        .app_secret(APP_SECRET)
        .scopes(["email", "urn:logto:scope:organizations"])
        .resources([API])
        .build()
        .unwrap()
}

pub fn discovery() -> Value {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "userinfo_endpoint": format!("{ISSUER}/me"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "end_session_endpoint": format!("{ISSUER}/session/end"),
        "revocation_endpoint": format!("{ISSUER}/token/revocation"),
        "id_token_signing_alg_values_supported": ["ES384"],
        "authorization_response_iss_parameter_supported": true,
    })
}

/// A fault the next token response takes.
#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16, Value),
    Malformed,
}

struct Grant {
    sub: String,
    nonce: Option<String>,
    scopes: Vec<String>,
}

pub struct SimProvider {
    pub keys: Vec<SigningKey>,
    /// Index of the signing key; JWKS publishes keys[..=published] newest first.
    pub current: usize,
    pub now: u64,
    pub requests: Vec<HttpRequest>,
    pub faults: VecDeque<Fault>,
    pub rotate_refresh_tokens: bool,
    pub access_ttl: u64,
    pub include_nonce_on_refresh: bool,
    pub org_members: Vec<String>,
    /// Organizations the app (as a machine) belongs to.
    pub machine_orgs: Vec<String>,
    /// Kids the JWKS leaves out (a provider that signs with a key it does not publish).
    pub hidden_kids: Vec<String>,
    /// How often a consumed refresh token was presented (each revoked a grant).
    pub reuse_detected: usize,
    codes: HashMap<String, (String, String, String)>, // code -> (challenge, redirect_uri, nonce)
    refresh: HashMap<String, (usize, bool)>,          // token -> (grant, consumed)
    grants: Vec<Grant>,
    counter: u64,
}

impl SimProvider {
    pub fn new(alg: &str) -> SimProvider {
        SimProvider {
            keys: vec![SigningKey::generate(alg, "key-1")],
            current: 0,
            now: T0,
            requests: Vec::new(),
            faults: VecDeque::new(),
            rotate_refresh_tokens: true,
            access_ttl: 3600,
            include_nonce_on_refresh: false,
            org_members: vec!["org1".into()],
            machine_orgs: vec!["org1".into()],
            hidden_kids: Vec::new(),
            reuse_detected: 0,
            codes: HashMap::new(),
            refresh: HashMap::new(),
            grants: Vec::new(),
            counter: 0,
        }
    }

    pub fn rotate_key(&mut self, alg: &str) {
        let kid = format!("key-{}", self.keys.len() + 1);
        self.keys.push(SigningKey::generate(alg, &kid));
        self.current = self.keys.len() - 1;
    }

    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .rev()
            .map(|k| k.public_jwk())
            .filter(|k| !self.hidden_kids.iter().any(|h| k["kid"] == h.as_str()))
            .collect();
        json!({ "keys": keys })
    }

    /// Signs with a new key the JWKS does not publish.
    pub fn sign_with_hidden_key(&mut self, kid: &str) {
        self.keys.push(SigningKey::generate("ES384", kid));
        self.current = self.keys.len() - 1;
        self.hidden_kids.push(kid.to_owned());
    }

    pub fn jwks_requests(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.url.ends_with("/jwks"))
            .count()
    }

    pub fn sign(&self, payload: &Value) -> String {
        self.keys[self.current].sign(payload)
    }

    /// Signs with the current key as a JWT access token (`typ: at+jwt`).
    pub fn sign_typed_current(&self, payload: &Value) -> String {
        self.keys[self.current].sign_typed(payload, "at+jwt")
    }

    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}", self.counter)
    }

    /// What the provider does when the user signs in at `authorization_url`: the callback.
    pub fn authorize(&mut self, authorization_url: &str) -> String {
        let url = url::Url::parse(authorization_url).unwrap();
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let code = self.next("code");
        self.codes.insert(
            code.clone(),
            (
                q["code_challenge"].clone(),
                q["redirect_uri"].clone(),
                q["nonce"].clone(),
            ),
        );
        let mut cb = url::Url::parse(&q["redirect_uri"]).unwrap();
        cb.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &q["state"])
            .append_pair("iss", ISSUER);
        cb.into()
    }

    fn error(status: u16, error: &str, description: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            json!({"code": format!("oidc.{error}"), "message": description, "error": error, "error_description": description}).to_string(),
        )
    }

    pub fn refresh_requests(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token"))
            .count()
    }

    pub fn handle(&mut self, request: HttpRequest) -> HttpResponse {
        self.requests.push(request.clone());
        let path = request.url.strip_prefix(ISSUER).unwrap_or("?").to_owned();
        match (request.method, path.as_str()) {
            (Method::Get, "/.well-known/openid-configuration") => {
                HttpResponse::new(200, discovery().to_string())
            }
            (Method::Get, "/jwks") => HttpResponse::new(200, self.jwks().to_string()),
            (Method::Post, "/token") => {
                if let Some(fault) = self.faults.pop_front() {
                    return match fault {
                        Fault::Status(s, body) => HttpResponse::new(s, body.to_string()),
                        Fault::Malformed => HttpResponse::new(200, "{not json"),
                    };
                }
                self.token(&request)
            }
            (Method::Post, "/token/revocation") => {
                let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
                if let Some(t) = form.get("token") {
                    if let Some((g, _)) = self.refresh.get(t).copied() {
                        self.refresh.retain(|_, (gg, _)| *gg != g);
                    }
                }
                HttpResponse::new(200, "")
            }
            (Method::Get, "/me") => {
                let auth = request.header("authorization").unwrap_or("");
                if auth.starts_with("Bearer at-") {
                    HttpResponse::new(200, json!({"sub": USER, "name": "Alice", "custom_data": {"plan": "pro"}, "created_at": 1_700_000_000_000_i64}).to_string())
                } else {
                    Self::error(401, "invalid_token", "invalid token")
                }
            }
            _ => HttpResponse::new(404, "not found"),
        }
    }

    fn check_client(&self, request: &HttpRequest, form: &HashMap<String, String>) -> bool {
        let expected = format!(
            "Basic {}",
            STANDARD.encode(format!("app-id:{}", "app+secret%26%3D"))
        );
        let basic = request.header("authorization") == Some(expected.as_str());
        let post = form.get("client_secret").map(String::as_str) == Some(APP_SECRET);
        form.get("client_id").map(String::as_str) == Some(APP_ID) && (basic ^ post)
    }

    fn token(&mut self, request: &HttpRequest) -> HttpResponse {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        if !self.check_client(request, &form) {
            return Self::error(401, "invalid_client", "client authentication failed");
        }
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let Some((challenge, redirect_uri, nonce)) =
                    form.get("code").and_then(|c| self.codes.remove(c))
                else {
                    return Self::error(400, "invalid_grant", "grant request is invalid");
                };
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                if b64(&Sha256::digest(verifier.as_bytes())) != challenge
                    || form.get("redirect_uri") != Some(&redirect_uri)
                {
                    return Self::error(400, "invalid_grant", "grant request is invalid");
                }
                self.grants.push(Grant {
                    sub: USER.into(),
                    nonce: Some(nonce.clone()),
                    scopes: vec![],
                });
                let grant = self.grants.len() - 1;
                let rt = self.next("rt");
                self.refresh.insert(rt.clone(), (grant, false));
                let at = self.next("at");
                let id = self.sign(&id_claims(self.now, Some(&nonce)));
                HttpResponse::new(200, json!({"access_token": at, "token_type": "Bearer", "expires_in": self.access_ttl, "scope": "openid offline_access profile", "id_token": id, "refresh_token": rt}).to_string())
            }
            Some("refresh_token") => {
                let rt = form.get("refresh_token").cloned().unwrap_or_default();
                let Some((grant, consumed)) = self.refresh.get(&rt).copied() else {
                    return Self::error(400, "invalid_grant", "grant request is invalid");
                };
                if consumed {
                    self.reuse_detected += 1;
                    // Reuse of a rotated token revokes the whole grant, as oidc-provider does.
                    self.refresh.retain(|_, (g, _)| *g != grant);
                    return Self::error(400, "invalid_grant", "grant request is invalid");
                }
                let org = form.get("organization_id").cloned();
                if let Some(org) = &org {
                    if !self.org_members.contains(org) {
                        return Self::error(
                            403,
                            "access_denied",
                            "user is not a member of the organization",
                        );
                    }
                }
                let new_rt = if self.rotate_refresh_tokens {
                    self.refresh.insert(rt.clone(), (grant, true));
                    let n = self.next("rt");
                    self.refresh.insert(n.clone(), (grant, false));
                    n
                } else {
                    rt
                };
                let aud = match (form.get("resource"), &org) {
                    (None, Some(o)) => format!("urn:logto:organization:{o}"),
                    (Some(r), _) => r.clone(),
                    (None, None) => String::new(),
                };
                let access_token = if aud.is_empty() {
                    self.next("at")
                } else {
                    let mut c = json!({"iss": ISSUER, "sub": USER, "aud": aud, "exp": self.now + self.access_ttl, "iat": self.now, "client_id": APP_ID, "scope": "read:data", "jti": self.next("jti")});
                    if let (Some(o), Some(_)) = (&org, form.get("resource")) {
                        c["organization_id"] = json!(o);
                    }
                    // Logto's JWT access tokens are typed (RFC 9068).
                    self.keys[self.current].sign_typed(&c, "at+jwt")
                };
                let nonce = self.grants[grant]
                    .nonce
                    .clone()
                    .filter(|_| self.include_nonce_on_refresh);
                let sub = self.grants[grant].sub.clone();
                let mut idc = id_claims(self.now, nonce.as_deref());
                idc["sub"] = json!(sub);
                let id = self.sign(&idc);
                HttpResponse::new(200, json!({"access_token": access_token, "token_type": "Bearer", "expires_in": self.access_ttl, "scope": "read:data", "id_token": id, "refresh_token": new_rt}).to_string())
            }
            Some("client_credentials") => self.machine_token(&form),
            _ => Self::error(
                400,
                "unsupported_grant_type",
                "unsupported grant_type requested",
            ),
        }
    }

    /// The client credentials grant: a token for the app itself (`sub` = `client_id`), for
    /// one resource, an organization, or a resource in an organization.
    fn machine_token(&mut self, form: &HashMap<String, String>) -> HttpResponse {
        let org = form.get("organization_id");
        if let Some(org) = org {
            if !self.machine_orgs.contains(org) {
                return Self::error(
                    403,
                    "access_denied",
                    "app is not a member of the organization",
                );
            }
        }
        let aud = match (form.get("resource"), org) {
            (Some(resource), _) => resource.clone(),
            (None, Some(org)) => format!("urn:logto:organization:{org}"),
            (None, None) => {
                return Self::error(400, "invalid_target", "resource indicator is missing")
            }
        };
        let scope = form.get("scope").cloned().unwrap_or_else(|| "all".into());
        let mut claims = json!({
            "iss": ISSUER, "sub": APP_ID, "client_id": APP_ID, "aud": aud, "scope": scope,
            "exp": self.now + self.access_ttl, "iat": self.now, "jti": self.next("jti"),
        });
        if let (Some(org), Some(_)) = (org, form.get("resource")) {
            claims["organization_id"] = json!(org);
        }
        let token = self.keys[self.current].sign_typed(&claims, "at+jwt");
        HttpResponse::new(200, json!({"access_token": token, "token_type": "Bearer", "expires_in": self.access_ttl, "scope": scope}).to_string())
    }

    /// The grant a refresh token belongs to, while the grant stands (consumed or not).
    pub fn grant_of(&self, token: &str) -> Option<usize> {
        self.refresh.get(token).map(|(grant, _)| *grant)
    }

    /// How many grants were created so far.
    pub fn grants_created(&self) -> usize {
        self.grants.len()
    }

    /// Whether `token` is a refresh token the provider would still accept.
    pub fn is_live_refresh_token(&self, token: &str) -> bool {
        self.refresh
            .get(token)
            .is_some_and(|(_, consumed)| !consumed)
    }

    pub fn set_sub_for_all_grants(&mut self, sub: &str) {
        for g in &mut self.grants {
            g.sub = sub.into();
        }
    }
}

/// A session signed in against `provider` (fresh cache and snapshot).
pub struct Harness {
    pub config: Config,
    pub cache: ProviderCache,
    pub snapshot: Snapshot,
    pub provider: SimProvider,
}

impl Harness {
    pub fn new(alg: &str) -> Harness {
        Harness {
            config: config(),
            cache: ProviderCache::new(),
            snapshot: Snapshot::new(),
            provider: SimProvider::new(alg),
        }
    }

    pub fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.provider.now)
    }

    pub fn drive<O: Operation>(provider: &mut SimProvider, op: &mut O) -> Result<O::Output, Error> {
        let now = UnixTime::from_secs(provider.now);
        run(op, || now, |req| Ok::<_, ()>(provider.handle(req))).map_err(|e| match e {
            RunError::Protocol(e) => e,
            RunError::Transport(()) => unreachable!(),
        })
    }

    /// Drives `op` as the adapters do with a cache shared between operations: before a
    /// provider-data request the shared cache is offered, and what the operation fetched is
    /// merged back after the response.
    pub fn drive_shared<O: Operation>(
        provider: &mut SimProvider,
        shared: &mut ProviderCache,
        op: &mut O,
    ) -> Result<O::Output, Error> {
        let now = UnixTime::from_secs(provider.now);
        loop {
            match op.step(now)? {
                Step::Done(value) => return Ok(value),
                Step::Send(request) => {
                    let shared_data = op.fetches_provider_data();
                    if shared_data && op.handle_shared_cache(shared, now) {
                        continue;
                    }
                    op.handle_response(provider.handle(request), now)?;
                    if shared_data {
                        shared.merge(op.provider_cache(), now);
                    }
                }
                _ => unreachable!("the core's operations only send or finish"),
            }
        }
    }

    pub fn sign_in_url(&mut self, options: SignInOptions) -> String {
        let mut op = Context::new(&self.config, &mut self.cache, &mut self.snapshot)
            .sign_in(options, SignInEntropy::from_bytes([7; 96]));
        Self::drive(&mut self.provider, &mut op).unwrap()
    }

    pub fn callback(&mut self, url: &str) -> Result<IdTokenClaims, Error> {
        let mut op = Context::new(&self.config, &mut self.cache, &mut self.snapshot)
            .handle_sign_in_callback(url);
        Self::drive(&mut self.provider, &mut op)
    }

    pub fn signed_in(alg: &str) -> Harness {
        let mut h = Harness::new(alg);
        let url = h.sign_in_url(SignInOptions::new(REDIRECT_URI));
        let cb = h.provider.authorize(&url);
        h.callback(&cb).unwrap();
        h
    }

    pub fn access_token(&mut self, target: TokenTarget, force: bool) -> Result<AccessToken, Error> {
        let mut op = Context::new(&self.config, &mut self.cache, &mut self.snapshot)
            .access_token(target, force);
        Self::drive(&mut self.provider, &mut op)
    }
}
