//! The async client.

use crate::storage::{MemoryStorage, Storage};
use crate::transport;
use async_lock::{Mutex as AsyncMutex, MutexGuard as AsyncMutexGuard};
use logto_proto::adapter::{
    lease_holder, refresh_lease_ttl, session_write, SessionReader, SessionWrite, SESSION_KEY,
};
use logto_proto::{
    decode_claims, AccessToken, AccessTokenClaims, ClientError as Error, Config, Context,
    IdTokenClaims, LeaseState, Operation, OrganizationTokenClaims, ProviderCache, SignInEntropy,
    SignInOptions, SignOutResult, Snapshot, Step, TokenTarget, UnixTime, UserInfo,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time (the system clock unless replaced for tests).
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;
/// A source of random bytes (the OS generator unless replaced for tests).
pub type Entropy = Arc<dyn Fn(&mut [u8]) -> Result<(), String> + Send + Sync>;

/// What every client of one configuration shares: the config, the HTTP agent (keep-alive)
/// and the provider cache (shared by every client of the endpoint in the process).
struct App {
    config: Config,
    agent: isahc::HttpClient,
    cache: Arc<SharedCache>,
}

/// The provider cache of an endpoint, and the lock that makes its fetches single-flight.
#[derive(Default)]
struct SharedCache {
    cache: RwLock<ProviderCache>,
    fetching: AsyncMutex<()>,
}

fn shared_cache(endpoint: &str) -> Arc<SharedCache> {
    static CACHES: OnceLock<Mutex<HashMap<String, Arc<SharedCache>>>> = OnceLock::new();
    let mut caches = CACHES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    caches.entry(endpoint.to_owned()).or_default().clone()
}

fn system_clock() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime::from_secs(secs)
}

fn os_entropy(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| e.to_string())
}

/// A Logto client for one session, async and runtime-agnostic (tokio, async-std, smol or a
/// plain executor: isahc runs its own I/O thread).
///
/// Cloning gives another handle on the same session (same storage, same refresh lock), to
/// use from several tasks. [`for_session`](Self::for_session) gives a client for another
/// session that shares the HTTP agent and the provider cache: a web app keeps one client and
/// makes one per request around that request's session store.
///
/// Methods follow the Logto guide: sign-in, callback, sign-out, tokens, user info. Every
/// method that may refresh a token is single-flight per session: concurrent calls needing the
/// same token make one refresh request, and calls needing different tokens take turns, each
/// with the latest (possibly rotated) refresh token.
#[derive(Clone)]
pub struct LogtoClient {
    app: Arc<App>,
    storage: Arc<dyn Storage>,
    reader: Arc<Mutex<SessionReader>>,
    session_lock: Arc<AsyncMutex<()>>,
    holder: Arc<str>,
    clock: Clock,
    entropy: Entropy,
}

impl fmt::Debug for LogtoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoClient")
            .field("config", &self.app.config)
            .finish_non_exhaustive()
    }
}

impl LogtoClient {
    /// A client with its own in-memory session store (one session: for a CLI or a test; a
    /// web app makes one per request with [`for_session`](Self::for_session)).
    pub fn new(config: Config) -> Result<Self, Error> {
        LogtoClient::with_storage(config, MemoryStorage::new())
    }

    /// A client whose session lives in `storage`.
    pub fn with_storage(config: Config, storage: impl Storage + 'static) -> Result<Self, Error> {
        let client = transport::client(&config).map_err(Error::Transport)?;
        Ok(LogtoClient::with_http_client(config, storage, client))
    }

    /// A client that sends its requests with the app's own HTTP client (a proxy, custom root
    /// certificates, client certificates). Redirects are never followed whatever the client
    /// says; its timeouts replace the config's.
    pub fn with_http_client(
        config: Config,
        storage: impl Storage + 'static,
        client: isahc::HttpClient,
    ) -> Self {
        let app = App {
            agent: client,
            cache: shared_cache(config.endpoint()),
            config,
        };
        LogtoClient {
            app: Arc::new(app),
            storage: Arc::new(storage),
            reader: Arc::default(),
            session_lock: Arc::default(),
            holder: new_holder(&os_entropy),
            clock: Arc::new(system_clock),
            entropy: Arc::new(os_entropy),
        }
    }

    /// A client for another session (its own storage and refresh lock) sharing this client's
    /// configuration, HTTP agent and provider cache.
    pub fn for_session(&self, storage: impl Storage + 'static) -> Self {
        LogtoClient {
            storage: Arc::new(storage),
            reader: Arc::default(),
            session_lock: Arc::default(),
            holder: new_holder(&*self.entropy),
            ..self.clone()
        }
    }

