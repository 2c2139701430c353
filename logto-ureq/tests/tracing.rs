//! The `tracing` events of a complete flow against the project's provider: sign-in, a
//! refused callback, the callback, a refresh, user info, a refused bearer token and
//! sign-out. Every event is captured as text; none may hold a token, secret, code, state,
//! nonce, PKCE verifier or password, and the events an operator needs must be there.

use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{Browser, Provider};
use logto_ureq::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use url::Url;

/// Every event written, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// The secrets a flow handles, collected as it goes.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: impl Into<String>) {
        let value = value.into();
        assert!(
            value.len() >= 8,
            "{what} is too short to search for: {value:?}"
        );
        self.0.push((what.to_owned(), value));
    }

    /// Every string in the stored session that is not a URL or a number: tokens, the
    /// pending sign-in's state, nonce and PKCE verifier.
    fn add_stored(&mut self, storage: &MemoryStore) {
        let Some(text) = storage.get(proto::adapter::SESSION_KEY).unwrap() else {
            return;
        };
        let mut strings = Vec::new();
        collect_strings(&serde_json::from_str(&text).unwrap(), &mut strings);
        for s in strings {
            if s.len() >= 16 && !s.starts_with("http") && !s.contains(' ') {
                self.add("a value in the stored session", s);
            }
        }
    }

    fn add_query(&mut self, url: &str, names: &[&str]) {
        let url = Url::parse(url).unwrap();
        for (name, value) in url.query_pairs() {
            if names.contains(&name.as_ref()) {
                self.add(&name, value.into_owned());
            }
        }
    }
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[test]
fn a_full_flow_logs_what_happened_and_no_secret() {
    // Refresh tokens rotate on every use, as Logto does for public clients: the refresh
    // events say so, and every refresh token the flow held is searched for.
    let provider = Provider::builder()
        .rotate_refresh_tokens_every_use()
        .start();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let mut secrets = Secrets::default();

    tracing::subscriber::with_default(subscriber, || {
        let client_credentials = provider.confidential_client();
        let secret = client_credentials.client_secret.clone().unwrap();
        secrets.add("the app secret", secret.as_str());
        let alice = provider.alice();
        secrets.add("alice's password", alice.password.as_str());
        let config = LogtoConfig::builder(provider.endpoint(), &client_credentials.client_id)
            .app_secret(secret)
            .scopes(["email", "custom_data", "read:data"])
            .resources([API_RESOURCE])
            .build()
            .unwrap();
        let storage = Arc::new(MemoryStore::new());
        let client = LogtoClient::with_storage(config, storage.clone()).unwrap();

        // Sign-in: the URL carries the state, the nonce and the PKCE challenge.
        let sign_in_url = client.sign_in(provider.redirect_uri()).unwrap();
        secrets.add_query(&sign_in_url, &["state", "nonce", "code_challenge"]);
        secrets.add_stored(&storage);

        // A forged callback is refused, and the refusal is logged without its values.
        let forged = format!(
            "{}?code=forged-code-0123456789&state=forged-state-0123456789&iss={}",
            provider.redirect_uri(),
            provider.issuer()
        );
        secrets.add_query(&forged, &["code", "state"]);
        let refused = client.handle_sign_in_callback(&forged).unwrap_err();
        assert_eq!(refused.kind(), "callback");

        // The real callback, with its code.
        let callback = Browser::new().sign_in(&sign_in_url, &alice.username, &alice.password);
        secrets.add_query(&callback, &["code", "state"]);
        client.handle_sign_in_callback(&callback).unwrap();
        secrets.add_stored(&storage);

        // A refresh (the API's token comes from the refresh token), then user info.
        let api_token = client.access_token(API_RESOURCE).unwrap();
        secrets.add("the API access token", api_token);
        secrets.add_stored(&storage);
        client.fetch_user_info().unwrap();
        let forced = client
            .refreshed_token_for(&TokenTarget::userinfo())
            .unwrap();
        secrets.add("the userinfo access token", forced.token.expose());
        secrets.add_stored(&storage);

        // A bearer token an outsider presents is refused, and not logged.
        let bogus = "eyJhbGciOiJFUzM4NCIsImtpZCI6Im1hZGUtdXAifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        secrets.add("a presented bearer token", bogus);
        let refused = client
            .verify_access_token(Some(&format!("Bearer {bogus}")))
            .unwrap_err();
        assert_eq!(refused.kind(), "access_token");

        // Sign-out revokes the refresh token; the end-session URL carries the ID token.
        let result = client
            .sign_out_with_result(Some(provider.post_logout_redirect_uri()))
            .unwrap();
        assert_eq!(result.revocation, Revocation::Revoked);
        secrets.add("the end-session URL", result.end_session_url);
    });

    let log = captured.text();
    for (what, value) in &secrets.0 {
        assert!(
            !log.contains(value.as_str()),
            "{what} appears in the events:\n{log}"
        );
    }
    // What an operator needs to follow the flow.
    for expected in [
        "fetched the discovery document",
        "reason=\"first use\"",
        "fetched the JWKS",
        "refreshed an access token",
        "resource=https://api.example.com",
        "rotated=true",
        "sign-in completed",
        "kind=\"callback\"",
        "callback state does not match",
        "kind=\"access_token\"",
        "revoked the refresh token at sign-out",
    ] {
        assert!(
            log.contains(expected),
            "no `{expected}` in the events:\n{log}"
        );
    }
}
