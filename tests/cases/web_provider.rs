//! A web framework's integration (whatever its framework: `crate::sdk` names the crate under
//! test, `crate::support` its app) against the project's Logto-compatible provider: an app
//! built like the sample, served on a loopback port, visited by cookie-keeping HTTP clients
//! on real threads. logto-axum and logto-actix both run every case.

use crate::sdk::MemoryStore;
use crate::support::{self, burst, token_path, Instance, Port};
use logto_integration::fixtures::ORG1;
use logto_integration::{raw, Browser, Fault, FaultMode, Provider, Visitor};
use serde_json::{json, Value};
use std::time::Duration;

/// The app of the sample with a memory store, and its provider.
struct App {
    base: String,
    store: MemoryStore,
    provider: Provider,
    _instance: Instance,
}

impl App {
    fn start(provider: impl FnOnce(&str) -> Provider, prefix: &str) -> App {
        let port = Port::bind();
        let provider = provider(&port.base);
        let store = MemoryStore::new();
        let instance = Instance::start(port, support::config(&provider), store.clone(), prefix);
        App {
            base: instance.base.clone(),
            store,
            provider,
            _instance: instance,
        }
    }

    fn with_rotation() -> App {
        App::with_prefix("")
    }

    fn with_prefix(prefix: &str) -> App {
        App::start(
            |base| {
                Provider::builder()
                    .rotate_refresh_tokens_every_use()
                    .access_token_ttl(4)
                    .redirect_uris(&[&format!("{base}{prefix}/callback")])
                    .env("POST_LOGOUT_REDIRECT_URIS", &format!("{base}/"))
                    .start()
            },
            prefix,
        )
    }

    /// A visitor signed in as alice.
    fn signed_in_visitor(&self) -> Visitor {
        let visitor = Visitor::new(&self.base);
        self.sign_in(&visitor);
        visitor
    }

    /// Signs `visitor` in as alice; the reply to the callback.
    fn sign_in(&self, visitor: &Visitor) -> raw::HttpReply {
        support::sign_in(visitor, "/sign-in", &self.provider, &Browser::new())
    }

    /// Signs in as alice at the provider, and sends the callback from `visitor`.
    fn complete(&self, visitor: &Visitor, authorization_url: &str) -> raw::HttpReply {
        support::complete(visitor, authorization_url, &self.provider, &Browser::new())
    }
}

/// `GET path` with no header but `Host` (no `Accept`, no Fetch Metadata): the status and the
/// response head, lower-cased.
fn get_without_headers(base: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let head = response
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head)
}

#[test]
fn fifty_concurrent_requests_on_an_expired_token_refresh_once() {
    let app = App::with_rotation();
    let visitor = app.signed_in_visitor();
    let first = visitor.get(&token_path()).ok_json()["token"].clone();
    std::thread::sleep(Duration::from_millis(4200)); // the access token expires
    let before = app.provider.refresh_count();

    let replies = burst(&visitor, &vec![token_path(); 50]);

    assert_eq!(
        app.provider.refresh_count(),
        before + 1,
        "exactly one refresh"
    );
    let tokens: Vec<Value> = replies
        .iter()
        .map(|r| r.ok_json()["token"].clone())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0] && *t != first));
    // Still signed in, and the grant lives: another refresh works.
    visitor.get("/api/id-token-claims").expect_status(200);
    std::thread::sleep(Duration::from_millis(4200));
    visitor.get(&token_path()).expect_status(200);
    assert_eq!(app.provider.refresh_count(), before + 2);
}

