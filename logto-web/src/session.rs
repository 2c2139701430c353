//! Browser sessions: the id in the cookie, the store key it maps to, and the client of one
//! request's session.

use crate::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use logto_driver::aio::LogtoClient;
use logto_proto::errors::ResponseError;
use logto_proto::{ClientError, StorageError};
use logto_store::{AsyncSessionStore, AsyncStorage, Expected, StorageFuture};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A browser session's id: 32 random bytes, base64url, in the cookie. It is a bearer secret
/// (whoever holds it is signed in), so it never appears in `Debug` or in logs, and the store
/// never sees it: sessions are stored under a SHA-256 digest of it ([`SessionId::store_key`]),
/// so that a store's contents, logs or errors give no cookie to replay.
#[derive(Clone)]
pub(crate) struct SessionId {
    cookie: Arc<str>,
    /// Computed when first needed: a request whose session client is cached never needs it.
    key: Arc<OnceLock<String>>,
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.cookie == other.cookie
    }
}

impl Eq for SessionId {}

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.cookie.hash(state);
    }
}

impl SessionId {
    /// The length of an id in the cookie: 32 bytes in base64url without padding.
    const LEN: usize = 43;

    pub(crate) fn random() -> Result<SessionId, Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Client(ClientError::Random(e.to_string())))?;
        Ok(SessionId::from_cookie(&URL_SAFE_NO_PAD.encode(bytes)))
    }

    fn from_cookie(cookie: &str) -> SessionId {
        SessionId {
            cookie: cookie.into(),
            key: Arc::default(),
        }
    }

    /// The id a cookie carries, if it has the shape of one (anything else is ignored).
    pub(crate) fn parse(value: &str) -> Option<SessionId> {
        let well_formed = value.len() == Self::LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| SessionId::from_cookie(value))
    }

    /// The cookie's value.
    pub(crate) fn cookie_value(&self) -> &str {
        &self.cookie
    }

    /// The key the session is stored under: `logto:` and the id's SHA-256, base64url.
    pub(crate) fn store_key(&self) -> &str {
        self.key.get_or_init(|| {
            let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(self.cookie.as_bytes()));
            format!("logto:{digest}")
        })
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// One browser session's view of the app's store: the client's only key is the session id.
pub(crate) struct SessionStorage {
    pub(crate) store: Arc<dyn AsyncSessionStore>,
    pub(crate) id: SessionId,
}

impl AsyncStorage for SessionStorage {
    fn get<'a>(&'a self, _key: &'a str) -> StorageFuture<'a, Option<String>> {
        self.store.get(self.id.store_key())
    }

    fn compare_and_swap<'a>(
        &'a self,
        _key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        self.store
            .compare_and_swap(self.id.store_key(), expected, new)
    }
}

/// The store of a request without a session: nothing to read, nothing may be written (a
/// session starts at the sign-in route).
pub(crate) struct NoSession;

impl AsyncStorage for NoSession {
    fn get<'a>(&'a self, _key: &'a str) -> StorageFuture<'a, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            match (expected, new) {
                // Nothing is stored: no value to match, and deleting it changes nothing.
                (Expected::Value(_), _) => Ok(false),
                (Expected::Absent | Expected::Any, None) => Ok(true),
                (Expected::Absent | Expected::Any, Some(_)) => Err(no_session(key)),
            }
        })
    }
}

fn no_session(key: &str) -> StorageError {
    StorageError::backend(
        key,
        "this request has no session: a session starts at the sign-in route",
    )
}

/// A request's Logto session: a [`LogtoClient`] (through `Deref`) for tokens, user info
/// and the ID token of the browser session the cookie names. Without a session (no cookie,
/// or an expired one) it is a client that is not signed in. The frameworks' `LogtoSession`
/// extractors wrap it.
#[derive(Clone)]
pub struct WebSession {
    client: Arc<LogtoClient>,
    pub(crate) id: Option<SessionId>,
}

impl WebSession {
    pub(crate) fn new(client: Arc<LogtoClient>, id: Option<SessionId>) -> WebSession {
        WebSession { client, id }
    }

    /// The session's client.
    pub fn client(&self) -> &LogtoClient {
        &self.client
    }

    /// Whether the request's cookie named a session of the store (signed in or not; it may
    /// have expired or been signed out since this process last looked).
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// The `Authorization` header for a call to `resource`'s API on the user's behalf,
    /// `Bearer <access token>`, the token as [`access_token`](LogtoClient::access_token)
    /// gives it (cached, refreshed when due), made into the framework's header type by
    /// `into_header` (which marks it sensitive). A visitor who is not signed in gets
    /// [`ClientError::NotAuthenticated`]. A token with characters a header cannot carry
    /// (`into_header` gives `None`) is a malformed token response; the token itself stays
    /// out of the error.
    pub async fn bearer_header<H>(
        &self,
        resource: &str,
        into_header: impl FnOnce(&str) -> Option<H>,
    ) -> Result<H, Error> {
        let token = self.client.access_token(resource).await?;
        bearer_header(&token, into_header)
    }
}

/// `Bearer <token>` through `into_header`, refused when a header cannot carry it (visible
/// ASCII only).
pub(crate) fn bearer_header<H>(
    token: &str,
    into_header: impl FnOnce(&str) -> Option<H>,
) -> Result<H, Error> {
    let header_safe = !token.is_empty() && token.bytes().all(|b| (0x21..0x7f).contains(&b));
    let header = header_safe
        .then(|| into_header(&format!("Bearer {token}")))
        .flatten();
    header.ok_or_else(|| {
        let malformed = ResponseError::Malformed {
            what: "token",
            reason: "the access token has characters an HTTP header cannot carry".to_owned(),
        };
        ClientError::Protocol(logto_proto::Error::Response(malformed)).into()
    })
}

impl std::ops::Deref for WebSession {
    type Target = LogtoClient;
    fn deref(&self) -> &LogtoClient {
        &self.client
    }
}

impl fmt::Debug for WebSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSession")
            .field("exists", &self.exists())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_refuses_what_a_header_cannot_carry() {
        let header = |token| bearer_header(token, |value| Some(value.to_owned()));
        assert_eq!(header("eyJ.abc.def").unwrap(), "Bearer eyJ.abc.def");
        let refused_by_framework = bearer_header("eyJ.abc.def", |_| None::<String>);
        assert_eq!(refused_by_framework.unwrap_err().kind(), "protocol");
        for bad in ["eyJ\r\nX-Injected: 1", "eyJ abc", "", "caf\u{e9}"] {
            let refused = header(bad).unwrap_err();
            assert_eq!(refused.kind(), "protocol");
            assert!(!format!("{refused:?}").contains("Injected"), "{refused:?}");
        }
    }
}
