//! A session store outage is never a sign-out, on every sample (axum, actix-web, tiny_http): two instances of the
//! sample share one `redis-server`; while it is down, requests of a signed-in visitor are
//! answered 503 on both instances (not 401, not the signed-out page), and once it is back
//! (same data) the same session answers again on both.

use logto_integration::examples::{
    artifacts_dir, bases_and_provider, example_binary, start_server,
};
use logto_integration::{RedisServer, Visitor};
use std::process::Command;

fn outage_keeps_the_session(package: &str) {
    let binary = example_binary(package, "web");
    let mut redis = RedisServer::start();
    let (bases, provider) = bases_and_provider(2);
    let client = provider.confidential_client();
    let _instances: Vec<_> = bases
        .iter()
        .enumerate()
        .map(|(i, base)| {
            let mut command = Command::new(&binary);
            command
                .env("LOGTO_ENDPOINT", provider.endpoint())
                .env("LOGTO_APP_ID", &client.client_id)
                .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
                .env("BASE_URL", base)
                .env("LOGTO_SESSION_STORE", redis.url());
            let log = artifacts_dir().join(format!("{package}-outage-{i}.log"));
            start_server(command, &log)
        })
        .collect();

    let visitor = Visitor::new(&bases[0]);
    visitor.sign_in_as_alice(&provider);
    let claims = |base: &str| visitor.get(&format!("{base}/api/id-token-claims"));
    for base in &bases {
        assert_eq!(claims(base).ok_json()["sub"], "user-alice", "{base}");
    }

    redis.stop();
    for base in &bases {
        for path in ["/api/id-token-claims", "/"] {
            let reply = visitor.get(&format!("{base}{path}"));
            assert_eq!(
                reply.status, 503,
                "{package} {base}{path} during the outage: {}",
                reply.body
            );
        }
    }

    redis.start_again();
    for base in &bases {
        assert_eq!(
            claims(base).ok_json()["sub"],
            "user-alice",
            "{package} {base}: the same session after the outage"
        );
    }
}

#[test]
fn the_async_sample_answers_503_during_a_store_outage_and_keeps_the_session() {
    outage_keeps_the_session("logto-axum");
}

#[test]
fn the_actix_sample_answers_503_during_a_store_outage_and_keeps_the_session() {
    outage_keeps_the_session("logto-actix");
}

#[test]
fn the_sync_sample_answers_503_during_a_store_outage_and_keeps_the_session() {
    outage_keeps_the_session("logto-ureq");
}
