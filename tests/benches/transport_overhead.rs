//! Adapter overhead, for every transport: one client call that needs exactly one HTTP request
//! (user info with a cached access token) against the same request sent bare with the same
//! HTTP client, and a call that finds a fresh cached token (no request), all to the
//! project's local provider in one run.
//!
//! The provider is a Node.js process whose latency drifts (JIT, garbage collection) by more
//! than the margin measured here, so each pair is interleaved: every timed call of one kind
//! follows an untimed call of the other, after warm-up pairs. Both benchmarks of a pair then
//! see the same load on the provider, and drift between them cancels. The async clients run
//! on one tokio runtime, each call (bare or not) in its own `block_on`.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Browser, Provider};
use logto_proto::Config;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Untimed pairs before measuring, so that both calls meet a warm provider and client.
const WARM_UP_PAIRS: usize = 1000;

/// The config of the provider's web app, asking for the user-info and API scopes.
fn config(provider: &Provider) -> Config {
    let creds = provider.confidential_client();
    Config::builder(provider.endpoint(), &creds.client_id)
        .app_secret(creds.client_secret.as_deref().unwrap_or_default())
        .scopes(["custom_data"])
        .resources([API_RESOURCE])
        .build()
        .unwrap()
}

/// Alice's sign-in at the provider for a sign-in URL; the callback URL.
fn callback(provider: &Provider, sign_in_url: &str) -> String {
    let alice = provider.alice();
    Browser::new().sign_in(sign_in_url, &alice.username, &alice.password)
}

/// The three benchmarks of one transport: the bare request, `fetch_user_info`, the cached
/// access token.
fn measure(
    group: &mut BenchmarkGroup<'_, WallTime>,
    transport: &str,
    bare_call: &dyn Fn(),
    client_call: &dyn Fn(),
    cached_token: &dyn Fn(),
) {
    for _ in 0..WARM_UP_PAIRS {
        bare_call();
        client_call();
    }
    group.bench_function(format!("{transport}/bare_userinfo"), |b| {
        b.iter_custom(|iters| timed_after(iters, client_call, bare_call))
    });
    group.bench_function(format!("{transport}/fetch_user_info"), |b| {
        b.iter_custom(|iters| timed_after(iters, bare_call, client_call))
    });
    group.bench_function(format!("{transport}/cached_access_token"), |b| {
        b.iter(cached_token)
    });
}

/// Signs the async `client` in as alice and fetches its tokens once; the bearer for user
/// info.
fn sign_in_async(
    provider: &Provider,
    runtime: &tokio::runtime::Runtime,
    client: &logto_driver::aio::LogtoClient,
) -> String {
    runtime.block_on(async {
        let url = client.sign_in(provider.redirect_uri()).await.unwrap();
        let callback = callback(provider, &url);
        client.handle_sign_in_callback(&callback).await.unwrap();
        client.access_token(API_RESOURCE).await.unwrap();
        format!("Bearer {}", client.access_token("").await.unwrap())
    })
}

/// [`measure`] for an async client, each call in its own `block_on`.
fn measure_async(
    group: &mut BenchmarkGroup<'_, WallTime>,
    transport: &str,
    runtime: &tokio::runtime::Runtime,
    client: &logto_driver::aio::LogtoClient,
    bare_call: &dyn Fn(),
) {
    let client_call = || {
        black_box(runtime.block_on(client.fetch_user_info()).unwrap());
    };
    let cached_token = || {
        black_box(runtime.block_on(client.access_token(API_RESOURCE)).unwrap());
    };
    measure(group, transport, bare_call, &client_call, &cached_token);
}

fn ureq(provider: &Provider, group: &mut BenchmarkGroup<'_, WallTime>) {
    use logto_ureq::{LogtoClient, MemoryStore};
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .new_agent();
    let client = LogtoClient::with_http_client(config(provider), MemoryStore::new(), agent.clone());
    let url = client.sign_in(provider.redirect_uri()).unwrap();
    client
        .handle_sign_in_callback(&callback(provider, &url))
        .unwrap();
    client.access_token(API_RESOURCE).unwrap();
    let bearer = format!("Bearer {}", client.access_token("").unwrap());
    let userinfo = provider.userinfo_endpoint();

    let bare_call = || {
        let mut response = agent
            .get(&userinfo)
            .header("authorization", &bearer)
            .header("accept", "application/json")
            .call()
            .unwrap();
        black_box(response.body_mut().read_to_vec().unwrap());
    };
    let client_call = || {
        black_box(client.fetch_user_info().unwrap());
    };
    let cached_token = || {
        black_box(client.access_token(API_RESOURCE).unwrap());
    };
    measure(group, "ureq", &bare_call, &client_call, &cached_token);
}

fn reqwest(
    provider: &Provider,
    runtime: &tokio::runtime::Runtime,
    group: &mut BenchmarkGroup<'_, WallTime>,
) {
    use logto_reqwest::reqwest;
    use logto_reqwest::{LogtoClient, MemoryStore};
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = LogtoClient::with_http_client(config(provider), MemoryStore::new(), http.clone());
    let bearer = sign_in_async(provider, runtime, &client);
    let userinfo = provider.userinfo_endpoint();

    let bare_call = || {
        runtime.block_on(async {
            let response = http
                .get(&userinfo)
                .header("authorization", &bearer)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            black_box(response.bytes().await.unwrap());
        })
    };
    measure_async(group, "reqwest", runtime, &client, &bare_call);
}

fn isahc(
    provider: &Provider,
    runtime: &tokio::runtime::Runtime,
    group: &mut BenchmarkGroup<'_, WallTime>,
) {
    use isahc::config::{Configurable, RedirectPolicy};
    use isahc::AsyncReadResponseExt;
    use logto_isahc::{LogtoClient, MemoryStore};
    let http = isahc::HttpClient::builder()
        .redirect_policy(RedirectPolicy::None)
        .build()
        .unwrap();
    let client = LogtoClient::with_http_client(config(provider), MemoryStore::new(), http.clone());
    let bearer = sign_in_async(provider, runtime, &client);
    let userinfo = provider.userinfo_endpoint();

    let bare_call = || {
        runtime.block_on(async {
            let request = isahc::Request::get(&userinfo)
                .header("authorization", &bearer)
                .header("accept", "application/json")
                .body(())
                .unwrap();
            let mut response = http.send_async(request).await.unwrap();
            black_box(response.bytes().await.unwrap());
        })
    };
    measure_async(group, "isahc", runtime, &client, &bare_call);
}

fn overhead(c: &mut Criterion) {
    let provider = Provider::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("adapter_overhead");
    ureq(&provider, &mut group);
    reqwest(&provider, &runtime, &mut group);
    isahc(&provider, &runtime, &mut group);
    group.finish();
}

/// Runs `untimed` then `timed`, `iters` times, and returns the time `timed` took.
fn timed_after(iters: u64, untimed: &dyn Fn(), timed: &dyn Fn()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        untimed();
        let start = Instant::now();
        timed();
        total += start.elapsed();
    }
    total
}

criterion_group!(benches, overhead);
criterion_main!(benches);
