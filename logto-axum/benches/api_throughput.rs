//! Throughput of the API example's `GET /api/me` with a token presented before, beside a
//! bare axum route returning the same JSON, measured with `wrk` in one run (Debian:
//! `apt-get install wrk`).
//!
//! ```sh
//! cargo bench -p logto-axum --bench api_throughput    # WRK_SECONDS=5, WRK_ROUNDS=3
//! ```
//!
//! It builds the `api` example (release), starts the project's provider and the example,
//! gets a machine token for the API, serves the example's answer from a bare axum route on
//! the same runtime configuration, and runs `wrk -t2 -c32` against each with the token.

use axum::routing::get;
use axum::Json;
use logto_integration::examples::{
    artifacts_dir, example_binary, free_port, median, start_server, wrk,
};
use logto_integration::{raw, Provider};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const API: &str = "https://shopping.example/api";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (seconds, rounds) = (env("WRK_SECONDS", 5), env("WRK_ROUNDS", 3));
    let provider = Provider::start();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(example_binary("logto-axum", "api"));
    command
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("API_ADDR", &addr);
    let _api = start_server(command, &artifacts_dir().join("api-bench.log"));

    let machine = provider.machine_client();
    let token = raw::post_form(
        &provider.token_endpoint(),
        &[
            ("grant_type", "client_credentials"),
            ("resource", API),
            ("scope", "read write"),
        ],
        machine.auth(),
    )
    .ok_json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me_url = format!("http://{addr}/api/me");
    let me: Value = raw::get_bearer(&me_url, &token).ok_json();

    // The bare route: the same JSON, built per request from a value, without any check.
    let bare_port = free_port();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.spawn(async move {
        let app =
            axum::Router::new().route("/api/me", get(move || async move { Json(me.clone()) }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", bare_port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    let bare_url = format!("http://127.0.0.1:{bare_port}/api/me");

    let header = [format!("Authorization: Bearer {token}")];
    let (mut api, mut bare) = (Vec::new(), Vec::new());
    // Each round measures both servers, in turn: a slow spell shows in both columns.
    for _ in 0..rounds {
        api.push(wrk(&me_url, &header, seconds));
        bare.push(wrk(&bare_url, &header, seconds));
        eprintln!(
            "  api {:.0}/s, bare {:.0}/s",
            api[api.len() - 1],
            bare[bare.len() - 1]
        );
    }
    let (api, bare) = (median(api), median(bare));
    println!("wrk -t2 -c32 -d{seconds}s, one token presented before, median of {rounds} rounds");
    println!("GET /api/me (api example)   {api:>9.0}/s");
    println!("bare axum, same JSON        {bare:>9.0}/s");
    println!("ratio                       {:>9.2}x", api / bare);
}
