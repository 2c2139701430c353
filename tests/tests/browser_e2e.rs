//! The sample web apps (the `web` example of `logto-axum`, `logto-actix` and `logto-ureq`) signing in
//! through a real headless Chromium (and the `cli` example: a loopback redirect and a device
//! sign-in), driven over WebDriver (chromedriver + fantoccini),
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
use std::path::{Path, PathBuf};
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

/// chromedriver on a free port, and a headless Chromium with a fresh profile to connect to.
struct Chromium {
    _driver: ChildProcess,
    port: u16,
    binary: String,
    capabilities: serde_json::Map<String, serde_json::Value>,
    profile: PathBuf,
}

impl Chromium {
    fn start(name: &str) -> Chromium {
        let chromium = binary("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("CHROMEDRIVER", "chromedriver");
        let port = free_port();
        let driver = ChildProcess::spawn(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "chromedriver",
        );
        wait_for_port(port, "chromedriver");
        let profile = std::env::temp_dir().join(format!("logto-e2e-{name}-{}", std::process::id()));
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
        Chromium {
            _driver: driver,
            port,
            binary: chromium,
            capabilities: capabilities.as_object().unwrap().clone(),
            profile,
        }
    }

    async fn connect(&self) -> Client {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(self.capabilities.clone())
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("cannot start {} through chromedriver: {e}", self.binary))
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn run(sample: &str, package: &str) {
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

    let chromium = Chromium::start(sample);
    let screenshot = artifacts.join(format!("{sample}-authenticated.png"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = chromium.connect().await;
        browse(&browser, &provider, &base, &screenshot).await;
        sign_out_at_the_provider(&browser, &provider, &base, &base_b).await;
        browser.close().await.unwrap();
    });
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
fn browser_actix_sample_signs_in_and_out() {
    run("actix", "logto-actix");
}

#[test]
fn browser_sync_sample_signs_in_and_out() {
    run("sync", "logto-ureq");
}

/// Starts the cli and reads its stderr up to the first line `wanted` accepts: the process,
/// that line and the lines after it.
fn cli_until(
    mut command: Command,
    wanted: impl Fn(&str) -> bool,
) -> (ChildProcess, String, impl Iterator<Item = String>) {
    let mut process = ChildProcess::spawn(command.stderr(Stdio::piped()), "the cli");
    let stderr = process.child().stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok);
    let line = lines
        .by_ref()
        .find(|line| wanted(line))
        .expect("the cli prints what the user needs");
    (process, line, lines)
}

/// The CLI example (`logto-ureq`'s `cli`, a native app) signs in through a loopback redirect
/// that headless Chromium follows, keeps its session in its profile directory, refreshes from
/// two processes at once with one refresh, and exits with its documented codes.
#[test]
fn browser_cli_signs_in_through_a_loopback_redirect_and_a_device_code() {
    let provider = Provider::builder()
        .rotate_refresh_tokens_every_use()
        .start();
    let cli = example_binary("logto-ureq", "cli");
    let config_home = artifacts_dir().join(format!("cli-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&config_home);
    let native = provider.native_client().client_id.clone();
    let command = |args: &[&str]| {
        let mut command = Command::new(&cli);
        command
            .args(args)
            .env("XDG_CONFIG_HOME", &config_home)
            .env("LOGTO_ENDPOINT", provider.endpoint())
            .env("LOGTO_APP_ID", &native)
            .env(
                "LOGTO_SCOPES",
                "email urn:logto:scope:organizations read:data",
            )
            .env("LOGTO_RESOURCES", "https://api.example.com")
            .env("LOGTO_NO_BROWSER", "1");
        command
    };
    let run_cli = |args: &[&str]| command(args).output().unwrap();

    // sign-in: the URL it prints, opened and completed in Chromium.
    let (mut sign_in, url, lines) =
        cli_until(command(&["sign-in"]), |line| line.starts_with("http"));
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    let chromium = Chromium::start("cli");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = chromium.connect().await;
        browser.goto(&url).await.unwrap();
        sign_in_on_provider(&browser, &provider).await;
        wait_for_text(&browser, "#signed-in", "Signed in").await;
        let at = browser.current_url().await.unwrap();
        assert_eq!(
            (at.host_str(), at.path()),
            (Some("127.0.0.1"), "/callback"),
            "{at}"
        );
        browser.close().await.unwrap();
    });
    let status = sign_in.child().wait().unwrap();
    let rest: Vec<String> = lines.collect();
    assert!(status.success(), "sign-in exited {status}: {rest:?}");

    // A second run reuses the stored session.
    let whoami = run_cli(&["whoami"]);
    assert!(
        whoami.status.success(),
        "{}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    let me: serde_json::Value = serde_json::from_slice(&whoami.stdout).unwrap();
    assert_eq!(me["sub"], provider.alice().id.as_str());

    // Two runs at once that both need the same new token: one refresh between them.
    let before = provider.refresh_count();
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_cli(&["token", "https://api.example.com", "--org", "org1"]));
        let b = scope.spawn(|| run_cli(&["token", "https://api.example.com", "--org", "org1"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(a.stdout, b.stdout, "both runs print the one token fetched");
    assert_eq!(provider.refresh_count() - before, 1);
    // The session still refreshes afterwards (its rotated refresh token was kept).
    let other = run_cli(&["token", "https://api.example.com"]);
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // sign-in --device: the code it prints, entered in Chromium (which has a provider
    // session now: no password asked), replaces the session.
    let (mut device, shown, lines) = cli_until(command(&["sign-in", "--device"]), |line| {
        line.contains("enter the code")
    });
    let words: Vec<&str> = shown.split_whitespace().collect();
    let (uri, code) = (words[4].to_owned(), words[words.len() - 1].to_owned());
    runtime.block_on(async {
        let browser = chromium.connect().await;
        browser.goto(&uri).await.unwrap();
        let input = browser
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css("input[name='user_code']"))
            .await
            .unwrap();
        input.send_keys(&code).await.unwrap();
        browser
            .find(Locator::Id("continue"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_text(&browser, "#user-code", &code).await;
        browser
            .find(Locator::Id("continue"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The provider session of the first sign-in may have outlived the browser: the
        // password is asked only if not.
        let next = browser
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css("#device-signed-in, #login-form"))
            .await
            .unwrap();
        if next.attr("id").await.unwrap().as_deref() == Some("login-form") {
            sign_in_on_provider(&browser, &provider).await;
        }
        wait_for_text(&browser, "#device-signed-in", "Your device is signed in").await;
        browser.close().await.unwrap();
    });
    let status = device.child().wait().unwrap();
    let rest: Vec<String> = lines.collect();
    assert!(
        status.success(),
        "sign-in --device exited {status}: {rest:?}"
    );
    assert!(run_cli(&["whoami"]).status.success());

    let pat = provider.personal_access_token(&provider.alice().id, None);
    let exchanged = run_cli(&[
        "exchange",
        "--pat",
        &pat,
        "--resource",
        "https://api.example.com",
    ]);
    assert!(
        exchanged.status.success(),
        "{}",
        String::from_utf8_lossy(&exchanged.stderr)
    );
    // The token on stdin instead of the command line.
    let mut from_stdin = command(&[
        "exchange",
        "--pat",
        "-",
        "--resource",
        "https://api.example.com",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    std::io::Write::write_all(
        &mut from_stdin.stdin.take().unwrap(),
        format!("{pat}\n").as_bytes(),
    )
    .unwrap();
    let from_stdin = from_stdin.wait_with_output().unwrap();
    assert!(from_stdin.status.success());
    let validator = logto_ureq::ApiValidator::new(provider.endpoint()).unwrap();
    let token = String::from_utf8(from_stdin.stdout).unwrap();
    let verified = validator
        .authorize(
            Some(&format!("Bearer {}", token.trim())),
            &logto_ureq::Requirement::resource("https://api.example.com"),
        )
        .unwrap();
    assert_eq!(
        verified.claims.sub.as_deref(),
        Some(provider.alice().id.as_str())
    );

    let signed_out = run_cli(&["sign-out"]);
    assert!(
        signed_out.status.success(),
        "{}",
        String::from_utf8_lossy(&signed_out.stderr)
    );
    assert_eq!(run_cli(&["whoami"]).status.code(), Some(1));
    assert_eq!(run_cli(&["frobnicate"]).status.code(), Some(2));
    let no_app = command(&["whoami"])
        .env_remove("LOGTO_APP_ID")
        .output()
        .unwrap();
    assert_eq!(no_app.status.code(), Some(2));
    let bad_profile = command(&["whoami"])
        .env("LOGTO_PROFILE", "../escape")
        .output()
        .unwrap();
    assert_eq!(bad_profile.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&config_home);
}
