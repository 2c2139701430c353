//! The API examples as processes against the project's provider, with their documented
//! contract: the `api` of `logto-axum` and of `logto-actix` (an API protected by Logto's
//! access tokens, the same contract on both frameworks) and `logto-ureq`'s `m2m` (a machine
//! that gets a token and calls it), plus user tokens of the same framework's web sample for
//! the same API, and organization tokens.

use logto_integration::examples::{artifacts_dir, example_binary, free_port, start_server};
use logto_integration::{raw, Browser, Provider, Visitor};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const SHOPPING: &str = "https://shopping.example/api";

fn call(method: &str, url: &str, token: Option<&str>) -> raw::HttpReply {
    let agent = raw::agent(Duration::from_secs(10));
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    raw::reply(agent.run(request.body(()).unwrap())).unwrap()
}

/// A refresh-grant token of the web app, signed in as alice: for `resource`, or with
/// `organization` an organization token.
fn user_token(provider: &Provider, resource: Option<&str>, organization: Option<&str>) -> String {
    let client = provider.confidential_client();
    let request = raw::AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
        .scopes("openid offline_access urn:logto:scope:organizations read write read:members")
        .resource(SHOPPING)
        .resource("urn:logto:resource:organizations")
        .prompt(Some("consent"));
    let alice = provider.alice();
    let callback = Browser::new().sign_in(
        &request.url(&provider.authorization_endpoint()),
        &alice.username,
        &alice.password,
    );
    let code = raw::query_param(&callback, "code").expect("a code");
    let verifier = request.pkce.verifier.clone();
    let tokens = raw::post_form(
        &provider.token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", provider.redirect_uri()),
            ("code_verifier", &verifier),
        ],
        client.auth(),
    )
    .ok_json();
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    if let Some(organization) = organization {
        form.push(("organization_id", organization));
    }
    let reply = raw::post_form(&provider.token_endpoint(), &form, client.auth()).ok_json();
    reply["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn axum_api_example_runs_with_its_contract() {
    api_examples_run_with_their_contract("logto-axum");
}

#[test]
fn actix_api_example_runs_with_its_contract() {
    api_examples_run_with_their_contract("logto-actix");
}

/// `framework`'s `api` and `web` examples, and the `m2m` example calling that API.
fn api_examples_run_with_their_contract(framework: &str) {
    let web_port = free_port();
    let web_base = format!("http://127.0.0.1:{web_port}");
    let provider = Provider::builder()
        .redirect_uris(&["http://127.0.0.1/callback", &format!("{web_base}/callback")])
        .start();
    let api_binary = example_binary(framework, "api");
    let m2m_binary = example_binary("logto-ureq", "m2m");
    let addr = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{addr}");
    let mut command = Command::new(&api_binary);
    command
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("API_ADDR", &addr);
    let _api = start_server(
        command,
        &artifacts_dir().join(format!("{framework}-api.log")),
    );

    // The machine: m2m gets a token and calls GET /api/me.
    let machine = provider.machine_client();
    let output = Command::new(&m2m_binary)
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &machine.client_id)
        .env(
            "LOGTO_APP_SECRET",
            machine.client_secret.as_deref().unwrap(),
        )
        .env("API_URL", &base)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "m2m failed: {stderr}");
    let me: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(me["is_machine"], true);
    assert_eq!(me["sub"], machine.client_id.as_str());
    assert_eq!(me["client_id"], machine.client_id.as_str());
    assert_eq!(me["organization_id"], Value::Null);
    assert_eq!(me["scopes"], serde_json::json!(["read", "write"]));

    // Bad configuration: exit code 2, both.
    let bad = Command::new(&api_binary)
        .env("LOGTO_ENDPOINT", "not a url")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad = Command::new(&m2m_binary)
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &machine.client_id)
        .env_remove("LOGTO_APP_SECRET")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));

    // A user's token: alice holds `read` on the API, not `write`.
    let alice = user_token(&provider, Some(SHOPPING), None);
    let me = call("GET", &format!("{base}/api/me"), Some(&alice)).ok_json();
    assert_eq!(
        (me["is_machine"].clone(), me["sub"].clone()),
        (false.into(), "user-alice".into())
    );
    call("GET", &format!("{base}/api/orders"), Some(&alice)).expect_status(200);
    let refused = call("POST", &format!("{base}/api/orders"), Some(&alice));
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "insufficient_scope");
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"Bearer error="insufficient_scope", scope="write""#)
    );

    // Organization routes: alice's org1 token (admin: read:members) for org1 only; her org2
    // role (viewer) lacks read:members.
    let members = |org: &str, token: &str| {
        call(
            "GET",
            &format!("{base}/api/organizations/{org}/members"),
            Some(token),
        )
    };
    let org1 = user_token(&provider, None, Some("org1"));
    assert_eq!(members("org1", &org1).ok_json()["organization_id"], "org1");
    let other = members("org2", &org1);
    assert_eq!(
        (other.status, other.json()["error"].clone()),
        (401, "invalid_token".into())
    );
    let org2 = user_token(&provider, None, Some("org2"));
    assert_eq!(members("org2", &org2).status, 403);
    // A path that does not decode is the client's fault: 400 with a token, 401 without.
    let malformed = members("%FF", &org1);
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(malformed.json()["error"], "malformed_path");
    let anonymous = call(
        "GET",
        &format!("{base}/api/organizations/%FF/members"),
        None,
    );
    assert_eq!(
        (anonymous.status, anonymous.header("www-authenticate")),
        (401, Some("Bearer"))
    );

    // The web sample's token for the API, as its /api/access-token route gives it.
    let client = provider.confidential_client();
    let mut command = Command::new(example_binary(framework, "web"));
    command
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &client.client_id)
        .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
        .env("LOGTO_SCOPES", "read")
        .env("LOGTO_RESOURCES", SHOPPING)
        .env("BASE_URL", &web_base);
    let _web = start_server(
        command,
        &artifacts_dir().join(format!("{framework}-api-web.log")),
    );
    let visitor = Visitor::new(&web_base);
    let started = visitor.get("/sign-in");
    let alice = provider.alice();
    let callback = Browser::new().sign_in(
        started.header("location").expect("a redirect to sign in"),
        &alice.username,
        &alice.password,
    );
    visitor.get(&callback).expect_status(303);
    let reply = visitor
        .get(&format!("/api/access-token?resource={SHOPPING}"))
        .ok_json();
    let web_token = reply["token"].as_str().expect("a token");
    let me = call("GET", &format!("{base}/api/me"), Some(web_token)).ok_json();
    assert_eq!(me["sub"], "user-alice");
    call("GET", &format!("{base}/api/orders"), Some(web_token)).expect_status(200);

    // No token, or not one for this API.
    let none = call("GET", &format!("{base}/api/me"), None);
    assert_eq!(
        (none.status, none.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    let org_token_on_api = call("GET", &format!("{base}/api/me"), Some(&org1));
    assert_eq!(org_token_on_api.status, 401);
}
