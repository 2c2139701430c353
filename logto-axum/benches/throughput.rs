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
//! the session cookie. `BASELINE_SAMPLE` names another build of the sample (an older
//! commit's) to measure on Redis in the same rounds. The figures go to BENCHMARKS.md.

use axum::routing::get;
use axum::Json;
use logto_axum::proto::decode_claims;
use logto_axum::IdTokenClaims;
use logto_integration::examples::{
    artifacts_dir, bases_and_provider, example_binary, free_port, median, start_server, wrk,
    ChildProcess,
};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Provider, RedisServer, Visitor};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Starts the sample `binary` at `base` with its sessions in `store` (`memory` or a Redis
/// URL).
fn start_sample(binary: &Path, provider: &Provider, base: &str, store: &str) -> ChildProcess {
    let client = provider.confidential_client();
    let mut command = Command::new(binary);
    command
        .env("LOGTO_SESSION_STORE", store)
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &client.client_id)
        .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
        .env("LOGTO_SCOPES", "email urn:logto:scope:organizations")
        .env("LOGTO_RESOURCES", API_RESOURCE)
        .env("BASE_URL", base);
    let log = artifacts_dir().join(format!("throughput-{}.log", base.replace([':', '/'], "_")));
    start_server(command, &log)
}

/// The bare routes: the sample's handlers without the session. `/claims` answers the same
/// typed claims (`Json<IdTokenClaims>`, serialised per request); `/token` the same
/// `{"token", "claims"}` the sample builds per request (claims decoded from the token).
/// `/claims-bytes` and `/token-bytes` answer the same JSON pre-serialised.
fn start_bare(
    claims: IdTokenClaims,
    token: String,
    bytes: [String; 2],
    port: u16,
) -> tokio::runtime::Runtime {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.spawn(async move {
        let [claims_bytes, token_bytes] = bytes;
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
    std::thread::sleep(Duration::from_millis(200));
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
    let seconds: u64 = std::env::var("WRK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rounds: usize = std::env::var("WRK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let redis = RedisServer::start();
    let binary = example_binary("logto-axum", "web");
    let baseline = std::env::var("BASELINE_SAMPLE").ok().map(PathBuf::from);
    // The samples measured: this build on memory and on Redis, and the baseline on Redis.
    let mut samples = vec![
        ("memory", binary.clone(), "memory".to_owned()),
        ("redis", binary, redis.url()),
    ];
    if let Some(baseline) = baseline {
        samples.push(("baseline redis", baseline, redis.url()));
    }
    let (bases, provider) = bases_and_provider(samples.len());
    let _running: Vec<ChildProcess> = samples
        .iter()
        .zip(&bases)
        .map(|((_, binary, store), base)| start_sample(binary, &provider, base, store))
        .collect();
    let visitors: Vec<Visitor> = bases
        .iter()
        .map(|base| {
            let visitor = Visitor::new(base);
            visitor.sign_in_as_alice(&provider);
            visitor
        })
        .collect();
    let cookies: Vec<String> = visitors.iter().map(Visitor::cookie_header).collect();
    let token_route = format!("/api/access-token?resource={API_RESOURCE}");
    let routes = ["/api/id-token-claims", token_route.as_str()];

    println!("wrk -t2 -c32 -d{seconds}s, one signed-in session, median of {rounds} rounds");
    let claims_json = visitors[0].get(routes[0]).ok_json();
    let token_json = visitors[0].get(routes[1]).ok_json();
    let claims: IdTokenClaims = serde_json::from_value(claims_json.clone()).unwrap();
    let token = token_json["token"].as_str().unwrap().to_owned();
    let bytes = [claims_json.to_string(), token_json.to_string()];
    let sizes = [bytes[0].len(), bytes[1].len()];
    let port = free_port();
    let _bare_runtime = start_bare(claims, token, bytes, port);
    let bare_url = format!("http://127.0.0.1:{port}");
    // The columns: each sample, then the bare handler and the bare bytes.
    let mut columns: Vec<String> = samples.iter().map(|(name, ..)| name.to_string()).collect();
    columns.extend(["bare handler".to_owned(), "bare bytes".to_owned()]);
    let targets = |i: usize| -> Vec<(String, String)> {
        let name = ["claims", "token"][i];
        let mut targets: Vec<(String, String)> = bases
            .iter()
            .zip(&cookies)
            .map(|(base, cookie)| (format!("{base}{}", routes[i]), cookie.clone()))
            .collect();
        targets.push((format!("{bare_url}/{name}"), cookies[0].clone()));
        targets.push((format!("{bare_url}/{name}-bytes"), cookies[0].clone()));
        targets
    };
    // Each round measures every server once, in turn: a slow spell of the machine then
    // shows in every column of that round, and the medians leave it out.
    let mut figures: [Vec<Vec<f64>>; 2] = [
        vec![Vec::new(); columns.len()],
        vec![Vec::new(); columns.len()],
    ];
    for _ in 0..rounds {
        for (i, route_figures) in figures.iter_mut().enumerate() {
            for ((url, cookie), column) in targets(i).iter().zip(route_figures.iter_mut()) {
                let figure = wrk(url, &[format!("Cookie: {cookie}")], seconds);
                eprintln!("  {url}: {figure:.0}/s");
                column.push(figure);
            }
        }
    }
    println!(
        "{:<40} {}",
        "route",
        columns
            .iter()
            .map(|c| format!("{c:>15}"))
            .collect::<String>()
    );
    for (i, route) in routes.iter().enumerate() {
        let medians: Vec<f64> = figures[i].iter().cloned().map(median).collect();
        let cells: String = medians.iter().map(|m| format!("{:>13.0}/s", m)).collect();
        println!("{:<40} {cells}  ({} B)", route, sizes[i]);
        let handler = medians[samples.len()];
        println!(
            "{:<40} redis / memory {:.2}x, memory / bare handler {:.2}x, redis / bare handler {:.2}x",
            "", medians[1] / medians[0], medians[0] / handler, medians[1] / handler
        );
        if samples.len() > 2 {
            println!(
                "{:<40} redis / baseline redis {:.2}x",
                "",
                medians[1] / medians[2]
            );
        }
    }
    let refreshes = provider.refresh_count();
    println!("provider refreshes during the run: {refreshes} (the cached token was served)");
}
