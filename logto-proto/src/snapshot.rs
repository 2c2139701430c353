//! The session snapshot: everything one user's session needs, as one versioned value.

use crate::claims::IdTokenClaims;
use crate::error::{ClaimsError, SnapshotError};
use crate::secret::Secret;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The snapshot format this build writes.
pub const SNAPSHOT_VERSION: u64 = 1;

/// Which access token: for a resource, for an organization, both, or neither (the token for
/// the userinfo endpoint).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenTarget {
    /// API resource indicator.
    #[serde(default, rename = "r", skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Organization id.
    #[serde(default, rename = "o", skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Scopes to narrow the token to (space-separated, a subset of the refresh token's);
    /// `None` asks for all the refresh token carries. Tokens of different scopes are cached
    /// apart.
    #[serde(default, rename = "sc", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenTarget {
    /// The token with no resource: opaque unless the tenant has a default API resource; it
    /// is what the userinfo endpoint takes.
    pub fn userinfo() -> Self {
        TokenTarget::default()
    }

    /// An access token for an API resource (an empty string means no resource).
    pub fn resource(resource: impl Into<String>) -> Self {
        let resource: String = resource.into();
        TokenTarget {
            resource: (!resource.is_empty()).then_some(resource),
            ..TokenTarget::default()
        }
    }

    /// An organization token (`aud = urn:logto:organization:<id>`).
    pub fn organization(organization_id: impl Into<String>) -> Self {
        TokenTarget {
            organization_id: Some(organization_id.into()),
            ..TokenTarget::default()
        }
    }

    /// The same target narrowed to `scopes` (the refresh grant's `scope` parameter).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.scope = (!joined.is_empty()).then(|| joined.join(" "));
        self
    }

    /// The token request's parameters naming this target: `resource`, `organization_id` and
    /// `scope`, each when set.
    pub(crate) fn params(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("resource", self.resource.as_deref()),
            ("organization_id", self.organization_id.as_deref()),
            ("scope", self.scope.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }

    /// An organization-scoped API token: the resource's token carrying `organization_id`.
    pub fn resource_in_organization(
        resource: impl Into<String>,
        organization_id: impl Into<String>,
    ) -> Self {
        TokenTarget {
            organization_id: Some(organization_id.into()),
            ..TokenTarget::resource(resource)
        }
    }
}

/// A cached access token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessToken {
    /// What it is for.
    #[serde(flatten)]
    pub target: TokenTarget,
    /// The token.
    #[serde(rename = "t")]
    pub token: Secret,
    /// Granted scopes, space-separated, if the provider said.
    #[serde(default, rename = "s", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry: the earlier of `expires_in` after the request and the JWT's `exp`.
    #[serde(rename = "e")]
    pub expires_at: UnixTime,
}

impl AccessToken {
    /// A token for `target` that expires at `expires_at`, with the scopes the provider
    /// granted if it said.
    pub fn new(
        target: TokenTarget,
        token: Secret,
        scope: Option<String>,
        expires_at: UnixTime,
    ) -> Self {
        AccessToken {
            target,
            token,
            scope,
            expires_at,
        }
    }

