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
use logto_integration::{Provider, RedisServer};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "install chromium and chromium-driver (apt-get install chromium chromium-driver)";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A child process (and its process group) killed when dropped.
struct Process {
    child: Child,
}

impl Process {
    fn spawn(command: &mut Command, what: &str) -> Process {
        // Its own process group, so that dropping it also ends what it started (chromedriver
        // starts chromium).
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({command:?}): {e}"));
        Process { child }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// This test binary's `target/<profile>` directory (honours `CARGO_TARGET_DIR`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent() // deps
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps")
        .to_owned()
}

/// Where the screenshots and logs go: `<target dir>/e2e`.
fn artifacts_dir() -> PathBuf {
    let dir = profile_dir().parent().unwrap().join("e2e");
    std::fs::create_dir_all(&dir).expect("create the e2e artifacts directory");
    dir
}

/// Builds `package`'s `web` example with the test's profile and target directory, and copies
/// it out (both examples are called `web`, so the second build overwrites the first one).
fn sample_binary(package: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let profile_dir = profile_dir();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(workspace_dir())
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(["-p", package, "--example", "web"])
        .stderr(Stdio::inherit());
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some(profile) => {
            cargo.args(["--profile", profile]);
        }
    }
    let output = cargo.output().expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build -p {package} --example web failed"
    );
    let built = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "web")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no `web` executable");
    let copy = artifacts_dir().join(format!("{package}-web"));
    std::fs::copy(&built, &copy).expect("copy the sample binary");
    copy
}

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
) -> Process {
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
        .env("LOGTO_SESSION_STORE", redis.url())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("create the sample's log"));
    let mut process = Process::spawn(&mut command, "the sample app");
    let stdout = process.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Listening") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(TIMEOUT).is_err() {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        panic!("the sample {} did not start: {log}", binary.display());
    }
    process
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

fn run(sample: &str, package: &str) {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("CHROMEDRIVER", "chromedriver");
    let started = Instant::now();
    let binary = sample_binary(package);
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

    let driver_port = free_port();
    let _driver = Process::spawn(
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