    /// Replaces the clock (for tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> UnixTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Replaces the random source (for tests).
    #[must_use]
    pub fn with_entropy(
        mut self,
        entropy: impl Fn(&mut [u8]) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.entropy = Arc::new(entropy);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.app.config
    }

    /// The URL to send the user to, for a sign-in that comes back to `redirect_uri`.
    /// Starting a sign-in clears the session's tokens.
    pub async fn sign_in(&self, redirect_uri: &str) -> Result<String, Error> {
        self.sign_in_with(SignInOptions::new(redirect_uri)).await
    }

    /// [`sign_in`](Self::sign_in) with every option (interaction mode, first screen,
    /// identifiers, direct sign-in, login hint, prompt, extra parameters).
    pub async fn sign_in_with(&self, options: SignInOptions) -> Result<String, Error> {
        let mut bytes = [0u8; 96];
        (self.entropy)(&mut bytes).map_err(Error::Random)?;
        let entropy = SignInEntropy::from_bytes(bytes);
        let mut s = self.open(false).await?;
        let result = self
            .drive(&mut s.context(self).sign_in(options, entropy))
            .await;
        self.close(s).await?;
        result
    }

    /// Completes the sign-in with the URL the provider redirected to (query included).
    /// Returns the verified ID token's claims.
    pub async fn handle_sign_in_callback(
        &self,
        callback_url: &str,
    ) -> Result<IdTokenClaims, Error> {
        let mut s = self.open(false).await?;
        let result = self
            .drive(&mut s.context(self).handle_sign_in_callback(callback_url))
            .await;
        self.close(s).await?;
        result
    }

    /// Signs out: clears the session, revokes the refresh token (a failure there does not
    /// stop the sign-out) and returns the end-session URL to send the user to.
    pub async fn sign_out(&self, post_logout_redirect_uri: Option<&str>) -> Result<String, Error> {
        Ok(self
            .sign_out_with_result(post_logout_redirect_uri)
            .await?
            .end_session_url)
    }

