//! Throughput of the tiny_http sample's signed-in JSON routes: the ID-token claims and a
//! cached access token, measured with `wrk` in one run (Debian: `apt-get install wrk`).
//!
//! ```sh
//! cargo bench -p logto-ureq --bench sample_throughput    # WRK_SECONDS=5, WRK_ROUNDS=3
//! ```
//!
//! It builds the sample (release), starts the project's provider and the sample on its
//! memory store, signs in as alice, and runs `wrk -t2 -c32` against each route with the
//! session cookie, in turns. The figures go to BENCHMARKS.md.

use logto_integration::examples::{example_binary, free_port, median, start_server, wrk};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Provider, Visitor};
use std::process::Command;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing to list
    }
    let (seconds, rounds) = (setting("WRK_SECONDS", 5), setting("WRK_ROUNDS", 3));
    let base = format!("http://127.0.0.1:{}", free_port());
    let provider = Provider::builder()
        .redirect_uris(&[&format!("{base}/callback")])
        .start();
    let client = provider.confidential_client();
    let mut command = Command::new(example_binary("logto-ureq", "web"));
    command
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &client.client_id)
        .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
        .env("LOGTO_RESOURCES", API_RESOURCE)
        .env("BASE_URL", &base);
    let log = std::env::temp_dir().join("logto-ureq-sample-throughput.log");
    let _sample = start_server(command, &log);

    let visitor = Visitor::new(&base);
    let started = visitor.get("/sign-in");
    let alice = provider.alice();
    let callback = provider.sign_in(
        started.header("location").unwrap(),
        &alice.username,
        &alice.password,
    );
    assert_eq!(visitor.get(&callback).status, 303);
    let cookie = format!("Cookie: {}", visitor.cookie_header());
    let token_route = format!("/api/access-token?resource={API_RESOURCE}");
    let routes = ["/api/id-token-claims", token_route.as_str()];
    for route in routes {
        visitor.get(route).ok_json();
    }

    println!("wrk -t2 -c32 -d{seconds}s, one signed-in session, median of {rounds} rounds");
    let mut figures = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (route, column) in routes.iter().zip(figures.iter_mut()) {
            let figure = wrk(
                &format!("{base}{route}"),
                std::slice::from_ref(&cookie),
                seconds,
            );
            eprintln!("  {route}: {figure:.0}/s");
            column.push(figure);
        }
    }
    let [claims, token] = figures.map(median);
    println!("{:<48} {claims:>9.0}/s", routes[0]);
    println!("{:<48} {token:>9.0}/s", routes[1]);
    println!("token / claims: {:.2}x", token / claims);
    let refreshes = provider.refresh_count();
    println!("provider refreshes during the run: {refreshes} (the cached token was served)");
}
