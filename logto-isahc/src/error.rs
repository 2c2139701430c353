//! The client's error type.

use logto_proto::{ConfigError, ProviderError, SnapshotError};
use std::fmt;

/// Everything a [`LogtoClient`](crate::LogtoClient) call can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The request could not be sent or got no answer (connect failure, timeout, ...).
    Transport(TransportError),
    /// The provider answered with an error status and Logto's error body.
    Provider(ProviderError),
    /// The provider no longer honours the refresh token: the session's tokens were cleared.
    /// Sign in again.
    SessionExpired(ProviderError),
    /// The session is not signed in.
    NotAuthenticated,
    /// The protocol failed (a callback, token or document that does not pass the checks).
    Protocol(logto_proto::Error),
    /// The storage failed, or holds a session it cannot read (clear it with
    /// [`LogtoClient::clear_session`](crate::LogtoClient::clear_session)).
    Storage(StorageError),
    /// The OS random number generator failed.
    Random(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
            Error::Transport(e) => write!(f, "transport: {e}"),
            Error::Provider(e) => write!(f, "provider error: {e}"),
            Error::SessionExpired(e) => write!(f, "session expired, sign in again: {e}"),
            Error::NotAuthenticated => f.write_str("not authenticated"),
            Error::Protocol(e) => write!(f, "{e}"),
            Error::Storage(e) => write!(f, "storage: {e}"),
            Error::Random(e) => write!(f, "OS randomness unavailable: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config(e) => Some(e),
            Error::Transport(e) => Some(e),
            Error::Provider(e) | Error::SessionExpired(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Storage(e) => Some(e),
            Error::NotAuthenticated | Error::Random(_) => None,
        }
    }
}

impl From<logto_proto::Error> for Error {
    fn from(e: logto_proto::Error) -> Self {
        match e {
            logto_proto::Error::Provider(p) => Error::Provider(p),
            logto_proto::Error::SessionExpired(p) => Error::SessionExpired(p),
            logto_proto::Error::NotAuthenticated => Error::NotAuthenticated,
            logto_proto::Error::Config(c) => Error::Config(c),
            other => Error::Protocol(other),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Error::Storage(e)
    }
}

/// What kind of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS).
    Connect,
    /// Anything else (reset, protocol violation, body too large).
    Other,
}

/// A request that could not be completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The HTTP client's message.
    pub message: String,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for TransportError {}

/// A storage failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum StorageError {
    /// The store could not be read or written.
    Io {
        /// The key.
        key: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The stored session is corrupt or of an unknown version.
    Corrupt(SnapshotError),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Io { key, source } => write!(f, "key `{key}`: {source}"),
            StorageError::Corrupt(e) => write!(f, "stored session: {e}"),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Io { source, .. } => Some(source),
            StorageError::Corrupt(e) => Some(e),
        }
    }
}
