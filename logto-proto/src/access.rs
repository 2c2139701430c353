//! Protecting an API: verifying the bearer access tokens Logto issues for it (RFC 9068 JWT
//! access tokens, Logto's organization tokens), and what a route requires of them.
//!
//! Verification has two halves. [`verify_access_token`] checks what is true of the token
//! wherever it is presented (its signature with the provider's keys, `typ`, `iss`, `exp`,
//! `nbf`, `iat`) and gives a [`VerifiedAccessToken`], which an API may cache until the
//! token's expiry. [`VerifiedAccessToken::authorize`] checks what a route requires (its
//! audience, organization and scopes) and is cheap enough for every request. A refused
//! token is answered as RFC 6750 says ([`AccessTokenError::http_status`],
//! [`AccessTokenError::www_authenticate`]).

use crate::claims::AccessTokenClaims;
use crate::error::{AccessTokenError, IdTokenError};
use crate::jwks::Jwks;
use crate::scope::{organization_urn, ORGANIZATION_URN_PREFIX};
use crate::time::UnixTime;
use crate::trace::event;
use crate::verify::verify_jws;
use std::fmt;

/// The `typ` of a JWT access token (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// A signed access token whose signature, issuer and lifetime passed: its claims, its
/// scopes, and whether a machine holds it. Which routes it may call is
/// [`authorize`](Self::authorize)'s question.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedAccessToken {
    /// Every claim (unknown ones in `extra`).
    pub claims: AccessTokenClaims,
    /// `scope`, split on spaces.
    pub scopes: Vec<String>,
    /// Its `exp`: the token is worth nothing after it (nor is a cached verification).
    pub expires_at: UnixTime,
}

impl fmt::Debug for VerifiedAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedAccessToken")
            .field("sub", &self.claims.sub)
            .field("client_id", &self.claims.client_id)
            .field("aud", &self.claims.aud)
            .field("organization_id", &self.claims.organization_id)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a route requires of an access token.
///
/// ```
/// use logto_proto::resource::Requirement;
/// let read_orders = Requirement::resource("https://shopping.example/api").scopes(["read"]);
/// let members = Requirement::organization("org-1").scopes(["read:members"]);
/// # let _ = (read_orders, members);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Requirement {
    audience: String,
    organization: Option<String>,
    scopes: Vec<String>,
}

impl Requirement {
    /// A token for the API resource `indicator`, not scoped to any organization.
    pub fn resource(indicator: impl Into<String>) -> Requirement {
        Requirement {
            audience: indicator.into(),
            organization: None,
            scopes: Vec::new(),
        }
    }

    /// A token for the API resource `indicator` in organization `organization_id` (Logto's
    /// organization-level API resources: `aud` is the resource, and the `organization_id`
    /// claim must be this one).
    pub fn resource_in_organization(
        indicator: impl Into<String>,
        organization_id: impl Into<String>,
    ) -> Requirement {
        Requirement {
            audience: indicator.into(),
            organization: Some(organization_id.into()),
            scopes: Vec::new(),
        }
    }

    /// An organization token for `organization_id` (`aud` is
    /// `urn:logto:organization:<id>`).
    pub fn organization(organization_id: impl Into<String>) -> Requirement {
        let organization_id = organization_id.into();
        Requirement {
            audience: organization_urn(&organization_id),
            organization: None,
            scopes: Vec::new(),
        }
    }

    /// Every one of these scopes must be granted.
    pub fn scopes<I, S>(mut self, scopes: I) -> Requirement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The audience the token must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The scopes the token must grant.
    pub fn required_scopes(&self) -> &[String] {
        &self.scopes
    }
}

/// The values an access token is checked against, wherever it is presented.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct AccessTokenCheck<'a> {
    /// The discovered issuer.
    pub issuer: &'a str,
    /// The time of the check.
    pub now: UnixTime,
    /// Clock tolerance in seconds for `exp`, `nbf` and `iat`.
    pub clock_tolerance: u64,
    /// Whether a token without a `typ` header is refused (true unless turned off with
    /// [`AccessTokenCheck::type_optional`]).
    pub require_type: bool,
}

impl<'a> AccessTokenCheck<'a> {
    /// Checks against `issuer` at `now`, allowing `clock_tolerance` seconds of clock skew.
    pub fn new(issuer: &'a str, now: UnixTime, clock_tolerance: u64) -> Self {
        AccessTokenCheck {
            issuer,
            now,
            clock_tolerance,
            require_type: true,
        }
    }

    /// Accepts a token without a `typ` header (for an issuer whose access tokens carry
    /// none; Logto's carry `at+jwt`). A `typ` of another kind is still refused.
    #[must_use]
    pub fn type_optional(mut self) -> Self {
        self.require_type = false;
        self
    }
}

