//! Verified bearer tokens for a validator used from many threads at once.

use logto_proto::resource::{VerifiedAccessToken, VerifiedTokens};
use logto_proto::UnixTime;
use std::fmt;
use std::sync::{Arc, RwLock};

/// How many replicas a cache has at most, whatever the machine's parallelism: beyond this
/// an insert (written to every replica) costs more than contention would.
const MAX_REPLICAS: usize = 16;

/// [`VerifiedTokens`] for a validator used from many threads at once: one replica per
/// thread slot, each behind its own lock on its own cache line, so that threads presenting
/// the same token do not contend on one lock (one lock read per lookup, on the thread's own
/// replica); an insert, rare (it follows a full verification), goes to every replica.
pub struct VerifiedTokenCache {
    replicas: Box<[Replica]>,
}

/// One replica, alone on its cache lines.
#[repr(align(128))]
struct Replica(RwLock<VerifiedTokens>);

impl fmt::Debug for VerifiedTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedTokenCache")
            .field("replicas", &self.replicas.len())
            .finish()
    }
}

impl VerifiedTokenCache {
    /// A cache of at most `capacity` tokens (0: off), replicated for the machine's
    /// parallelism (at most 16 replicas).
    ///
    /// ```
    /// use logto_driver::VerifiedTokenCache;
    /// use logto_proto::UnixTime;
    /// let cache = VerifiedTokenCache::new(10_000);
    /// assert!(cache.get("eyJ...", UnixTime::from_secs(0)).is_none());
    /// ```
    pub fn new(capacity: usize) -> VerifiedTokenCache {
        let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
        VerifiedTokenCache::with_replicas(capacity, parallelism)
    }

    /// A cache of at most `capacity` tokens (0: off) in `replicas` replicas (at least 1, at
    /// most 16).
    pub fn with_replicas(capacity: usize, replicas: usize) -> VerifiedTokenCache {
        let replicas = (0..replicas.clamp(1, MAX_REPLICAS))
            .map(|_| Replica(RwLock::new(VerifiedTokens::new(capacity))))
            .collect();
        VerifiedTokenCache { replicas }
    }

    /// How many replicas the cache keeps.
    pub fn replicas(&self) -> usize {
        self.replicas.len()
    }

    /// The verification of `token`, unless it expired by `now`.
    pub fn get(&self, token: &str, now: UnixTime) -> Option<Arc<VerifiedAccessToken>> {
        let key = VerifiedTokens::key(token);
        let replica = &self.replicas[thread_slot() % self.replicas.len()].0;
        replica
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key, now)
    }

    /// Keeps a verification of `token` until it expires.
    pub fn insert(&self, token: &str, verified: Arc<VerifiedAccessToken>, now: UnixTime) {
        let key = VerifiedTokens::key(token);
        for (i, replica) in self.replicas.iter().enumerate() {
            // A copy of its own for each replica: threads reading one token then count
            // references on different cache lines.
            let copy = match i {
                0 => verified.clone(),
                _ => Arc::new(VerifiedAccessToken::clone(&verified)),
            };
            replica
                .0
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, copy, now);
        }
    }
}

/// A number for the calling thread, drawn once per thread.
fn thread_slot() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SLOT.with(|slot| *slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_simple::prelude::*;
    use logto_proto::resource::{verify_access_token, AccessTokenCheck, Jwks};
    use serde_json::json;

    const ISSUER: &str = "https://tenant.logto.app/oidc";
    const NOW: u64 = 1_767_225_600;

    /// A verified access token with `sub`, expiring at `exp` (signed and verified for real).
    fn verified(sub: &str, exp: u64) -> (String, Arc<VerifiedAccessToken>) {
        let key = ES384KeyPair::generate().with_key_id("k1");
        let jwk: serde_json::Value = serde_json::from_str(&key.public_key().to_jwk()).unwrap();
        let now = UnixTime::from_secs(NOW);
        let jwks = Jwks::parse(json!({ "keys": [jwk] }).to_string().as_bytes(), now).unwrap();
        let claims = json!({
            "jti": sub, "sub": sub, "iat": NOW, "exp": exp, "scope": "read",
            "client_id": "app", "iss": ISSUER, "aud": "https://api.example",
        });
        let mut claims =
            Claims::with_custom_claims(claims.as_object().unwrap().clone(), Duration::from_secs(0));
        claims.issued_at = None;
        claims.expires_at = None;
        claims.invalid_before = None;
        let options = HeaderOptions {
            signature_type: Some("at+jwt".into()),
            ..HeaderOptions::default()
        };
        let token = key.sign_with_options(claims, &options).unwrap();
        let check = AccessTokenCheck::new(ISSUER, now, 60);
        let verified = verify_access_token(&token, &jwks, &check).unwrap();
        (token, Arc::new(verified))
    }

    #[test]
    fn a_verification_is_found_on_every_thread_until_its_token_expires() {
        let cache = VerifiedTokenCache::with_replicas(100, 4);
        assert_eq!(cache.replicas(), 4);
        let (token, verified) = verified("alice", NOW + 600);
        let now = UnixTime::from_secs(NOW);
        cache.insert(&token, verified, now);
        // Eight threads land on every replica: each finds the verification.
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let hit = cache.get(&token, now).expect("cached on every replica");
                    assert_eq!(hit.claims.sub.as_deref(), Some("alice"));
                    assert!(cache.get(&token, UnixTime::from_secs(NOW + 600)).is_none());
                    assert!(cache.get("another token", now).is_none());
                });
            }
        });
    }

    #[test]
    fn capacity_zero_keeps_nothing_and_replicas_are_bounded() {
        let cache = VerifiedTokenCache::with_replicas(0, 1_000);
        assert_eq!(cache.replicas(), MAX_REPLICAS);
        assert_eq!(VerifiedTokenCache::with_replicas(1, 0).replicas(), 1);
        let (token, verified) = verified("bob", NOW + 600);
        let now = UnixTime::from_secs(NOW);
        cache.insert(&token, verified, now);
        assert!(cache.get(&token, now).is_none());
    }
}
