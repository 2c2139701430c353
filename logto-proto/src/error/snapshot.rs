//! The error of a stored session (a snapshot) that cannot be read.

use std::fmt;

/// A stored snapshot that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Written by a format version this build does not know.
    UnsupportedVersion {
        /// The version found.
        found: u64,
        /// The version this build writes.
        supported: u64,
    },
    /// Not a snapshot document.
    Corrupt {
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::UnsupportedVersion { found, supported } => {
                write!(f, "format version {found}, this build reads {supported}")
            }
            SnapshotError::Corrupt { reason } => write!(f, "corrupt: {reason}"),
        }
    }
}

impl std::error::Error for SnapshotError {}
