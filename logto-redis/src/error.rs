//! The crate's error: what can be wrong with a store's settings. Failures of the store's
//! operations are [`StorageError`](logto_proto::StorageError)s, as the `Storage` traits say.

use std::fmt;
use std::time::Duration;

/// A [`RedisStore`](crate::RedisStore) that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a Redis URL (`redis://host:port/db`).
    InvalidUrl {
        /// The URL given, its password replaced by `***`.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A duration setting is zero (or below the second Redis counts TTLs in).
    InvalidSetting {
        /// The builder method.
        name: &'static str,
        /// The value given.
        value: Duration,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl { url, reason } => write!(f, "invalid Redis URL `{url}`: {reason}"),
            Error::InvalidSetting { name, value } => {
                write!(f, "`{name}` must be at least a second, got {value:?}")
            }
        }
    }
}

impl std::error::Error for Error {}
