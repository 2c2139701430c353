//! Throughput of the axum sample's signed-in JSON routes, on the memory store and on Redis,
//! beside a bare axum route serving the same JSON, measured with `wrk` in one run (Debian:
//! `apt-get install wrk redis-server`).
//!
//! ```sh
//! cargo bench -p logto-axum --bench throughput    # WRK_SECONDS=5, WRK_ROUNDS=3 by default
//! BASELINE_SAMPLE=/path/to/older/web cargo bench -p logto-axum --bench throughput
//! ```
//!
//! It builds the sample (`--release`), starts the project's provider, a redis-server and
//! two instances of the sample (`LOGTO_SESSION_STORE` unset, and the Redis URL), signs in
//! as alice on each, takes the JSON each route answers, serves the same bytes from a bare
//! axum route on the same runtime configuration, and runs `wrk -t2 -c32` against each with
//! the session cookie (`logto_integration::throughput`, shared with logto-actix's bench).
//! The figures go to BENCHMARKS.md.

use axum::routing::get;
use axum::Json;
use logto_axum::proto::decode_claims;
use logto_axum::IdTokenClaims;
use logto_integration::throughput::{signed_in_json_throughput, BareBodies};
use serde_json::{json, Value};

/// The bare routes: the sample's handlers without the session. `/claims` answers the same
/// typed claims (`Json<IdTokenClaims>`, serialised per request); `/token` the same
/// `{"token", "claims"}` the sample builds per request (claims decoded from the token).
/// `/claims-bytes` and `/token-bytes` answer the same JSON pre-serialised.
fn start_bare(bodies: BareBodies, port: u16) -> tokio::runtime::Runtime {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let claims: IdTokenClaims = serde_json::from_value(bodies.claims).unwrap();
    let (token, claims_bytes, token_bytes) =
        (bodies.token, bodies.claims_bytes, bodies.token_bytes);
    runtime.spawn(async move {
        let app = axum::Router::new()
            .route("/claims", get(move || async move { Json(claims.clone()) }))
            .route(
                "/claims-bytes",
                get(move || serve_bytes(claims_bytes.clone())),
            )
            .route(
                "/token-bytes",
                get(move || serve_bytes(token_bytes.clone())),
            )
            .route(
                "/token",
                get(move || {
                    let token = token.clone();
                    async move {
                        let claims = decode_claims::<Value>(&token).unwrap_or(Value::Null);
                        Json(json!({ "token": token, "claims": claims }))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    runtime
}

/// Pre-serialised JSON: what axum costs with no handler work at all.
async fn serve_bytes(body: String) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing to list
    }
    signed_in_json_throughput("logto-axum", |bodies, port| {
        Box::new(start_bare(bodies, port))
    });
}
