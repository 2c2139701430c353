//! The core's one error type, with kinds that carry the values compared, and its families:
//! the flows' (`flow`), the tokens' (`tokens`), the provider's answers (`provider`) and the
//! stored session's (`snapshot`); and the drivers' error around it (`client`).

mod client;
mod flow;
mod provider;
mod snapshot;
mod tokens;

pub use client::{ClientError, StorageError, TransportError, TransportErrorKind};
pub use flow::{CallbackError, ConfigError, DeviceError, SignInError, TokenExchangeError};
pub use provider::{DiscoveryError, ProviderError, ResponseError};
pub use snapshot::SnapshotError;
pub use tokens::{AccessTokenError, ClaimsError, IdTokenError, JwksError, LogoutTokenError};

use crate::time::UnixTime;
use std::fmt;

/// Everything that can go wrong in a Logto flow.
///
/// Match on the kind to react (for example [`Error::SessionExpired`] means "sign in again");
/// the nested kinds carry the values that were compared, so a message is exact and a test can
/// match on fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The sign-in request could not be built.
    SignIn(SignInError),
    /// The callback URL was rejected.
    Callback(CallbackError),
    /// An ID token failed verification.
    IdToken(IdTokenError),
    /// A back-channel logout request was refused.
    LogoutToken(LogoutTokenError),
    /// A bearer access token presented to an API was refused.
    AccessToken(AccessTokenError),
    /// The JWKS document could not be used.
    Jwks(JwksError),
    /// The discovery document could not be used.
    Discovery(DiscoveryError),
    /// A response body could not be understood.
    Response(ResponseError),
    /// The provider answered with an error status.
    Provider(ProviderError),
    /// The provider refused the refresh token (`invalid_grant`): the session is over and its
    /// tokens were cleared. Sign in again.
    SessionExpired(ProviderError),
    /// No signed-in session: there is no refresh token (or no ID token) in the snapshot.
    NotAuthenticated,
    /// Organization tokens need the `urn:logto:scope:organizations` scope in the config.
    MissingOrganizationScope,
    /// A stored snapshot could not be read.
    Snapshot(SnapshotError),
    /// A token's claims could not be decoded.
    Claims(ClaimsError),
    /// The operation needs a refresh-token grant, and was built not to make one
    /// ([`FetchUserInfo::without_refresh`](crate::FetchUserInfo::without_refresh),
    /// [`GetAccessToken::without_refresh`](crate::GetAccessToken::without_refresh)). What it
    /// changed in the snapshot before stopping is consistent and may be kept.
    RefreshNeeded,
    /// Another client has held the session's refresh lease for longer than a lease lasts
    /// (a stuck or very slow refresh elsewhere): try again later.
    SessionBusy {
        /// When the other holder's lease ends.
        until: UnixTime,
    },
    /// The stored session kept changing under this call's writes.
    WriteContended {
        /// Writes tried.
        attempts: u32,
    },
    /// A request of a session call could not be sent or got no answer; the driver holds
    /// the transport error. What the call changed was written first.
    RequestFailed,
    /// A device sign-in (RFC 8628) ended without tokens.
    Device(DeviceError),
    /// A token exchange (RFC 8693) was refused.
    TokenExchange(TokenExchangeError),
    /// An operation was driven out of order (a bug in the caller's loop).
    Usage(&'static str),
}

