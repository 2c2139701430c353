//! A real `redis-server` for the tests: its own free loopback port and directory, stopped by
//! PID, restartable on the same port with its data kept (append-only file, fsync on every
//! write), so that a test can take Redis away and bring it back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(15);

fn redis_binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

fn setup_hint() -> &'static str {
    "The Redis tests need Debian's `redis-server` on PATH (or its path in $REDIS_SERVER): \
     `apt-get update && apt-get install -y redis-server` (`.ci/run` installs it)."
}

/// A running `redis-server`. Dropping it stops the process and removes its directory.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port. Panics, saying how to install it, when
    /// `redis-server` cannot run: the tests never skip.
    pub fn start() -> RedisServer {
        let port = free_port();
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).expect("OS randomness");
        let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("logto-rs-redis-{name}"));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        let mut server = RedisServer {
            port,
            dir,
            child: None,
        };
        server.restart_process();
        server
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PID of the running server, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (SIGTERM to its PID, then waits for it): its port refuses
    /// connections until [`start_again`](Self::start_again).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same data.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        self.restart_process();
    }

    /// Sends one command (inline form) and returns the raw reply, e.g. `DBSIZE`.
    pub fn command(&self, command: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("redis connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("redis write");
        let mut reply = [0u8; 4096];
        let n = stream.read(&mut reply).expect("redis reply");
        String::from_utf8_lossy(&reply[..n]).trim_end().to_owned()
    }

    fn restart_process(&mut self) {
        let child = Command::new(redis_binary())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--dir", &self.dir.display().to_string()])
            .args(["--save", ""])
            .args(["--appendonly", "yes"])
            .args(["--appendfsync", "always"])
            .args(["--daemonize", "no"])
            .args(["--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}. {}", redis_binary(), setup_hint()));
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if self.answers_ping() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("redis-server exited at start ({status}). {}", setup_hint());
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING within {READY_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 16];
        stream.write_all(b"PING\r\n").is_ok()
            && stream
                .read(&mut reply)
                .is_ok_and(|n| reply[..n].starts_with(b"+PONG"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

#[cfg(unix)]
fn terminate(child: &Child) {
    use rustix::process::{kill_process, Pid, Signal};
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::TERM);
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {}
