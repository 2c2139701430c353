//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the logout token the
//! provider POSTs to the app when a user's provider session ends, and which of the app's
//! sessions it ends.
//!
//! The checks follow section 2.6 of the spec step by step; the JWS layer (allowed `alg`,
//! key by `kid`, signature) is the one ID tokens go through.

use crate::claims::{Audience, ExtraClaims};
use crate::error::{IdTokenError, LogoutTokenError};
use crate::jwks::Jwks;
use crate::time::UnixTime;
use crate::verify::verify_jws;
use serde::Deserialize;
use std::fmt;

/// The `events` member that makes a JWT a logout token (section 2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The `typ` header of an explicitly typed logout token (section 2.4).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";

/// How old a logout token without `exp` may be, in seconds (plus the clock tolerance).
/// oidc-provider gives its logout tokens two minutes.
pub const LOGOUT_TOKEN_MAX_AGE: u64 = 120;

/// The longest a logout token's `jti` is remembered, in seconds (seven days), whatever its
/// `exp` says.
pub const REPLAY_RECORD_MAX_TTL: u64 = 7 * 24 * 3600;

/// The claims of a verified logout token.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct LogoutTokenClaims {
    /// Issuer: the provider's issuer.
    pub iss: String,
    /// The user, when the token names one.
    #[serde(default)]
    pub sub: Option<String>,
    /// Audience: contains the app id.
    pub aud: Audience,
    /// Issue time.
    pub iat: UnixTime,
    /// Expiry, when the provider sets one.
    #[serde(default)]
    pub exp: Option<UnixTime>,
    /// The token's unique id (replays are refused by it).
    #[serde(default)]
    pub jti: Option<String>,
    /// The provider session that ended, when the token names one.
    #[serde(default)]
    pub sid: Option<String>,
    /// Must contain [`BACKCHANNEL_LOGOUT_EVENT`].
    #[serde(default)]
    pub events: Option<serde_json::Value>,
    /// Every other claim. A `nonce` (forbidden in a logout token, which would then pass
    /// for an ID token) would be here, even as `null`.
    #[serde(flatten)]
    pub extra: ExtraClaims,
}

/// Which of the app's sessions a logout ends, from the claims the logout token names.
///
/// Stores that support back-channel logout index each signed-in session under the keys
/// [`logout_index_keys`](crate::adapter::logout_index_keys) gives for it, and end the
/// sessions listed under any of the target's [`index_keys`](Self::index_keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogoutTarget {
    /// The token names a provider session only: the app's sessions signed in under it.
    Session {
        /// The `sid` claim.
        sid: String,
    },
    /// The token names a user only: every session of that user.
    User {
        /// The `sub` claim.
        sub: String,
    },
    /// The token names both: the sessions signed in under the provider session, and the
    /// user's sessions whose ID token carried no `sid` (they may belong to it; a session
    /// with another `sid` does not).
    SessionOfUser {
        /// The `sid` claim.
        sid: String,
        /// The `sub` claim.
        sub: String,
    },
}

/// Index key prefix of the sessions of one provider session.
const SID_KEY: &str = "sid:";
/// Index key prefix of every session of one user.
const SUB_KEY: &str = "sub:";
/// Index key prefix of a user's sessions whose ID token named no provider session.
const SUB_WITHOUT_SID_KEY: &str = "sub-without-sid:";

impl LogoutTarget {
    /// The index keys whose sessions this logout ends: `sid:<sid>`, `sub:<sub>`, or for a
    /// token naming both `sid:<sid>` and `sub-without-sid:<sub>`.
    ///
    /// ```
    /// use logto_proto::resource::LogoutTarget;
    /// let target = LogoutTarget::Session { sid: "s1".into() };
    /// assert_eq!(target.index_keys(), ["sid:s1"]);
    /// let target = LogoutTarget::SessionOfUser { sid: "s1".into(), sub: "u1".into() };
    /// assert_eq!(target.index_keys(), ["sid:s1", "sub-without-sid:u1"]);
    /// ```
    pub fn index_keys(&self) -> Vec<String> {
        match self {
            LogoutTarget::Session { sid } => vec![format!("{SID_KEY}{sid}")],
            LogoutTarget::User { sub } => vec![format!("{SUB_KEY}{sub}")],
            LogoutTarget::SessionOfUser { sid, sub } => vec![
                format!("{SID_KEY}{sid}"),
                format!("{SUB_WITHOUT_SID_KEY}{sub}"),
            ],
        }
    }
}

