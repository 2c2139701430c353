//! The `node` child process: locating it, starting it, reading its port, stopping it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How long one start attempt may take to print the `LISTENING` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// Start attempts before giving up (only a timeout is retried, never a crash).
const START_ATTEMPTS: u32 = 3;
/// How often the provider process is kicked (see [`Kicker`]).
const KICK_INTERVAL: Duration = Duration::from_millis(500);
/// How much of the provider's stderr is kept for diagnostics.
const STDERR_KEEP: usize = 64 * 1024;

/// The provider's directory, `tests/provider`.
pub(crate) fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("provider")
}

fn node_binary() -> String {
    std::env::var("NODE").unwrap_or_else(|_| "node".to_owned())
}

fn setup_hint() -> String {
    format!(
        "The integration tests need Node.js 20.19 or later on PATH (or in $NODE) and the provider's \
         packages: run `npm ci --prefix tests/provider` from the workspace root (provider \
         directory: {}).",
        provider_dir().display()
    )
}

/// Panics with setup instructions unless `node` runs and the provider's packages are installed.
/// Never skips: a missing prerequisite fails the test, in CI and locally alike.
fn check_prerequisites() {
    let in_ci = std::env::var_os("CI").is_some();
    let prefix = if in_ci { "CI is set and " } else { "" };
    let node = node_binary();
    match Command::new(&node).arg("--version").output() {
        Ok(output) if output.status.success() => {
            let version = String::from_utf8_lossy(&output.stdout);
            let major = version
                .trim()
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|major| major.parse::<u32>().ok());
            if major.is_some_and(|major| major < 20) {
                panic!(
                    "{prefix}`{node}` is {}, too old. {}",
                    version.trim(),
                    setup_hint()
                );
            }
        }
        Ok(output) => panic!(
            "{prefix}`{node} --version` failed ({}). {}",
            output.status,
            setup_hint()
        ),
        Err(error) => panic!("{prefix}cannot run `{node}` ({error}). {}", setup_hint()),
    }
    let package = provider_dir().join("node_modules").join("oidc-provider");
    if !package.is_dir() {
        panic!("{prefix}{} is missing. {}", package.display(), setup_hint());
    }
}

/// The provider's stderr, kept for a failure message.
#[derive(Clone, Default)]
pub(crate) struct Stderr(Arc<Mutex<String>>);

impl Stderr {
    fn push_line(&self, line: &str) {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.push_str(line);
        kept.push('\n');
        if kept.len() > STDERR_KEEP {
            let cut = kept.len() - STDERR_KEEP;
            let cut = (cut..kept.len())
                .find(|&index| kept.is_char_boundary(index))
                .unwrap_or(kept.len());
            kept.drain(..cut);
        }
    }

    pub(crate) fn text(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Sends SIGCONT to the provider every [`KICK_INTERVAL`] while it lives.
///
/// On the project's VMs a freshly started process sometimes sits runnable for many seconds
/// without being scheduled (a lost wake-up in the guest kernel: state `R`, zero CPU time); a
/// signal gets it going at once. SIGCONT is harmless to a running process. Without this, about
/// one `node` start in ten stalled for 5-30 s.
struct Kicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Kicker {
    fn start(pid: u32) -> Kicker {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(KICK_INTERVAL) {
                kick(pid);
            }
        });
        Kicker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops kicking; returns once no further signal can be sent.
    fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(unix)]
fn kick(pid: u32) {
    use rustix::process::{kill_process, Pid, Signal};
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::CONT);
    }
}

#[cfg(not(unix))]
fn kick(_pid: u32) {}

/// A running provider process. Killed (and reaped) on drop.
pub(crate) struct NodeProcess {
    child: Child,
    kicker: Kicker,
    /// Held open: the provider exits when it closes, even if this process is killed.
    _stdin: Option<ChildStdin>,
    pub(crate) stderr: Stderr,
    /// `http://127.0.0.1:<port>`.
    pub(crate) endpoint: String,
}

impl NodeProcess {
    /// Starts `node server.js` and waits for its `LISTENING` line, retrying a start that
    /// timed out. Panics with the provider's stderr if it cannot start.
    pub(crate) fn spawn(env: &[(String, String)]) -> NodeProcess {
        check_prerequisites();
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match NodeProcess::try_spawn(env) {
                Ok(process) => return process,
                Err(StartFailure::Crashed(report)) => panic!("{report}\n{}", setup_hint()),
                Err(StartFailure::TimedOut(report)) => failures.push(report),
            }
        }
        panic!("{}\n{}", failures.join("\n"), setup_hint());
    }

    fn try_spawn(env: &[(String, String)]) -> Result<NodeProcess, StartFailure> {
        let dir = provider_dir();
        let mut command = Command::new(node_binary());
        command
            .arg("server.js")
            .current_dir(&dir)
            .env("PORT", "0")
            .env("EXIT_WITH_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "cannot start `node server.js` in {}: {error}. {}",
                dir.display(),
                setup_hint()
            )
        });

        let mut kicker = Kicker::start(child.id());
        let stderr = Stderr::default();
        let err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                match line {
                    Ok(line) => sink.push_line(&line),
                    Err(_) => break,
                }
            }
        });

        let (sender, receiver) = mpsc::channel();
        let out_pipe = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            let mut reader = BufReader::new(out_pipe);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = sender.send(None);
                        return;
                    }
                    Ok(_) => {
                        if let Some(endpoint) = line.trim().strip_prefix("LISTENING ") {
                            let _ = sender.send(Some(endpoint.to_owned()));
                            break;
                        }
                    }
                }
            }
            // Keep draining so the provider never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });

        let stdin = child.stdin.take();
        let outcome = receiver.recv_timeout(STARTUP_TIMEOUT);
        if let Ok(Some(endpoint)) = outcome {
            return Ok(NodeProcess {
                child,
                kicker,
                _stdin: stdin,
                stderr,
                endpoint,
            });
        }
        kicker.stop();
        let _ = child.kill();
        let status = child.wait().ok();
        // Give the stderr reader a moment to collect the last lines.
        thread::sleep(Duration::from_millis(100));
        let report = |why: String| {
            format!(
                "the test provider {why}.\n--- provider stderr ---\n{}---",
                stderr.text()
            )
        };
        Err(match outcome {
            Err(_) => StartFailure::TimedOut(report(format!(
                "did not print LISTENING within {STARTUP_TIMEOUT:?}"
            ))),
            _ => StartFailure::Crashed(report(format!("exited before listening ({status:?})"))),
        })
    }
}

enum StartFailure {
    Crashed(String),
    TimedOut(String),
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- test provider {} stderr ---\n{}---",
                self.endpoint,
                self.stderr.text()
            );
        }
        self.kicker.stop();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
