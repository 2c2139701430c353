//! [`FileStore`]: one file per key in a directory, for a CLI or a daemon; one directory per
//! profile in the user's config directory.

use crate::contract::{AsyncStorage, Expected, Storage, StorageFuture};
use logto_proto::StorageError;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A store of one file per key in a directory, safe across processes: every write goes to a
/// temporary file that is flushed and renamed over the old one (a crash mid-write leaves the
/// old value), and writes and compare-and-swap hold an exclusive lock on `.lock` in the
/// directory. The directory is created with mode 0700 and each file with mode 0600: they hold
/// refresh tokens at rest.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
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
        Ok(FileStore { dir })
    }

    /// The store of profile `profile` of the command-line tool `app`, in the user's config
    /// directory: `$XDG_CONFIG_HOME/<app>/<profile>` (else `~/.config/<app>/<profile>`) on
    /// Linux and the BSDs, `~/Library/Application Support/<app>/<profile>` on macOS,
    /// `%APPDATA%\<app>\<profile>` on Windows. Each profile is a directory of its own whose
    /// one file is the session, with every rule of [`new`](Self::new) (0700/0600, atomic
    /// writes, compare-and-swap under a lock across processes), so two runs of the tool at
    /// once share one session safely.
    ///
    /// `app` and `profile` are names, not paths: 1 to 64 characters of `A-Z a-z 0-9 . _ -`,
    /// not starting with a dot.
    ///
    /// ```no_run
    /// let store = logto_store::FileStore::for_profile("my-cli", "default")?;
    /// # Ok::<(), logto_store::StorageError>(())
    /// ```
    pub fn for_profile(app: &str, profile: &str) -> Result<Self, StorageError> {
        for name in [app, profile] {
            check_profile_name(name)?;
        }
        let config = dirs::config_dir().ok_or_else(|| StorageError::Io {
            key: profile.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no config directory for this user (set XDG_CONFIG_HOME or HOME)",
            ),
        })?;
        FileStore::new(config.join(app).join(profile))
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

impl Storage for FileStore {
    fn get(&self, key: &str) -> Result<Option<String>, StorageError> {
        // Renames are atomic: a reader sees the old or the new file, never half of one.
        self.read(key).map_err(|source| StorageError::Io {
            key: key.to_owned(),
            source,
        })
    }

    /// Atomic across processes: under the directory's lock.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        self.locked(key, || {
            if !expected.matches(self.read(key)?.as_deref()) {
                return Ok(false);
            }
            self.write(key, new)?;
            Ok(true)
        })
    }
}

/// File I/O blocks: each operation runs on the `blocking` crate's thread pool, never on
/// the executor.
impl AsyncStorage for FileStore {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        let (store, key) = (self.clone(), key.to_owned());
        Box::pin(blocking::unblock(move || Storage::get(&store, &key)))
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        let (store, key) = (self.clone(), key.to_owned());
        let expected = OwnedExpected::from(expected);
        let new = new.map(str::to_owned);
        Box::pin(blocking::unblock(move || {
            Storage::compare_and_swap(&store, &key, expected.borrow(), new.as_deref())
        }))
    }
}

/// An [`Expected`] that owns its value, to cross onto another thread.
enum OwnedExpected {
    Absent,
    Value(String),
    Any,
}

impl From<Expected<'_>> for OwnedExpected {
    fn from(expected: Expected<'_>) -> Self {
        match expected {
            Expected::Absent => OwnedExpected::Absent,
            Expected::Value(value) => OwnedExpected::Value(value.to_owned()),
            Expected::Any => OwnedExpected::Any,
        }
    }
}

impl OwnedExpected {
    fn borrow(&self) -> Expected<'_> {
        match self {
            OwnedExpected::Absent => Expected::Absent,
            OwnedExpected::Value(value) => Expected::Value(value),
            OwnedExpected::Any => Expected::Any,
        }
    }
}

/// The longest app or profile name.
const MAX_PROFILE_NAME: usize = 64;

/// An app or profile name that is one path component of its own, never a way out of the
/// config directory.
fn check_profile_name(name: &str) -> Result<(), StorageError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty()
        || name.len() > MAX_PROFILE_NAME
        || name.starts_with('.')
        || !name.chars().all(allowed)
    {
        return Err(StorageError::Io {
            key: logto_proto::cut_untrusted(name).escape_debug().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "an app or profile name is 1 to 64 of A-Z a-z 0-9 . _ -, not starting with a dot",
            ),
        });
    }
    Ok(())
}

/// 16 random bytes, hex: a temporary file name no other writer can guess.
fn random_name() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_name_is_one_path_component() {
        for good in ["default", "work.example-2", "A_b"] {
            assert!(check_profile_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(MAX_PROFILE_NAME + 1);
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "../x",
            "é",
            "a b",
            long.as_str(),
        ] {
            assert!(check_profile_name(bad).is_err(), "{bad:?}");
            assert!(FileStore::for_profile("app", bad).is_err(), "{bad:?}");
            assert!(FileStore::for_profile(bad, "default").is_err(), "{bad:?}");
        }
        let shown = check_profile_name("x\u{1b}[2J").unwrap_err().to_string();
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }
}