impl Error {
    /// A short, stable name for the kind of failure, for logs and metrics: `config`,
    /// `sign_in`, `callback`, `id_token`, `logout_token`, `access_token`, `jwks`,
    /// `discovery`, `response`, `provider`, `session_expired`, `not_authenticated`,
    /// `missing_organization_scope`, `snapshot`, `claims`, `refresh_needed`,
    /// `session_busy`, `write_contended`, `request_failed`, `device`, `token_exchange` or
    /// `usage`.
    ///
    /// ```
    /// use logto_proto::{CallbackError, Error};
    /// assert_eq!(Error::Callback(CallbackError::StateMismatch).kind(), "callback");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::SignIn(_) => "sign_in",
            Error::Callback(_) => "callback",
            Error::IdToken(_) => "id_token",
            Error::LogoutToken(_) => "logout_token",
            Error::AccessToken(_) => "access_token",
            Error::Jwks(_) => "jwks",
            Error::Discovery(_) => "discovery",
            Error::Response(_) => "response",
            Error::Provider(_) => "provider",
            Error::SessionExpired(_) => "session_expired",
            Error::NotAuthenticated => "not_authenticated",
            Error::MissingOrganizationScope => "missing_organization_scope",
            Error::Snapshot(_) => "snapshot",
            Error::Claims(_) => "claims",
            Error::RefreshNeeded => "refresh_needed",
            Error::SessionBusy { .. } => "session_busy",
            Error::WriteContended { .. } => "write_contended",
            Error::RequestFailed => "request_failed",
            Error::Device(_) => "device",
            Error::TokenExchange(_) => "token_exchange",
            Error::Usage(_) => "usage",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
            Error::SignIn(e) => write!(f, "cannot build the sign-in request: {e}"),
            Error::Callback(e) => write!(f, "sign-in callback rejected: {e}"),
            Error::IdToken(e) => write!(f, "ID token rejected: {e}"),
            Error::LogoutToken(e) => write!(f, "logout token rejected: {e}"),
            Error::AccessToken(e) => write!(f, "access token rejected: {e}"),
            Error::Jwks(e) => write!(f, "JWKS unusable: {e}"),
            Error::Discovery(e) => write!(f, "discovery failed: {e}"),
            Error::Response(e) => write!(f, "unexpected response: {e}"),
            Error::Provider(e) => write!(f, "provider error: {e}"),
            Error::SessionExpired(e) => write!(f, "session expired, sign in again: {e}"),
            Error::NotAuthenticated => f.write_str("not authenticated"),
            Error::MissingOrganizationScope => f.write_str(
                "organization tokens need the `urn:logto:scope:organizations` scope in the config",
            ),
            Error::Snapshot(e) => write!(f, "stored session unreadable: {e}"),
            Error::Claims(e) => write!(f, "cannot decode claims: {e}"),
            Error::RefreshNeeded => f.write_str("a token refresh is needed and was not allowed"),
            Error::SessionBusy { until } => write!(
                f,
                "another client holds the session's refresh lease until {until}; try again"
            ),
            Error::WriteContended { attempts } => write!(
                f,
                "the stored session changed under each of {attempts} writes"
            ),
            Error::RequestFailed => f.write_str("a request could not be sent"),
            Error::Device(e) => write!(f, "device sign-in failed: {e}"),
            Error::TokenExchange(e) => write!(f, "token exchange refused: {e}"),
            Error::Usage(what) => write!(f, "operation misused: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config(e) => Some(e),
            Error::SignIn(e) => Some(e),
            Error::Callback(e) => Some(e),
            Error::IdToken(e) => Some(e),
            Error::LogoutToken(e) => Some(e),
            Error::AccessToken(e) => Some(e),
            Error::Jwks(e) => Some(e),
            Error::Discovery(e) => Some(e),
            Error::Response(e) => Some(e),
            Error::Provider(e) | Error::SessionExpired(e) => Some(e),
            Error::Snapshot(e) => Some(e),
            Error::Claims(e) => Some(e),
            Error::Device(e) => Some(e),
            Error::TokenExchange(e) => Some(e),
            Error::NotAuthenticated
            | Error::MissingOrganizationScope
            | Error::RefreshNeeded
            | Error::SessionBusy { .. }
            | Error::WriteContended { .. }
            | Error::RequestFailed
            | Error::Usage(_) => None,
        }
    }
}

impl From<DeviceError> for Error {
    fn from(e: DeviceError) -> Self {
        Error::Device(e)
    }
}
impl From<TokenExchangeError> for Error {
    fn from(e: TokenExchangeError) -> Self {
        Error::TokenExchange(e)
    }
}
impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
impl From<SignInError> for Error {
    fn from(e: SignInError) -> Self {
        Error::SignIn(e)
    }
}
impl From<CallbackError> for Error {
    fn from(e: CallbackError) -> Self {
        Error::Callback(e)
    }
}
impl From<IdTokenError> for Error {
    fn from(e: IdTokenError) -> Self {
        Error::IdToken(e)
    }
}
impl From<AccessTokenError> for Error {
    fn from(e: AccessTokenError) -> Self {
        Error::AccessToken(e)
    }
}
impl From<LogoutTokenError> for Error {
    fn from(e: LogoutTokenError) -> Self {
        Error::LogoutToken(e)
    }
}
impl From<JwksError> for Error {
    fn from(e: JwksError) -> Self {
        Error::Jwks(e)
    }
}
impl From<DiscoveryError> for Error {
    fn from(e: DiscoveryError) -> Self {
        Error::Discovery(e)
    }
}
impl From<ResponseError> for Error {
    fn from(e: ResponseError) -> Self {
        Error::Response(e)
    }
}
impl From<SnapshotError> for Error {
    fn from(e: SnapshotError) -> Self {
        Error::Snapshot(e)
    }
}
impl From<ClaimsError> for Error {
    fn from(e: ClaimsError) -> Self {
        Error::Claims(e)
    }
}

/// A JSON error's message with every string value it quotes replaced by `"…"`: serde
/// quotes the offending value ("invalid type: string \"…\", expected u64"), and in a token
/// response or a stored session that value may be a token.
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..=start]);
        match rest[start + 1..].find('"') {
            Some(len) => {
                out.push_str("…\"");
                rest = &rest[start + 1 + len + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
