//! What the provider-backed tests of every web framework's integration share, whatever the
//! framework (`crate::sdk` names the crate under test): ports bound before the provider
//! starts, the app's configuration, concurrent visits and the sign-in of a visitor.

use crate::sdk::LogtoConfig;
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{raw, Browser, Provider, Visitor};
use std::net::TcpListener;
use std::sync::{Arc, Barrier};

/// A loopback port for an instance, bound before the provider starts (its URL goes into
/// the provider's redirect URIs).
pub struct Port {
    pub listener: TcpListener,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Port {
    pub fn bind() -> Port {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        Port { listener, base }
    }
}

/// The app's configuration for the provider's web app.
pub fn config(provider: &Provider) -> LogtoConfig {
    let client = provider.confidential_client();
    LogtoConfig::builder(provider.endpoint(), &client.client_id)
        .app_secret(client.client_secret.as_deref().unwrap())
        .scopes(["email", "urn:logto:scope:organizations", "read:data"])
        .resources([API_RESOURCE])
        .expiry_leeway(0)
        .build()
        .unwrap()
}

/// The requests at once (one thread each, released together); their replies in order.
/// Paths or absolute URLs (another instance of the app).
pub fn burst(visitor: &Visitor, paths: &[String]) -> Vec<raw::HttpReply> {
    let barrier = Arc::new(Barrier::new(paths.len()));
    let threads: Vec<_> = paths
        .iter()
        .map(|path| {
            let (visitor, barrier, path) = (visitor.clone(), barrier.clone(), path.clone());
            std::thread::spawn(move || {
                barrier.wait();
                visitor.get(&path)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

pub fn token_path() -> String {
    format!("/api/access-token?resource={API_RESOURCE}")
}

/// Signs `visitor` in as alice from `sign_in_url` (a path, or another instance's URL), at
/// the provider in `browser` (which keeps its provider session); the reply to the callback.
pub fn sign_in(
    visitor: &Visitor,
    sign_in_url: &str,
    provider: &Provider,
    browser: &Browser,
) -> raw::HttpReply {
    let started = visitor.get(sign_in_url);
    assert_eq!(started.status, 303, "{}", started.body);
    let pending = visitor.cookie("logto_sign_in").expect("a sign-in cookie");
    let done = complete(
        visitor,
        started.header("location").unwrap(),
        provider,
        browser,
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let session = visitor.cookie("logto_session").expect("a session cookie");
    assert_ne!(
        pending, session,
        "the session id is not the pending sign-in's"
    );
    assert!(
        visitor.cookie("logto_sign_in").is_none(),
        "sign-in cookie removed"
    );
    done
}

/// Signs in as alice at the provider in `browser`, and sends the callback from `visitor`.
pub fn complete(
    visitor: &Visitor,
    authorization_url: &str,
    provider: &Provider,
    browser: &Browser,
) -> raw::HttpReply {
    let alice = provider.alice();
    let callback_url = browser.sign_in(authorization_url, &alice.username, &alice.password);
    visitor.get(&callback_url)
}
