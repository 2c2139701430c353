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

/// The requests a [`recording_server`] got, each its head and body as text.
type Received = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A loopback server answering each request with `answer(base, method, path)` (a whole
/// HTTP reply; `base` is the server's own URL), recording every request it got; its base
/// URL.
fn recording_server(
    answer: impl Fn(&str, &str, &str) -> String + Send + 'static,
) -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received = Received::default();
    let (record, own_base) = (received.clone(), base.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut words = head.split(' ');
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let reply = answer(&own_base, method, path);
            let request = format!("{head}\r\n{}", String::from_utf8_lossy(&body));
            record.lock().unwrap().push(request);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (base, received)
}

/// A reply of `status` with the `headers` lines and a JSON `body`.
fn reply(status: &str, headers: &str, body: &str) -> String {
    let length = body.len();
    format!("HTTP/1.1 {status}\r\n{headers}content-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n{body}")
}

/// An app's client that follows redirects (reqwest's default) never sends a request body
/// elsewhere: a token endpoint answering 307 or 302 to another host gets the machine
/// client's `client_secret_post` secret to that host neither with a 307 (the answer comes
/// back unfollowed) nor with a 302 (followed as a GET without the body, then refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redirect_never_sends_a_request_body_elsewhere() {
    const SECRET: &str = "machine-secret-never-elsewhere";
    let (elsewhere, received_elsewhere) = recording_server(|_, _, _| reply("200 OK", "", "{}"));
    for status in ["307 Temporary Redirect", "302 Found"] {
        let target = format!("{elsewhere}/stolen");
        let (endpoint, received) =
            recording_server(move |base, method, path| match (method, path) {
                ("POST", "/oidc/token") => reply(status, &format!("location: {target}\r\n"), ""),
                ("GET", "/oidc/.well-known/openid-configuration") => {
                    let discovery = serde_json::json!({
                        "issuer": format!("{base}/oidc"),
                        "authorization_endpoint": format!("{base}/oidc/auth"),
                        "token_endpoint": format!("{base}/oidc/token"),
                        "jwks_uri": format!("{base}/oidc/jwks"),
                        "id_token_signing_alg_values_supported": ["ES384"],
                    });
                    reply("200 OK", "", &discovery.to_string())
                }
                _ => reply("404 Not Found", "", "{}"),
            });
        let config = LogtoConfig::builder(&endpoint, "machine")
            .app_secret(SECRET)
            .client_auth(ClientAuth::ClientSecretPost)
            .build()
            .unwrap();
        let following = reqwest::Client::new();
        let client = LogtoClient::with_http_client(config, MemoryStore::new(), following);
        let machine = MachineClient::with_client(client);
        let refused = machine
            .access_token(API_RESOURCE, ["read"])
            .await
            .unwrap_err();

        let token_requests = received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with("POST /oidc/token"))
            .count();
        assert_eq!(token_requests, 1, "{status}: {refused:?}");
        assert!(
            received.lock().unwrap().iter().any(|r| r.contains(SECRET)),
            "the secret went to the token endpoint"
        );
        for request in received_elsewhere.lock().unwrap().iter() {
            assert!(
                !request.contains(SECRET),
                "{status}: sent elsewhere: {request}"
            );
            assert!(request.starts_with("GET /stolen"), "{status}: {request}");
        }
        match status {
            "307 Temporary Redirect" => {
                assert!(
                    matches!(&refused, Error::Provider(e) if e.status == 307),
                    "{refused:?}"
                );
            }
            _ => assert!(matches!(&refused, Error::Transport(_)), "{refused:?}"),
        }
    }
    assert_eq!(
        received_elsewhere.lock().unwrap().len(),
        1,
        "only the 302 was followed"
    );
}
