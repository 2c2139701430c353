//! logto-reqwest against the project's Logto-compatible provider: the async client's cases
//! (`tests/cases/async_provider.rs`, shared by every async transport), and what is
//! reqwest's own: the app's own `reqwest::Client`, and redirects it would follow.

use logto_reqwest as sdk;

#[path = "../../tests/cases/async_provider.rs"]
mod cases;

use cases::{config, sign_in};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{raw, Provider};
use sdk::*;
use std::time::Duration;

/// The app's own client, built as the docs say (no redirects), carries the whole flow; a
/// redirect comes back to the core as the provider's answer and is refused there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_with_the_apps_own_http_client() {
    let provider = Provider::start();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = LogtoClient::with_http_client(
        config(&provider, true).build().unwrap(),
        MemoryStore::new(),
        http.clone(),
    );
    sign_in(&provider, &client).await;
    client.access_token(API_RESOURCE).await.unwrap();

    let endpoint = raw::redirect_once(&provider.discovery_url());
    let config = LogtoConfig::builder(&endpoint, "app").build().unwrap();
    let client = LogtoClient::with_http_client(config, MemoryStore::new(), http);
    provider.reset_requests();
    match client
        .sign_in("http://127.0.0.1:3000/callback")
        .await
        .unwrap_err()
    {
        Error::Provider(e) => assert_eq!(e.status, 302),
        other => panic!("{other:?}"),
    }
    assert!(
        provider.requests().is_empty(),
        "the redirect was not followed"
    );
}

/// An app's client that follows redirects (reqwest's default): what a followed redirect
/// produced is refused as a transport error, never read as the provider's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_followed_redirect_is_refused() {
    let provider = Provider::start();
    let endpoint = raw::redirect_once(&provider.discovery_url());
    let config = LogtoConfig::builder(&endpoint, "app").build().unwrap();
    let client = LogtoClient::with_http_client(config, MemoryStore::new(), reqwest::Client::new());
    let refused = client
        .sign_in("http://127.0.0.1:3000/callback")
        .await
        .unwrap_err();
    let Error::Transport(error) = &refused else {
        panic!("expected a transport error, got {refused:?}");
    };
    assert!(error.to_string().contains("followed a redirect"), "{error}");
}

/// The driver bounds every request with the config's timeout, whatever the app's client
/// says: a server that accepts and never answers is a timeout error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_server_times_out_at_the_configs_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let _held = std::thread::spawn(move || {
        let streams: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(10));
        drop(streams);
    });
    let config = LogtoConfig::builder(&endpoint, "app")
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // No timeout of its own.
    let client = LogtoClient::with_http_client(config, MemoryStore::new(), reqwest::Client::new());
    let started = std::time::Instant::now();
    let failed = client
        .sign_in("http://127.0.0.1:3000/callback")
        .await
        .unwrap_err();
    let Error::Transport(error) = &failed else {
        panic!("expected a transport error, got {failed:?}");
    };
    assert_eq!(error.kind, TransportErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