#[test]
fn concurrent_requests_for_a_resource_and_an_organization_refresh_once_each() {
    let app = App::with_rotation();
    let visitor = app.signed_in_visitor();
    let org_path = format!("/api/access-token?organization_id={ORG1}");
    visitor.get(&token_path()).expect_status(200);
    visitor.get(&org_path).expect_status(200);
    std::thread::sleep(Duration::from_millis(4200));
    let before = app.provider.refresh_count();

    let paths: Vec<String> = (0..50)
        .map(|i| match i % 3 {
            0 => token_path(),
            1 => org_path.clone(),
            _ => "/api/id-token-claims".to_owned(),
        })
        .collect();
    let replies = burst(&visitor, &paths);

    for (path, reply) in paths.iter().zip(&replies) {
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    assert_eq!(
        app.provider.refresh_count(),
        before + 2,
        "one refresh per target"
    );
    let org_token = replies[1].json()["token"].as_str().unwrap().to_owned();
    let (_, claims) = raw::decode_jwt(&org_token);
    assert_eq!(claims["aud"], format!("urn:logto:organization:{ORG1}"));
    visitor.get("/api/id-token-claims").expect_status(200);
}

#[test]
fn provider_failure_during_a_refresh_keeps_the_session() {
    let app = App::with_rotation();
    let visitor = app.signed_in_visitor();
    app.provider
        .fail_next_token_responses(FaultMode::ServerError, 1);
    let failed = visitor.get(&token_path());
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert_eq!(
        failed.json(),
        json!({ "error": "provider" }),
        "the kind only"
    );
    visitor.get(&token_path()).expect_status(200);
    visitor.get("/api/id-token-claims").expect_status(200);

    // A refresh that rotated the refresh token, then a failure later in the same request
    // (userinfo answers 500): the rotated token was stored when it arrived, so the next
    // request works with it instead of presenting the consumed one.
    visitor.get("/api/userinfo").expect_status(200);
    std::thread::sleep(Duration::from_millis(4200)); // the userinfo token expires
    let before = app.provider.refresh_count();
    app.provider.inject_fault(Fault {
        path: Some("/oidc/me".into()),
        ..Fault::token(FaultMode::ServerError, 1)
    });
    let failed = visitor.get("/api/userinfo");
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert_eq!(app.provider.refresh_count(), before + 1);
    visitor.get("/api/userinfo").expect_status(200);
    assert_eq!(
        app.provider.refresh_count(),
        before + 1,
        "no second refresh"
    );
    visitor.get(&token_path()).expect_status(200);
}

#[test]
fn cross_site_sign_out_is_refused() {
    let app = App::with_rotation();
    let visitor = app.signed_in_visitor();
    // A GET that is not the app's own link (another site, a sibling subdomain, a browser
    // without Fetch Metadata) gets a page whose button POSTs the sign-out.
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")],
        &[],
    ] {
        let page = visitor.request("GET", "/sign-out", headers);
        assert_eq!(page.status, 200, "{headers:?}");
        assert!(
            page.body
                .contains("<form method=\"post\" action=\"/sign-out\">"),
            "{}",
            page.body
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert!(visitor.cookie("logto_session").is_some());
    }
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "cross-site")],
    ] {
        let refused = visitor.request("POST", "/sign-out", headers);
        assert_eq!(refused.status, 403, "{headers:?}");
        assert_eq!(refused.json()["error"], "cross_site_request");
    }
    visitor.get("/api/id-token-claims").expect_status(200);

    // The app's own link (same-origin) signs out at once.
    let own_link = visitor.request("GET", "/sign-out", &[("sec-fetch-site", "same-origin")]);
    assert_eq!(own_link.status, 303, "{}", own_link.body);
    assert!(visitor.cookie("logto_session").is_none());
    assert_eq!(visitor.get("/api/id-token-claims").status, 401);
    app.sign_in(&visitor);

    let origin = app.base.clone();
    let signed_out = visitor.request("POST", "/sign-out", &[("origin", &origin)]);
    assert_eq!(signed_out.status, 303, "{}", signed_out.body);
    let location = signed_out.header("location").unwrap();
    assert!(
        location.starts_with(&app.provider.end_session_endpoint()),
        "{location}"
    );
    assert!(
        visitor.cookie("logto_session").is_none(),
        "the cookie is removed"
    );
    let after = visitor.get("/api/id-token-claims");
    assert_eq!(after.status, 401);
    assert_eq!(after.json(), json!({ "error": "Not authenticated" }));
}

#[test]
fn return_to_accepts_only_paths_of_the_app() {
    let app = App::with_rotation();
    let visitor = Visitor::new(&app.base);
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "evil",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(bad.as_bytes()).collect();
        let reply = visitor.get(&format!("/sign-in?return_to={encoded}"));
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.json()["error"], "return_to_rejected");
    }
    // A page sends a signed-out visitor to sign in and back, also a plain GET (curl's
    // `Accept: */*`, or none); a script's call to it and an API route answer 401.
    let page = visitor.request("GET", "/protected?x=1", &[("accept", "text/html")]);
    assert_eq!(page.status, 303);
    let sign_in = page.header("location").unwrap().to_owned();
    assert_eq!(sign_in, "/sign-in?return_to=%2Fprotected%3Fx%3D1");
    let plain = visitor.get("/protected?x=1"); // ureq sends `Accept: */*`
    assert_eq!(plain.status, 303, "{}", plain.body);
    assert_eq!(plain.header("location"), Some(sign_in.as_str()));
    let (status, head) = get_without_headers(&app.base, "/protected?x=1");
    assert_eq!(status, 303, "{head}");
    assert!(
        head.contains("location: /sign-in?return_to=%2fprotected%3fx%3d1"),
        "{head}"
    );
    for script in [
        &[("accept", "application/json")][..],
        &[("sec-fetch-mode", "cors"), ("accept", "*/*")],
        &[("x-requested-with", "XMLHttpRequest")],
    ] {
        let reply = visitor.request("GET", "/protected", script);
        assert_eq!(reply.status, 401, "{script:?}");
    }
    for api in [
        visitor.get("/api/id-token-claims"),
        visitor.request("GET", "/api/id-token-claims", &[("accept", "text/html")]),
        visitor.request(
            "GET",
            "/api/id-token-claims",
            &[("sec-fetch-mode", "navigate")],
        ),
    ] {
        assert_eq!(api.status, 401, "the API route always answers 401");
        assert_eq!(api.json(), json!({ "error": "Not authenticated" }));
    }

    let started = visitor.get(&sign_in);
    let done = app.complete(&visitor, started.header("location").unwrap());
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location"), Some("/protected?x=1"));
    visitor.get("/protected").expect_status(200);
}

