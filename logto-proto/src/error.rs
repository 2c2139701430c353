//! The core's one error type, with kinds that carry the values compared.

use crate::time::UnixTime;
use crate::untrusted::Untrusted;
use serde::Deserialize;
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

/// An invalid [`Config`](crate::Config).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The endpoint is not an absolute URL.
    InvalidEndpoint {
        /// The value given.
        endpoint: String,
        /// Why it was refused.
        reason: String,
    },
    /// The endpoint uses `http://` on a host that is not loopback.
    InsecureEndpoint {
        /// The value given.
        endpoint: String,
    },
    /// The app id is empty.
    EmptyAppId,
    /// The chosen client authentication needs an app secret and none was given.
    MissingAppSecret,
    /// A configuration variable (see [`Config::from_vars`](crate::Config::from_vars)) is
    /// missing or invalid.
    Variable {
        /// The variable's name, e.g. `LOGTO_ENDPOINT`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidEndpoint { endpoint, reason } => {
                write!(f, "endpoint `{endpoint}` is not a usable URL: {reason}")
            }
            ConfigError::InsecureEndpoint { endpoint } => write!(
                f,
                "endpoint `{endpoint}` uses http:// on a non-loopback host; use https://"
            ),
            ConfigError::EmptyAppId => f.write_str("the app id is empty"),
            ConfigError::MissingAppSecret => {
                f.write_str("client_secret_basic/client_secret_post need an app secret")
            }
            ConfigError::Variable { name, reason } => write!(f, "{name}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The sign-in URL could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInError {
    /// The redirect URI is not an absolute URL, or carries a fragment.
    InvalidRedirectUri {
        /// The value given.
        redirect_uri: String,
    },
    /// An extra parameter tried to set a parameter the SDK owns.
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
    /// The discovery document has no `authorization_endpoint` usable as a URL.
    InvalidAuthorizationEndpoint {
        /// The value found.
        endpoint: String,
    },
}

impl fmt::Display for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignInError::InvalidRedirectUri { redirect_uri } => write!(
                f,
                "redirect URI `{redirect_uri}` must be an absolute URL without a fragment"
            ),
            SignInError::ReservedParameter { name } => write!(
                f,
                "extra parameter `{name}` would override a parameter the SDK sets"
            ),
            SignInError::InvalidAuthorizationEndpoint { endpoint } => {
                write!(f, "authorization endpoint `{endpoint}` is not a URL")
            }
        }
    }
}

impl std::error::Error for SignInError {}

