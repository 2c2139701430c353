//! The blocking sample web app: tiny_http + `logto-ureq`, with its own server-side sessions.
//!
//! ```sh
//! LOGTO_ENDPOINT=https://tenant.logto.app LOGTO_APP_ID=... LOGTO_APP_SECRET=... \
//!   cargo run -p logto-ureq --example web         # then open http://localhost:3000
//! ```
//!
//! One `LogtoClient` is created at startup; each request derives a client for its session with
//! `for_session`, whose storage is that session's entry in the app's store, under a SHA-256
//! digest of a random session id (the `logto_sample_session` cookie). The store is
//! `logto-store`'s `MemoryStore` (a signed-in session unused for a day expires, unfinished
//! sign-ins are capped), or with `LOGTO_SESSION_STORE=redis://host:port/db` `logto-redis`'s
//! `RedisStore`, shared by every instance pointed at it; 16 worker threads serve the
//! requests. `POST /backchannel-logout` serves Logto's back-channel logout with either store.
//! A store that cannot be reached answers 503: an outage signs nobody out.

use logto_redis::RedisStore;
use logto_store::{MemoryStore, MemoryStoreLimits, SessionStore};
use logto_ureq::proto::decode_claims;
use logto_ureq::{Error, FirstScreen, InteractionMode, LogtoClient, LogtoConfig, SignInOptions};
use logto_ureq::{Expected, Storage, StorageError, UnixTime};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tiny_http::{Header, Request, Response, Server};
use url::Url;

