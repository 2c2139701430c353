//! The errors of the flows: configuration, sign-in, callback, device sign-in, token exchange.

use super::ProviderError;
use crate::time::UnixTime;
use std::fmt;

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