/// Why a sign-in callback was refused. The pending sign-in stays as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// No sign-in is pending in this session: most often the session cookie did not come
    /// back with the callback (`SameSite`, `Secure` on plain http, `localhost` vs
    /// `127.0.0.1`), or the store lost the session. The message lists the causes.
    NoPendingSignIn,
    /// The callback is not a URL, or repeats a parameter.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Scheme, host, port or path differ from the redirect URI of the pending sign-in.
    RedirectUriMismatch {
        /// The redirect URI sent at sign-in.
        expected: String,
        /// The callback's scheme, host, port and path.
        found: String,
    },
    /// The callback has no `state`.
    MissingState,
    /// The `state` differs from the pending sign-in's: a second sign-in started in another
    /// tab replaced this one, an old callback was reloaded, or the callback is forged.
    StateMismatch,
    /// The provider reported an error (`error`, `error_description`).
    Provider {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The human-readable description, if any.
        description: Option<String>,
    },
    /// The `iss` parameter (RFC 9207) differs from the issuer, or is missing although the
    /// provider announces it.
    IssuerMismatch {
        /// The discovered issuer.
        expected: String,
        /// The callback's `iss`, if any.
        found: Option<String>,
    },
    /// The callback has no `code`.
    MissingCode,
    /// This code was already sent to the token endpoint once.
    CodeAlreadyUsed,
    /// The pending sign-in is older than the config's
    /// [`sign_in_max_age`](crate::Config::sign_in_max_age): start a new one.
    SignInExpired {
        /// When the sign-in started.
        started_at: UnixTime,
        /// The time of the callback.
        now: UnixTime,
        /// The longest wait allowed, in seconds.
        max_age: u64,
    },
    /// No callback came back to the app's loopback redirect within the wait (a native app
    /// signing in through the system browser): the user closed the browser or did not
    /// finish. Start a new sign-in.
    NotReceived {
        /// How long the app waited, in seconds.
        waited_secs: u64,
    },
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackError::NoPendingSignIn => f.write_str(
                "no sign-in is pending in this session. Likely causes: the session cookie set \
                 at sign-in did not come back with the callback (a `SameSite=Strict` cookie, a \
                 `Secure` cookie on plain http, or the sign-in started on `localhost` and the \
                 redirect URI uses `127.0.0.1`, or the other way round: they are different \
                 sites for cookies), the session store lost it (several instances with an \
                 in-memory store, a restart), or the callback was opened a second time",
            ),
            CallbackError::Malformed { reason } => write!(f, "malformed callback URL: {reason}"),
            CallbackError::RedirectUriMismatch { expected, found } => {
                write!(
                    f,
                    "callback `{found}` does not match redirect URI `{expected}`"
                )
            }
            CallbackError::MissingState => f.write_str("callback has no state"),
            CallbackError::StateMismatch => f.write_str(
                "callback state does not match the pending sign-in. Likely causes: a second \
                 sign-in was started in another tab or window of the same browser session \
                 (only the latest one can complete: sign in again from this tab), the \
                 callback of an older sign-in was reloaded or opened from the history, or \
                 the callback was forged",
            ),
            CallbackError::Provider { error, description } => match description {
                Some(d) => write!(f, "provider returned `{error}`: {d}"),
                None => write!(f, "provider returned `{error}`"),
            },
            CallbackError::IssuerMismatch { expected, found } => match found {
                Some(found) => write!(f, "callback iss `{found}` is not `{expected}`"),
                None => write!(f, "callback has no iss, but `{expected}` always sends it"),
            },
            CallbackError::MissingCode => f.write_str("callback has no code"),
            CallbackError::CodeAlreadyUsed => {
                f.write_str("this authorization code was already used")
            }
            CallbackError::SignInExpired {
                started_at,
                now,
                max_age,
            } => write!(
                f,
                "the sign-in started at {started_at} is older than {max_age} s (now {now}); start a new one"
            ),
            CallbackError::NotReceived { waited_secs } => write!(
                f,
                "no sign-in callback came back within {waited_secs} s: the browser was closed \
                 or the sign-in not finished; start a new one"
            ),
        }
    }
}

impl std::error::Error for CallbackError {}