const COOKIE: &str = "logto_sample_session";
/// A signed-in session unused for this long is gone (in memory; Redis keeps its own TTLs).
const IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Requests are served by this many threads (a burst waits in the listener's queue).
const WORKERS: usize = 16;
/// The largest back-channel logout body read.
const MAX_BODY: u64 = 64 * 1024;

/// The app's sessions: every session's Logto snapshot under a SHA-256 digest of its id (the
/// store never sees a cookie's value), in the store `LOGTO_SESSION_STORE` names.
struct Sessions {
    store: Arc<dyn SessionStore>,
}

impl Sessions {
    fn store_key(id: &str) -> String {
        let digest: String = Sha256::digest(id.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sample:{digest}")
    }

    /// Whether `id` names a stored session. A store that cannot answer is an error (503),
    /// never "no session": an outage must not sign anyone out.
    fn contains(&self, id: &str) -> Result<bool, StorageError> {
        Ok(self.store.get(&Sessions::store_key(id))?.is_some())
    }

    /// The SDK's storage for session `id`.
    fn of(&self, id: &str) -> SessionStorage {
        SessionStorage {
            store: self.store.clone(),
            key: Sessions::store_key(id),
        }
    }

    /// Moves a session to a new id (after sign-in, against session fixation): the old id,
    /// which someone may have planted, keeps nothing. Copied, then the old one deleted if
    /// it still holds what was copied; if another request wrote it meanwhile, copied again.
    fn cycle(&self, id: &str) -> Result<String, StorageError> {
        let (old, new_id) = (Sessions::store_key(id), new_session_id());
        let new = Sessions::store_key(&new_id);
        for _ in 0..5 {
            let value = self.store.get(&old)?;
            self.store
                .compare_and_swap(&new, Expected::Any, value.as_deref())?;
            let expected = Expected::from(value.as_deref());
            if value.is_none() || self.store.compare_and_swap(&old, expected, None)? {
                return Ok(new_id);
            }
        }
        Err(StorageError::backend(
            "session",
            "it kept changing as it moved",
        ))
    }
}

fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("OS randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SDK's store for one session: its key in the app's store (the client's one key).
struct SessionStorage {
    store: Arc<dyn SessionStore>,
    key: String,
}

impl Storage for SessionStorage {
    fn get(&self, _key: &str) -> Result<Option<String>, StorageError> {
        self.store.get(&self.key)
    }

    /// Atomic in either store: concurrent requests of one session, on any instance, take
    /// turns refreshing.
    fn compare_and_swap(
        &self,
        _key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        self.store.compare_and_swap(&self.key, expected, new)
    }
}

struct App {
    client: LogtoClient,
    sessions: Sessions,
    base_url: Url,
}

/// What a route answers.
enum Reply {
    Html(String),
    Json(u16, Value),
    Redirect(String),
    /// A failed SDK call: the browser gets `{"error": kind}`, the server log the details.
    Failed {
        status: u16,
        kind: &'static str,
        detail: String,
    },
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(body: &str) -> Reply {
    Reply::Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Logto sample (tiny_http)</title>\
         <style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}pre{{background:#f4f4f4;padding:1rem;overflow:auto}}</style>\
         </head><body><h1>Logto sample (tiny_http + logto-ureq)</h1>{body}</body></html>"
    ))
}

/// A failed SDK call: its kind for the browser, its message for the server log.
fn error_reply(error: &Error) -> Reply {
    Reply::Failed {
        status: error.http_status(),
        kind: match error {
            Error::NotAuthenticated => "Not authenticated",
            other => other.kind(),
        },
        detail: error.to_string(),
    }
}

/// A token with its decoded claims (`null` for an opaque token).
fn token_json(token: String) -> Reply {
    let claims = decode_claims::<Value>(&token).unwrap_or(Value::Null);
    Reply::Json(200, json!({ "token": token, "claims": claims }))
}

fn home(client: &LogtoClient) -> Result<Reply, Error> {
    if !client.is_authenticated()? {
        return Ok(page(
            "<p id=\"status\">Not authenticated</p>\
             <p><a id=\"sign-in\" href=\"/sign-in\">Sign in</a> · <a id=\"sign-up\" href=\"/sign-up\">Sign up</a></p>",
        ));
    }
    let claims = client.id_token_claims()?;
    Ok(page(&format!(
        "<p id=\"status\">Authenticated</p>\
         <p>Subject (<code>sub</code>): <code id=\"sub\">{}</code></p>\
         <p>Username: <strong id=\"username\">{}</strong></p>\
         <p><a id=\"userinfo\" href=\"/protected/userinfo\">User info</a> · \
         <a id=\"sign-out\" href=\"/sign-out\">Sign out</a></p>",
        escape(&claims.sub),
        escape(claims.username.as_deref().unwrap_or("(none)")),
    )))
}

fn protected_userinfo(client: &LogtoClient) -> Result<Reply, Error> {
    // The guide's "authenticated" decorator: signed-out visitors go to `/sign-in`.
    if !client.is_authenticated()? {
        return Ok(Reply::Redirect("/sign-in".into()));
    }
    let info = client.fetch_user_info()?;
    let custom_data = info.custom_data.as_ref().unwrap_or(&Value::Null);
    Ok(page(&format!(
        "<h2>Custom data</h2><pre id=\"custom-data\">{}</pre>\
         <h2>User info</h2><pre id=\"userinfo\">{}</pre><p><a href=\"/\">Home</a></p>",
        escape(&serde_json::to_string_pretty(custom_data).unwrap_or_default()),
        escape(&serde_json::to_string_pretty(&info).unwrap_or_default()),
    )))
}

/// Routes one request. `session_id` may change (a new id after sign-in).
fn route(app: &App, session_id: &mut String, url: &Url) -> Result<Reply, Error> {
    let client = app.client.for_session(app.sessions.of(session_id));
    let callback_url = app.base_url.join("callback").expect("valid URL");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let bad_request = |name: &str| {
        Reply::Json(
            400,
            json!({ "error": "bad_request", "message": format!("missing query parameter `{name}`") }),
        )
    };
    Ok(match url.path() {
        "/" => home(&client)?,
        "/sign-in" => Reply::Redirect(client.sign_in(callback_url.as_str())?),
        "/sign-up" => Reply::Redirect(
            client.sign_in_with(
                SignInOptions::new(callback_url)
                    .interaction_mode(InteractionMode::SignUp)
                    .first_screen(FirstScreen::Register),
            )?,
        ),
        "/callback" => {
            client.handle_sign_in_callback(url.as_str())?;
            *session_id = app.sessions.cycle(session_id)?;
            Reply::Redirect("/".into())
        }
        "/sign-out" => Reply::Redirect(client.sign_out(Some(app.base_url.as_str()))?),
        "/protected/userinfo" => protected_userinfo(&client)?,
        "/api/id-token-claims" => Reply::Json(200, json!(client.id_token_claims()?)),
        "/api/userinfo" => Reply::Json(200, json!(client.fetch_user_info()?)),
        "/api/access-token" => match param("resource") {
            Some(resource) => token_json(client.access_token(&resource)?),
            None => bad_request("resource"),
        },
        "/api/organization-token" => match param("organization_id") {
            Some(id) => token_json(client.organization_token(&id)?),
            None => bad_request("organization_id"),
        },
        _ => Reply::Json(
            404,
            json!({ "error": "not_found", "message": "no such route" }),
        ),
    })
}

/// Logto's back-channel logout (Back-Channel Logout 1.0): 200 once the sessions of the
/// logout token's provider session (or user) are gone, 400 for a refused or replayed token.
fn backchannel_logout(app: &App, body: &[u8]) -> Reply {
    let refused = |e: &Error| {
        eprintln!("back-channel logout refused: {e}");
        Reply::Json(
            400,
            json!({ "error": "invalid_request", "error_description": e.to_string() }),
        )
    };
    let logout = match app.client.handle_backchannel_logout(body) {
        Ok(logout) => logout,
        Err(e) if e.kind() == "logout_token" => return refused(&e),
        Err(e) => return error_reply(&e),
    };
    let now = UnixTime::from_secs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let ended = app.sessions.store.end_sessions_once(
        &logout.target,
        &logout.replay_key(),
        logout.replay_ttl(now),
    );
    match ended {
        Ok(Some(ended)) => Reply::Json(200, json!({ "ended": ended })),
        Ok(None) => {
            let jti = logout.claims.jti.clone().unwrap_or_default();
            let replayed = logto_ureq::proto::errors::LogoutTokenError::Replayed { jti };
            refused(&Error::Protocol(replayed.into()))
        }
        Err(e) => error_reply(&e.into()),
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

/// The first of the request's session cookies that names a stored session. A store that
/// cannot answer is an error: the visitor is not signed out by an outage.
fn live_session(app: &App, cookie_ids: Vec<String>) -> Result<Option<String>, StorageError> {
    for id in cookie_ids {
        if app.sessions.contains(&id)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn handle(app: &App, mut request: Request) {
    // The session cookie, if it names a live session; otherwise a fresh id (used only if the
    // request stores something in it).
    let cookie_ids: Vec<String> = request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Cookie"))
        .flat_map(|h| h.value.as_str().split(';'))
        .filter_map(|c| Some(c.trim().strip_prefix(COOKIE)?.strip_prefix('=')?.to_owned()))
        .collect();
    let cookie_id = match live_session(app, cookie_ids) {
        Ok(id) => id,
        Err(e) => return respond(app, request, error_reply(&e.into()), None),
    };
    let mut session_id = cookie_id.clone().unwrap_or_else(new_session_id);
    let reply = match Url::parse(&format!(
        "{}{}",
        app.base_url.as_str().trim_end_matches('/'),
        request.url()
    )) {
        Ok(url) if *request.method() == tiny_http::Method::Get => {
            route(app, &mut session_id, &url).unwrap_or_else(|e| error_reply(&e))
        }
        Ok(url)
            if *request.method() == tiny_http::Method::Post
                && url.path() == "/backchannel-logout" =>
        {
            let mut body = Vec::new();
            match request.as_reader().take(MAX_BODY).read_to_end(&mut body) {
                Ok(_) => backchannel_logout(app, &body),
                Err(e) => Reply::Json(
                    400,
                    json!({ "error": "bad_request", "message": e.to_string() }),
                ),
            }
        }
        Ok(_) => Reply::Json(
            405,
            json!({ "error": "method_not_allowed", "message": "GET, or POST /backchannel-logout" }),
        ),
        Err(e) => Reply::Json(
            400,
            json!({ "error": "bad_request", "message": e.to_string() }),
        ),
    };
    // The cookie is set when the session is new or got a new id, and exists (or the store
    // cannot tell: a cookie naming no session is harmless, a lost sign-in is not).
    let new_cookie = (cookie_id.as_ref() != Some(&session_id)
        && app.sessions.contains(&session_id).unwrap_or(true))
    .then_some(session_id);
    respond(app, request, reply, new_cookie);
}

/// Answers `request` with `reply`, setting the session cookie to `new_cookie` if given.
fn respond(app: &App, request: Request, reply: Reply, new_cookie: Option<String>) {
    // The path only: a callback's query holds the code and the state.
    let path = request.url().split('?').next().unwrap_or_default();
    if let Reply::Failed { status, detail, .. } = &reply {
        eprintln!("{} {path}: {status} {detail}", request.method());
    }
    let mut response = match reply {
        Reply::Html(html) => Response::from_string(html)
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        Reply::Json(status, body) => Response::from_string(body.to_string())
            .with_status_code(status)
            .with_header(header("Content-Type", "application/json"))
            .with_header(header("Cache-Control", "no-store")),
        Reply::Failed { status, kind, .. } => {
            Response::from_string(json!({ "error": kind }).to_string())
                .with_status_code(status)
                .with_header(header("Content-Type", "application/json"))
                .with_header(header("Cache-Control", "no-store"))
        }
        Reply::Redirect(location) => Response::from_string("")
            .with_status_code(303)
            .with_header(header("Location", &location)),
    };
    if let Some(session_id) = new_cookie {
        let secure = if app.base_url.scheme() == "https" {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!("{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax{secure}");
        response.add_header(header("Set-Cookie", &cookie));
    }
    if let Err(e) = request.respond(response) {
        eprintln!("cannot answer: {e}");
    }
}

/// The session store `LOGTO_SESSION_STORE` names: `memory` (default) or a Redis URL.
fn sessions_from_env() -> Result<Sessions, String> {
    let value = std::env::var("LOGTO_SESSION_STORE").unwrap_or_default();
    let store: Arc<dyn SessionStore> = match value.trim() {
        "" | "memory" => {
            let mut limits = MemoryStoreLimits::default();
            limits.idle_timeout = IDLE_TIMEOUT;
            Arc::new(MemoryStore::with_limits(limits))
        }
        url if url.starts_with("redis") => {
            Arc::new(RedisStore::open(url).map_err(|e| format!("LOGTO_SESSION_STORE: {e}"))?)
        }
        _ => {
            return Err(
                "LOGTO_SESSION_STORE must be `memory` or a `redis://host:port/db` URL".into(),
            )
        }
    };
    Ok(Sessions { store })
}

/// Reads the configuration; an error names the variable.
fn config_from_env() -> Result<(LogtoConfig, Url), String> {
    let config =
        LogtoConfig::from_vars(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let base = std::env::var("BASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "http://localhost:3000".to_owned());
    let base_url = Url::parse(&base)
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.path() == "/"
                && u.query().is_none()
        })
        .ok_or_else(|| {
            format!("BASE_URL `{base}` is not an http(s) origin like http://localhost:3000")
        })?;
    Ok((config, base_url))
}

fn main() {
    let (config, base_url, sessions) = config_from_env()
        .and_then(|(config, base_url)| Ok((config, base_url, sessions_from_env()?)))
        .unwrap_or_else(|message| {
            eprintln!("configuration error: {message}");
            std::process::exit(2);
        });
    let (host, port) = (
        base_url.host_str().unwrap_or("localhost"),
        base_url.port_or_known_default().unwrap_or(3000),
    );
    let server = Server::http((host.trim_matches(['[', ']']), port)).unwrap_or_else(|e| {
        eprintln!("cannot listen on {host}:{port} (from BASE_URL): {e}");
        std::process::exit(2);
    });
    println!("Listening on {}", base_url.as_str().trim_end_matches('/'));
    let client = LogtoClient::new(config).unwrap_or_else(|e| {
        eprintln!("cannot start the Logto client: {e}");
        std::process::exit(2);
    });
    let app = Arc::new(App {
        client,
        sessions,
        base_url,
    });
    let server = Arc::new(server);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (app, server) = (app.clone(), server.clone());
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    handle(&app, request);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}
