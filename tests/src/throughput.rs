//! The throughput benchmark of a web framework's sample (logto-axum's and logto-actix's
//! `web`): its signed-in JSON routes on the memory store and on Redis, beside a bare route
//! of the same framework serving the same JSON, measured with `wrk` in one run.

use crate::examples::{
    artifacts_dir, bases_and_provider, example_binary, free_port, median, start_server, wrk,
    ChildProcess,
};
use crate::fixtures::API_RESOURCE;
use crate::{Provider, RedisServer, Visitor};
use serde_json::Value;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the bare routes serve: the signed-in routes' answers, as the sample gave them.
pub struct BareBodies {
    /// The ID token's claims (`/api/id-token-claims`), for `/claims` to serialise per request.
    pub claims: Value,
    /// The access token (`/api/access-token`), for `/token` to decode and serialise per
    /// request as `{"token", "claims"}`.
    pub token: String,
    /// The claims route's JSON, for `/claims-bytes` to serve pre-serialised.
    pub claims_bytes: String,
    /// The token route's JSON, for `/token-bytes`.
    pub token_bytes: String,
}

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

/// An environment variable's number, or `default`.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The benchmark of `package`'s `web` sample (built with the bench's profile) beside the bare
/// routes `start_bare` serves on the port it is given (`/claims`, `/token`, `/claims-bytes`,
/// `/token-bytes`; what it returns keeps them running). `WRK_SECONDS` (5) and `WRK_ROUNDS`
/// (3) set the runs; `BASELINE_SAMPLE` names another build of the sample (an older
/// commit's) to measure on Redis in the same rounds. Prints the medians and their ratios.
pub fn signed_in_json_throughput(
    package: &str,
    start_bare: impl FnOnce(BareBodies, u16) -> Box<dyn Any>,
) {
    let seconds: u64 = env_number("WRK_SECONDS", 5);
    let rounds: usize = env_number("WRK_ROUNDS", 3);
    let redis = RedisServer::start();
    let binary = example_binary(package, "web");
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

    println!(
        "{package}: wrk -t2 -c32 -d{seconds}s, one signed-in session, median of {rounds} rounds"
    );
    let claims_json = visitors[0].get(routes[0]).ok_json();
    let token_json = visitors[0].get(routes[1]).ok_json();
    let bodies = BareBodies {
        claims_bytes: claims_json.to_string(),
        token_bytes: token_json.to_string(),
        token: token_json["token"].as_str().unwrap().to_owned(),
        claims: claims_json,
    };
    let sizes = [bodies.claims_bytes.len(), bodies.token_bytes.len()];
    let port = free_port();
    let _bare = start_bare(bodies, port);
    crate::examples::wait_for_listener(port);
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
