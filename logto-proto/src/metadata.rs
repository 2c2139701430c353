//! Provider metadata (OIDC discovery), and the cache many sessions share.

use crate::config::{is_loopback, redact_credentials, Config};
use crate::error::DiscoveryError;
use crate::jwks::Jwks;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use url::Url;

/// The parts of the discovery document the SDK uses, and when it was fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Device authorization (RFC 8628): where a device sign-in starts.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
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
            device_authorization_endpoint: Option<String>,
            #[serde(default)]
            id_token_signing_alg_values_supported: Vec<String>,
            #[serde(default)]
            authorization_response_iss_parameter_supported: bool,
        }
        let doc: Doc = serde_json::from_slice(body).map_err(|e| DiscoveryError::Malformed {
            reason: crate::error::json_reason(&e),
        })?;
        let expected = config.issuer();
        if doc.issuer != expected {
            return Err(DiscoveryError::IssuerMismatch {
                expected,
                found: doc.issuer,
            });
        }
        // Every endpoint is where the SDK sends tokens, codes or the app secret: each must
        // be an absolute https URL (http only where the config's endpoint may be http).
        let endpoints = [
            ("authorization_endpoint", Some(&doc.authorization_endpoint)),
            ("token_endpoint", Some(&doc.token_endpoint)),
            ("userinfo_endpoint", doc.userinfo_endpoint.as_ref()),
            ("jwks_uri", Some(&doc.jwks_uri)),
            ("end_session_endpoint", doc.end_session_endpoint.as_ref()),
            ("revocation_endpoint", doc.revocation_endpoint.as_ref()),
            (
                "device_authorization_endpoint",
                doc.device_authorization_endpoint.as_ref(),
            ),
        ];
        for (name, url) in endpoints {
            if let Some(url) = url {
                check_endpoint(config, name, url)?;
            }
        }
        Ok(ProviderMetadata {
            issuer: doc.issuer,
            authorization_endpoint: doc.authorization_endpoint,
            token_endpoint: doc.token_endpoint,
            userinfo_endpoint: doc.userinfo_endpoint,
            jwks_uri: doc.jwks_uri,
            end_session_endpoint: doc.end_session_endpoint,
            revocation_endpoint: doc.revocation_endpoint,
            device_authorization_endpoint: doc.device_authorization_endpoint,
            id_token_signing_alg_values_supported: doc.id_token_signing_alg_values_supported,
            authorization_response_iss_parameter_supported: doc
                .authorization_response_iss_parameter_supported,
            fetched_at,
        })
    }
}

/// Checks one metadata endpoint: an absolute URL without credentials or fragment, `https`, or
/// `http` on a loopback host (or anywhere when the config allows insecure http).
fn check_endpoint(config: &Config, name: &'static str, url: &str) -> Result<(), DiscoveryError> {
    let invalid = |reason: &str| DiscoveryError::InvalidEndpoint {
        name,
        url: redact_credentials(url),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if parsed.cannot_be_a_base() || parsed.host().is_none() {
        return Err(invalid("it is not an absolute URL with a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("it carries credentials"));
    }
    if parsed.fragment().is_some() {
        return Err(invalid("it carries a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) || config.allows_insecure_http() => Ok(()),
        "http" => Err(DiscoveryError::InsecureEndpoint {
            name,
            url: url.to_owned(),
        }),
        _ => Err(invalid("the scheme must be https")),
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
}

impl ProviderCache {
    /// An empty cache.
    pub fn new() -> Self {
        ProviderCache::default()
    }

    /// The metadata, if fetched less than the config's TTL ago. Metadata dated after `now`
    /// (the clock stepped back) is stale: it is fetched again once.
    pub fn fresh_metadata(&self, config: &Config, now: UnixTime) -> Option<&ProviderMetadata> {
        self.metadata
            .as_ref()
            .filter(|m| is_fresh(m.fetched_at, now, config.metadata_ttl()))
    }

    /// The JWKS, if fetched less than the config's TTL ago (and not dated after `now`).
    pub fn fresh_jwks(&self, config: &Config, now: UnixTime) -> Option<&Jwks> {
        self.jwks
            .as_ref()
            .filter(|j| is_fresh(j.fetched_at(), now, config.jwks_ttl()))
    }

    /// Takes from `other` whatever is newer than what this cache holds: fetched later, or in
    /// the same second with other content (the later fetch of a rotation). An entry dated
    /// after `now` (written before the clock stepped back) counts as the oldest, so that one
    /// fetch replaces it for good instead of every call fetching again.
    pub fn merge(&mut self, other: &ProviderCache, now: UnixTime) {
        let newer = |mine: Option<UnixTime>, theirs: UnixTime, differs: bool| {
            theirs <= now
                && mine
                    .is_none_or(|mine| mine > now || mine < theirs || (mine == theirs && differs))
        };
        if let Some(m) = &other.metadata {
            let mine = self.metadata.as_ref();
            let differs = mine.is_some_and(|mine| mine != m);
            if newer(mine.map(|m| m.fetched_at), m.fetched_at, differs) {
                self.metadata = Some(m.clone());
            }
        }
        if let Some(j) = &other.jwks {
            let mine = self.jwks.as_ref();
            // Same second, same keys, a later unknown-kid refetch: its cooldown counts.
            let differs = mine.is_some_and(|mine| {
                mine.raw() != j.raw() || mine.unknown_kid_refetch_at() < j.unknown_kid_refetch_at()
            });
            if newer(mine.map(Jwks::fetched_at), j.fetched_at(), differs) {
                self.jwks = Some(j.clone());
            }
        }
    }
}

fn is_fresh(fetched_at: UnixTime, now: UnixTime, ttl: u64) -> bool {
    fetched_at <= now && now.secs_since(fetched_at) < ttl
}