/// Why an ID token was rejected. Each kind names the OIDC Core 3.1.3.7 check it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a compact JWS of three base64url parts with JSON header and payload.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The `alg` is not allowed (`none`, HS*, unknown), or the key cannot use it.
    UnsupportedAlgorithm {
        /// The header's `alg`.
        alg: String,
    },
    /// No JWKS key has the token's `kid` (after one refetch).
    UnknownKey {
        /// The header's `kid`, if any.
        kid: Option<String>,
    },
    /// The key's type or declared `alg` does not fit the token's `alg`.
    KeyMismatch {
        /// The header's `alg`.
        alg: String,
        /// The key's `kid`.
        kid: Option<String>,
    },
    /// The signature does not verify.
    BadSignature,
    /// The payload lacks a required claim or has one of the wrong type.
    InvalidClaims {
        /// What is wrong.
        reason: String,
    },
    /// `iss` is not the discovered issuer.
    Issuer {
        /// The discovered issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain the app id.
    Audience {
        /// The app id.
        expected: String,
        /// The token's audiences.
        found: Vec<String>,
    },
    /// `azp` is missing with several audiences, or is not the app id.
    AuthorizedParty {
        /// The app id.
        expected: String,
        /// The token's `azp`.
        found: Option<String>,
    },
    /// `exp` has passed (beyond the clock tolerance).
    Expired {
        /// The time of the check.
        now: UnixTime,
        /// The token's `exp`.
        exp: UnixTime,
    },
    /// `iat` lies in the future (beyond the clock tolerance).
    IssuedInFuture {
        /// The time of the check.
        now: UnixTime,
        /// The token's `iat`.
        iat: UnixTime,
    },
    /// `nbf` lies in the future (beyond the clock tolerance).
    NotYetValid {
        /// The time of the check.
        now: UnixTime,
        /// The token's `nbf`.
        nbf: UnixTime,
    },
    /// `nonce` differs from the one sent at sign-in (neither value is kept: the expected
    /// one is the session's secret).
    NonceMismatch,
    /// The sign-in's ID token carries no `nonce`, although one was sent.
    NonceMissing,
    /// A refreshed ID token's `auth_time` differs from the session's (OIDC Core 12.2).
    AuthTimeChanged {
        /// The session's `auth_time`.
        expected: UnixTime,
        /// The new token's `auth_time`.
        found: UnixTime,
    },
    /// A refresh returned an ID token, but the session's own ID token is missing or cannot
    /// be decoded, so the new token cannot be checked against it (OIDC Core 12.2): refused
    /// rather than taken unchecked.
    SessionTokenUnreadable {
        /// What is wrong with the session's ID token.
        reason: String,
    },
    /// A refreshed ID token names another user than the session's (OIDC Core 12.2).
    SubjectChanged {
        /// The session's `sub`.
        expected: String,
        /// The new token's `sub`.
        found: String,
    },
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenError::Malformed { reason } => write!(f, "malformed JWT: {reason}"),
            // `alg` and `kid` come from the token's header, before any check: escaped.
            IdTokenError::UnsupportedAlgorithm { alg } => {
                write!(f, "algorithm {} refused", Untrusted(alg))
            }
            IdTokenError::UnknownKey { kid } => match kid {
                Some(kid) => write!(f, "no JWKS key with kid {}", Untrusted(kid)),
                None => f.write_str("no kid and no single JWKS key fits"),
            },
            IdTokenError::KeyMismatch { alg, kid } => {
                write!(f, "key {kid:?} cannot verify {}", Untrusted(alg))
            }
            IdTokenError::BadSignature => f.write_str("signature does not verify"),
            IdTokenError::InvalidClaims { reason } => write!(f, "invalid claims: {reason}"),
            IdTokenError::Issuer { expected, found } => {
                write!(f, "iss `{found}` is not `{expected}`")
            }
            IdTokenError::Audience { expected, found } => {
                write!(f, "aud {found:?} does not contain `{expected}`")
            }
            IdTokenError::AuthorizedParty { expected, found } => {
                write!(f, "azp {found:?} is not `{expected}`")
            }
            IdTokenError::Expired { now, exp } => write!(f, "expired at {exp} (now {now})"),
            IdTokenError::IssuedInFuture { now, iat } => {
                write!(f, "issued in the future at {iat} (now {now})")
            }
            IdTokenError::NotYetValid { now, nbf } => {
                write!(f, "not valid before {nbf} (now {now})")
            }
            IdTokenError::NonceMismatch => f.write_str("nonce is not the one sent at sign-in"),
            IdTokenError::NonceMissing => {
                f.write_str("nonce missing, although the sign-in sent one")
            }
            IdTokenError::AuthTimeChanged { expected, found } => {
                write!(f, "auth_time {found} is not the session's {expected}")
            }
            IdTokenError::SessionTokenUnreadable { reason } => write!(
                f,
                "the session's ID token cannot be compared with the refreshed one: {reason}"
            ),
            IdTokenError::SubjectChanged { expected, found } => {
                write!(f, "sub `{found}` is not the session's `{expected}`")
            }
        }
    }
}

impl std::error::Error for IdTokenError {}

