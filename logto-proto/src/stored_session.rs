//! How a session is read from and written to a store: the key, parsing a stored value,
//! what a write changes, the refresh lease's holder and lifetime, the logout index keys.
//! Pure values; the drivers do the I/O.

use crate::error::StorageError;
use crate::snapshot::Snapshot;
use std::fmt;

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
/// use logto_proto::adapter::Snapshot;
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
/// use logto_proto::adapter::Snapshot;
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

/// The requests a refresh may need one after the other: discovery, token, JWKS.
const REQUESTS_PER_REFRESH: u64 = 3;
/// Seconds a lease lasts beyond its requests' timeouts: the clocks of other clients may be
/// this far ahead.
pub(crate) const CLOCK_SKEW_MARGIN_SECS: u64 = 5;

/// How long a refresh lease lasts: long enough for the three requests a refresh may need
/// (discovery, token, JWKS) to time out, plus a margin for other clients' clocks.
pub fn refresh_lease_ttl(config: &crate::Config) -> u64 {
    config
        .request_timeout()
        .as_secs()
        .saturating_mul(REQUESTS_PER_REFRESH)
        .saturating_add(CLOCK_SKEW_MARGIN_SECS)
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
/// use logto_proto::adapter::Snapshot;
/// assert!(logout_index_keys(&Snapshot::new()).is_empty());
/// ```
pub fn logout_index_keys(snapshot: &Snapshot) -> Vec<String> {
    match snapshot.id_token_claims() {
        Ok(claims) => crate::logout::session_index_keys(claims.sid.as_deref(), &claims.sub),
        Err(_) => Vec::new(),
    }
}
