//! What an API and a machine client keep between requests: verified bearer tokens, and
//! machine tokens by target. Plain data with the rules of when an entry is used; the
//! drivers hold them behind their locks (`logto-driver`'s `VerifiedTokenCache` for the
//! verified tokens).

use crate::access::VerifiedAccessToken;
use crate::snapshot::{AccessToken, TokenTarget};
use crate::time::UnixTime;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

impl TokenTarget {
    /// Logto's Management API, for a machine-to-machine app with its `all` scope: resource
    /// `https://<tenant-id>.logto.app/api` on Logto Cloud, `https://default.logto.app/api`
    /// self-hosted (tenant id `default`).
    ///
    /// ```
    /// use logto_proto::TokenTarget;
    /// let target = TokenTarget::management_api("default");
    /// assert_eq!(target.resource.as_deref(), Some("https://default.logto.app/api"));
    /// assert_eq!(target.scope.as_deref(), Some("all"));
    /// ```
    pub fn management_api(tenant_id: &str) -> TokenTarget {
        TokenTarget::resource(format!("https://{tenant_id}.logto.app/api")).with_scopes(["all"])
    }
}

/// A machine client's tokens by target: a cached token is used while it is fresh (beyond
/// the config's expiry leeway), and dropped once when the API refuses it.
#[derive(Clone, Default)]
pub struct MachineTokens {
    tokens: HashMap<TokenTarget, AccessToken>,
}

impl fmt::Debug for MachineTokens {
    // Tokens are bearer secrets: only their targets show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.tokens.keys()).finish()
    }
}

impl MachineTokens {
    /// The cached token for `target`, if it is fresh at `now` with `leeway` seconds to spare.
    pub fn fresh(&self, target: &TokenTarget, now: UnixTime, leeway: u64) -> Option<&AccessToken> {
        self.tokens
            .get(target)
            .filter(|token| token.is_fresh(now, leeway))
    }

    /// Keeps `token` for its target.
    pub fn store(&mut self, token: AccessToken) {
        self.tokens.insert(token.target.clone(), token);
    }

    /// The API answered 401 to `token`: it is dropped if it is still the one cached for
    /// `target`, so that concurrent refusals of one token fetch one new token, and a
    /// refusal of an old token never drops a newer one. Returns whether it dropped it.
    pub fn invalidate(&mut self, target: &TokenTarget, token: &str) -> bool {
        let cached = self
            .tokens
            .get(target)
            .is_some_and(|cached| cached.token.expose() == token);
        if cached {
            self.tokens.remove(target);
        }
        cached
    }
}

/// Bearer tokens an API verified, so that a token presented again is not verified again:
/// keyed by the SHA-256 of the token (the token itself is not kept), each entry until the
/// token's `exp`, at most `capacity` entries (expired ones go first, then the oldest).
/// Capacity 0 turns the cache off.
pub struct VerifiedTokens {
    capacity: usize,
    entries: HashMap<[u8; 32], Arc<VerifiedAccessToken>>,
    /// Insertion order, for eviction.
    order: VecDeque<[u8; 32]>,
}

impl fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("capacity", &self.capacity)
            .field("len", &self.entries.len())
            .finish()
    }
}

impl VerifiedTokens {
    /// An empty cache of at most `capacity` tokens.
    pub fn new(capacity: usize) -> VerifiedTokens {
        VerifiedTokens {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The cache key of a token.
    pub fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The verification of the token with this key, unless it expired by `now`.
    pub fn get(&self, key: &[u8; 32], now: UnixTime) -> Option<Arc<VerifiedAccessToken>> {
        self.entries
            .get(key)
            .filter(|verified| now < verified.expires_at)
            .cloned()
    }

    /// Keeps a verification until its token expires.
    pub fn insert(&mut self, key: [u8; 32], verified: Arc<VerifiedAccessToken>, now: UnixTime) {
        if self.capacity == 0 || self.entries.contains_key(&key) {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, v| now < v.expires_at);
            let entries = &self.entries;
            self.order.retain(|k| entries.contains_key(k));
        }
        while self.entries.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.entries.insert(key, verified);
        self.order.push_back(key);
    }

    /// How many verifications are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