/// Why a back-channel logout request was refused. Each kind names the check of OpenID
/// Connect Back-Channel Logout 1.0, section 2.6, it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutTokenError {
    /// The request body has no `logout_token` (or several).
    Missing,
    /// The JWS layer failed, as it would for an ID token: malformed, an algorithm not
    /// allowed, no key for the `kid`, a key that does not fit, a bad signature, or claims of
    /// the wrong type.
    Jws(IdTokenError),
    /// The `typ` header names another kind of token.
    Type {
        /// The header's `typ`.
        found: String,
    },
    /// `iss` is not the discovered issuer.
    Issuer {
        /// The discovered issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain the app id.
    Audience {
        /// The app id.
        expected: String,
        /// The token's audiences.
        found: Vec<String>,
    },
    /// `iat` lies in the future (beyond the clock tolerance).
    IssuedInFuture {
        /// The time of the check.
        now: UnixTime,
        /// The token's `iat`.
        iat: UnixTime,
    },
    /// The token is past its `exp` (or, without one, older than
    /// [`LOGOUT_TOKEN_MAX_AGE`](crate::LOGOUT_TOKEN_MAX_AGE)), beyond the clock tolerance.
    Expired {
        /// The time of the check.
        now: UnixTime,
        /// Its `exp`, or `iat` plus the maximum age.
        valid_until: UnixTime,
        /// The token's `iat`.
        iat: UnixTime,
    },
    /// Neither `sid` nor `sub` names what to log out.
    MissingSubjectAndSession,
    /// `events` lacks the back-channel logout event.
    MissingEvent,
    /// A `nonce` is present (forbidden in a logout token).
    NonceForbidden,
    /// No `jti`, so a replay could not be told apart.
    MissingJti,
    /// A token with this `jti` was accepted before (a replay).
    Replayed {
        /// The token's `jti`.
        jti: String,
    },
}

impl fmt::Display for LogoutTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogoutTokenError::Missing => {
                f.write_str("the request body has no single `logout_token` parameter")
            }
            LogoutTokenError::Jws(e) => write!(f, "{e}"),
            LogoutTokenError::Type { found } => {
                write!(f, "typ `{found}` is not `logout+jwt`")
            }
            LogoutTokenError::Issuer { expected, found } => {
                write!(f, "iss `{found}` is not `{expected}`")
            }
            LogoutTokenError::Audience { expected, found } => {
                write!(f, "aud {found:?} does not contain `{expected}`")
            }
            LogoutTokenError::IssuedInFuture { now, iat } => {
                write!(f, "issued in the future at {iat} (now {now})")
            }
            LogoutTokenError::Expired {
                now,
                valid_until,
                iat,
            } => write!(f, "issued at {iat}, valid until {valid_until} (now {now})"),
            LogoutTokenError::MissingSubjectAndSession => {
                f.write_str("neither `sid` nor `sub` is present")
            }
            LogoutTokenError::MissingEvent => {
                f.write_str("`events` lacks http://schemas.openid.net/event/backchannel-logout")
            }
            LogoutTokenError::NonceForbidden => f.write_str("a logout token may not carry `nonce`"),
            LogoutTokenError::MissingJti => f.write_str("`jti` is missing"),
            LogoutTokenError::Replayed { jti } => {
                write!(f, "the token with jti `{jti}` was used before")
            }
        }
    }
}

impl std::error::Error for LogoutTokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogoutTokenError::Jws(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a bearer access token was refused by an API, with the values compared. Each kind
/// answers as RFC 6750 says: [`http_status`](Self::http_status) and
/// [`www_authenticate`](Self::www_authenticate).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// No `Authorization` header.
    Missing,
    /// The `Authorization` header is not `Bearer <token>`.
    NotBearer,
    /// The JWS layer failed, as it would for an ID token: not a JWT, an algorithm not
    /// allowed (`none`, HS*), no key for the `kid`, a key that does not fit, a bad
    /// signature, or claims of the wrong type.
    Jws(IdTokenError),
    /// The `typ` header names another kind of token (an ID token, a logout token).
    Type {
        /// The header's `typ`.
        found: String,
    },
    /// The token has no `typ` header (RFC 9068 requires `at+jwt`; see
    /// [`ConfigBuilder::require_access_token_type`](crate::ConfigBuilder::require_access_token_type)).
    MissingType,
    /// `iss` is not the discovered issuer.
    Issuer {
        /// The discovered issuer.
        expected: String,
        /// The token's `iss`.
        found: Option<String>,
    },
    /// The token has no `exp`.
    MissingExpiry,
    /// `exp` has passed (beyond the clock tolerance).
    Expired {
        /// The time of the check.
        now: UnixTime,
        /// The token's `exp`.
        exp: UnixTime,
    },
    /// `nbf` lies in the future (beyond the clock tolerance).
    NotYetValid {
        /// The time of the check.
        now: UnixTime,
        /// The token's `nbf`.
        nbf: UnixTime,
    },
    /// `iat` lies in the future (beyond the clock tolerance).
    IssuedInFuture {
        /// The time of the check.
        now: UnixTime,
        /// The token's `iat`.
        iat: UnixTime,
    },
    /// `aud` does not name this API (or this organization).
    Audience {
        /// The audience the route requires.
        expected: String,
        /// The token's audiences.
        found: Vec<String>,
    },
    /// The token's `organization_id` is not the organization the request is about (or the
    /// token is scoped to an organization and the route is not).
    OrganizationMismatch {
        /// The route's organization.
        expected: Option<String>,
        /// The token's `organization_id`.
        found: Option<String>,
    },
    /// A scope the route requires is not granted.
    InsufficientScope {
        /// Every scope the route requires.
        required: Vec<String>,
        /// Those the token lacks.
        missing: Vec<String>,
    },
}