/// The index keys a signed-in session with these claims is listed under: `sid:<sid>` and
/// `sub:<sub>` when its ID token names a provider session, else `sub:<sub>` and
/// `sub-without-sid:<sub>`.
pub(crate) fn session_index_keys(sid: Option<&str>, sub: &str) -> Vec<String> {
    match sid.filter(|sid| !sid.is_empty()) {
        Some(sid) => vec![format!("{SID_KEY}{sid}"), format!("{SUB_KEY}{sub}")],
        None => vec![
            format!("{SUB_KEY}{sub}"),
            format!("{SUB_WITHOUT_SID_KEY}{sub}"),
        ],
    }
}

/// A verified back-channel logout request: what to end, and what to remember so that the
/// same token cannot end anything twice.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct BackchannelLogout {
    /// The verified claims.
    pub claims: LogoutTokenClaims,
    /// The sessions to end.
    pub target: LogoutTarget,
    /// Until when the token could still be accepted, and so how long its `jti` must be
    /// remembered to refuse a replay.
    pub valid_until: UnixTime,
}

impl BackchannelLogout {
    /// The key under which a store remembers this token's `jti` (`logout-jti:<iss> <jti>`);
    /// a token whose key is already there is a replay
    /// ([`LogoutTokenError::Replayed`]).
    pub fn replay_key(&self) -> String {
        let jti = self.claims.jti.as_deref().unwrap_or_default();
        format!("logout-jti:{} {jti}", self.claims.iss)
    }

    /// How long, from `now`, the `jti` must be remembered: until the token expires, at
    /// least one second and at most [`REPLAY_RECORD_MAX_TTL`] (a provider's `exp` far in
    /// the future must not make a store refuse the record: Redis takes no expiry past
    /// 2^63 ms, and a replay after a week ends sessions that a week-old sign-out ended).
    pub fn replay_ttl(&self, now: UnixTime) -> std::time::Duration {
        let secs = self
            .valid_until
            .secs_since(now)
            .clamp(1, REPLAY_RECORD_MAX_TTL);
        std::time::Duration::from_secs(secs)
    }
}

impl fmt::Debug for BackchannelLogout {
    // The sid and sub identify a user's session, not a secret; the token itself is not kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackchannelLogout")
            .field("target", &self.target)
            .field("jti", &self.claims.jti)
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

/// The values a logout token is checked against.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct LogoutTokenCheck<'a> {
    /// The discovered issuer.
    pub issuer: &'a str,
    /// The app id.
    pub client_id: &'a str,
    /// The time of the check.
    pub now: UnixTime,
    /// Clock tolerance in seconds for `iat` and `exp`.
    pub clock_tolerance: u64,
}

impl<'a> LogoutTokenCheck<'a> {
    /// Checks against `issuer` and the app `client_id` at `now`, allowing `clock_tolerance`
    /// seconds of clock skew.
    pub fn new(issuer: &'a str, client_id: &'a str, now: UnixTime, clock_tolerance: u64) -> Self {
        LogoutTokenCheck {
            issuer,
            client_id,
            now,
            clock_tolerance,
        }
    }
}

/// The `logout_token` of a back-channel logout request body
/// (`application/x-www-form-urlencoded`). Exactly one is required.
///
/// ```
/// use logto_proto::resource::logout_token_from_form;
/// assert_eq!(logout_token_from_form(b"logout_token=a.b.c").unwrap(), "a.b.c");
/// assert!(logout_token_from_form(b"other=1").is_err());
/// assert!(logout_token_from_form(b"logout_token=a&logout_token=b").is_err());
/// ```
pub fn logout_token_from_form(body: &[u8]) -> Result<String, LogoutTokenError> {
    let mut tokens = url::form_urlencoded::parse(body)
        .filter(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => Ok(token),
        _ => Err(LogoutTokenError::Missing),
    }
}

