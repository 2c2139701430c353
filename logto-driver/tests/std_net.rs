//! The driver over a transport the app writes itself: the `std_net` example's plain
//! `std::net` transport runs every blocking client case against the provider (sessions,
//! 100 threads on one session with one refresh, faults, key rotation), and the example
//! itself gets and verifies a machine token.

#[allow(dead_code)]
#[path = "../examples/std_net/transport.rs"]
mod transport;

/// The client API the blocking cases are written against, over the example's transport.
mod sdk {
    pub use crate::transport::StdNetTransport;
    pub use logto_proto as proto;
    pub use logto_proto::adapter::Revocation;
    pub use logto_proto::adapter::SESSION_KEY;
    pub use logto_proto::{ClientError as Error, Config as LogtoConfig, StorageError};
    pub use logto_proto::{IdTokenClaims, InteractionMode, SignInOptions};
    pub use logto_proto::{TokenTarget, TransportErrorKind};
    pub use logto_store::{Expected, FileStore, MemoryStore, Storage};

    logto_driver::__transport_facade! {
        mode: blocking,
        storage: Storage,
        http_client: StdNetTransport,
        default_client: |_config| Ok::<_, Error>(StdNetTransport),
        transport: |transport| transport,
        client_docs: {},
        machine_docs: {},
        validator_docs: {}
    }
}

#[path = "../../tests/cases/blocking_provider.rs"]
mod cases;

use logto_integration::examples::example_binary;
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::Provider;
use std::process::Command;

/// The example, run as a user would: a machine token fetched and verified over `std::net`.
#[test]
fn provider_example_gets_and_verifies_a_machine_token() {
    let provider = Provider::start();
    let app = provider.machine_client();
    let output = Command::new(example_binary("logto-driver", "std_net"))
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &app.client_id)
        .env("LOGTO_APP_SECRET", app.client_secret.as_deref().unwrap())
        .env("API_RESOURCE", API_RESOURCE)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let claims: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(claims["client_id"], app.client_id.as_str());
    assert_eq!(claims["aud"], API_RESOURCE);
    assert!(claims["sub"].is_string(), "{claims}");
}

/// A bad configuration is exit code 2, naming the variable.
#[test]
fn example_without_an_endpoint_is_a_configuration_error() {
    let output = Command::new(example_binary("logto-driver", "std_net"))
        .env_remove("LOGTO_ENDPOINT")
        .env("LOGTO_APP_ID", "app")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("LOGTO_ENDPOINT"));
}