impl AccessTokenError {
    /// 403 when the token is valid but does not grant the route (a scope, another
    /// organization), else 401 (RFC 6750 3.1).
    pub fn http_status(&self) -> u16 {
        match self {
            AccessTokenError::InsufficientScope { .. }
            | AccessTokenError::OrganizationMismatch { .. } => 403,
            _ => 401,
        }
    }

    /// The RFC 6750 error code: `insufficient_scope` (403), `invalid_token` (401), or none
    /// for a request without credentials (RFC 6750 3.1: only `Bearer` is asked for).
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            AccessTokenError::Missing => None,
            AccessTokenError::InsufficientScope { .. }
            | AccessTokenError::OrganizationMismatch { .. } => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// The `WWW-Authenticate` header value (RFC 6750 3), with the required `scope` for
    /// `insufficient_scope`.
    ///
    /// ```
    /// use logto_proto::AccessTokenError;
    /// assert_eq!(AccessTokenError::Missing.www_authenticate(), "Bearer");
    /// assert_eq!(AccessTokenError::MissingExpiry.www_authenticate(), r#"Bearer error="invalid_token""#);
    /// let e = AccessTokenError::InsufficientScope { required: vec!["read".into(), "write".into()], missing: vec!["write".into()] };
    /// assert_eq!(e.www_authenticate(), r#"Bearer error="insufficient_scope", scope="read write""#);
    /// ```
    pub fn www_authenticate(&self) -> String {
        // Scope tokens are printable ASCII without `"` or `\` (RFC 6749 3.3); anything
        // else is left out rather than quoted into the header.
        let quotable = |s: &str| {
            s.bytes()
                .all(|b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\')
        };
        match (self, self.error_code()) {
            (_, None) => "Bearer".to_owned(),
            (AccessTokenError::InsufficientScope { required, .. }, Some(code)) => {
                let scope: Vec<&str> = required
                    .iter()
                    .map(String::as_str)
                    .filter(|s| quotable(s))
                    .collect();
                format!("Bearer error=\"{code}\", scope=\"{}\"", scope.join(" "))
            }
            (_, Some(code)) => format!("Bearer error=\"{code}\""),
        }
    }
}

impl fmt::Display for AccessTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessTokenError::Missing => f.write_str("no Authorization header"),
            AccessTokenError::NotBearer => {
                f.write_str("the Authorization header is not `Bearer <token>`")
            }
            AccessTokenError::Jws(e) => write!(f, "{e}"),
            AccessTokenError::Type { found } => write!(f, "typ `{found}` is not `at+jwt`"),
            AccessTokenError::MissingType => f.write_str("no typ header (`at+jwt` required)"),
            AccessTokenError::Issuer { expected, found } => {
                write!(f, "iss {found:?} is not `{expected}`")
            }
            AccessTokenError::MissingExpiry => f.write_str("`exp` is missing"),
            AccessTokenError::Expired { now, exp } => write!(f, "expired at {exp} (now {now})"),
            AccessTokenError::NotYetValid { now, nbf } => {
                write!(f, "not valid before {nbf} (now {now})")
            }
            AccessTokenError::IssuedInFuture { now, iat } => {
                write!(f, "issued in the future at {iat} (now {now})")
            }
            AccessTokenError::Audience { expected, found } => {
                write!(f, "aud {found:?} does not contain `{expected}`")
            }
            AccessTokenError::OrganizationMismatch { expected, found } => write!(
                f,
                "organization_id {found:?} is not the route's organization {expected:?}"
            ),
            AccessTokenError::InsufficientScope { missing, .. } => {
                write!(f, "missing scope {missing:?}")
            }
        }
    }
}

