//! Adapter overhead: one client call that needs exactly one HTTP request (user info with a
//! cached access token) against the same request sent with a bare ureq agent, both to the
//! project's local provider, in one run.
//!
//! The provider is a Node.js process whose latency drifts (JIT, garbage collection) by more
//! than the margin measured here, so the two are interleaved: every timed call of one kind
//! follows an untimed call of the other, and the provider is warmed up first. Both
//! benchmarks then see the same load on the provider, and drift between them cancels.

use criterion::{criterion_group, criterion_main, Criterion};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Browser, Provider};
use logto_ureq::{LogtoClient, LogtoConfig};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn overhead(c: &mut Criterion) {
    let provider = Provider::start();
    let creds = provider.confidential_client();
    let config = LogtoConfig::builder(provider.endpoint(), &creds.client_id)
        .app_secret(creds.client_secret.as_deref().unwrap_or_default())
        .scopes(["custom_data"])
        .resources([API_RESOURCE])
        .build()
        .unwrap();
    let client = LogtoClient::new(config).unwrap();
    let url = client.sign_in(provider.redirect_uri()).unwrap();
    let alice = provider.alice();
    let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
    client.handle_sign_in_callback(&callback).unwrap();
    client.fetch_user_info().unwrap();
    client.access_token(API_RESOURCE).unwrap();
    let token = client.access_token("").unwrap();

    let bare = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .new_agent();
    let userinfo = provider.userinfo_endpoint();
    let bearer = format!("Bearer {token}");

    let bare_call = || {
        let mut response = bare
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
    for _ in 0..1000 {
        bare_call();
        client_call();
    }

    let mut group = c.benchmark_group("adapter_overhead");
    group.bench_function("bare_ureq_userinfo", |b| {
        b.iter_custom(|iters| timed_after(iters, &client_call, &bare_call))
    });
    group.bench_function("logto_ureq_fetch_user_info", |b| {
        b.iter_custom(|iters| timed_after(iters, &bare_call, &client_call))
    });
    // A call that finds a fresh cached token: no request, no write (read, parse reused).
    group.bench_function("logto_ureq_cached_access_token", |b| {
        b.iter(|| black_box(client.access_token(API_RESOURCE).unwrap()))
    });
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