    /// [`sign_out`](Self::sign_out), also telling how the revocation went.
    pub async fn sign_out_with_result(
        &self,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<SignOutResult, Error> {
        let mut s = self.open(false).await?;
        let result = self
            .drive(&mut s.context(self).sign_out(post_logout_redirect_uri))
            .await;
        self.close(s).await?;
        result
    }

    /// Whether the session holds an ID token (a sign-in completed, no sign-out since).
    pub async fn is_authenticated(&self) -> Result<bool, Error> {
        Ok(self.load().await?.1.is_authenticated())
    }

    /// The raw ID token.
    pub async fn id_token(&self) -> Result<Option<String>, Error> {
        Ok(self
            .load()
            .await?
            .1
            .id_token()
            .map(|t| t.expose().to_owned()))
    }

    /// The claims of the ID token (verified when it was stored).
    pub async fn id_token_claims(&self) -> Result<IdTokenClaims, Error> {
        Ok(self.load().await?.1.id_token_claims()?)
    }

    /// The refresh token.
    pub async fn refresh_token(&self) -> Result<Option<String>, Error> {
        Ok(self
            .load()
            .await?
            .1
            .refresh_token()
            .map(|t| t.expose().to_owned()))
    }

    /// The userinfo claims (with a fresh access token, refreshed if needed).
    pub async fn fetch_user_info(&self) -> Result<UserInfo, Error> {
        // The usual call finds a fresh token: no refresh, so no refresh lease and no storage
        // write. Only a token that must be refreshed takes the lease-holding path.
        let mut s = self.open(false).await?;
        let result = self
            .drive(&mut s.context(self).fetch_user_info().without_refresh())
            .await;
        // Built without_refresh, the operation changed the session only if it stopped for
        // a refresh: otherwise there is nothing to write back.
        if !matches!(
            result,
            Err(Error::Protocol(logto_proto::Error::RefreshNeeded))
        ) {
            self.merge_cache(&s.cache);
            return result;
        }
        self.close_unless_overtaken(s).await?;
        let mut s = self.open(true).await?;
        let result = self.drive(&mut s.context(self).fetch_user_info()).await;
        self.close(s).await?;
        result
    }

    /// An access token for an API resource (`""`: the token for the userinfo endpoint).
    pub async fn access_token(&self, resource: &str) -> Result<String, Error> {
        self.token(TokenTarget::resource(resource), false)
            .await
            .map(|t| t.token.expose().to_owned())
    }

    /// The claims of [`access_token`](Self::access_token) (an opaque token gives
    /// `Error::Protocol(Claims(NotAJwt))`).
    pub async fn access_token_claims(&self, resource: &str) -> Result<AccessTokenClaims, Error> {
        let token = self.access_token(resource).await?;
        decode_claims(&token).map_err(|e| Error::Protocol(e.into()))
    }

    /// An organization token (needs the organizations scope).
    pub async fn organization_token(&self, organization_id: &str) -> Result<String, Error> {
        self.token(TokenTarget::organization(organization_id), false)
            .await
            .map(|t| t.token.expose().to_owned())
    }

    /// The claims of [`organization_token`](Self::organization_token).
    pub async fn organization_token_claims(
        &self,
        organization_id: &str,
    ) -> Result<OrganizationTokenClaims, Error> {
        let token = self.organization_token(organization_id).await?;
        decode_claims(&token).map_err(|e| Error::Protocol(e.into()))
    }

    /// An organization-scoped API token: the resource's token with the organization's
    /// permissions and an `organization_id` claim.
    pub async fn access_token_for(
        &self,
        resource: &str,
        organization_id: &str,
    ) -> Result<String, Error> {
        self.token(
            TokenTarget::resource_in_organization(resource, organization_id),
            false,
        )
        .await
        .map(|t| t.token.expose().to_owned())
    }

    /// The token for any target with its scope and expiry; `force_refresh` skips the cache
    /// (e.g. after a role change).
    pub async fn token(
        &self,
        target: TokenTarget,
        force_refresh: bool,
    ) -> Result<AccessToken, Error> {
        if !force_refresh {
            // Fast path, no lock: a fresh cached token needs no request.
            let (_, mut snapshot) = self.load().await?;
            let mut cache = self.cache();
            let mut op = Context::new(&self.app.config, &mut cache, &mut snapshot)
                .access_token(target.clone(), false);
            if let Step::Done(token) = op.step((self.clock)())? {
                return Ok(token);
            }
        }
        let mut s = self.open(true).await?;
        let result = self
            .drive(&mut s.context(self).access_token(target, force_refresh))
            .await;
        self.close(s).await?;
        result
    }

    /// Forgets the cached token for `target`; the next request refreshes it.
    pub async fn clear_access_token(&self, target: &TokenTarget) -> Result<(), Error> {
        let mut s = self.open(false).await?;
        s.snapshot.clear_access_token(target);
        self.close(s).await
    }

    /// Forgets every cached access token (ID and refresh tokens stay).
    pub async fn clear_access_tokens(&self) -> Result<(), Error> {
        let mut s = self.open(false).await?;
        s.snapshot.clear_access_tokens();
        self.close(s).await
    }

    /// Deletes the stored session, e.g. after [`StorageError::Corrupt`](crate::StorageError::Corrupt).
    pub async fn clear_session(&self) -> Result<(), Error> {
        let _guard = self.lock().await;
        Ok(self.storage.delete(SESSION_KEY).await?)
    }

    async fn lock(&self) -> AsyncMutexGuard<'_, ()> {
        self.session_lock.lock().await
    }

