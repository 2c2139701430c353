//! The sample web app on actix-web: `logto-actix`, with the axum sample's routes and pages.
//!
//! ```sh
//! LOGTO_ENDPOINT=https://tenant.logto.app LOGTO_APP_ID=... LOGTO_APP_SECRET=... \
//!   cargo run -p logto-actix --example web        # then open http://localhost:3000
//! ```

use actix_web::dev::{Service, ServiceRequest};
use actix_web::web::{self, Json, Query};
use actix_web::{App, HttpResponse, HttpServer};
use logto_actix::proto::decode_claims;
use logto_actix::{
    ApiUser, Error, IdTokenClaims, Logto, LogtoSession, OptionalUser, User, UserInfo,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::Instrument;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Logto sample (actix-web)</title>\
         <style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}pre{{background:#f4f4f4;padding:1rem;overflow:auto}}</style>\
         </head><body><h1>Logto sample (actix-web + logto-actix)</h1>{body}</body></html>"
    ))
}

async fn home(OptionalUser(user): OptionalUser) -> HttpResponse {
    let Some(User { claims, .. }) = user else {
        return page(
            "<p id=\"status\">Not authenticated</p>\
             <p><a id=\"sign-in\" href=\"/sign-in\">Sign in</a> · <a id=\"sign-up\" href=\"/sign-up\">Sign up</a></p>",
        );
    };
    page(&format!(
        "<p id=\"status\">Authenticated</p>\
         <p>Subject (<code>sub</code>): <code id=\"sub\">{}</code></p>\
         <p>Username: <strong id=\"username\">{}</strong></p>\
         <p><a id=\"userinfo\" href=\"/protected/userinfo\">User info</a> · \
         <a id=\"sign-out\" href=\"/sign-out\">Sign out</a></p>",
        escape(&claims.sub),
        escape(claims.username.as_deref().unwrap_or("(none)")),
    ))
}

/// Signed-in visitors only: the others are sent to sign in, and come back here.
async fn protected_userinfo(user: User) -> Result<HttpResponse, Error> {
    let info = user.session.fetch_user_info().await?;
    let custom_data = info.custom_data.as_ref().unwrap_or(&Value::Null);
    Ok(page(&format!(
        "<h2>Custom data</h2><pre id=\"custom-data\">{}</pre>\
         <h2>User info</h2><pre id=\"userinfo\">{}</pre><p><a href=\"/\">Home</a></p>",
        escape(&serde_json::to_string_pretty(custom_data).unwrap_or_default()),
        escape(&serde_json::to_string_pretty(&info).unwrap_or_default()),
    )))
}

/// API routes answer 401 to anyone signed out, whatever the request looks like.
async fn api_id_token_claims(user: ApiUser) -> Json<IdTokenClaims> {
    Json(user.into_inner().claims)
}

async fn api_userinfo(session: LogtoSession) -> Result<Json<UserInfo>, Error> {
    Ok(Json(session.fetch_user_info().await?))
}

/// A token with its decoded claims (`null` for an opaque token).
fn token_json(token: String) -> Json<Value> {
    let claims = decode_claims::<Value>(&token).unwrap_or(Value::Null);
    Json(json!({ "token": token, "claims": claims }))
}

#[derive(Deserialize)]
struct TokenQuery {
    resource: Option<String>,
    organization_id: Option<String>,
}

async fn api_access_token(
    session: LogtoSession,
    q: Query<TokenQuery>,
) -> Result<Json<Value>, Error> {
    let resource = q.resource.as_deref().unwrap_or_default();
    Ok(token_json(session.access_token(resource).await?))
}

async fn api_organization_token(
    session: LogtoSession,
    q: Query<TokenQuery>,
) -> Result<Json<Value>, Error> {
    let organization = q.organization_id.as_deref().unwrap_or_default();
    Ok(token_json(session.organization_token(organization).await?))
}

/// Runs each request in a span naming its method and path, so that the server log ties every
/// event (a failed request's error, a refresh) to its request. Never the query: a callback's
/// holds the code and the state.
fn request_span(request: &ServiceRequest) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = request.path())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // Colours for a terminal only: a log file gets plain text.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let logto = Logto::from_env().unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2);
    });
    let base_url = logto.base_url().clone();
    let addrs = base_url.socket_addrs(|| None).unwrap_or_default();
    let server = HttpServer::new(move || {
        App::new()
            .configure(logto.configure())
            .route("/", web::get().to(home))
            .route("/protected/userinfo", web::get().to(protected_userinfo))
            .route("/api/id-token-claims", web::get().to(api_id_token_claims))
            .route("/api/userinfo", web::get().to(api_userinfo))
            .route("/api/access-token", web::get().to(api_access_token))
            .route(
                "/api/organization-token",
                web::get().to(api_organization_token),
            )
            .wrap_fn(|request, service| {
                let span = request_span(&request);
                service.call(request).instrument(span)
            })
    });
    let server = server.bind(&addrs[..]).unwrap_or_else(|e| {
        eprintln!("cannot listen on {base_url} (BASE_URL): {e}");
        std::process::exit(2);
    });
    println!("Listening on {}", base_url.as_str().trim_end_matches('/'));
    server.run().await
}
