//! Throughput of the axum sample's signed-in JSON routes beside a bare axum route serving
//! the same JSON, measured with `wrk` in one run (Debian: `apt-get install wrk`).
//!
//! ```sh
//! cargo bench -p logto-axum --bench throughput    # WRK_SECONDS=5, WRK_ROUNDS=3 by default
//! ```
//!
//! It builds the sample (`--release`), starts the project's provider and the sample, signs in
//! as alice, takes the JSON each route answers, serves the same bytes from a bare axum route
//! on the same runtime configuration, and runs `wrk -t2 -c32` against each with the
//! session cookie. The figures go to BENCHMARKS.md.

use axum::routing::get;
use axum::Json;
use logto_axum::logto_isahc::proto::decode_claims;
use logto_axum::IdTokenClaims;
use logto_integration::examples::{median, wrk};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Provider, Visitor};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sample_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "logto-axum",
            "--example",
            "web",
        ])
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --release --example web failed"
    );
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(|deps| deps.parent()).unwrap();
    release.join("examples").join("web")
}

fn start_sample(provider: &Provider, base: &str) -> Killed {
    let client = provider.confidential_client();
    let mut child = Command::new(sample_binary())
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &client.client_id)
        .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
        .env("LOGTO_SCOPES", "email urn:logto:scope:organizations")
        .env("LOGTO_RESOURCES", API_RESOURCE)
        .env("BASE_URL", base)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sample");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.starts_with("Listening"))),
        "the sample did not start"
    );
    Killed(child)
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
    let base = format!("http://127.0.0.1:{}", free_port());
    let provider = Provider::builder()
        .redirect_uris(&[&format!("{base}/callback")])
        .start();
    let _sample = start_sample(&provider, &base);

    let visitor = Visitor::new(&base);
    let started = visitor.get("/sign-in");
    let alice = provider.alice();
    let callback = provider.sign_in(
        started.header("location").unwrap(),
        &alice.username,
        &alice.password,
    );
    assert_eq!(visitor.get(&callback).status, 303);
    let cookie = visitor.cookie_header();
    let token_route = format!("/api/access-token?resource={API_RESOURCE}");
    let routes = ["/api/id-token-claims", token_route.as_str()];

    println!("wrk -t2 -c32 -d{seconds}s, one signed-in session, median of {rounds} rounds");
    println!(
        "{:<48} {:>11} {:>13} {:>13} {:>7} {:>7}",
        "route", "sample", "bare handler", "bare bytes", "ratio", "ratio"
    );
    let claims_json = visitor.get(routes[0]).ok_json();
    let token_json = visitor.get(routes[1]).ok_json();
    let claims: IdTokenClaims = serde_json::from_value(claims_json.clone()).unwrap();
    let token = token_json["token"].as_str().unwrap().to_owned();
    let bytes = [claims_json.to_string(), token_json.to_string()];
    let sizes = [bytes[0].len(), bytes[1].len()];
    let port = free_port();
    let _bare_runtime = start_bare(claims, token, bytes, port);
    let bare_url = format!("http://127.0.0.1:{port}");
    // Each round measures every server once, in turn: a slow spell of the machine then
    // shows in every column of that round, and the medians leave it out.
    let targets = |i: usize| {
        let name = ["claims", "token"][i];
        [
            format!("{base}{}", routes[i]),
            format!("{bare_url}/{name}"),
            format!("{bare_url}/{name}-bytes"),
        ]
    };
    let mut figures: [[Vec<f64>; 3]; 2] = Default::default();
    for _ in 0..rounds {
        for (i, route_figures) in figures.iter_mut().enumerate() {
            for (url, column) in targets(i).iter().zip(route_figures.iter_mut()) {
                let figure = wrk(url, &[format!("Cookie: {cookie}")], seconds);
                eprintln!("  {url}: {figure:.0}/s");
                column.push(figure);
            }
        }
    }
    for (i, route) in routes.iter().enumerate() {
        let [sample, handler, bytes] = figures[i].clone().map(median);
        println!(
            "{:<48} {:>9.0}/s {:>11.0}/s {:>11.0}/s {:>6.2}x {:>6.2}x  ({} B)",
            route,
            sample,
            handler,
            bytes,
            sample / handler,
            sample / bytes,
            sizes[i]
        );
    }
    let refreshes = provider.refresh_count();
    println!("provider refreshes during the run: {refreshes} (the cached token was served)");
}