impl std::error::Error for AccessTokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AccessTokenError::Jws(e) => Some(e),
            _ => None,
        }
    }
}

/// A JWKS document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// The body is not a JWKS JSON document.
    Malformed {
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::Malformed { reason } => write!(f, "malformed JWKS: {reason}"),
        }
    }
}

impl std::error::Error for JwksError {}

/// A discovery document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The body is not an OpenID provider metadata document.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The `issuer` is not `{endpoint}/oidc`.
    IssuerMismatch {
        /// `{endpoint}/oidc`.
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
    /// The document lacks an endpoint the flow needs.
    MissingEndpoint {
        /// The metadata field name.
        name: &'static str,
    },
    /// An endpoint is not an absolute URL the SDK can send to.
    InvalidEndpoint {
        /// The metadata field name.
        name: &'static str,
        /// Its value (credentials redacted).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An endpoint uses `http://` off loopback: tokens, codes or the app secret would travel
    /// in clear.
    InsecureEndpoint {
        /// The metadata field name.
        name: &'static str,
        /// Its value.
        url: String,
    },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Malformed { reason } => write!(f, "malformed metadata: {reason}"),
            DiscoveryError::IssuerMismatch { expected, found } => {
                write!(f, "issuer `{found}` is not `{expected}`")
            }
            DiscoveryError::MissingEndpoint { name } => write!(f, "metadata has no `{name}`"),
            DiscoveryError::InvalidEndpoint { name, url, reason } => {
                write!(f, "`{name}` `{url}` is not usable: {reason}")
            }
            DiscoveryError::InsecureEndpoint { name, url } => write!(
                f,
                "`{name}` `{url}` uses http:// off loopback; the SDK sends secrets only over https"
            ),
        }
    }
}

impl std::error::Error for DiscoveryError {}

