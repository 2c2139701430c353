//! The drivers' error: what a client call of a driver crate fails with (`ClientError`),
//! wrapping the core's errors, a transport's and a store's.

use crate::error::{CallbackError, ConfigError, ProviderError, SnapshotError};
use std::fmt;

/// Everything a client call of an adapter can fail with (re-exported there as `Error`).
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
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
    Protocol(crate::Error),
    /// The storage failed, or holds a session it cannot read (the client's `clear_session`
    /// removes it).
    Storage(StorageError),
    /// The OS random number generator failed.
    Random(String),
}

impl ClientError {
    /// A short, stable name for the kind of failure, for logs, metrics and JSON error
    /// bodies: `config`, `transport`, `provider`, `session_expired`, `not_authenticated`,
    /// `callback` (the callback URL was refused), `logout_token` (a back-channel logout
    /// request was refused), `session_busy` (another client held the session too long, or
    /// kept writing it), `protocol` (any other check failed), `storage`,
    /// `storage_unavailable` (the store could not be reached) or `random`.
    ///
    /// ```
    /// use logto_proto::ClientError;
    /// assert_eq!(ClientError::NotAuthenticated.kind(), "not_authenticated");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Config(_) => "config",
            ClientError::Transport(_) => "transport",
            ClientError::Provider(_) => "provider",
            ClientError::SessionExpired(_) => "session_expired",
            ClientError::NotAuthenticated => "not_authenticated",
            ClientError::Protocol(crate::Error::Callback(_)) => "callback",
            ClientError::Protocol(crate::Error::LogoutToken(_)) => "logout_token",
            ClientError::Protocol(crate::Error::AccessToken(_)) => "access_token",
            ClientError::Protocol(
                crate::Error::SessionBusy { .. } | crate::Error::WriteContended { .. },
            ) => "session_busy",
            ClientError::Protocol(_) => "protocol",
            ClientError::Storage(StorageError::Unavailable { .. }) => "storage_unavailable",
            ClientError::Storage(_) => "storage",
            ClientError::Random(_) => "random",
        }
    }

    /// The HTTP status a web app would answer its user's request with:
    ///
    /// - 401 when the user has to sign in (again): not signed in, or the session expired;
    /// - 403 when the sign-in came back refused (the user cancelled, or the provider denied
    ///   it), and 400 for any other refused callback URL (forged, replayed, stale);
    /// - 403 when the provider refused a token with 403 (an organization the user is not a
    ///   member of);
    /// - 502 when the provider failed, refused the app's request otherwise (a 400 or 401 is
    ///   the app's configuration, not the user's doing), answered something unusable or
    ///   could not be reached; 504 when it timed out;
    /// - 400 for a refused back-channel logout request (Back-Channel Logout 1.0, 2.8);
    /// - 503 when the session was busy elsewhere, or the session store cannot be reached
    ///   (try again);
    /// - 500 for the app's own faults: configuration, storage, randomness.
    ///
    /// ```
    /// use logto_proto::{ClientError, TransportError, TransportErrorKind};
    /// assert_eq!(ClientError::NotAuthenticated.http_status(), 401);
    /// let timeout = TransportError::new(TransportErrorKind::Timeout, "https://tenant.logto.app/oidc/token", "after 10 s");
    /// assert_eq!(ClientError::Transport(timeout).http_status(), 504);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            ClientError::NotAuthenticated | ClientError::SessionExpired(_) => 401,
            ClientError::Protocol(crate::Error::Callback(CallbackError::Provider { .. })) => 403,
            ClientError::Protocol(crate::Error::Callback(_)) => 400,
            ClientError::Protocol(crate::Error::LogoutToken(_)) => 400,
            ClientError::Protocol(crate::Error::AccessToken(e)) => e.http_status(),
            ClientError::Protocol(
                crate::Error::SessionBusy { .. } | crate::Error::WriteContended { .. },
            ) => 503,
            ClientError::Provider(p) if p.status == 403 => 403,
            ClientError::Storage(StorageError::Unavailable { .. }) => 503,
            ClientError::Transport(t) if t.kind == TransportErrorKind::Timeout => 504,
            ClientError::Provider(_) | ClientError::Transport(_) | ClientError::Protocol(_) => 502,
            ClientError::Config(_) | ClientError::Storage(_) | ClientError::Random(_) => 500,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(e) => write!(f, "invalid configuration: {e}"),
            ClientError::Transport(e) => write!(f, "transport: {e}"),
            ClientError::Provider(e) => write!(f, "provider error: {e}"),
            ClientError::SessionExpired(e) => write!(f, "session expired, sign in again: {e}"),
            ClientError::NotAuthenticated => f.write_str("not authenticated"),
            ClientError::Protocol(e) => write!(f, "{e}"),
            ClientError::Storage(e) => write!(f, "storage: {e}"),
            ClientError::Random(e) => write!(f, "OS randomness unavailable: {e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Config(e) => Some(e),
            ClientError::Transport(e) => Some(e),
            ClientError::Provider(e) | ClientError::SessionExpired(e) => Some(e),
            ClientError::Protocol(e) => Some(e),
            ClientError::Storage(e) => Some(e),
            ClientError::NotAuthenticated | ClientError::Random(_) => None,
        }
    }
}

