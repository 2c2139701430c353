//! The workspace's example programs as real processes: built with the test's profile, started
//! with an environment, stopped (with whatever they started) when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// How long an example may take to print its `Listening` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A child process (and its process group) killed when dropped.
pub struct ChildProcess {
    child: Child,
}

impl ChildProcess {
    /// Spawns `command` in a process group of its own, so that dropping it also ends what it
    /// started (chromedriver starts chromium). Panics naming `what` if it cannot start.
    pub fn spawn(command: &mut Command, what: &str) -> ChildProcess {
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({command:?}): {e}"));
        ChildProcess { child }
    }

    /// The process.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildProcess {
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

/// A free loopback port.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `count` base URLs of apps on free loopback ports, and a provider that accepts each
/// one's `/callback` as a redirect URI: for running several instances of a sample.
pub fn bases_and_provider(count: usize) -> (Vec<String>, crate::Provider) {
    let bases: Vec<String> = (0..count)
        .map(|_| format!("http://127.0.0.1:{}", free_port()))
        .collect();
    let callbacks: Vec<String> = bases.iter().map(|b| format!("{b}/callback")).collect();
    let provider = crate::Provider::builder()
        .redirect_uris(&callbacks.iter().map(String::as_str).collect::<Vec<_>>())
        .start();
    (bases, provider)
}

/// The calling test binary's `target/<profile>` directory (honours `CARGO_TARGET_DIR`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent() // deps
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps")
        .to_owned()
}

/// Where screenshots, logs and copied example binaries go: `<target dir>/e2e`.
pub fn artifacts_dir() -> PathBuf {
    let dir = profile_dir().parent().unwrap().join("e2e");
    std::fs::create_dir_all(&dir).expect("create the e2e artifacts directory");
    dir
}

/// The features the samples are built with: logto-axum's and logto-actix's with their Redis
/// store (the `redis` feature, off by default), as the multi-instance tests and docs run them.
fn sample_features(package: &str) -> &'static [&'static str] {
    match package {
        "logto-axum" | "logto-actix" => &["--features", "redis"],
        _ => &[],
    }
}

/// Builds `package`'s example `name` with the test's profile and target directory, and
/// copies it out (several packages have an example of the same name).
pub fn example_binary(package: &str, name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let profile_dir = profile_dir();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(workspace_dir())
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(["-p", package, "--example", name])
        .args(sample_features(package))
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
        "cargo build -p {package} --example {name} failed"
    );
    let built = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no `{name}` executable"));
    let copy = artifacts_dir().join(format!("{package}-{name}"));
    std::fs::copy(&built, &copy).expect("copy the example binary");
    copy
}

/// Starts a server example with `command` (its environment set), its stderr in `log`, and
/// waits for the `Listening` line it prints on stdout.
pub fn start_server(mut command: Command, log: &Path) -> ChildProcess {
    command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("create the example's log"));
    let mut process = ChildProcess::spawn(&mut command, "the example");
    let stdout = process.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Listening") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(START_TIMEOUT).is_err() {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        panic!("{command:?} did not start: {log}");
    }
    process
}

/// Requests per second `wrk -t2 -c32` measured at `url` for `seconds`, sending `headers`
/// (`Name: value`). Panics when `wrk` is missing or any answer is not 2xx.
pub fn wrk(url: &str, headers: &[String], seconds: u64) -> f64 {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency"]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.arg(url).output().unwrap_or_else(|e| {
        panic!("cannot run wrk ({e}): apt-get update && apt-get install -y wrk")
    });
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "{url} answered errors under load:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"))
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Waits until something listens on loopback `port` (a server started in this process),
/// at most 30 s (`START_TIMEOUT`).
pub fn wait_for_listener(port: u16) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < START_TIMEOUT,
            "nothing listens on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