/// Verifies a logout token against a JWKS (Back-Channel Logout 1.0, section 2.6) and says
/// which sessions it ends. [`LogoutTokenError::Jws`] with [`IdTokenError::UnknownKey`] is
/// the one error worth a JWKS refetch. The `jti` replay check needs a store: see
/// [`BackchannelLogout::replay_key`].
pub fn verify_logout_token(
    token: &str,
    jwks: &Jwks,
    check: &LogoutTokenCheck<'_>,
) -> Result<BackchannelLogout, LogoutTokenError> {
    // Step 3: the signature, with the ID token's algorithm rules.
    let verified = verify_jws::<LogoutTokenClaims>(token, jwks).map_err(LogoutTokenError::Jws)?;
    // Section 2.4: an explicitly typed token must be a logout token, not an ID token or an
    // access token signed with the same keys.
    if let Some(typ) = verified.typ {
        if !typ.eq_ignore_ascii_case(LOGOUT_TOKEN_TYPE) && !typ.eq_ignore_ascii_case("JWT") {
            return Err(LogoutTokenError::Type { found: typ });
        }
    }
    let claims = verified.claims;
    // Step 4: iss, aud, iat and exp as for an ID token.
    if claims.iss != check.issuer {
        return Err(LogoutTokenError::Issuer {
            expected: check.issuer.to_owned(),
            found: claims.iss,
        });
    }
    if !claims.aud.contains(check.client_id) {
        return Err(LogoutTokenError::Audience {
            expected: check.client_id.to_owned(),
            found: claims.aud.0,
        });
    }
    let tolerance = check.clock_tolerance;
    let now = check.now;
    if claims.iat > now.add_secs(tolerance) {
        return Err(LogoutTokenError::IssuedInFuture {
            now,
            iat: claims.iat,
        });
    }
    let valid_until = match claims.exp {
        Some(exp) => exp,
        None => claims.iat.add_secs(LOGOUT_TOKEN_MAX_AGE),
    };
    if now.sub_secs(tolerance) >= valid_until {
        return Err(LogoutTokenError::Expired {
            now,
            valid_until,
            iat: claims.iat,
        });
    }
    // Step 5: sub, sid or both.
    let present = |claim: &Option<String>| claim.clone().filter(|value| !value.is_empty());
    let target = match (present(&claims.sid), present(&claims.sub)) {
        (Some(sid), Some(sub)) => LogoutTarget::SessionOfUser { sid, sub },
        (Some(sid), None) => LogoutTarget::Session { sid },
        (None, Some(sub)) => LogoutTarget::User { sub },
        (None, None) => return Err(LogoutTokenError::MissingSubjectAndSession),
    };
    // Step 6: the back-channel logout event.
    let has_event = claims
        .events
        .as_ref()
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(serde_json::Value::is_object);
    if !has_event {
        return Err(LogoutTokenError::MissingEvent);
    }
    // Step 7: no nonce, whatever its value (`null` included).
    if claims.extra.contains_key("nonce") {
        return Err(LogoutTokenError::NonceForbidden);
    }
    // Step 8 (replay) needs a unique id to remember.
    if claims.jti.as_deref().is_none_or(str::is_empty) {
        return Err(LogoutTokenError::MissingJti);
    }
    Ok(BackchannelLogout {
        claims,
        target,
        valid_until: valid_until.add_secs(tolerance),
    })
}

/// Whether a logout token's failure is an unknown signing key (a refetch of the JWKS may
/// help).
pub(crate) fn is_unknown_key(error: &LogoutTokenError) -> bool {
    matches!(
        error,
        LogoutTokenError::Jws(IdTokenError::UnknownKey { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a logout for `target` ends a session listed under `session_keys`.
    fn ends(target: &LogoutTarget, session_keys: &[String]) -> bool {
        target
            .index_keys()
            .iter()
            .any(|key| session_keys.contains(key))
    }

    #[test]
    fn each_target_ends_exactly_the_sessions_it_names() {
        let with_sid = session_index_keys(Some("s1"), "u1");
        let without_sid = session_index_keys(None, "u1");
        let empty_sid = session_index_keys(Some(""), "u1");
        assert_eq!(without_sid, empty_sid, "an empty sid is none");
        let session = |sid: &str| LogoutTarget::Session { sid: sid.into() };
        let user = |sub: &str| LogoutTarget::User { sub: sub.into() };
        let both = |sid: &str, sub: &str| LogoutTarget::SessionOfUser {
            sid: sid.into(),
            sub: sub.into(),
        };
        // A session signed in under provider session s1.
        assert!(ends(&session("s1"), &with_sid));
        assert!(ends(&user("u1"), &with_sid));
        assert!(ends(&both("s1", "u1"), &with_sid));
        assert!(
            !ends(&both("s2", "u1"), &with_sid),
            "another provider session"
        );
        assert!(!ends(&session("s2"), &with_sid));
        assert!(!ends(&user("u2"), &with_sid));
        // A session whose ID token named no provider session.
        assert!(ends(&user("u1"), &without_sid));
        assert!(ends(&both("s1", "u1"), &without_sid));
        assert!(ends(&both("s2", "u1"), &without_sid));
        assert!(
            !ends(&session("s1"), &without_sid),
            "nothing says it is s1's"
        );
        assert!(!ends(&both("s1", "u2"), &without_sid), "another user");
    }
}