    /// Whether the token can still be used at `now`, keeping `leeway` seconds in hand.
    pub fn is_fresh(&self, now: UnixTime, leeway: u64) -> bool {
        now.add_secs(leeway) < self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("target", &self.target)
            .field("token", &self.token)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A sign-in in progress: what the callback is checked against.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// CSRF state sent in the URL.
    #[serde(rename = "st")]
    pub(crate) state: Secret,
    /// PKCE verifier.
    #[serde(rename = "cv")]
    pub(crate) code_verifier: Secret,
    /// Nonce sent in the URL.
    #[serde(rename = "n")]
    pub(crate) nonce: Secret,
    /// Redirect URI sent in the URL.
    #[serde(rename = "ru")]
    pub(crate) redirect_uri: String,
    /// When the sign-in started.
    #[serde(rename = "at")]
    pub(crate) created_at: UnixTime,
    /// base64url(SHA-256) of a code already sent to the token endpoint.
    #[serde(default, rename = "uc", skip_serializing_if = "Option::is_none")]
    pub(crate) used_code: Option<String>,
}

impl PendingSignIn {
    /// The redirect URI the callback must match.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// When the sign-in started.
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Everything one session holds: the pending sign-in, the ID token, the refresh token and
/// the access-token cache. Each token is stored once.
///
/// Storage saves it whole with [`to_json`](Self::to_json) and reads it back with
/// [`from_json`](Self::from_json); an unknown version or corrupt content is an error, never
/// a panic. Provider metadata and keys are not in it (see
/// [`ProviderCache`](crate::ProviderCache)).
///
/// ```
/// use logto_proto::adapter::Snapshot;
/// let s = Snapshot::new();
/// assert!(!s.is_authenticated());
/// assert_eq!(s.to_json(), r#"{"v":1}"#);
/// assert_eq!(Snapshot::from_json(&s.to_json()).unwrap(), s);
/// assert!(Snapshot::from_json(r#"{"v":99}"#).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default, rename = "p", skip_serializing_if = "Option::is_none")]
    pub(crate) pending: Option<PendingSignIn>,
    #[serde(default, rename = "id", skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<Secret>,
    #[serde(default, rename = "rt", skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<Secret>,
    #[serde(default, rename = "at", skip_serializing_if = "Vec::is_empty")]
    pub(crate) access_tokens: Vec<AccessToken>,
    #[serde(default, rename = "l", skip_serializing_if = "Option::is_none")]
    pub(crate) lease: Option<RefreshLease>,
    /// The ID token's claims once decoded: a web app reads them on every request of a
    /// session, and a snapshot shared while its stored text is unchanged decodes them once.
    /// Always reset with the ID token ([`Snapshot::set_id_token`]).
    #[serde(skip)]
    decoded_claims: DecodedClaims,
}

/// A cache, not state: two snapshots with the same tokens are equal whatever it holds.
#[derive(Clone, Default)]
struct DecodedClaims(std::sync::OnceLock<IdTokenClaims>);

impl PartialEq for DecodedClaims {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for DecodedClaims {}

/// A claim on the session's refresh token by one holder until a deadline.
///
/// Refresh-token rotation makes a refresh token single-use, and presenting a consumed one
/// revokes the whole grant. When several processes share one store, each takes the lease
/// (written with a compare-and-swap) before refreshing; the others wait for it to end, then
/// re-read the rotated token. A holder that dies leaves a lease that expires on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshLease {
    /// Who holds it (a random id per client instance).
    #[serde(rename = "h")]
    pub holder: String,
    /// When it lapses.
    #[serde(rename = "u")]
    pub until: UnixTime,
}

/// What taking the refresh lease found (the session call keeps the lease to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// The lease is this holder's until the given time: refresh now, then release.
    Acquired,
    /// Another holder refreshes until `until`: wait, re-read the session, try again.
    HeldElsewhere {
        /// When the other holder's lease lapses.
        until: UnixTime,
    },
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("pending", &self.pending)
            .field("id_token", &self.id_token)
            .field("refresh_token", &self.refresh_token)
            .field("access_tokens", &self.access_tokens)
            .field("lease", &self.lease)
            .finish()
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    v: u64,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

#[derive(Deserialize)]
struct WireIn {
    v: serde_json::Value,
    #[serde(flatten)]
    snapshot: serde_json::Value,
}

impl Snapshot {
    /// An empty session.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// Serialises with the format version.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, integers and maps cannot fail; fall back to an empty
        // session rather than panic if it ever did.
        serde_json::to_string(&WireOut {
            v: SNAPSHOT_VERSION,
            snapshot: self,
        })
        .unwrap_or_else(|_| format!(r#"{{"v":{SNAPSHOT_VERSION}}}"#))
    }

    /// Reads a stored snapshot.
    pub fn from_json(json: &str) -> Result<Snapshot, SnapshotError> {
        let corrupt = |reason: String| SnapshotError::Corrupt { reason };
        let wire: WireIn =
            serde_json::from_str(json).map_err(|e| corrupt(crate::error::json_reason(&e)))?;
        let version = wire
            .v
            .as_u64()
            .ok_or_else(|| corrupt("version is not a number".into()))?;
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                found: version,
                supported: SNAPSHOT_VERSION,
            });
        }
        serde_json::from_value(wire.snapshot).map_err(|e| corrupt(crate::error::json_reason(&e)))
    }

    /// Whether the session holds an ID token, i.e. a sign-in completed and no sign-out
    /// followed. It says nothing of whether the provider still honours the refresh token.
    pub fn is_authenticated(&self) -> bool {
        self.id_token.is_some()
    }

    /// The raw ID token.
    pub fn id_token(&self) -> Option<&Secret> {
        self.id_token.as_ref()
    }

    /// The claims of the stored ID token (verified when it was stored), decoded once per
    /// snapshot.
    pub fn id_token_claims(&self) -> Result<IdTokenClaims, crate::Error> {
        let token = self
            .id_token
            .as_ref()
            .ok_or(crate::Error::NotAuthenticated)?;
        if let Some(claims) = self.decoded_claims.0.get() {
            return Ok(claims.clone());
        }
        let claims: IdTokenClaims =
            crate::claims::decode_claims(token.expose()).map_err(|e| match e {
                ClaimsError::NotAJwt => ClaimsError::Invalid {
                    reason: "stored ID token is not a JWT".into(),
                },
                other => other,
            })?;
        let _ = self.decoded_claims.0.set(claims.clone());
        Ok(claims)
    }

    /// Replaces the ID token (and forgets the claims decoded from the previous one).
    pub(crate) fn set_id_token(&mut self, id_token: Option<Secret>) -> Option<Secret> {
        self.decoded_claims = DecodedClaims::default();
        std::mem::replace(&mut self.id_token, id_token)
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// The sign-in in progress, if any.
    pub fn pending_sign_in(&self) -> Option<&PendingSignIn> {
        self.pending.as_ref()
    }

    /// The cached access tokens.
    pub fn access_tokens(&self) -> &[AccessToken] {
        &self.access_tokens
    }

    /// The cached token for `target`, if it is still fresh at `now` with `leeway` seconds
    /// in hand.
    pub fn fresh_access_token(
        &self,
        target: &TokenTarget,
        now: UnixTime,
        leeway: u64,
    ) -> Option<&AccessToken> {
        self.access_tokens
            .iter()
            .find(|t| &t.target == target)
            .filter(|t| t.is_fresh(now, leeway))
    }

    /// Drops the cached token for `target` (the next request refreshes it).
    pub fn clear_access_token(&mut self, target: &TokenTarget) {
        self.access_tokens.retain(|t| &t.target != target);
    }

    /// Drops every cached access token; ID and refresh tokens stay.
    pub fn clear_access_tokens(&mut self) {
        self.access_tokens.clear();
    }

    /// Drops every token (the pending sign-in stays).
    pub fn clear_tokens(&mut self) {
        self.set_id_token(None);
        self.refresh_token = None;
        self.access_tokens.clear();
    }

    /// Takes the refresh lease for `holder` for `ttl` seconds, unless another holder's lease
    /// is still running at `now`. Save the snapshot with a compare-and-swap afterwards: the
    /// lease only holds if that write wins.
    ///
    /// A lease that ends further in the future than `now + ttl` cannot have been taken by a
    /// holder with this clock and TTL (a corrupt store, a skewed clock): it counts as lapsed,
    /// so it cannot block refreshes for longer than one TTL.
    pub(crate) fn take_refresh_lease(
        &mut self,
        holder: &str,
        now: UnixTime,
        ttl: u64,
    ) -> LeaseState {
        match &self.lease {
            Some(l) if l.holder != holder && now < l.until && l.until <= now.add_secs(ttl) => {
                LeaseState::HeldElsewhere { until: l.until }
            }
            _ => {
                self.lease = Some(RefreshLease {
                    holder: holder.to_owned(),
                    until: now.add_secs(ttl),
                });
                LeaseState::Acquired
            }
        }
    }

    /// Ends `holder`'s lease (another holder's lease is left alone).
    pub(crate) fn end_refresh_lease(&mut self, holder: &str) {
        if self.lease.as_ref().is_some_and(|l| l.holder == holder) {
            self.lease = None;
        }
    }

    /// The current refresh lease, if any.
    pub fn refresh_lease(&self) -> Option<&RefreshLease> {
        self.lease.as_ref()
    }

    pub(crate) fn store_access_token(&mut self, token: AccessToken) {
        match self
            .access_tokens
            .iter_mut()
            .find(|t| t.target == token.target)
        {
            Some(slot) => *slot = token,
            None => self.access_tokens.push(token),
        }
    }
}

