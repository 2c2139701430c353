//! logto-isahc against the project's Logto-compatible provider: the async client's cases
//! (`tests/cases/async_provider.rs`, shared by every async transport), and what is
//! isahc's own: any executor, the app's own `isahc::HttpClient`.

use logto_isahc as sdk;

#[path = "../../tests/cases/async_provider.rs"]
mod cases;

use cases::{config, sign_in};
use logto_integration::fixtures::{API_RESOURCE, ORG1};
use logto_integration::{raw, Provider};
use sdk::*;

/// The client needs no particular runtime: the guide flow under a plain executor.
#[test]
fn provider_runs_under_a_plain_executor() {
    let provider = Provider::start();
    futures_executor::block_on(async {
        let client = LogtoClient::new(config(&provider, true).build().unwrap()).unwrap();
        sign_in(&provider, &client).await;
        client.access_token(API_RESOURCE).await.unwrap();
        client.organization_token(ORG1).await.unwrap();
        assert!(client
            .fetch_user_info()
            .await
            .unwrap()
            .custom_data
            .is_some());
        assert!(!client.sign_out(None).await.unwrap().is_empty());
        assert!(!client.is_authenticated().await.unwrap());
    });
}

/// The app's own HTTP client (here one that follows redirects) carries the whole flow, and
/// the client still never follows a redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_with_the_apps_own_http_client() {
    use isahc::config::{Configurable, RedirectPolicy};
    let provider = Provider::start();
    let http = isahc::HttpClient::builder()
        .redirect_policy(RedirectPolicy::Follow)
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
