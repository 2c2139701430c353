//! Throughput of the tiny_http sample's signed-in JSON routes: the ID-token claims and a
//! cached access token, measured with `wrk` in one run (Debian: `apt-get install wrk`).
//!
//! ```sh
//! cargo bench -p logto-ureq --bench sample_throughput    # WRK_SECONDS=5, WRK_ROUNDS=3
//! BASELINE_SAMPLE=/path/to/older/web cargo bench -p logto-ureq --bench sample_throughput
//! SAMPLE_STORE=redis cargo bench -p logto-ureq --bench sample_throughput  # on a redis-server
//! ```
//!
//! It builds the sample (release), starts the project's provider and the sample on its
//! memory store, signs in as alice, and runs `wrk -t2 -c32` against each route with the
//! session cookie, in turns. `BASELINE_SAMPLE` names another build of the sample (an older
//! commit's) measured in the same rounds. The figures go to BENCHMARKS.md.

use logto_integration::examples::{bases_and_provider, example_binary, median, start_server, wrk};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Provider, RedisServer, Visitor};
use std::process::Command;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A running sample and its signed-in visitor.
struct Sample {
    name: String,
    base: String,
    cookie: String,
    _process: logto_integration::examples::ChildProcess,
}

fn start(
    name: &str,
    binary: &std::path::Path,
    provider: &Provider,
    base: &str,
    store: &str,
) -> Sample {
    let client = provider.confidential_client();
    let mut command = Command::new(binary);
    command
        .env("LOGTO_SESSION_STORE", store)
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &client.client_id)
        .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
        .env("LOGTO_RESOURCES", API_RESOURCE)
        .env("BASE_URL", base);
    let log = std::env::temp_dir().join(format!("logto-ureq-sample-throughput-{name}.log"));
    let process = start_server(command, &log);
    let visitor = Visitor::new(base);
    visitor.sign_in_as_alice(provider);
    Sample {
        name: name.to_owned(),
        base: base.to_owned(),
        cookie: format!("Cookie: {}", visitor.cookie_header()),
        _process: process,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing to list
    }
    let (seconds, rounds) = (setting("WRK_SECONDS", 5), setting("WRK_ROUNDS", 3));
    let mut binaries = vec![("sample".to_owned(), example_binary("logto-ureq", "web"))];
    if let Ok(baseline) = std::env::var("BASELINE_SAMPLE") {
        binaries.push(("baseline".to_owned(), baseline.into()));
    }
    let (bases, provider) = bases_and_provider(binaries.len());
    // The store: the sample's memory store, or a redis-server shared by the samples.
    let redis = (std::env::var("SAMPLE_STORE").as_deref() == Ok("redis")).then(RedisServer::start);
    let store = redis.as_ref().map_or("memory".to_owned(), RedisServer::url);
    let samples: Vec<Sample> = binaries
        .iter()
        .zip(&bases)
        .map(|((name, binary), base)| start(name, binary, &provider, base, &store))
        .collect();
    let token_route = format!("/api/access-token?resource={API_RESOURCE}");
    let routes = ["/api/id-token-claims", token_route.as_str()];

    println!(
        "wrk -t2 -c32 -d{seconds}s, one signed-in session, median of {rounds} rounds, store {}",
        if redis.is_some() { "redis" } else { "memory" }
    );
    let mut figures = vec![[Vec::new(), Vec::new()]; samples.len()];
    for _ in 0..rounds {
        for (sample, sample_figures) in samples.iter().zip(figures.iter_mut()) {
            for (route, column) in routes.iter().zip(sample_figures.iter_mut()) {
                let url = format!("{}{route}", sample.base);
                let figure = wrk(&url, std::slice::from_ref(&sample.cookie), seconds);
                eprintln!("  {} {route}: {figure:.0}/s", sample.name);
                column.push(figure);
            }
        }
    }
    for (sample, sample_figures) in samples.iter().zip(figures) {
        let [claims, token] = sample_figures.map(median);
        println!("{} {:<48} {claims:>9.0}/s", sample.name, routes[0]);
        println!("{} {:<48} {token:>9.0}/s", sample.name, routes[1]);
        println!("{} token / claims: {:.2}x", sample.name, token / claims);
    }
    let refreshes = provider.refresh_count();
    println!("provider refreshes during the run: {refreshes} (the cached token was served)");
}
