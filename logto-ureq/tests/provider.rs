//! logto-ureq against the project's Logto-compatible provider: the blocking client's cases
//! (`tests/cases/blocking_provider.rs`, shared by every blocking transport), and what is
//! ureq's own: the app's own `ureq::Agent`.

use logto_ureq as sdk;

#[path = "../../tests/cases/blocking_provider.rs"]
mod cases;

use cases::{config, sign_in};
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{raw, Provider};
use sdk::*;

/// The app's own agent (here one that follows redirects) carries the whole flow, and the
/// client still never follows a redirect.
#[test]
fn provider_with_the_apps_own_http_client() {
    let provider = Provider::start();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(5)
        .build()
        .into();
    let client = LogtoClient::with_http_client(
        config(&provider, true).build().unwrap(),
        MemoryStore::new(),
        agent.clone(),
    );
    sign_in(&provider, &client);
    client.access_token(API_RESOURCE).unwrap();

    let endpoint = raw::redirect_once(&provider.discovery_url());
    let config = LogtoConfig::builder(&endpoint, "app").build().unwrap();
    let client = LogtoClient::with_http_client(config, MemoryStore::new(), agent);
    provider.reset_requests();
    match client
        .sign_in("http://127.0.0.1:3000/callback")
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
