//! The contract's checks on the memory and file stores, blocking and async, and the file
//! store's privacy at rest.

use logto_store::{conformance, AsyncStorage, Expected, FileStore, MemoryStore, Storage};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A fresh directory under the system's temporary one, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("logto-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_memory_store_keeps_the_contract() {
    let store = MemoryStore::new();
    conformance::compare_and_swap(&store, "");
    futures_executor::block_on(conformance::async_compare_and_swap(&store, ""));
    // Eight threads over clones of one store: one map, one lock.
    let handles = [store.clone(), store];
    conformance::concurrent_increments(&handles, "", 8, 25);
}

#[test]
fn the_file_store_keeps_the_contract_across_handles() {
    let dir = TempDir::new("contract");
    let store = FileStore::new(dir.0.join("sessions")).unwrap();
    conformance::compare_and_swap(&store, "");
    futures_executor::block_on(conformance::async_compare_and_swap(&store, ""));
    // Two handles on one directory stand for two processes: the directory's lock decides.
    let other = FileStore::new(dir.0.join("sessions")).unwrap();
    conformance::concurrent_increments(&[store, other], "", 8, 25);
}

#[test]
fn the_file_store_is_private_and_leaves_no_temporary_files() {
    let root = TempDir::new("modes");
    let dir = root.0.join("sessions");
    let store = FileStore::new(&dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);

    let (first, second) = (r#"{"v":1,"rt":"r1"}"#, r#"{"v":1,"rt":"r2"}"#);
    assert!(
        Storage::compare_and_swap(&store, "logto_session", Expected::Any, Some(first)).unwrap()
    );
    let swapped = futures_executor::block_on(AsyncStorage::compare_and_swap(
        &store,
        "logto_session",
        Expected::Value(first),
        Some(second),
    ));
    assert!(swapped.unwrap());
    assert_eq!(
        Storage::get(&store, "logto_session").unwrap().as_deref(),
        Some(second)
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != ".lock")
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode(&files[0]), 0o600);
}

#[test]
fn an_expected_value_never_shows_in_debug() {
    let shown = format!("{:?}", Expected::Value(r#"{"rt":"refresh-secret"}"#));
    assert!(!shown.contains("refresh-secret"), "{shown}");
    assert_eq!(shown, "Value(<23 bytes>)");
}
