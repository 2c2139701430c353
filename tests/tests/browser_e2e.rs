//! The two sample web apps (`logto-axum`'s and `logto-ureq`'s `web` example) signing in
//! through a real headless Chromium, driven over WebDriver (chromedriver + fantoccini),
//! against the project's Logto-compatible provider. Each sample runs as two instances (two
//! processes on two ports) sharing one `redis-server` (`LOGTO_SESSION_STORE`): a sign-in on
//! one is a sign-in on the other, and a sign-out at the provider, from the browser, reaches
//! the second instance by back-channel logout and signs the user out of both.
//!
//! Needs Debian's `chromium` and `chromium-driver` (or `CHROMIUM` / `CHROMEDRIVER` pointing at
//! the binaries) besides the provider's prerequisites; without them the tests fail, they never
//! skip. Run just these with `cargo test -p logto-integration --test browser_e2e`. Screenshots
//! of the authenticated page land in `<target dir>/e2e/<sample>-authenticated.png`.

use fantoccini::{Client, ClientBuilder, Locator};
use logto_integration::examples::{
    artifacts_dir, example_binary, free_port, start_server, ChildProcess,
};
use logto_integration::{Provider, RedisServer};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "install chromium and chromium-driver (apt-get install chromium chromium-driver)";
const TIMEOUT: Duration = Duration::from_secs(30);

