//! A machine-to-machine client: gets a token for an API with the app's credentials and
//! calls the API with it (`logto-axum`'s `api` example by default).
//!
//! ```sh
//! LOGTO_ENDPOINT=https://tenant.logto.app LOGTO_APP_ID=<m2m app id> LOGTO_APP_SECRET=<secret> \
//!   API_RESOURCE=https://shopping.example/api API_SCOPES="read write" \
//!   API_URL=http://127.0.0.1:4000 cargo run -p logto-ureq --example m2m
//! ```
//!
//! Prints the API's `GET /api/me` answer. A 401 drops the cached token and tries once more
//! with a new one. Exit code 2 for a bad configuration, 1 when the call fails.

use logto_ureq::{LogtoConfig, MachineClient, TokenTarget};

fn main() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let config = LogtoConfig::from_vars(var).unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2);
    });
    if config.app_secret().is_none() {
        eprintln!("configuration error: LOGTO_APP_SECRET is required for a machine app");
        std::process::exit(2);
    }
    let resource = var("API_RESOURCE").unwrap_or_else(|| "https://shopping.example/api".into());
    let api_url = var("API_URL").unwrap_or_else(|| "http://127.0.0.1:4000".into());
    let machine = MachineClient::new(config).unwrap_or_else(|e| {
        eprintln!("cannot start the client: {e}");
        std::process::exit(2);
    });
    let scopes = var("API_SCOPES").unwrap_or_else(|| "read write".into());
    let target = TokenTarget::resource(resource).with_scopes(scopes.split_whitespace());
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let url = format!("{}/api/me", api_url.trim_end_matches('/'));
    for attempt in 0..2 {
        let token = machine.token_for(&target).unwrap_or_else(|e| {
            eprintln!("cannot get a machine token: {e}");
            std::process::exit(1);
        });
        let response = agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", token.token.expose()))
            .call();
        let mut response = response.unwrap_or_else(|e| {
            eprintln!("GET {url}: {e}");
            std::process::exit(1);
        });
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        if status == 401 && attempt == 0 {
            // The API refused the token (revoked, keys rotated): drop it, fetch a new one.
            machine.invalidate(&target, token.token.expose());
            continue;
        }
        println!("{body}");
        if status != 200 {
            eprintln!("GET {url}: {status}");
            std::process::exit(1);
        }
        return;
    }
}
