//! JSON Web Key Sets: parsed once into keys ready to verify.

use crate::crypto::{Curve, VerifyingKey};
use crate::error::JwksError;
use crate::jwt::b64_decode;
use crate::time::UnixTime;
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(rename = "use", default)]
    use_: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// One public key of a JWKS, parsed and ready to verify.
#[derive(Clone)]
pub struct Jwk {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Option<String>,
    pub(crate) key: VerifyingKey,
}

impl Jwk {
    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key declares, if any.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A JWKS: the signing keys, parsed once when fetched, and when it was fetched.
///
/// Keys that cannot verify signatures (encryption keys, symmetric keys, unknown types,
/// malformed values) are left out; a document that is not a JWKS is an error.
///
/// ```
/// use logto_proto::{Jwks, UnixTime};
/// let doc = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#;
/// let jwks = Jwks::parse(doc, UnixTime::from_secs(0)).unwrap();
/// assert_eq!(jwks.keys().len(), 0); // symmetric keys never verify ID tokens
/// assert!(Jwks::parse(b"[]", UnixTime::from_secs(0)).is_err());
/// ```
#[derive(Clone)]
pub struct Jwks {
    keys: Arc<[Jwk]>,
    raw: Arc<str>,
    fetched_at: UnixTime,
    /// When a token naming a `kid` the set lacked last made the keys be fetched again: the
    /// refetch cooldown for presented tokens counts from then, not from a first-use or
    /// expiry fetch (which says nothing about made-up kids).
    unknown_kid_refetch_at: Option<UnixTime>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwks")
            .field("keys", &self.keys)
            .field("fetched_at", &self.fetched_at)
            .field("unknown_kid_refetch_at", &self.unknown_kid_refetch_at)
            .finish()
    }
}

impl PartialEq for Jwks {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw && self.fetched_at == other.fetched_at
    }
}

impl Jwks {
    /// Parses a JWKS body fetched at `fetched_at`.
    pub fn parse(body: &[u8], fetched_at: UnixTime) -> Result<Jwks, JwksError> {
        let text = std::str::from_utf8(body).map_err(|_| JwksError::Malformed {
            reason: "not UTF-8".into(),
        })?;
        let raw: RawJwks = serde_json::from_str(text).map_err(|e| JwksError::Malformed {
            reason: crate::error::json_reason(&e),
        })?;
        let keys: Vec<Jwk> = raw.keys.into_iter().filter_map(prepare).collect();
        Ok(Jwks {
            keys: keys.into(),
            raw: text.into(),
            fetched_at,
            unknown_kid_refetch_at: None,
        })
    }

    /// When a token with a `kid` the cached set lacked last made the keys be fetched again
    /// (carried over by later fetches for expiry), if ever.
    pub fn unknown_kid_refetch_at(&self) -> Option<UnixTime> {
        self.unknown_kid_refetch_at
    }

    /// This set, marked as fetched again for an unknown `kid` at `at`.
    pub(crate) fn with_unknown_kid_refetch_at(mut self, at: Option<UnixTime>) -> Jwks {
        self.unknown_kid_refetch_at = at;
        self
    }

    /// Whether a token with an unknown `kid` may make the keys be fetched again at `now`:
    /// no such refetch yet, `cooldown` seconds since the last, or one dated after `now`
    /// (made before the clock stepped back, so the wait would be unbounded).
    pub(crate) fn unknown_kid_refetch_allowed(&self, now: UnixTime, cooldown: u64) -> bool {
        self.unknown_kid_refetch_at
            .is_none_or(|at| at > now || now.secs_since(at) >= cooldown)
    }

    /// The usable keys, in document order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// When the document was fetched.
    pub fn fetched_at(&self) -> UnixTime {
        self.fetched_at
    }

    /// The document as fetched, to persist the cache.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether this set was fetched after `other`, or at the same second with other content:
    /// after a rotation, only such a set can hold a key `other` lacked.
    pub fn is_newer_than(&self, other: &Jwks) -> bool {
        self.fetched_at > other.fetched_at
            || (self.fetched_at == other.fetched_at && self.raw != other.raw)
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

fn prepare(value: serde_json::Value) -> Option<Jwk> {
    let raw: RawJwk = serde_json::from_value(value).ok()?;
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let bytes = |v: &Option<String>| v.as_deref().and_then(|s| b64_decode(s).ok());
    let key = match raw.kty.as_str() {
        "EC" => {
            let curve = Curve::from_name(raw.crv.as_deref()?)?;
            VerifyingKey::ec(curve, &bytes(&raw.x)?, &bytes(&raw.y)?)?
        }
        "RSA" => VerifyingKey::rsa(&bytes(&raw.n)?, &bytes(&raw.e)?)?,
        "OKP" if raw.crv.as_deref() == Some("Ed25519") => VerifyingKey::ed25519(&bytes(&raw.x)?)?,
        _ => return None,
    };
    Some(Jwk {
        kid: raw.kid,
        alg: raw.alg,
        key,
    })
}