fn binary(env: &str, default: &str) -> String {
    let path = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    match Command::new(&path).arg("--version").output() {
        Ok(out) if out.status.success() => path,
        _ => panic!("`{path}` does not run: {INSTALL_HINT}"),
    }
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < TIMEOUT,
            "{what} did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the sample against the provider, with its sessions in Redis, and waits for its
/// "Listening" line.
fn start_sample(
    binary: &Path,
    provider: &Provider,
    base_url: &str,
    redis: &RedisServer,
    log: &Path,
) -> ChildProcess {
    let client = provider.confidential_client();
    let mut command = Command::new(binary);
    command
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("LOGTO_APP_ID", &client.client_id)
        .env("LOGTO_APP_SECRET", client.client_secret.as_deref().unwrap())
        .env(
            "LOGTO_SCOPES",
            "email custom_data urn:logto:scope:organizations",
        )
        .env("LOGTO_RESOURCES", "https://api.example.com")
        .env("BASE_URL", base_url)
        .env("LOGTO_SESSION_STORE", redis.url());
    start_server(command, log)
}

/// The text of the element `css`, waiting for it to show `expected` (or panicking with the
/// page).
async fn wait_for_text(browser: &Client, css: &str, expected: &str) {
    let start = Instant::now();
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            if element.text().await.is_ok_and(|t| t.trim() == expected) {
                return;
            }
        }
        if start.elapsed() > TIMEOUT {
            let url = browser.current_url().await.map(|u| u.to_string());
            let page = browser.source().await.unwrap_or_default();
            panic!("`{css}` never showed {expected:?}; at {url:?}: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_url(browser: &Client, expected: &str) {
    let start = Instant::now();
    while browser
        .current_url()
        .await
        .map(String::from)
        .ok()
        .as_deref()
        != Some(expected)
    {
        let now = browser.current_url().await.map(|u| u.to_string());
        assert!(
            start.elapsed() < TIMEOUT,
            "never reached {expected}; at {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The provider's sign-in form: fill it as alice and submit.
async fn sign_in_on_provider(browser: &Client, provider: &Provider) {
    let form = Locator::Css("#login-form input[name='identifier']");
    let identifier = browser
        .wait()
        .at_most(TIMEOUT)
        .for_element(form)
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap();
    assert!(url.as_str().starts_with(provider.endpoint()), "{url}");
    assert!(url.path().starts_with("/sign-in/"), "{url}");
    identifier
        .send_keys(&provider.alice().username)
        .await
        .unwrap();
    let password = browser
        .find(Locator::Css("#login-form input[name='password']"))
        .await;
    password
        .unwrap()
        .send_keys(&provider.alice().password)
        .await
        .unwrap();
    browser
        .find(Locator::Css("#submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks "Sign in" on the sample's home page, signs in at the provider and waits for the
/// home page to say so.
async fn sign_in_from(browser: &Client, provider: &Provider, home: &str) {
    browser
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    sign_in_on_provider(browser, provider).await;
    wait_for_url(browser, home).await;
    wait_for_text(browser, "#status", "Authenticated").await;
}

async fn browse(browser: &Client, provider: &Provider, base: &str, screenshot: &Path) {
    let home = format!("{base}/");
    browser.goto(&home).await.unwrap();
    wait_for_text(browser, "#status", "Not authenticated").await;

    // "Sign up" opens the provider's register page, not the identifier-only one.
    browser
        .find(Locator::Id("sign-up"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let form = Locator::Css("#login-form input[name='identifier']");
    browser
        .wait()
        .at_most(TIMEOUT)
        .for_element(form)
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap();
    assert!(url.path().starts_with("/register/"), "{url}");
    let heading = browser.find(Locator::Css("h1")).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Create your account");
    browser.goto(&home).await.unwrap();

    sign_in_from(browser, provider, &home).await;
    wait_for_text(browser, "#username", &provider.alice().username).await;
    wait_for_text(browser, "#sub", &provider.alice().id).await;
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshot, png).unwrap();

    browser
        .goto(&format!("{base}/protected/userinfo"))
        .await
        .unwrap();
    let custom = browser.find(Locator::Id("custom-data")).await.unwrap();
    let custom: serde_json::Value = serde_json::from_str(&custom.text().await.unwrap()).unwrap();
    assert_eq!(custom["plan"], "pro", "alice's custom data: {custom}");

    browser.goto(&home).await.unwrap();
    browser
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(browser, &home).await;
    wait_for_text(browser, "#status", "Not authenticated").await;

    // The guard sends a signed-out visitor to the sign-in page.
    browser
        .goto(&format!("{base}/protected/userinfo"))
        .await
        .unwrap();
    let form = Locator::Css("#login-form input[name='identifier']");
    browser
        .wait()
        .at_most(TIMEOUT)
        .for_element(form)
        .await
        .unwrap();
}

/// Two instances sharing one Redis: a sign-in on A is one on B (the browser sends its cookie
/// to both ports), and a sign-out at the provider, from the browser, reaches B by
/// back-channel logout and ends the session on both.
async fn sign_out_at_the_provider(browser: &Client, provider: &Provider, base: &str, base_b: &str) {
    let home = format!("{base}/");
    browser.goto(&home).await.unwrap();
    sign_in_from(browser, provider, &home).await;
    browser.goto(&format!("{base_b}/")).await.unwrap();
    wait_for_text(browser, "#status", "Authenticated").await;

    let calls_before = provider.backchannel_calls().len();
    let end_session = format!(
        "{}?client_id={}&post_logout_redirect_uri={}",
        provider.end_session_endpoint(),
        provider.confidential_client().client_id,
        url::form_urlencoded::byte_serialize(home.as_bytes()).collect::<String>()
    );
    browser.goto(&end_session).await.unwrap();
    wait_for_url(browser, &home).await;
    wait_for_text(browser, "#status", "Not authenticated").await;
    browser.goto(&format!("{base_b}/")).await.unwrap();
    wait_for_text(browser, "#status", "Not authenticated").await;
    let calls = provider.backchannel_calls();
    assert_eq!(
        calls.len(),
        calls_before + 1,
        "one back-channel call: {calls:?}"
    );
    assert!(
        calls
            .last()
            .is_some_and(|call| call["ok"] == true && call["sid"].is_string()),
        "the back-channel call reached the second instance: {calls:?}"
    );
}

/// A callback nobody started: the browser gets the error's kind only; the server log has
/// the request's path, the status and the message, and not the callback's code or state.
fn a_failed_request_shows_its_kind_and_logs_its_details(base: &str, log: &Path) {
    let (code, state) = ("leak-check-code-5fd1c2", "leak-check-state-9ab3e7");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent
        .get(&format!("{base}/callback?code={code}&state={state}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {base}/callback: {e}"));
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({ "error": "callback" }));
    let text = std::fs::read_to_string(log).unwrap();
    for expected in ["/callback", "400", "no sign-in is pending in this session"] {
        assert!(
            text.contains(expected),
            "no `{expected}` in the log:\n{text}"
        );
    }
    for secret in [code, state] {
        assert!(!text.contains(secret), "`{secret}` in the log:\n{text}");
    }
}

fn run(sample: &str, package: &str) {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("CHROMEDRIVER", "chromedriver");
    let started = Instant::now();
    let binary = example_binary(package, "web");
    eprintln!("{sample}: built in {:?}", started.elapsed());

    // Two instances of the sample sharing one Redis; the provider's back-channel logout
    // calls reach the second.
    let redis = RedisServer::start();
    let [base, base_b] = [free_port(), free_port()].map(|port| format!("http://localhost:{port}"));
    let provider = Provider::builder()
        .redirect_uris(&[&format!("{base}/callback"), &format!("{base_b}/callback")])
        .env("POST_LOGOUT_REDIRECT_URIS", &format!("{base}/,{base_b}/"))
        .backchannel_logout_uri(&format!("{base_b}/backchannel-logout"))
        .start();
    let artifacts = artifacts_dir();
    let log = artifacts.join(format!("{sample}.log"));
    let log_b = artifacts.join(format!("{sample}-b.log"));
    let _sample = start_sample(&binary, &provider, &base, &redis, &log);
    let _sample_b = start_sample(&binary, &provider, &base_b, &redis, &log_b);
    a_failed_request_shows_its_kind_and_logs_its_details(&base, &log);

    let driver_port = free_port();
    let _driver = ChildProcess::spawn(
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "chromedriver",
    );
    wait_for_port(driver_port, "chromedriver");
    let profile = std::env::temp_dir().join(format!("logto-e2e-{sample}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,800",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
    });
    let screenshot = artifacts.join(format!("{sample}-authenticated.png"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector)
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot start {chromium} through chromedriver: {e}"));
        browse(&browser, &provider, &base, &screenshot).await;
        sign_out_at_the_provider(&browser, &provider, &base, &base_b).await;
        browser.close().await.unwrap();
    });
    let _ = std::fs::remove_dir_all(&profile);
    eprintln!(
        "{sample}: passed in {:?}; screenshot {}",
        started.elapsed(),
        screenshot.display()
    );
}

#[test]
fn browser_async_sample_signs_in_and_out() {
    run("async", "logto-axum");
}

#[test]
fn browser_sync_sample_signs_in_and_out() {
    run("sync", "logto-ureq");
}
