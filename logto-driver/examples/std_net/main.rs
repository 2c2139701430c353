//! The whole Logto client over a transport of the app's own: here plain `std::net`
//! (`transport.rs`), for apps with a runtime or a network stack the SDK does not know.
//! Implementing one `send` gives sessions, refresh leases, machine tokens and API
//! validation.
//!
//! Against a Logto endpoint reachable over plain HTTP (a local one), with a
//! machine-to-machine app:
//!
//! ```sh
//! LOGTO_ENDPOINT=http://127.0.0.1:3001 LOGTO_APP_ID=<m2m app id> LOGTO_APP_SECRET=<secret> \
//!   API_RESOURCE=https://shopping.example/api \
//!   cargo run -p logto-driver --example std_net
//! ```
//!
//! It fetches a machine token for the API (client credentials), verifies it as the API
//! would (the provider's keys, audience), and prints the verified claims as JSON. Exit
//! code 2 for a bad configuration, 1 when a step fails.

mod transport;

use logto_driver::blocking::{ApiValidator, LogtoClient, MachineClient};
use logto_proto::resource::Requirement;
use logto_proto::{Config, TokenTarget};
use logto_store::MemoryStore;
use transport::StdNetTransport;

fn main() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let config = Config::from_vars(var).unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2);
    });
    let resource = var("API_RESOURCE").unwrap_or_else(|| "https://shopping.example/api".into());

    // The app's transport is all the driver needs; the store holds the (unused) session.
    let client = LogtoClient::with_transport(config, MemoryStore::new(), StdNetTransport);
    let machine = MachineClient::with_client(client.clone());
    let token = machine
        .token_for(&TokenTarget::resource(&resource))
        .unwrap_or_else(|e| fail("cannot get a machine token", e));

    let validator = ApiValidator::with_client(client);
    let authorization = format!("Bearer {}", token.token.expose());
    let verified = validator
        .authorize(Some(&authorization), &Requirement::resource(&resource))
        .unwrap_or_else(|e| fail("the API would refuse the token", e));
    let claims = serde_json::json!({
        "sub": verified.claims.sub,
        "client_id": verified.claims.client_id,
        "aud": resource,
        "scope": verified.claims.scope,
    });
    println!("{claims}");
}

fn fail(what: &str, error: logto_proto::ClientError) -> ! {
    eprintln!("{what}: {error}");
    std::process::exit(1);
}
