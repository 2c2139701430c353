//! Machine-to-machine tokens, and protecting an API with the tokens Logto issues for it.

use crate::LogtoClient;
use logto_driver::VerifiedTokenCache;
use logto_proto::{
    AccessToken, ClientError as Error, Config, MachineTokens, Requirement, TokenTarget,
    VerifiedAccessToken,
};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

/// A machine-to-machine client (a Logto "Machine-to-machine" app: client credentials with
/// its secret). Tokens are cached per target (resource, organization, scopes) until they
/// near expiry (the config's expiry leeway), concurrent calls needing a token fetch it
/// once, and [`invalidate`](Self::invalidate) drops a token the API refused (401) so that
/// the next call fetches a new one. Cheap to clone; clones share the cache.
///
/// ```no_run
/// use logto_ureq::{LogtoConfig, MachineClient, TokenTarget};
/// # fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let config = LogtoConfig::builder("https://tenant.logto.app", "m2m-app-id")
///     .app_secret("m2m-app-secret")
///     .build()?;
/// let machine = MachineClient::new(config)?;
/// let token = machine.access_token("https://api.example.com", ["read"])?;
/// let management = machine.token(&TokenTarget::management_api("tenant"))?;
/// # let _ = (token, management);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MachineClient {
    client: LogtoClient,
    tokens: Arc<RwLock<MachineTokens>>,
    fetching: Arc<Mutex<()>>,
}

impl fmt::Debug for MachineClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineClient")
            .field("config", self.client.config())
            .finish_non_exhaustive()
    }
}

impl MachineClient {
    /// A machine client for an app with a secret.
    pub fn new(config: Config) -> Result<MachineClient, Error> {
        Ok(MachineClient::with_client(LogtoClient::new(config)?))
    }

    /// A machine client sending its requests with `client` (its HTTP client, clock and
    /// config).
    pub fn with_client(client: LogtoClient) -> MachineClient {
        MachineClient {
            client,
            tokens: Arc::default(),
            fetching: Arc::default(),
        }
    }

    /// The token for `target`: cached while fresh, else fetched (once for concurrent
    /// callers).
    pub fn token(&self, target: &TokenTarget) -> Result<AccessToken, Error> {
        if let Some(token) = self.cached(target) {
            return Ok(token);
        }
        let _one_fetch = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        // Whoever held the lock before may have fetched it.
        if let Some(token) = self.cached(target) {
            return Ok(token);
        }
        let token = self.client.fetch_machine_token(target.clone())?;
        self.write().store(token.clone());
        Ok(token)
    }

    /// An access token for an API resource, narrowed to `scopes` (empty: every scope the
    /// app's machine roles grant).
    pub fn access_token<I, S>(&self, resource: &str, scopes: I) -> Result<String, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let target = TokenTarget::resource(resource).with_scopes(scopes);
        Ok(self.token(&target)?.token.expose().to_owned())
    }

    /// The API refused `token` (401): it is dropped if still cached for `target`, so the next
    /// call fetches a new one. Returns whether it was dropped.
    pub fn invalidate(&self, target: &TokenTarget, token: &str) -> bool {
        self.write().invalidate(target, token)
    }

    /// The underlying client.
    pub fn client(&self) -> &LogtoClient {
        &self.client
    }

    fn cached(&self, target: &TokenTarget) -> Option<AccessToken> {
        let tokens = self.tokens.read().unwrap_or_else(|p| p.into_inner());
        let leeway = self.client.config().expiry_leeway();
        tokens.fresh(target, self.client.now(), leeway).cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, MachineTokens> {
        self.tokens.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Protects an API: verifies the bearer tokens presented to it (signature with the
/// provider's keys, `typ`, `iss`, `exp`, `nbf`, `iat`) and checks what each route requires
/// ([`Requirement`]: audience, organization, scopes).
///
/// - Keys: fetched when first needed and shared with every client of the endpoint; a
///   token signed with a key published since is accepted on its first presentation (one
///   JWKS request), while made-up `kid`s cost at most one JWKS request per
///   [`jwks_refetch_cooldown`](logto_proto::ConfigBuilder::jwks_refetch_cooldown), and
///   concurrent verifications never fetch the same JWKS twice.
/// - Verified tokens are cached (by SHA-256 of the token, until its `exp`, at most
///   [`DEFAULT_VERIFIED_CACHE`] entries; [`with_cache`](Self::with_cache) sets the size, 0
///   turns it off), so a token presented again is not verified again. The route's
///   requirement is checked on every request.
///
/// Errors are [`Error::Protocol`] with an
/// [`AccessTokenError`](logto_proto::AccessTokenError): answer with its `http_status()` and
/// `www_authenticate()` (RFC 6750).
#[derive(Clone)]
pub struct ApiValidator {
    client: LogtoClient,
    verified: Arc<VerifiedTokenCache>,
}

/// How many verified tokens an [`ApiValidator`] keeps by default.
pub const DEFAULT_VERIFIED_CACHE: usize = 10_000;

impl fmt::Debug for ApiValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiValidator")
            .field("endpoint", &self.client.config().endpoint())
            .finish_non_exhaustive()
    }
}

impl ApiValidator {
    /// A validator for the tokens of the Logto tenant at `endpoint`.
    pub fn new(endpoint: &str) -> Result<ApiValidator, Error> {
        // An API has no app of its own: the config carries the endpoint and tolerances.
        let config = Config::builder(endpoint, "api").build()?;
        Ok(ApiValidator::with_client(LogtoClient::new(config)?))
    }

    /// A validator sending its requests with `client` (its HTTP client, clock, tolerances
    /// and cooldown).
    pub fn with_client(client: LogtoClient) -> ApiValidator {
        ApiValidator {
            client,
            verified: Arc::new(VerifiedTokenCache::new(DEFAULT_VERIFIED_CACHE)),
        }
    }

    /// Keeps at most `capacity` verified tokens (0: none, every presentation is verified).
    #[must_use]
    pub fn with_cache(self, capacity: usize) -> ApiValidator {
        ApiValidator {
            verified: Arc::new(VerifiedTokenCache::new(capacity)),
            ..self
        }
    }

    /// Verifies the bearer token of an `Authorization` header value and checks that it
    /// meets `requirement`.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        requirement: &Requirement,
    ) -> Result<Arc<VerifiedAccessToken>, Error> {
        let verified = self.verify(authorization)?;
        let tolerance = self.client.config().clock_tolerance();
        verified
            .authorize(requirement, self.client.now(), tolerance)
            .map_err(|e| Error::Protocol(e.into()))?;
        Ok(verified)
    }

    /// Verifies the bearer token of an `Authorization` header value (no route requirement).
    pub fn verify(&self, authorization: Option<&str>) -> Result<Arc<VerifiedAccessToken>, Error> {
        let Ok(token) = logto_proto::bearer_token(authorization) else {
            // No bearer token: the call refuses it at once, without a request, and reports it.
            return self.client.verify_access_token(authorization).map(Arc::new);
        };
        let now = self.client.now();
        if let Some(verified) = self.verified.get(token, now) {
            return Ok(verified);
        }
        let verified = Arc::new(self.client.verify_access_token(authorization)?);
        self.verified.insert(token, verified.clone(), now);
        Ok(verified)
    }
}
