//! Provider metadata (OIDC discovery), and the cache many sessions share.

use crate::config::Config;
use crate::error::DiscoveryError;
use crate::jwks::Jwks;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};

/// The parts of the discovery document the SDK uses, and when it was fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// `{endpoint}/oidc`.
    pub issuer: String,
    /// Where sign-in starts.
    pub authorization_endpoint: String,
    /// Code exchange and refresh.
    pub token_endpoint: String,
    /// User info (`/oidc/me`).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// The signing keys.
    pub jwks_uri: String,
    /// Sign-out.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Token revocation.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Algorithms the provider signs ID tokens with.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// RFC 9207: the callback always carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// When the document was fetched (not part of the provider's document).
    #[serde(default)]
    pub fetched_at: UnixTime,
}

impl ProviderMetadata {
    /// Parses a discovery body and checks that its `issuer` is `config`'s.
    ///
    /// ```
    /// use logto_proto::{Config, ProviderMetadata, UnixTime};
    /// let config = Config::new("https://tenant.logto.app", "app").unwrap();
    /// let body = br#"{"issuer":"https://tenant.logto.app/oidc",
    ///   "authorization_endpoint":"https://tenant.logto.app/oidc/auth",
    ///   "token_endpoint":"https://tenant.logto.app/oidc/token",
    ///   "jwks_uri":"https://tenant.logto.app/oidc/jwks"}"#;
    /// let m = ProviderMetadata::parse(&config, body, UnixTime::from_secs(5)).unwrap();
    /// assert_eq!(m.fetched_at, UnixTime::from_secs(5));
    /// ```
    pub fn parse(
        config: &Config,
        body: &[u8],
        fetched_at: UnixTime,
    ) -> Result<ProviderMetadata, DiscoveryError> {
        #[derive(Deserialize)]
        struct Doc {
            issuer: String,
            authorization_endpoint: String,
            token_endpoint: String,
            #[serde(default)]
            userinfo_endpoint: Option<String>,
            jwks_uri: String,
            #[serde(default)]
            end_session_endpoint: Option<String>,
            #[serde(default)]
            revocation_endpoint: Option<String>,
            #[serde(default)]
            id_token_signing_alg_values_supported: Vec<String>,
            #[serde(default)]
            authorization_response_iss_parameter_supported: bool,
        }
        let doc: Doc = serde_json::from_slice(body).map_err(|e| DiscoveryError::Malformed {
            reason: e.to_string(),
        })?;
        let expected = config.issuer();
        if doc.issuer != expected {
            return Err(DiscoveryError::IssuerMismatch {
                expected,
                found: doc.issuer,
            });
        }
        Ok(ProviderMetadata {
            issuer: doc.issuer,
            authorization_endpoint: doc.authorization_endpoint,
            token_endpoint: doc.token_endpoint,
            userinfo_endpoint: doc.userinfo_endpoint,
            jwks_uri: doc.jwks_uri,
            end_session_endpoint: doc.end_session_endpoint,
            revocation_endpoint: doc.revocation_endpoint,
            id_token_signing_alg_values_supported: doc.id_token_signing_alg_values_supported,
            authorization_response_iss_parameter_supported: doc
                .authorization_response_iss_parameter_supported,
            fetched_at,
        })
    }
}

/// Provider metadata and JWKS: one value shared by every session of an endpoint.
///
/// Operations read it and add what they fetch. Adapters keep it behind a lock, clone it
/// (cheap: the JWKS is reference-counted) into an operation, and [`merge`](Self::merge) the
/// operation's copy back when it is done. It is never part of a session's snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderCache {
    /// Discovery metadata.
    pub metadata: Option<ProviderMetadata>,
    /// Signing keys.
    pub jwks: Option<Jwks>,
    /// When an unknown `kid` last caused a JWKS refetch.
    pub jwks_refetched_at: Option<UnixTime>,
}

impl ProviderCache {
    /// An empty cache.
    pub fn new() -> Self {
        ProviderCache::default()
    }

    /// The metadata, if fetched less than the config's TTL ago.
    pub fn fresh_metadata(&self, config: &Config, now: UnixTime) -> Option<&ProviderMetadata> {
        self.metadata
            .as_ref()
            .filter(|m| m.fetched_at <= now && now.secs_since(m.fetched_at) < config.metadata_ttl())
    }

    /// The JWKS, if fetched less than the config's TTL ago.
    pub fn fresh_jwks(&self, config: &Config, now: UnixTime) -> Option<&Jwks> {
        self.jwks
            .as_ref()
            .filter(|j| j.fetched_at() <= now && now.secs_since(j.fetched_at()) < config.jwks_ttl())
    }

    /// Takes from `other` whatever is newer than what this cache holds.
    pub fn merge(&mut self, other: &ProviderCache) {
        if let Some(m) = &other.metadata {
            if self
                .metadata
                .as_ref()
                .is_none_or(|mine| mine.fetched_at < m.fetched_at)
            {
                self.metadata = Some(m.clone());
            }
        }
        if let Some(j) = &other.jwks {
            if self
                .jwks
                .as_ref()
                .is_none_or(|mine| mine.fetched_at() < j.fetched_at())
            {
                self.jwks = Some(j.clone());
            }
        }
        if other.jwks_refetched_at > self.jwks_refetched_at {
            self.jwks_refetched_at = other.jwks_refetched_at;
        }
    }
}
