//! The async sample web app: axum + tower-sessions + `logto-isahc`.
//!
//! ```sh
//! LOGTO_ENDPOINT=https://tenant.logto.app LOGTO_APP_ID=... LOGTO_APP_SECRET=... \
//!   cargo run -p logto-isahc --example web        # then open http://localhost:3000
//! ```
//!
//! One `LogtoClient` is created at startup; each request derives a client for its own session
//! with `for_session`, whose storage is the request's tower-sessions `Session`.

use axum::extract::{FromRequestParts, OriginalUri, Query, Request, State};
use axum::http::{request::Parts, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{routing::get, Json, Router};
use logto_isahc::proto::decode_claims;
use logto_isahc::{Error, FirstScreen, IdTokenClaims, InteractionMode, LogtoClient, LogtoConfig};
use logto_isahc::{SignInOptions, Storage, StorageError, StorageFuture, UserInfo};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_sessions::{cookie::SameSite, MemoryStore, Session, SessionManagerLayer};
use url::Url;

/// The SDK's session store for one request: the tower-sessions session.
struct SessionStorage(Session);

fn storage_error(key: &str) -> impl FnOnce(tower_sessions::session::Error) -> StorageError + '_ {
    move |e| StorageError::backend(key, e)
}

impl Storage for SessionStorage {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        Box::pin(async move { self.0.get(key).await.map_err(storage_error(key)) })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        Box::pin(async move { self.0.insert(key, value).await.map_err(storage_error(key)) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .remove::<String>(key)
                .await
                .map(drop)
                .map_err(storage_error(key))
        })
    }
}

#[derive(Clone)]
struct AppState {
    client: LogtoClient,
    /// `BASE_URL` without the trailing slash.
    origin: String,
}

/// The Logto client of the request's session.
struct Logto(LogtoClient);

impl FromRequestParts<AppState> for Logto {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, app).await?;
        Ok(Logto(app.client.for_session(SessionStorage(session))))
    }
}

/// A failed SDK call as a JSON answer: `{"error": kind, "message": ...}`.
struct AppError(Error);

impl<E: Into<Error>> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Error::NotAuthenticated = self.0 {
            let body = json!({ "error": "Not authenticated" });
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let body = json!({ "error": self.0.kind(), "message": self.0.to_string() });
        (status, Json(body)).into_response()
    }
}

type Result<T, E = AppError> = std::result::Result<T, E>;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Logto sample (axum)</title>\
         <style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}pre{{background:#f4f4f4;padding:1rem;overflow:auto}}</style>\
         </head><body><h1>Logto sample (axum + logto-isahc)</h1>{body}</body></html>"
    ))
}