impl From<crate::Error> for ClientError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Provider(p) => ClientError::Provider(p),
            crate::Error::SessionExpired(p) => ClientError::SessionExpired(p),
            crate::Error::NotAuthenticated => ClientError::NotAuthenticated,
            crate::Error::Config(c) => ClientError::Config(c),
            crate::Error::Snapshot(e) => ClientError::Storage(StorageError::Corrupt(e)),
            other => ClientError::Protocol(other),
        }
    }
}

impl From<ConfigError> for ClientError {
    fn from(e: ConfigError) -> Self {
        ClientError::Config(e)
    }
}

impl From<StorageError> for ClientError {
    fn from(e: StorageError) -> Self {
        ClientError::Storage(e)
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

/// A request that could not be completed: what kind of failure, the host it tried, and
/// the HTTP client's message.
///
/// ```
/// use logto_proto::{TransportError, TransportErrorKind};
/// let e = TransportError::new(
///     TransportErrorKind::Connect,
///     "https://tenant.logto.app/oidc/token",
///     "connection refused",
/// );
/// assert_eq!(e.host, "tenant.logto.app");
/// assert_eq!(e.to_string(), "cannot connect to tenant.logto.app: connection refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The host (and port, when not the scheme's default) of the request's URL; empty when
    /// the URL has none.
    pub host: String,
    /// The HTTP client's message.
    pub message: String,
}

impl TransportError {
    /// A failure of the request to `url` (only its host is kept).
    pub fn new(kind: TransportErrorKind, url: &str, message: impl Into<String>) -> Self {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|url| {
                let host = url.host_str()?.to_owned();
                Some(match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_default();
        TransportError {
            kind,
            host,
            message: message.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.is_empty() {
            "the provider"
        } else {
            &self.host
        };
        match self.kind {
            TransportErrorKind::Timeout => write!(f, "no answer from {host} in time")?,
            TransportErrorKind::Connect => write!(f, "cannot connect to {host}")?,
            TransportErrorKind::Other => write!(f, "request to {host} failed")?,
        }
        write!(f, ": {}", self.message)
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
    /// A store of the app's own (a database, a session framework) failed; its error is kept
    /// as the source.
    Backend {
        /// The key.
        key: String,
        /// The store's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store could not be reached, or did not answer in time (a network store down or
    /// restarting): nothing was read or written, and trying again later may work. A web app
    /// answers 503.
    Unavailable {
        /// The key.
        key: String,
        /// The store's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StorageError {
    /// A failure of the app's own store, keeping its error.
    ///
    /// ```
    /// use logto_proto::StorageError;
    /// let e = StorageError::backend("logto_session", "connection reset");
    /// assert_eq!(e.to_string(), "key `logto_session`: connection reset");
    /// ```
    pub fn backend(key: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StorageError::Backend {
            key: key.to_owned(),
            source: source.into(),
        }
    }
}

impl StorageError {
    /// A store that could not be reached or did not answer in time, keeping its error.
    ///
    /// ```
    /// use logto_proto::StorageError;
    /// let e = StorageError::unavailable("logto_session", "connection refused");
    /// assert_eq!(e.to_string(), "key `logto_session`: store unavailable: connection refused");
    /// ```
    pub fn unavailable(
        key: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StorageError::Unavailable {
            key: key.to_owned(),
            source: source.into(),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Io { key, source } => write!(f, "key `{key}`: {source}"),
            StorageError::Corrupt(e) => write!(f, "stored session: {e}"),
            StorageError::Backend { key, source } => write!(f, "key `{key}`: {source}"),
            StorageError::Unavailable { key, source } => {
                write!(f, "key `{key}`: store unavailable: {source}")
            }
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Io { source, .. } => Some(source),
            StorageError::Corrupt(e) => Some(e),
            StorageError::Backend { source, .. } | StorageError::Unavailable { source, .. } => {
                Some(&**source)
            }
        }
    }
}
