//! The errors of the tokens and keys the core verifies: ID tokens, logout tokens, access
//! tokens, JWKS, claims. How an API answers a refused bearer token (RFC 6750) is with the
//! verification, in `access.rs`.

use crate::time::UnixTime;
use crate::untrusted::Untrusted;
use std::fmt;

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
