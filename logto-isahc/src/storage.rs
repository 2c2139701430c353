//! Where a session lives between requests (async).

use logto_proto::StorageError;
use std::collections::HashMap;
use std::fs;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;

/// The future a [`Storage`] method returns.
pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// An async key-value store for the session snapshot (the guide's `Storage`: get, set,
/// delete).
///
/// # What a store must guarantee
/// - **Integrity and confidentiality**: what `get` returns is trusted. `is_authenticated`,
///   the ID-token claims and the cached tokens are read from it without verifying them
///   again (they were verified before they were stored), and it holds the refresh token.
///   Keep it server-side (memory, a file, a database, Redis), or seal it with
///   authenticated encryption if it must travel (a cookie): a store the user can edit lets
///   the user be anyone.
/// - **Atomic compare-and-swap** when several clients or processes share a session (see
///   below); without it two refreshes can race and the provider revokes the grant.
///
/// The client keeps one versioned value per session under one key. Stores shared by several
/// processes (a database, Redis, a file) should implement [`compare_and_swap`]
/// atomically: the client takes a refresh lease through it, so that only one process at a
/// time presents the refresh token and the others re-read the rotated one.
///
/// [`compare_and_swap`]: Storage::compare_and_swap
pub trait Storage: Send + Sync {
    /// The value under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>>;
    /// Stores `value` under `key`.
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()>;
    /// Removes `key`.
    fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()>;
    /// Writes `new` (`None` deletes) only if the current value is `expected` (`None`: absent);
    /// returns whether it wrote. The default reads then writes, which is atomic only within
    /// one process when the store is used by this client alone; override it for a shared
    /// store (e.g. `UPDATE … WHERE value = $expected`, Redis `WATCH`/`MULTI`).
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            if self.get(key).await?.as_deref() != expected {
                return Ok(false);
            }
            match new {
                Some(v) => self.set(key, v).await?,
                None => self.delete(key).await?,
            }
            Ok(true)
        })
    }
}

/// A shared store: the client and the app hold the same one (e.g. to share a store
/// between two clients, or to look into it).
impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        (**self).get(key)
    }
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        (**self).set(key, value)
    }
    fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        (**self).delete(key)
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        (**self).compare_and_swap(key, expected, new)
    }
}

/// The default store: a map in memory, one per client (never shared between clients).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    map: Mutex<HashMap<String, String>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStorage::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock cannot leave the map half-written: recover it.
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn swap(&self, key: &str, expected: Option<&str>, new: Option<&str>) -> bool {
        let mut map = self.map();
        if map.get(key).map(String::as_str) != expected {
            return false;
        }
        match new {
            Some(v) => map.insert(key.to_owned(), v.to_owned()),
            None => map.remove(key),
        };
        true
    }
}

impl Storage for MemoryStorage {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        let value = self.map().get(key).cloned();
        Box::pin(async move { Ok(value) })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        self.map().insert(key.to_owned(), value.to_owned());
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        self.map().remove(key);
        Box::pin(async { Ok(()) })
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        let swapped = self.swap(key, expected, new);
        Box::pin(async move { Ok(swapped) })
    }
}

/// A store of one file per key in a directory, safe across processes (file work runs on a
/// blocking thread pool, never on the executor): every write goes to a
/// temporary file that is flushed and renamed over the old one (a crash mid-write leaves the
/// old value), and writes and compare-and-swap hold an exclusive lock on `.lock` in the
/// directory. The directory is created with mode 0700 and each file with mode 0600: they hold
/// refresh tokens at rest.
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    /// A store in `dir`, created if missing with mode 0700 (its files hold refresh tokens
    /// and are written with mode 0600).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|source| StorageError::Io {
            key: dir.display().to_string(),
            source,
        })?;
        Ok(FileStorage { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys become file names: keep [A-Za-z0-9_-], escape the rest.
        let mut name = String::with_capacity(key.len() + 5);
        for b in key.bytes() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                name.push(b as char);
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".json");
        self.dir.join(name)
    }

    fn locked<T>(
        &self,
        key: &str,
        f: impl FnOnce() -> std::io::Result<T>,
    ) -> Result<T, StorageError> {
        let io = |source| StorageError::Io {
            key: key.to_owned(),
            source,
        };
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))
            .map_err(io)?;
        lock.lock().map_err(io)?;
        let result = f().map_err(io);
        // Closing the file releases the lock even if unlock fails.
        let _ = lock.unlock();
        result
    }

    fn read(&self, key: &str) -> std::io::Result<Option<String>> {
        match fs::read_to_string(self.path(key)) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write(&self, key: &str, value: Option<&str>) -> std::io::Result<()> {
        let path = self.path(key);
        match value {
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Some(value) => {
                // A fresh random name opened with `create_new` (O_EXCL): never an existing
                // file, never through a symlink planted under a predictable name.
                let tmp = self.dir.join(format!(".{}.tmp", random_name()?));
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&tmp)?;
                let written = file
                    .write_all(value.as_bytes())
                    .and_then(|()| file.sync_all());
                drop(file);
                if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                // The rename is durable only once the directory entry is on disk.
                #[cfg(unix)]
                fs::File::open(&self.dir)?.sync_all()?;
                Ok(())
            }
        }
    }
}

impl Storage for FileStorage {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking::unblock(move || {
            // Renames are atomic: a reader sees the old or the new file, never half of one.
            this.read(&key)
                .map_err(|source| StorageError::Io { key, source })
        }))
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        let (this, key, value) = (self.clone(), key.to_owned(), value.to_owned());
        Box::pin(blocking::unblock(move || {
            this.locked(&key, || this.write(&key, Some(&value)))
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking::unblock(move || {
            this.locked(&key, || this.write(&key, None))
        }))
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        let (this, key) = (self.clone(), key.to_owned());
        let (expected, new) = (expected.map(str::to_owned), new.map(str::to_owned));
        Box::pin(blocking::unblock(move || {
            this.locked(&key, || {
                if this.read(&key)? != expected {
                    return Ok(false);
                }
                this.write(&key, new.as_deref())?;
                Ok(true)
            })
        }))
    }
}

/// 16 random bytes, hex: a temporary file name no other writer can guess.
fn random_name() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