/// A successful response whose body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The body is not the JSON document expected.
    Malformed {
        /// Which response (`token`, `userinfo`, ...).
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The token response's `token_type` is not `Bearer`.
    UnexpectedTokenType {
        /// The value found.
        found: String,
    },
    /// The code exchange returned no ID token.
    MissingIdToken,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed { what, reason } => {
                write!(f, "malformed {what} response: {reason}")
            }
            ResponseError::UnexpectedTokenType { found } => {
                write!(f, "token_type `{found}` is not Bearer")
            }
            ResponseError::MissingIdToken => f.write_str("the token response has no id_token"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// An error status from the provider, with Logto's error body when it sent one:
/// `{"code", "message", "error", "error_description"}`, and the endpoint that answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProviderError {
    /// HTTP status.
    pub status: u16,
    /// OAuth error code (`invalid_grant`, `access_denied`, ...).
    pub error: Option<String>,
    /// OAuth error description.
    pub error_description: Option<String>,
    /// Logto's error code (`oidc.invalid_grant`, ...).
    pub code: Option<String>,
    /// Logto's localised message.
    pub message: Option<String>,
    /// The URL (without its query) that answered: see [`endpoint`](Self::endpoint).
    endpoint: Option<Box<str>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    error_description: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
}

fn as_string(v: Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

impl ProviderError {
    /// Reads an error response. Any body is accepted: fields that are missing or not strings
    /// are left out, a body that is not JSON gives the status alone.
    ///
    /// ```
    /// use logto_proto::ProviderError;
    /// let e = ProviderError::from_response(400, br#"{"code":"oidc.invalid_grant","message":"grant request is invalid","error":"invalid_grant","error_description":"grant request is invalid"}"#)
    ///     .at("https://tenant.logto.app/oidc/token");
    /// assert_eq!(e.error.as_deref(), Some("invalid_grant"));
    /// assert_eq!(e.code.as_deref(), Some("oidc.invalid_grant"));
    /// assert_eq!(
    ///     e.to_string(),
    ///     "HTTP 400 `invalid_grant` from https://tenant.logto.app/oidc/token: grant request is invalid"
    /// );
    /// ```
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        match parsed {
            Some(b) => ProviderError {
                status,
                error: as_string(b.error),
                error_description: as_string(b.error_description),
                code: as_string(b.code),
                message: as_string(b.message),
                endpoint: None,
            },
            None => ProviderError {
                status,
                ..ProviderError::default()
            },
        }
    }

    /// The same error, naming the endpoint (a URL) that answered with it. A query, if any,
    /// is left out.
    pub fn at(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(crate::http::redact_query(endpoint).into());
        self
    }

    /// The URL (without its query) that answered with the error: the token endpoint, the
    /// userinfo endpoint, ... `None` when not known.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Whether the OAuth error code is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.error.as_deref() == Some(code)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(e) = &self.error {
            write!(f, " `{e}`")?;
        }
        if let Some(endpoint) = &self.endpoint {
            write!(f, " from {endpoint}")?;
        }
        if let Some(d) = self.error_description.as_ref().or(self.message.as_ref()) {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

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

/// A token whose claims cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The token is opaque (not a JWT): only the provider can read it.
    NotAJwt,
    /// The token is a JWT, but its payload is not the claims expected.
    Invalid {
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsError::NotAJwt => f.write_str("the token is opaque, not a JWT"),
            ClaimsError::Invalid { reason } => write!(f, "invalid claims: {reason}"),
        }
    }
}

impl std::error::Error for ClaimsError {}

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

/// Why a device sign-in (RFC 8628) ended without tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceError {
    /// The user refused the sign-in on the verification page (`access_denied`).
    Denied(ProviderError),
    /// The device code expired before the user completed the sign-in: the provider said so
    /// (`expired_token`), or its `expires_in` had passed (no poll is sent after it). Start a
    /// new device sign-in.
    Expired {
        /// When the device code expires, by its `expires_in`.
        expires_at: UnixTime,
        /// When the expiry was found.
        now: UnixTime,
    },
    /// The caller cancelled the wait for the user.
    Cancelled,
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::Denied(e) => write!(f, "the user denied the sign-in ({e})"),
            DeviceError::Expired { expires_at, now } => write!(
                f,
                "the device code expired at {expires_at} (now {now}) before the user signed in"
            ),
            DeviceError::Cancelled => f.write_str("cancelled while waiting for the user"),
        }
    }
}

impl std::error::Error for DeviceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeviceError::Denied(e) => Some(e),
            DeviceError::Expired { .. } | DeviceError::Cancelled => None,
        }
    }
}

/// Why the provider refused a token exchange (RFC 8693).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenExchangeError {
    /// The subject or actor token was refused (`invalid_grant`): consumed (an impersonation
    /// subject token is good for one exchange), expired, revoked, or not the provider's.
    TokenRefused(ProviderError),
    /// Token exchange is not allowed for this app (`unauthorized_client`): Logto allows it
    /// per application, and it is off by default.
    NotAllowed(ProviderError),
}

impl TokenExchangeError {
    /// The provider's answer.
    pub fn provider_error(&self) -> &ProviderError {
        match self {
            TokenExchangeError::TokenRefused(e) | TokenExchangeError::NotAllowed(e) => e,
        }
    }
}

impl fmt::Display for TokenExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenExchangeError::TokenRefused(e) => {
                write!(f, "the subject or actor token was refused ({e})")
            }
            TokenExchangeError::NotAllowed(e) => {
                write!(f, "token exchange is not allowed for this app ({e})")
            }
        }
    }
}

impl std::error::Error for TokenExchangeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.provider_error())
    }
}