#[test]
fn twenty_thousand_anonymous_sign_ins_store_nothing_and_stop_nobody() {
    let app = App::with_rotation();
    let signed_in = app.signed_in_visitor();
    // A real visitor starts a sign-in; the flood comes while they are at the provider.
    let visitor = Visitor::new(&app.base);
    let started = visitor.get("/sign-in?return_to=%2Fprotected");
    assert_eq!(started.status, 303);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let base = app.base.clone();
            std::thread::spawn(move || {
                for _ in 0..5000 {
                    let stranger = Visitor::new(&base);
                    assert_eq!(stranger.get("/sign-in").status, 303);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let done = app.complete(&visitor, started.header("location").unwrap());
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), Some("/protected"));
    visitor.get("/protected").expect_status(200);
    signed_in.get("/api/id-token-claims").expect_status(200);
    // The store holds the two signed-in sessions and nothing of the 20,000 starts.
    assert_eq!(app.store.pending_len(), 0);
    assert_eq!(app.store.len(), 2);
}

#[test]
fn a_sign_in_started_elsewhere_never_signs_the_user_in_for_someone_else() {
    let app = App::with_rotation();
    // The attacker starts a sign-in and plants its cookie (the pending session's id) and
    // authorization URL in the victim's browser; the victim signs in there.
    let attacker = Visitor::new(&app.base);
    let started = attacker.get("/sign-in");
    let planted = attacker.cookie("logto_sign_in").unwrap();
    let victim = Visitor::new(&app.base);
    let done = victim.request(
        "GET",
        &app.provider.sign_in(
            started.header("location").unwrap(),
            &app.provider.alice().username,
            &app.provider.alice().password,
        ),
        &[("cookie", &format!("logto_sign_in={planted}"))],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let session = victim.cookie("logto_session").unwrap();
    assert_ne!(session, planted);
    // The ids the attacker knows give nothing.
    for cookie in [
        format!("logto_session={planted}"),
        format!("logto_sign_in={planted}"),
    ] {
        let stranger = Visitor::new(&app.base);
        let reply = stranger.request("GET", "/api/id-token-claims", &[("cookie", &cookie)]);
        assert_eq!(reply.status, 401, "{cookie}");
    }
    let reply = victim.request(
        "GET",
        "/api/id-token-claims",
        &[("cookie", &format!("logto_session={session}"))],
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn a_sign_in_that_fails_or_is_abandoned_keeps_the_session() {
    let app = App::with_rotation();
    let visitor = app.signed_in_visitor();
    let session = visitor.cookie("logto_session").unwrap();
    // Another site links to /sign-in: a new sign-in starts, the session stays.
    let started = visitor.request("GET", "/sign-in", &[("sec-fetch-site", "cross-site")]);
    assert_eq!(started.status, 303);
    visitor.get("/api/id-token-claims").expect_status(200);
    // Its callback comes back refused (the user cancelled): the session stays.
    let cancelled = app
        .provider
        .cancel_sign_in(started.header("location").unwrap());
    let refused = visitor.get(&cancelled);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json(), json!({ "error": "callback" }));
    // A forged callback (no pending sign-in in that browser): refused, the session stays.
    let stranger = Visitor::new(&app.base);
    assert_eq!(stranger.get(&cancelled).status, 400);
    assert_eq!(visitor.cookie("logto_session"), Some(session));
    visitor.get("/api/id-token-claims").expect_status(200);
    visitor.get(&token_path()).expect_status(200);
    // A sign-in completed while signed in replaces the session.
    let old = visitor.cookie("logto_session").unwrap();
    app.sign_in(&visitor);
    let stale = Visitor::new(&app.base);
    let cookie = format!("logto_session={old}");
    let reply = stale.request("GET", "/api/id-token-claims", &[("cookie", &cookie)]);
    assert_eq!(reply.status, 401, "the replaced session is gone");
    visitor.get("/api/id-token-claims").expect_status(200);
}

#[test]
fn routes_under_a_prefix() {
    let app = App::with_prefix("/auth");
    let visitor = Visitor::new(&app.base);
    assert_eq!(visitor.get("/sign-in").status, 404);
    let page = visitor.request("GET", "/protected", &[("accept", "text/html")]);
    assert_eq!(
        page.header("location"),
        Some("/auth/sign-in?return_to=%2Fprotected")
    );
    let started = visitor.get(page.header("location").unwrap());
    assert_eq!(started.status, 303, "{}", started.body);
    let authorization_url = started.header("location").unwrap();
    let redirect_uri = raw::query_param(authorization_url, "redirect_uri").unwrap();
    assert_eq!(redirect_uri, format!("{}/auth/callback", app.base));
    let done = app.complete(&visitor, authorization_url);
    assert_eq!(done.header("location"), Some("/protected"));
    visitor.get("/protected").expect_status(200);
    let signed_out = visitor.request("POST", "/auth/sign-out", &[("origin", &app.base)]);
    assert_eq!(signed_out.status, 303);
    let json = [("accept", "application/json")];
    assert_eq!(visitor.request("GET", "/protected", &json).status, 401);
}

/// The SDK's requests of an app: discovery, keys, tokens, user info (not the browser's).
#[cfg(feature = "reqwest")]
fn sdk_requests(provider: &Provider) -> Vec<logto_integration::RequestRecord> {
    let sdk_paths = [
        "/oidc/.well-known/openid-configuration",
        "/oidc/jwks",
        "/oidc/token",
        "/oidc/me",
    ];
    provider
        .requests()
        .into_iter()
        .filter(|r| sdk_paths.contains(&r.path.as_str()))
        .collect()
}

/// The README's `/orders` shape: a page calls the app's API (`LogtoApi`) with the user's
/// access token through `LogtoSession::bearer_header` and the app's own reqwest client.
#[test]
fn a_page_calls_an_api_with_the_users_access_token() {
    let app = App::with_rotation();
    // The API refuses a call without a token; a visitor who is not signed in gets 401 from
    // the page (the SDK's NotAuthenticated through the app's error type).
    raw::get(&format!("{}/shop/orders", app.base)).expect_status(401);
    Visitor::new(&app.base).get("/orders").expect_status(401);

    let visitor = app.signed_in_visitor();
    let sub = visitor.get("/api/id-token-claims").ok_json()["sub"].clone();
    assert!(sub.is_string());
    assert_eq!(visitor.get("/orders").ok_json()["customer"], sub);

    // Once the access token has expired, the page's call refreshes it first.
    std::thread::sleep(Duration::from_millis(4200));
    let before = app.provider.refresh_count();
    assert_eq!(visitor.get("/orders").ok_json()["customer"], sub);
    assert_eq!(app.provider.refresh_count(), before + 1);
}

/// `LogtoBuilder::transport` with the app's own `reqwest::Client`: every provider request
/// of sign-in, token and user info goes through that client (its `User-Agent` shows it),
/// and an app that passes none sends with the default reqwest transport.
#[cfg(feature = "reqwest")]
#[test]
fn sends_with_the_apps_own_reqwest_client() {
    use crate::sdk::logto_reqwest::{reqwest, ReqwestTransport};

    let port = Port::bind();
    let provider = Provider::builder()
        .redirect_uris(&[&format!("{}/callback", port.base)])
        .start();
    let app_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("orders-app/1.0")
        .build()
        .unwrap();
    let instance = Instance::start_with(
        port,
        support::config(&provider),
        MemoryStore::new(),
        "",
        |builder| builder.transport(ReqwestTransport::new(app_client)),
    );
    provider.reset_requests();
    let visitor = Visitor::new(&instance.base);
    support::sign_in(&visitor, "/sign-in", &provider, &Browser::new());
    visitor.get(&token_path()).expect_status(200);
    visitor.get("/api/userinfo").expect_status(200);

    let sent = sdk_requests(&provider);
    let paths: Vec<&str> = sent.iter().map(|r| r.path.as_str()).collect();
    for path in [
        "/oidc/.well-known/openid-configuration",
        "/oidc/jwks",
        "/oidc/token",
        "/oidc/me",
    ] {
        assert!(paths.contains(&path), "no {path} in {paths:?}");
    }
    for request in &sent {
        assert_eq!(
            request.user_agent.as_deref(),
            Some("orders-app/1.0"),
            "{request:?}"
        );
    }

    // The default transport, for an app that passes none.
    let app = App::with_rotation();
    app.provider.reset_requests();
    let visitor = app.signed_in_visitor();
    visitor.get(&token_path()).expect_status(200);
    let sent = sdk_requests(&app.provider);
    assert!(!sent.is_empty());
    for request in &sent {
        let agent = request.user_agent.as_deref().unwrap_or_default();
        assert!(agent.starts_with("logto-reqwest/"), "{request:?}");
    }
}