    fn cache(&self) -> ProviderCache {
        self.app
            .cache
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn merge_cache(&self, cache: &ProviderCache) {
        let mut shared = self
            .app
            .cache
            .cache
            .write()
            .unwrap_or_else(|p| p.into_inner());
        shared.merge(cache, (self.clock)());
    }

    async fn load(&self) -> Result<(Option<String>, Snapshot), Error> {
        let raw = self.storage.get(SESSION_KEY).await?;
        let snapshot = self
            .reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .read(raw.as_deref())?;
        Ok((raw, snapshot))
    }

    async fn save(&self, before: Option<&str>, snapshot: &Snapshot) -> Result<(), Error> {
        match session_write(before, snapshot) {
            SessionWrite::Unchanged => Ok(()),
            SessionWrite::Delete => Ok(self.storage.delete(SESSION_KEY).await?),
            SessionWrite::Set(json) => Ok(self.storage.set(SESSION_KEY, &json).await?),
        }
    }

    /// The driver loop: sends what the operation asks for and feeds back the answers.
    /// Provider documents (discovery, JWKS) are fetched one at a time per endpoint, and an
    /// operation is first offered what another one fetched meanwhile, so concurrent sessions
    /// make one request for them.
    async fn drive<O: Operation>(&self, op: &mut O) -> Result<O::Output, Error> {
        loop {
            let request = match op.step((self.clock)())? {
                Step::Done(value) => return Ok(value),
                Step::Send(request) => request,
                _ => {
                    return Err(
                        logto_proto::Error::Usage("a step this driver does not know").into(),
                    )
                }
            };
            let fetching = match op.fetches_provider_data() {
                true => Some(self.app.cache.fetching.lock().await),
                false => None,
            };
            if fetching.is_some() && op.handle_shared_cache(&self.cache(), (self.clock)()) {
                continue;
            }
            match transport::send(&self.app.agent, request).await {
                Ok(response) => op.handle_response(response, (self.clock)())?,
                Err(e) if op.handle_transport_error((self.clock)()) => drop(e),
                Err(e) => return Err(Error::Transport(e)),
            }
            if fetching.is_some() {
                self.merge_cache(op.provider_cache());
            }
        }
    }

    /// Opens the session under the session lock: loads the snapshot and a copy of the
    /// provider cache. With `lease`, also takes the session's refresh lease, so that no other
    /// client (in this process or another sharing the store) refreshes until
    /// [`close`](Self::close).
    async fn open(&self, lease: bool) -> Result<OpenSession<'_>, Error> {
        let guard = self.lock().await;
        let ttl = refresh_lease_ttl(&self.app.config);
        let (raw, snapshot) = loop {
            let (raw, mut snapshot) = self.load().await?;
            if !lease {
                break (raw, snapshot);
            }
            let now = (self.clock)();
            match snapshot.acquire_refresh_lease(&self.holder, now, ttl) {
                LeaseState::Acquired => {
                    let json = snapshot.to_json();
                    if self
                        .storage
                        .compare_and_swap(SESSION_KEY, raw.as_deref(), Some(&json))
                        .await?
                    {
                        break (Some(json), snapshot);
                    }
                }
                LeaseState::HeldElsewhere { until } => {
                    let wait = until.secs_since(now).min(1);
                    futures_timer::Delay::new(
                        Duration::from_millis(50).min(Duration::from_secs(wait)),
                    )
                    .await;
                }
            }
        };
        Ok(OpenSession {
            _guard: guard,
            raw,
            leased: lease,
            snapshot,
            cache: self.cache(),
        })
    }

    /// Saves what an operation left (it is consistent whether it succeeded or not), merges
    /// the cache back and ends the lease.
    async fn close(&self, mut s: OpenSession<'_>) -> Result<(), Error> {
        self.merge_cache(&s.cache);
        if !s.leased {
            return self.save(s.raw.as_deref(), &s.snapshot).await;
        }
        s.snapshot.release_refresh_lease(&self.holder);
        let json = s.snapshot.to_json();
        if !self
            .storage
            .compare_and_swap(SESSION_KEY, s.raw.as_deref(), Some(&json))
            .await?
        {
            // Our lease lapsed and another writer came in: what this refresh returned (the
            // rotated refresh token) is still the newest truth the provider gave.
            self.storage.set(SESSION_KEY, &json).await?;
        }
        Ok(())
    }

    /// Closes a session opened without the lease for an operation built `without_refresh`:
    /// what it changed is written only if nobody wrote the session meanwhile, because
    /// without the lease another client's write (a rotated refresh token) must win.
    async fn close_unless_overtaken(&self, s: OpenSession<'_>) -> Result<(), Error> {
        self.merge_cache(&s.cache);
        if let SessionWrite::Set(json) = session_write(s.raw.as_deref(), &s.snapshot) {
            self.storage
                .compare_and_swap(SESSION_KEY, s.raw.as_deref(), Some(&json))
                .await?;
        }
        Ok(())
    }
}

/// A session opened by [`LogtoClient::open`].
struct OpenSession<'a> {
    _guard: AsyncMutexGuard<'a, ()>,
    raw: Option<String>,
    leased: bool,
    snapshot: Snapshot,
    cache: ProviderCache,
}

impl OpenSession<'_> {
    fn context<'s>(&'s mut self, client: &'s LogtoClient) -> Context<'s> {
        Context::new(&client.app.config, &mut self.cache, &mut self.snapshot)
    }
}

fn new_holder(entropy: &(dyn Fn(&mut [u8]) -> Result<(), String> + Send + Sync)) -> Arc<str> {
    let mut bytes = [0u8; 12];
    if entropy(&mut bytes).is_err() {
        // A holder id only separates clients; the address of a fresh allocation will do.
        let marker = Box::new(0u8);
        return format!("h{:p}", marker).into();
    }
    lease_holder(bytes).into()
}