async fn home(Logto(client): Logto) -> Result<Html<String>> {
    if !client.is_authenticated().await? {
        return Ok(page(
            "<p id=\"status\">Not authenticated</p>\
             <p><a id=\"sign-in\" href=\"/sign-in\">Sign in</a> · <a id=\"sign-up\" href=\"/sign-up\">Sign up</a></p>",
        ));
    }
    let claims = client.id_token_claims().await?;
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

async fn sign_in(State(app): State<AppState>, Logto(client): Logto) -> Result<Redirect> {
    let url = client.sign_in(&format!("{}/callback", app.origin)).await?;
    Ok(Redirect::to(&url))
}

async fn sign_up(State(app): State<AppState>, Logto(client): Logto) -> Result<Redirect> {
    let options = SignInOptions::new(format!("{}/callback", app.origin))
        .interaction_mode(InteractionMode::SignUp)
        .first_screen(FirstScreen::Register);
    Ok(Redirect::to(&client.sign_in_with(options).await?))
}

async fn callback(
    State(app): State<AppState>,
    session: Session,
    Logto(client): Logto,
    OriginalUri(uri): OriginalUri,
) -> Result<Redirect> {
    let path_and_query = uri.path_and_query().map_or("/callback", |p| p.as_str());
    let callback_url = format!("{}{path_and_query}", app.origin);
    client.handle_sign_in_callback(&callback_url).await?;
    // A new session id after sign-in (against session fixation).
    session.cycle_id().await.map_err(storage_error("id"))?;
    Ok(Redirect::to("/"))
}

async fn sign_out(State(app): State<AppState>, Logto(client): Logto) -> Result<Redirect> {
    let url = client.sign_out(Some(&format!("{}/", app.origin))).await?;
    Ok(Redirect::to(&url))
}

/// The guide's "authenticated" decorator: signed-out visitors go to `/sign-in`.
async fn require_authenticated(Logto(client): Logto, request: Request, next: Next) -> Response {
    match client.is_authenticated().await {
        Ok(true) => next.run(request).await,
        Ok(false) => Redirect::to("/sign-in").into_response(),
        Err(e) => AppError(e).into_response(),
    }
}

async fn protected_userinfo(Logto(client): Logto) -> Result<Html<String>> {
    let info = client.fetch_user_info().await?;
    let custom_data = info.custom_data.as_ref().unwrap_or(&Value::Null);
    Ok(page(&format!(
        "<h2>Custom data</h2><pre id=\"custom-data\">{}</pre>\
         <h2>User info</h2><pre id=\"userinfo\">{}</pre><p><a href=\"/\">Home</a></p>",
        escape(&serde_json::to_string_pretty(custom_data).unwrap_or_default()),
        escape(&serde_json::to_string_pretty(&info).unwrap_or_default()),
    )))
}

async fn api_id_token_claims(Logto(client): Logto) -> Result<Json<IdTokenClaims>> {
    Ok(Json(client.id_token_claims().await?))
}

async fn api_userinfo(Logto(client): Logto) -> Result<Json<UserInfo>> {
    Ok(Json(client.fetch_user_info().await?))
}

/// A token with its decoded claims (`null` for an opaque token).
fn token_json(token: String) -> Json<Value> {
    let claims = decode_claims::<Value>(&token).unwrap_or(Value::Null);
    Json(json!({ "token": token, "claims": claims }))
}

#[derive(Deserialize)]
struct ResourceQuery {
    resource: String,
}

async fn api_access_token(
    Logto(client): Logto,
    Query(q): Query<ResourceQuery>,
) -> Result<Json<Value>> {
    Ok(token_json(client.access_token(&q.resource).await?))
}

#[derive(Deserialize)]
struct OrganizationQuery {
    organization_id: String,
}

async fn api_organization_token(
    Logto(client): Logto,
    Query(q): Query<OrganizationQuery>,
) -> Result<Json<Value>> {
    let token = client.organization_token(&q.organization_id).await?;
    Ok(token_json(token))
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

#[tokio::main]
async fn main() {
    let (config, base_url) = config_from_env().unwrap_or_else(|message| {
        eprintln!("configuration error: {message}");
        std::process::exit(2);
    });
    let client = LogtoClient::new(config).unwrap_or_else(|e| {
        eprintln!("cannot create the Logto client: {e}");
        std::process::exit(2);
    });
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name("logto_sample_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(base_url.scheme() == "https");
    let origin = base_url.as_str().trim_end_matches('/').to_owned();
    let state = AppState { client, origin };
    let protected = Router::new()
        .route("/protected/userinfo", get(protected_userinfo))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_authenticated,
        ));
    let app = Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in))
        .route("/sign-up", get(sign_up))
        .route("/callback", get(callback))
        .route("/sign-out", get(sign_out))
        .route("/api/id-token-claims", get(api_id_token_claims))
        .route("/api/userinfo", get(api_userinfo))
        .route("/api/access-token", get(api_access_token))
        .route("/api/organization-token", get(api_organization_token))
        .merge(protected)
        .layer(sessions)
        .with_state(state);

    let addrs = base_url.socket_addrs(|| None).unwrap_or_default();
    let listener = tokio::net::TcpListener::bind(&addrs[..])
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {base_url} (BASE_URL): {e}");
            std::process::exit(2);
        });
    println!("Listening on {}", base_url.as_str().trim_end_matches('/'));
    axum::serve(listener, app).await.expect("server error");
}
