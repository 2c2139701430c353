//! The core stays sans-IO: no source file of `logto-proto` reaches for a lock, a thread,
//! the clock, OS randomness, the file system or the network. Those are the drivers' (see
//! `logto-driver`); a value the core needs from them comes in as an argument.

use std::path::{Path, PathBuf};

/// What only a driver may use, and why it is named here.
const FORBIDDEN: &[(&str, &str)] = &[
    ("std::sync::Mutex", "a lock"),
    ("std::sync::RwLock", "a lock"),
    ("Mutex<", "a lock"),
    ("RwLock<", "a lock"),
    ("Mutex::", "a lock"),
    ("RwLock::", "a lock"),
    ("parking_lot", "a lock"),
    ("std::thread", "threads"),
    ("thread_local!", "thread placement"),
    ("available_parallelism", "reading the machine"),
    ("SystemTime", "the clock"),
    ("Instant::now", "the clock"),
    ("getrandom", "OS randomness"),
    ("std::fs", "the file system"),
    ("TcpStream", "the network"),
    ("TcpListener", "the network"),
    ("UdpSocket", "the network"),
    ("ToSocketAddrs", "name resolution"),
    ("std::env", "the environment"),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_file_of_the_core_uses_locks_threads_clock_randomness_or_io() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "the core's sources were found: {files:?}");
    let mut uses = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (number, line) in source.lines().enumerate() {
            // Comment lines may name what the core leaves to drivers; code lines are read
            // whole (a `//` inside a URL does not end them).
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (needle, what) in FORBIDDEN {
                if line.contains(needle) {
                    uses.push(format!(
                        "{}:{}: {what} ({needle})",
                        file.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        uses.is_empty(),
        "the core must stay sans-IO:\n{}",
        uses.join("\n")
    );
}
