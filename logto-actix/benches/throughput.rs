//! Throughput of the actix-web sample's signed-in JSON routes, on the memory store and on
//! Redis, beside a bare actix-web route serving the same JSON, measured with `wrk` in one
//! run (Debian: `apt-get install wrk redis-server`).
//!
//! ```sh
//! cargo bench -p logto-actix --bench throughput   # WRK_SECONDS=5, WRK_ROUNDS=3 by default
//! ```
//!
//! The same run as logto-axum's bench (`logto_integration::throughput`): the sample
//! (`--release`) on memory and on Redis, signed in as alice, against `wrk -t2 -c32`, beside
//! bare actix-web routes (as many workers as the sample: one per core) that serialise the
//! same claims per request or serve the same bytes. The figures go to BENCHMARKS.md.

use actix_web::web::{self, Json};
use actix_web::{App, HttpResponse, HttpServer};
use logto_actix::proto::decode_claims;
use logto_actix::IdTokenClaims;
use logto_integration::throughput::{signed_in_json_throughput, BareBodies};
use serde_json::{json, Value};

/// The bare routes, on their own actix system and thread: the sample's handlers without the
/// session. `/claims` answers the same typed claims (`Json<IdTokenClaims>`, serialised per
/// request); `/token` the same `{"token", "claims"}` the sample builds per request.
/// `/claims-bytes` and `/token-bytes` answer the same JSON pre-serialised.
fn start_bare(bodies: BareBodies, port: u16) -> actix_web::dev::ServerHandle {
    let claims: IdTokenClaims = serde_json::from_value(bodies.claims).unwrap();
    let (token, claims_bytes, token_bytes) =
        (bodies.token, bodies.claims_bytes, bodies.token_bytes);
    let server = HttpServer::new(move || {
        let (claims, token) = (claims.clone(), token.clone());
        let (claims_bytes, token_bytes) = (claims_bytes.clone(), token_bytes.clone());
        App::new()
            .route(
                "/claims",
                web::get().to(move || {
                    let claims = claims.clone();
                    async move { Json(claims) }
                }),
            )
            .route(
                "/token",
                web::get().to(move || {
                    let token = token.clone();
                    async move {
                        let claims = decode_claims::<Value>(&token).unwrap_or(Value::Null);
                        Json(json!({ "token": token, "claims": claims }))
                    }
                }),
            )
            .route(
                "/claims-bytes",
                web::get().to(move || serve_bytes(claims_bytes.clone())),
            )
            .route(
                "/token-bytes",
                web::get().to(move || serve_bytes(token_bytes.clone())),
            )
    })
    .disable_signals()
    .bind(("127.0.0.1", port))
    .unwrap()
    .run();
    let handle = server.handle();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(server));
    handle
}

/// Pre-serialised JSON: what actix-web costs with no handler work at all.
async fn serve_bytes(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing to list
    }
    signed_in_json_throughput("logto-actix", |bodies, port| {
        Box::new(start_bare(bodies, port))
    });
}
