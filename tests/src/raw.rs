//! Plain HTTP helpers for tests that speak the protocol by hand.
//!
//! Nothing here verifies anything: these are the raw tools to observe the provider (and later to
//! check the SDK against what the provider really does).

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

/// Default timeout of the helpers' requests.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP agent for the loopback provider: no redirects followed, non-2xx statuses returned as
/// replies (not errors), no proxy, the given overall timeout per request.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// A complete HTTP reply.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy UTF-8).
    pub body: String,
}

impl HttpReply {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON. Panics with the status and body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| {
            panic!(
                "expected a JSON body ({error}); status {}, body: {}",
                self.status, self.body
            )
        })
    }

    /// Panics unless the status is `expected`, showing the body.
    #[track_caller]
    pub fn expect_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status, expected,
            "unexpected HTTP status; body: {}",
            self.body
        );
        self
    }

    /// The JSON body of a reply that must be 200.
    #[track_caller]
    pub fn ok_json(&self) -> Value {
        self.expect_status(200);
        self.json()
    }
}

/// Turns a ureq result into an [`HttpReply`]. Transport errors (timeouts, resets) are `Err`.
pub fn reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<HttpReply, ureq::Error> {
    let response = result?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = response.into_body();
    let bytes = body.with_config().limit(16 * 1024 * 1024).read_to_vec()?;
    Ok(HttpReply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// `GET url`. Panics on a transport error.
#[track_caller]
pub fn get(url: &str) -> HttpReply {
    reply(agent(DEFAULT_TIMEOUT).get(url).call())
        .unwrap_or_else(|error| panic!("GET {url} failed: {error}"))
}

/// `GET url` with `Authorization: Bearer <token>`. Panics on a transport error.
#[track_caller]
pub fn get_bearer(url: &str, token: &str) -> HttpReply {
    reply(
        agent(DEFAULT_TIMEOUT)
            .get(url)
            .header("Authorization", &format!("Bearer {token}"))
            .call(),
    )
    .unwrap_or_else(|error| panic!("GET {url} failed: {error}"))
}

/// How a form post authenticates the client.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth<'a> {
    /// Nothing (public client; `client_id` must be in the form).
    None,
    /// `Authorization: Basic` with RFC 6749 §2.3.1 encoding.
    Basic {
        /// Client id.
        client_id: &'a str,
        /// Client secret.
        client_secret: &'a str,
    },
    /// `client_id` and `client_secret` in the body.
    Post {
        /// Client id.
        client_id: &'a str,
        /// Client secret.
        client_secret: &'a str,
    },
}

/// `Authorization: Basic` value: `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let encode =
        |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(client_id), encode(client_secret)))
    )
}