/// The refresh lease of a snapshot, for the project's own tests and fuzz targets (the
/// `internals` feature): a session call takes and ends it itself.
#[cfg(feature = "internals")]
pub trait SnapshotLeases {
    /// Takes the refresh lease for `holder` for `ttl` seconds, unless another holder's lease
    /// is still running at `now` (a lease dated beyond `now + ttl` counts as lapsed).
    fn acquire_refresh_lease(&mut self, holder: &str, now: UnixTime, ttl: u64) -> LeaseState;
    /// Ends `holder`'s lease (another holder's lease is left alone).
    fn release_refresh_lease(&mut self, holder: &str);
}

#[cfg(feature = "internals")]
impl SnapshotLeases for Snapshot {
    fn acquire_refresh_lease(&mut self, holder: &str, now: UnixTime, ttl: u64) -> LeaseState {
        self.take_refresh_lease(holder, now, ttl)
    }

    fn release_refresh_lease(&mut self, holder: &str) {
        self.end_refresh_lease(holder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unsigned JWT with `sub` (the claims cache never looks at the signature).
    fn id_token(sub: &str) -> Secret {
        use base64::Engine as _;
        let b64 = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        let payload = format!(r#"{{"iss":"i","sub":"{sub}","aud":"a","exp":2,"iat":1}}"#);
        Secret::new(format!(
            "{}.{}.sig",
            b64(r#"{"alg":"ES384"}"#),
            b64(&payload)
        ))
    }

    #[test]
    fn decoded_claims_follow_the_id_token() {
        let mut snapshot = Snapshot::new();
        assert!(matches!(
            snapshot.id_token_claims(),
            Err(crate::Error::NotAuthenticated)
        ));
        snapshot.set_id_token(Some(id_token("alice")));
        assert_eq!(snapshot.id_token_claims().unwrap().sub, "alice");
        let decoded = snapshot.clone();
        snapshot.set_id_token(Some(id_token("bob")));
        assert_eq!(snapshot.id_token_claims().unwrap().sub, "bob");
        assert_eq!(decoded.id_token_claims().unwrap().sub, "alice");
        // A cache, not state: equality and the stored form ignore it.
        let fresh = Snapshot::from_json(&snapshot.to_json()).unwrap();
        assert_eq!(fresh, snapshot);
        assert_eq!(fresh.to_json(), snapshot.to_json());
        snapshot.clear_tokens();
        assert!(snapshot.id_token_claims().is_err());
    }
}
