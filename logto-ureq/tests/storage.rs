//! FileStorage holds refresh tokens at rest: private modes, no temporary file left behind.

use logto_ureq::{FileStorage, Storage};
use std::os::unix::fs::PermissionsExt;

#[test]
fn file_storage_is_private_and_leaves_no_temporary_files() {
    let root = std::env::temp_dir().join(format!("logto-ureq-modes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("sessions");
    let store = FileStorage::new(&dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);

    store.set("logto_session", r#"{"v":1,"rt":"r1"}"#).unwrap();
    assert!(store
        .compare_and_swap(
            "logto_session",
            Some(r#"{"v":1,"rt":"r1"}"#),
            Some(r#"{"v":1,"rt":"r2"}"#)
        )
        .unwrap());
    assert_eq!(
        store.get("logto_session").unwrap().as_deref(),
        Some(r#"{"v":1,"rt":"r2"}"#)
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != ".lock")
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode(&files[0]), 0o600);
    std::fs::remove_dir_all(&root).unwrap();
}