/// Form-encodes pairs (`application/x-www-form-urlencoded`).
pub fn form_encode(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// `POST url` with a form body and client authentication, through `agent`.
pub fn post_form_with(
    agent: &ureq::Agent,
    url: &str,
    form: &[(&str, &str)],
    auth: ClientAuth<'_>,
) -> Result<HttpReply, ureq::Error> {
    let mut pairs: Vec<(&str, &str)> = form.to_vec();
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded");
    match auth {
        ClientAuth::None => {}
        ClientAuth::Basic {
            client_id,
            client_secret,
        } => {
            request = request.header("Authorization", &basic_auth(client_id, client_secret));
        }
        ClientAuth::Post {
            client_id,
            client_secret,
        } => {
            pairs.push(("client_id", client_id));
            pairs.push(("client_secret", client_secret));
        }
    }
    reply(request.send(form_encode(&pairs)))
}

/// `POST url` with a form body and client authentication. Panics on a transport error.
#[track_caller]
pub fn post_form(url: &str, form: &[(&str, &str)], auth: ClientAuth<'_>) -> HttpReply {
    post_form_with(&agent(DEFAULT_TIMEOUT), url, form, auth)
        .unwrap_or_else(|error| panic!("POST {url} failed: {error}"))
}

/// Random URL-safe string from `bytes` random bytes (base64url, no padding).
pub fn random_string(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("OS randomness");
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A PKCE pair (RFC 7636, S256).
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The secret sent with the code exchange.
    pub verifier: String,
    /// `base64url(SHA-256(verifier))`, sent in the authorization request.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair (64 random bytes, like the JS and Go SDKs).
    pub fn new() -> Pkce {
        Pkce::from_verifier(&random_string(64))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: &str) -> Pkce {
        Pkce {
            verifier: verifier.to_owned(),
            challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// An authorization (sign-in) request built by hand, with the SDKs' defaults: scope
/// `openid offline_access profile`, `prompt=consent`, PKCE S256, a random state.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// Space-separated `scope`.
    pub scope: String,
    /// One `resource` parameter each.
    pub resources: Vec<String>,
    /// `prompt` (omitted when `None`).
    pub prompt: Option<String>,
    /// `state`.
    pub state: String,
    /// The PKCE pair; the challenge goes in the URL.
    pub pkce: Pkce,
    /// Further parameters, appended in order.
    pub extra: Vec<(String, String)>,
}

impl AuthorizationRequest {
    /// The SDK-like default request for a client and redirect URI.
    pub fn new(client_id: &str, redirect_uri: &str) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: "openid offline_access profile".to_owned(),
            resources: Vec::new(),
            prompt: Some("consent".to_owned()),
            state: random_string(32),
            pkce: Pkce::new(),
            extra: Vec::new(),
        }
    }

    /// Adds scopes (space-separated) after the current ones.
    pub fn scopes(mut self, scopes: &str) -> Self {
        for scope in scopes.split_whitespace() {
            if !self.scope.split(' ').any(|present| present == scope) {
                self.scope.push(' ');
                self.scope.push_str(scope);
            }
        }
        self
    }

    /// Replaces the whole scope string.
    pub fn scope(mut self, scope: &str) -> Self {
        scope.clone_into(&mut self.scope);
        self
    }

    /// Adds a `resource`.
    pub fn resource(mut self, resource: &str) -> Self {
        self.resources.push(resource.to_owned());
        self
    }

    /// Sets or removes `prompt`.
    pub fn prompt(mut self, prompt: Option<&str>) -> Self {
        self.prompt = prompt.map(str::to_owned);
        self
    }

    /// Adds any parameter.
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The URL to open, on the given authorization endpoint.
    pub fn url(&self, authorization_endpoint: &str) -> String {
        let mut url = Url::parse(authorization_endpoint).expect("authorization endpoint URL");
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &self.scope);
            for resource in &self.resources {
                query.append_pair("resource", resource);
            }
            if let Some(prompt) = &self.prompt {
                query.append_pair("prompt", prompt);
            }
            query
                .append_pair("code_challenge", &self.pkce.challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &self.state);
            for (key, value) in &self.extra {
                query.append_pair(key, value);
            }
        }
        url.into()
    }
}

/// The query parameters of a URL (e.g. a callback), first value of each name.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Header and payload of a JWT, decoded without any verification. Panics on a malformed token.
#[track_caller]
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    let decode = |part: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|error| panic!("bad base64url in JWT ({error}): {token}"));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|error| panic!("bad JSON in JWT ({error}): {token}"))
    };
    (decode(parts[0]), decode(parts[1]))
}

/// A JSON value as a JWT part (base64url of its JSON), to build or tamper with a token.
pub fn encode_jwt_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Whether a token looks like a compact JWS (three dot-separated parts).
pub fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// A one-shot HTTP server on 127.0.0.1 that answers its first request with `status` and a
/// JSON `body`, then closes the connection. Returns its base URL (`http://127.0.0.1:port`).
/// For responses the provider cannot be made to send (an oversized body, say).
pub fn serve_once(status: u16, body: Vec<u8>) -> String {
    serve_reply_once(
        status,
        "content-type: application/json\r\n".to_owned(),
        body,
    )
}

/// A one-shot HTTP server on 127.0.0.1 that answers its first request with a `302` to
/// `location`: a client that follows it ends up there. Returns its base URL.
pub fn redirect_once(location: &str) -> String {
    serve_reply_once(302, format!("location: {location}\r\n"), Vec::new())
}

/// Serves one reply of `status`, the header lines `headers` (each ending in CRLF) and
/// `body`, then closes the connection; the server's base URL.
fn serve_reply_once(status: u16, headers: String, body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        // Read the request head; its content does not matter.
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let reply = format!(
            "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        // The client may hang up once it has read enough: write errors are expected.
        let _ = stream.write_all(reply.as_bytes());
        let _ = stream.write_all(&body);
    });
    url
}