/// Verifies a bearer access token against a JWKS: the signature (with the ID token's
/// algorithm allow-list, never `none` or HS*), `typ` (`at+jwt`, required unless the check
/// says otherwise), `iss`, `exp`
/// (required), `nbf` and `iat`, with the clock tolerance. [`AccessTokenError::Jws`] with
/// [`IdTokenError::UnknownKey`] is the one error worth a JWKS refetch.
pub fn verify_access_token(
    token: &str,
    jwks: &Jwks,
    check: &AccessTokenCheck<'_>,
) -> Result<VerifiedAccessToken, AccessTokenError> {
    let verified = verify_jws::<AccessTokenClaims>(token, jwks).map_err(AccessTokenError::Jws)?;
    match verified.typ {
        Some(typ) => {
            // RFC 9068 2.1: `at+jwt`; `application/at+jwt` is the same media type.
            let typ_ok = typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || typ.eq_ignore_ascii_case("application/at+jwt");
            if !typ_ok {
                return Err(AccessTokenError::Type { found: typ });
            }
        }
        // RFC 9068 4: a resource server must check `typ`; without it, any JWT the issuer
        // signs (an ID token with the API's audience) could pass as an access token.
        None if check.require_type => return Err(AccessTokenError::MissingType),
        None => {}
    }
    let claims = verified.claims;
    if claims.iss.as_deref() != Some(check.issuer) {
        return Err(AccessTokenError::Issuer {
            expected: check.issuer.to_owned(),
            found: claims.iss,
        });
    }
    let (now, tolerance) = (check.now, check.clock_tolerance);
    let exp = claims.exp.ok_or(AccessTokenError::MissingExpiry)?;
    if now.sub_secs(tolerance) >= exp {
        return Err(AccessTokenError::Expired { now, exp });
    }
    if let Some(nbf) = claims.extra.get("nbf").and_then(serde_json::Value::as_u64) {
        let nbf = UnixTime::from_secs(nbf);
        if nbf > now.add_secs(tolerance) {
            return Err(AccessTokenError::NotYetValid { now, nbf });
        }
    }
    if let Some(iat) = claims.iat {
        if iat > now.add_secs(tolerance) {
            return Err(AccessTokenError::IssuedInFuture { now, iat });
        }
    }
    let scopes = claims
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(VerifiedAccessToken {
        claims,
        scopes,
        expires_at: exp,
    })
}

impl VerifiedAccessToken {
    /// Whether a machine holds the token (client credentials: `sub` is the app's
    /// `client_id`), not a user.
    pub fn is_machine(&self) -> bool {
        self.claims.sub.is_some() && self.claims.sub == self.claims.client_id
    }

    /// The organization the token is for: an organization token's from its `aud`, an
    /// organization-level API token's from its `organization_id` claim.
    pub fn organization_id(&self) -> Option<&str> {
        let from_audience = self.claims.aud.as_ref().and_then(|aud| {
            aud.0
                .iter()
                .find_map(|a| a.strip_prefix(ORGANIZATION_URN_PREFIX))
        });
        from_audience.or(self.claims.organization_id.as_deref())
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Checks what a route requires, at `now`: the audience (the API resource, or the
    /// organization's URN), the organization (an organization-level API token's
    /// `organization_id` must be the route's; a token scoped to an organization is no
    /// token for a route that is not), every required scope, and that the token has not
    /// expired since it was verified.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub fn authorize(
        &self,
        requirement: &Requirement,
        now: UnixTime,
        clock_tolerance: u64,
    ) -> Result<(), AccessTokenError> {
        let refused = self.check(requirement, now, clock_tolerance);
        if let Err(e) = &refused {
            event!(info, kind = "access_token", audience = %requirement.audience, "refused: {e}");
        }
        refused
    }

    fn check(
        &self,
        requirement: &Requirement,
        now: UnixTime,
        clock_tolerance: u64,
    ) -> Result<(), AccessTokenError> {
        if now.sub_secs(clock_tolerance) >= self.expires_at {
            return Err(AccessTokenError::Expired {
                now,
                exp: self.expires_at,
            });
        }
        let audiences = self
            .claims
            .aud
            .as_ref()
            .map(|a| a.as_slice())
            .unwrap_or_default();
        if !audiences.contains(&requirement.audience) {
            return Err(AccessTokenError::Audience {
                expected: requirement.audience.clone(),
                found: audiences.to_vec(),
            });
        }
        if self.claims.organization_id != requirement.organization {
            return Err(AccessTokenError::OrganizationMismatch {
                expected: requirement.organization.clone(),
                found: self.claims.organization_id.clone(),
            });
        }
        let missing: Vec<String> = requirement
            .scopes
            .iter()
            .filter(|scope| !self.has_scope(scope))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(AccessTokenError::InsufficientScope {
                required: requirement.scopes.clone(),
                missing,
            });
        }
        Ok(())
    }
}

/// The bearer token of an `Authorization` header value (RFC 6750 2.1: `Bearer <token>`, the
/// scheme case-insensitive).
///
/// ```
/// use logto_proto::resource::bearer_token;
/// assert_eq!(bearer_token(Some("Bearer abc.def.ghi")).unwrap(), "abc.def.ghi");
/// assert!(bearer_token(None).is_err());
/// assert!(bearer_token(Some("Basic dXNlcjpwdw==")).is_err());
/// ```
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AccessTokenError> {
    let value = authorization.ok_or(AccessTokenError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(AccessTokenError::NotBearer)?;
    let token = token.trim();
    let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || !token.bytes().all(token68) {
        return Err(AccessTokenError::NotBearer);
    }
    Ok(token)
}

/// Whether an access token's failure is an unknown signing key (a refetch may help).
pub(crate) fn is_unknown_key(error: &AccessTokenError) -> bool {
    matches!(
        error,
        AccessTokenError::Jws(IdTokenError::UnknownKey { .. })
    )
}

// How an API refuses a bearer token (RFC 6750 3).

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
    /// use logto_proto::errors::AccessTokenError;
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
