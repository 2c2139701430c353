//! What the adapters (`logto-ureq`, `logto-isahc`) share: their error type, and how a
//! session is read from and written to a store. Pure values; the adapters do the I/O.

use crate::error::{CallbackError, ConfigError, ProviderError, SnapshotError};
use crate::snapshot::Snapshot;
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

/// The storage key of a session snapshot.
pub const SESSION_KEY: &str = "logto_session";

/// Reads a stored session: nothing stored is an empty session; anything unreadable is
/// [`StorageError::Corrupt`], never a panic.
pub fn read_session(stored: Option<&str>) -> Result<Snapshot, StorageError> {
    match stored {
        Some(json) => Snapshot::from_json(json).map_err(StorageError::Corrupt),
        None => Ok(Snapshot::new()),
    }
}

/// [`read_session`] that reuses its last result while the stored text is unchanged.
///
/// An adapter reads the session from storage on every call, because another client or
/// process may have written it since; most of the time the text is the one read last time,
/// and cloning the snapshot parsed then costs a fraction of parsing it again (the largest
/// part of what a call with a cached token costs besides its request).
///
/// ```
/// use logto_proto::adapter::SessionReader;
/// use logto_proto::Snapshot;
/// let stored = Snapshot::new().to_json();
/// let mut reader = SessionReader::default();
/// assert!(reader.peek(Some(&stored)).is_none()); // nothing parsed yet
/// assert_eq!(reader.read(Some(&stored)).unwrap(), Snapshot::new());
/// assert_eq!(reader.read(Some(&stored)).unwrap(), Snapshot::new()); // not parsed again
/// assert_eq!(*reader.peek(Some(&stored)).unwrap(), Snapshot::new());
/// assert!(reader.peek(Some(r#"{"v":1,"rt":"x"}"#)).is_none()); // other text: parse it
/// assert!(reader.read(Some("{corrupt")).is_err());
/// assert_eq!(reader.read(None).unwrap(), Snapshot::new());
/// ```
#[derive(Default)]
pub struct SessionReader {
    last: Option<(String, std::sync::Arc<Snapshot>)>,
}

impl SessionReader {
    /// Like [`read_session`]; the result is equal to what it would give.
    pub fn read(&mut self, stored: Option<&str>) -> Result<Snapshot, StorageError> {
        Ok(std::sync::Arc::unwrap_or_clone(self.read_shared(stored)?))
    }

    /// Like [`read`](Self::read), sharing the parse instead of copying it (a call that only
    /// looks at the session copies nothing).
    pub fn read_shared(
        &mut self,
        stored: Option<&str>,
    ) -> Result<std::sync::Arc<Snapshot>, StorageError> {
        let Some(json) = stored else {
            return Ok(std::sync::Arc::default());
        };
        if let Some((text, snapshot)) = &self.last {
            if text == json {
                return Ok(snapshot.clone());
            }
        }
        let snapshot = std::sync::Arc::new(read_session(stored)?);
        self.last = Some((json.to_owned(), snapshot.clone()));
        Ok(snapshot)
    }

    /// The parse [`read_shared`](Self::read_shared) would reuse for `stored`, if any, without
    /// changing the reader: an adapter can look under a shared lock, and take the exclusive
    /// one only to parse a changed session.
    pub fn peek(&self, stored: Option<&str>) -> Option<std::sync::Arc<Snapshot>> {
        let Some(json) = stored else {
            return Some(std::sync::Arc::default());
        };
        match &self.last {
            Some((text, snapshot)) if text == json => Some(snapshot.clone()),
            _ => None,
        }
    }
}

impl fmt::Debug for SessionReader {
    // The stored text holds tokens: only whether something is kept is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionReader")
            .field("kept", &self.last.is_some())
            .finish()
    }
}

/// What a store must do to hold `snapshot`, given what it held before. `Debug` shows the
/// length of a value to set, never the value (it holds the session's tokens).
#[derive(Clone, PartialEq, Eq)]
pub enum SessionWrite {
    /// The stored value is already this session.
    Unchanged,
    /// The session is empty: delete the key.
    Delete,
    /// Write this value.
    Set(String),
}

impl fmt::Debug for SessionWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionWrite::Unchanged => f.write_str("Unchanged"),
            SessionWrite::Delete => f.write_str("Delete"),
            SessionWrite::Set(json) => write!(f, "Set(<{} bytes>)", json.len()),
        }
    }
}

/// Decides the write for `snapshot` over the stored value `before`.
///
/// ```
/// use logto_proto::adapter::{session_write, SessionWrite};
/// use logto_proto::Snapshot;
/// assert_eq!(session_write(None, &Snapshot::new()), SessionWrite::Delete);
/// assert_eq!(session_write(Some(r#"{"v":1}"#), &Snapshot::new()), SessionWrite::Delete);
/// ```
pub fn session_write(before: Option<&str>, snapshot: &Snapshot) -> SessionWrite {
    if *snapshot == Snapshot::new() {
        return SessionWrite::Delete;
    }
    let json = snapshot.to_json();
    if before == Some(json.as_str()) {
        SessionWrite::Unchanged
    } else {
        SessionWrite::Set(json)
    }
}

/// A client's refresh-lease holder id from 12 random bytes (hex).
pub fn lease_holder(random: [u8; 12]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long a refresh lease lasts: long enough for the three requests a refresh may need
/// (discovery, token, JWKS) to time out.
pub fn refresh_lease_ttl(config: &crate::Config) -> u64 {
    config
        .request_timeout()
        .as_secs()
        .saturating_mul(3)
        .saturating_add(5)
}

/// The back-channel logout index keys of a session: `sid:<sid>` and `sub:<sub>` when its
/// ID token names a provider session, else `sub:<sub>` and `sub-without-sid:<sub>`. A
/// store that serves back-channel logout lists the session under each key when it writes
/// it, and a logout ends the sessions listed under any of its
/// [`LogoutTarget::index_keys`](crate::LogoutTarget::index_keys). A session not signed in
/// is listed under none.
///
/// ```
/// use logto_proto::adapter::logout_index_keys;
/// use logto_proto::Snapshot;
/// assert!(logout_index_keys(&Snapshot::new()).is_empty());
/// ```
pub fn logout_index_keys(snapshot: &Snapshot) -> Vec<String> {
    match snapshot.id_token_claims() {
        Ok(claims) => crate::logout::session_index_keys(claims.sid.as_deref(), &claims.sub),
        Err(_) => Vec::new(),
    }
}
