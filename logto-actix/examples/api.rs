//! An API protected by Logto's access tokens: actix-web + `logto-actix`'s [`LogtoApi`],
//! with the contract of logto-axum's `api` example.
//!
//! ```sh
//! LOGTO_ENDPOINT=https://tenant.logto.app API_RESOURCE=https://shopping.example/api \
//!   cargo run -p logto-actix --example api         # listens on 127.0.0.1:4000 (API_ADDR)
//! ```
//!
//! - `GET /api/me`: any valid token for the API: who holds it.
//! - `GET /api/orders` (scope `read`), `POST /api/orders` (scope `write`).
//! - `GET /api/organizations/{id}/members`: an organization token for `{id}` with
//!   `read:members`.
//!
//! A refused token gets 401 `invalid_token` or 403 `insufficient_scope` with the RFC 6750
//! `WWW-Authenticate` challenge and `{"error": ...}`.

use actix_web::web::{self, Json};
use actix_web::{App, HttpResponse, HttpServer};
use logto_actix::{ApiToken, Error, LogtoApi, OrganizationToken};
use serde_json::{json, Value};

async fn me(token: ApiToken) -> Json<Value> {
    Json(json!({
        "sub": token.claims.sub,
        "client_id": token.claims.client_id,
        "scopes": token.scopes,
        "organization_id": token.organization_id(),
        "is_machine": token.is_machine(),
    }))
}

async fn list_orders(token: ApiToken) -> Result<Json<Value>, Error> {
    token.require_scopes(["read"])?;
    Ok(Json(
        json!({ "orders": [{ "id": "order-1", "total": 42 }] }),
    ))
}

async fn create_order(token: ApiToken) -> Result<HttpResponse, Error> {
    token.require_scopes(["write"])?;
    let created_by = token.claims.sub.clone();
    Ok(HttpResponse::Created().json(json!({ "id": "order-2", "created_by": created_by })))
}

async fn members(token: OrganizationToken) -> Result<Json<Value>, Error> {
    token.require_scopes(["read:members"])?;
    Ok(Json(json!({
        "organization_id": token.organization_id,
        "members": [{ "id": "user-alice" }],
    })))
}

fn config() -> Result<(LogtoApi, String), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let endpoint = var("LOGTO_ENDPOINT").ok_or("LOGTO_ENDPOINT is not set")?;
    let resource = var("API_RESOURCE").unwrap_or_else(|| "https://shopping.example/api".into());
    let addr = var("API_ADDR").unwrap_or_else(|| "127.0.0.1:4000".into());
    let api = LogtoApi::new(&endpoint, resource).map_err(|e| format!("LOGTO_ENDPOINT: {e}"))?;
    Ok((api, addr))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // Colours for a terminal only: a log file gets plain text.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let (api, addr) = config().unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2);
    });
    let resource = api.resource().to_owned();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(api.clone())
            .route("/api/me", web::get().to(me))
            .route("/api/orders", web::get().to(list_orders))
            .route("/api/orders", web::post().to(create_order))
            .route("/api/organizations/{id}/members", web::get().to(members))
    });
    let server = server.bind(&addr).unwrap_or_else(|e| {
        eprintln!("cannot listen on {addr} (API_ADDR): {e}");
        std::process::exit(2);
    });
    println!("Listening on http://{addr} (API resource {resource})");
    server.run().await
}
