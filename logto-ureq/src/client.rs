//! The blocking client.

use crate::transport;
use logto_proto::adapter::{lease_holder, Call, CallEnv, SessionReader, SESSION_KEY};
use logto_proto::{
    decode_claims, AccessToken, AccessTokenClaims, BackchannelLogout, ClientError as Error, Config,
    IdTokenClaims, Operation, OrganizationTokenClaims, ProviderCache, SignInEntropy, SignInOptions,
    SignOutResult, Snapshot, Step, TokenTarget, TransportError, UnixTime, UserInfo,
    VerifiedAccessToken,
};
use logto_store::{Expected, MemoryStore, MemoryStoreLimits, Storage};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time (the system clock unless replaced for tests).
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;
/// A source of random bytes (the OS generator unless replaced for tests).
pub type Entropy = Arc<dyn Fn(&mut [u8]) -> Result<(), String> + Send + Sync>;

/// What every client of one configuration shares: the config, the HTTP agent (keep-alive)
/// and the provider cache (shared by every client of the endpoint in the process).
struct App {
    config: Config,
    agent: ureq::Agent,
    cache: Arc<SharedCache>,
    /// Drawn once per app: every client's lease holder is this plus a counter, so that a
    /// client per request costs no OS randomness.
    holder_prefix: Arc<str>,
    sessions: std::sync::atomic::AtomicU64,
}

/// The provider cache of an endpoint, and the lock that makes its fetches single-flight.
#[derive(Default)]
struct SharedCache {
    cache: RwLock<Arc<ProviderCache>>,
    fetching: Mutex<()>,
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

/// A Logto client for one session, blocking.
///
/// Cloning gives another handle on the same session (same storage, same refresh lock), to
/// use from several threads. [`for_session`](Self::for_session) gives a client for another
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
    /// The last parse of the stored session: looked at under the shared lock, replaced
    /// under the exclusive one when the stored text changed.
    reader: Arc<RwLock<SessionReader>>,
    session_lock: Arc<Mutex<()>>,
    holder: Arc<str>,
    calls: Arc<std::sync::atomic::AtomicU64>,
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
        LogtoClient::with_storage(
            config,
            MemoryStore::with_limits(MemoryStoreLimits::keep_signed_in()),
        )
    }

    /// A client whose session lives in `storage`.
    pub fn with_storage(config: Config, storage: impl Storage + 'static) -> Result<Self, Error> {
        let agent = transport::agent(&config);
        Ok(LogtoClient::with_http_client(config, storage, agent))
    }

    /// A client that sends its requests with the app's own agent (a proxy, custom root
    /// certificates, client certificates). Redirects are never followed whatever the agent
    /// says; its timeouts replace the config's.
    pub fn with_http_client(
        config: Config,
        storage: impl Storage + 'static,
        agent: ureq::Agent,
    ) -> Self {
        let app = App {
            agent,
            cache: shared_cache(config.endpoint()),
            config,
            holder_prefix: new_holder(&os_entropy),
            sessions: std::sync::atomic::AtomicU64::new(1),
        };
        let holder = format!("{}.0", app.holder_prefix).into();
        LogtoClient {
            app: Arc::new(app),
            storage: Arc::new(storage),
            reader: Arc::default(),
            session_lock: Arc::default(),
            holder,
            calls: Arc::default(),
            clock: Arc::new(system_clock),
            entropy: Arc::new(os_entropy),
        }
    }

    /// A client for another session (its own storage and refresh lock) sharing this client's
    /// configuration, HTTP agent and provider cache. Cheap enough for every request: a few
    /// reference counts, no I/O and no OS randomness.
    pub fn for_session(&self, storage: impl Storage + 'static) -> Self {
        LogtoClient {
            storage: Arc::new(storage),
            reader: Arc::default(),
            session_lock: Arc::default(),
            holder: self.next_holder(),
            calls: Arc::default(),
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
    pub fn sign_in(&self, redirect_uri: &str) -> Result<String, Error> {
        self.sign_in_with(SignInOptions::new(redirect_uri))
    }

    /// [`sign_in`](Self::sign_in) with every option (interaction mode, first screen,
    /// identifiers, direct sign-in, login hint, prompt, extra parameters).
    pub fn sign_in_with(&self, options: SignInOptions) -> Result<String, Error> {
        self.run(Call::sign_in(self.env(), options, self.sign_in_entropy()?))
    }

    /// Completes the sign-in with the URL the provider redirected to (query included).
    /// Returns the verified ID token's claims.
    pub fn handle_sign_in_callback(&self, callback_url: &str) -> Result<IdTokenClaims, Error> {
        self.run(Call::handle_sign_in_callback(self.env(), callback_url))
    }

    /// Signs out: clears the session, revokes the refresh token (a failure there does not
    /// stop the sign-out) and returns the end-session URL to send the user to.
    pub fn sign_out(&self, post_logout_redirect_uri: Option<&str>) -> Result<String, Error> {
        Ok(self
            .sign_out_with_result(post_logout_redirect_uri)?
            .end_session_url)
    }

    /// [`sign_out`](Self::sign_out), also telling how the revocation went.
    pub fn sign_out_with_result(
        &self,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<SignOutResult, Error> {
        self.run(Call::sign_out(self.env(), post_logout_redirect_uri))
    }

    /// Verifies a back-channel logout request (OpenID Connect Back-Channel Logout 1.0)
    /// from its form body, as the provider POSTs it to the app's back-channel logout URI.
    /// Returns which sessions to end ([`LogoutTarget`](logto_proto::LogoutTarget)) and the
    /// `jti` to remember against replays
    /// ([`BackchannelLogout::replay_key`](logto_proto::BackchannelLogout::replay_key));
    /// a refused request is `Error::Protocol(LogoutToken(..))` (answer 400). This client's
    /// session is not read or written.
    pub fn handle_backchannel_logout(&self, form_body: &[u8]) -> Result<BackchannelLogout, Error> {
        self.run(Call::handle_backchannel_logout(self.env(), form_body))
    }

    /// A machine-to-machine token for `target`, fetched now (client credentials with the
    /// app secret; not cached: [`MachineClient`](crate::MachineClient) caches). This
    /// client's session is not read or written.
    pub fn fetch_machine_token(&self, target: TokenTarget) -> Result<AccessToken, Error> {
        self.run(Call::fetch_machine_token(self.env(), target))
    }

    /// Verifies the bearer token of an `Authorization` header value presented to an API,
    /// now (not cached: [`ApiValidator`](crate::ApiValidator) caches and authorizes). This
    /// client's session is not read or written.
    pub fn verify_access_token(
        &self,
        authorization: Option<&str>,
    ) -> Result<VerifiedAccessToken, Error> {
        self.run(Call::verify_access_token(self.env(), authorization))
    }

    /// The time on this client's clock.
    pub fn now(&self) -> UnixTime {
        (self.clock)()
    }

    /// Whether the session holds an ID token (a sign-in completed, no sign-out since).
    pub fn is_authenticated(&self) -> Result<bool, Error> {
        Ok(self.load()?.is_authenticated())
    }

    /// The raw ID token.
    pub fn id_token(&self) -> Result<Option<String>, Error> {
        Ok(self.load()?.id_token().map(|t| t.expose().to_owned()))
    }

    /// The claims of the ID token (verified when it was stored).
    pub fn id_token_claims(&self) -> Result<IdTokenClaims, Error> {
        Ok(self.load()?.id_token_claims()?)
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> Result<Option<String>, Error> {
        Ok(self.load()?.refresh_token().map(|t| t.expose().to_owned()))
    }

    /// The userinfo claims (with a fresh access token, refreshed if needed).
    pub fn fetch_user_info(&self) -> Result<UserInfo, Error> {
        self.run(Call::fetch_user_info(self.env()))
    }

    /// An access token for an API resource (`""`: the token for the userinfo endpoint).
    pub fn access_token(&self, resource: &str) -> Result<String, Error> {
        self.token(TokenTarget::resource(resource), false)
            .map(|t| t.token.expose().to_owned())
    }

    /// The claims of [`access_token`](Self::access_token) (an opaque token gives
    /// `Error::Protocol(Claims(NotAJwt))`).
    pub fn access_token_claims(&self, resource: &str) -> Result<AccessTokenClaims, Error> {
        let token = self.access_token(resource)?;
        decode_claims(&token).map_err(|e| Error::Protocol(e.into()))
    }

    /// An organization token (needs the organizations scope).
    pub fn organization_token(&self, organization_id: &str) -> Result<String, Error> {
        self.token(TokenTarget::organization(organization_id), false)
            .map(|t| t.token.expose().to_owned())
    }

    /// The claims of [`organization_token`](Self::organization_token).
    pub fn organization_token_claims(
        &self,
        organization_id: &str,
    ) -> Result<OrganizationTokenClaims, Error> {
        let token = self.organization_token(organization_id)?;
        decode_claims(&token).map_err(|e| Error::Protocol(e.into()))
    }

    /// An organization-scoped API token: the resource's token with the organization's
    /// permissions and an `organization_id` claim.
    pub fn access_token_for(&self, resource: &str, organization_id: &str) -> Result<String, Error> {
        self.token(
            TokenTarget::resource_in_organization(resource, organization_id),
            false,
        )
        .map(|t| t.token.expose().to_owned())
    }

    /// The token for any target with its scope and expiry; `force_refresh` skips the cache
    /// (e.g. after a role change).
    pub fn token(&self, target: TokenTarget, force_refresh: bool) -> Result<AccessToken, Error> {
        self.run(Call::access_token(self.env(), target, force_refresh))
    }

    /// Forgets the cached token for `target`; the next request refreshes it.
    pub fn clear_access_token(&self, target: &TokenTarget) -> Result<(), Error> {
        self.run(Call::clear_access_tokens(self.env(), Some(target.clone())))
    }

    /// Forgets every cached access token (ID and refresh tokens stay).
    pub fn clear_access_tokens(&self) -> Result<(), Error> {
        self.run(Call::clear_access_tokens(self.env(), None))
    }

    /// Deletes the stored session, e.g. after [`StorageError::Corrupt`](crate::StorageError::Corrupt):
    /// whatever it holds, unreadable or not.
    pub fn clear_session(&self) -> Result<(), Error> {
        self.storage
            .compare_and_swap(SESSION_KEY, Expected::Any, None)?;
        Ok(())
    }

    /// A lease holder id no other client of this app (or of another process) uses.
    fn next_holder(&self) -> Arc<str> {
        let n = (self.app.sessions).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}.{n}", self.app.holder_prefix).into()
    }

    fn env(&self) -> CallEnv<'_> {
        CallEnv::new(
            &self.app.config,
            self.cache(),
            &self.holder,
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )
    }

    fn sign_in_entropy(&self) -> Result<SignInEntropy, Error> {
        let mut bytes = [0u8; 96];
        (self.entropy)(&mut bytes).map_err(Error::Random)?;
        Ok(SignInEntropy::from_bytes(bytes))
    }

    fn cache(&self) -> Arc<ProviderCache> {
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
        Arc::make_mut(&mut shared).merge(cache, (self.clock)());
    }

    fn load(&self) -> Result<Arc<Snapshot>, Error> {
        let stored = self.storage.get(SESSION_KEY)?;
        if let Some(snapshot) = self.peek(stored.as_deref()) {
            return Ok(snapshot);
        }
        Ok(self.reader_mut().read_shared(stored.as_deref())?)
    }

    /// The reader's parse of `stored` if it has one (a shared lock: the requests of one
    /// session do not wait for each other).
    fn peek(&self, stored: Option<&str>) -> Option<Arc<Snapshot>> {
        let reader = self.reader.read().unwrap_or_else(|p| p.into_inner());
        reader.peek(stored)
    }

    fn reader_mut(&self) -> std::sync::RwLockWriteGuard<'_, SessionReader> {
        self.reader.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The driver loop: performs each step of a core call and feeds the result back. The
    /// core decides everything; this only moves bytes, time and storage values.
    ///
    /// - Provider documents (discovery, JWKS) are fetched one at a time per endpoint, and a
    ///   call is first offered what another one fetched meanwhile.
    /// - Writes of one session are made one at a time in this process (the session lock),
    ///   so that a compare-and-swap is atomic here even over a store whose own is not.
    fn run<T>(&self, mut call: Call<'_, T>) -> Result<T, Error> {
        let mut failed: Option<TransportError> = None;
        loop {
            let step = match call.step((self.clock)()) {
                Ok(step) => step,
                Err(logto_proto::Error::RequestFailed) => {
                    return Err(failed.map_or(
                        Error::Protocol(logto_proto::Error::RequestFailed),
                        Error::Transport,
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            match step {
                Step::Done(value) => return Ok(value),
                Step::ReadSession => {
                    let stored = match self.storage.get(SESSION_KEY) {
                        Ok(stored) => stored,
                        // A rotated refresh token to merge: the call waits and reads again.
                        Err(_) if call.handle_read_failed((self.clock)()) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    match self.peek(stored.as_deref()) {
                        Some(parsed) => call.handle_read_parsed(stored, parsed, (self.clock)())?,
                        None => call.handle_read(stored, &mut self.reader_mut(), (self.clock)())?,
                    }
                }
                Step::WriteSession { expected, new } => {
                    // One write at a time per session in this process: the compare-and-swap
                    // is atomic here even over a store whose own is not.
                    let _one_writer = self.session_lock.lock().unwrap_or_else(|p| p.into_inner());
                    let written = self.storage.compare_and_swap(
                        SESSION_KEY,
                        Expected::from(expected.as_deref()),
                        new.as_deref(),
                    );
                    match written {
                        Ok(written) => call.handle_written(written, (self.clock)())?,
                        // A rotated refresh token: the call waits and writes again.
                        Err(_) if call.handle_write_failed((self.clock)()) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Step::Wait(duration) => {
                    std::thread::sleep(duration);
                    call.handle_waited((self.clock)())?;
                }
                Step::Send(request) => {
                    let fetching = call.fetches_provider_data().then(|| {
                        self.app
                            .cache
                            .fetching
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                    });
                    if fetching.is_some() && call.handle_shared_cache(&self.cache(), (self.clock)())
                    {
                        continue;
                    }
                    match transport::send(&self.app.agent, request) {
                        Ok(response) => call.handle_response(response, (self.clock)())?,
                        Err(e) => {
                            #[cfg(feature = "tracing")]
                            tracing::warn!(host = %e.host, kind = ?e.kind, "request failed: {e}");
                            failed = Some(e);
                            let _ = call.handle_transport_error((self.clock)());
                        }
                    }
                    if fetching.is_some() {
                        self.merge_cache(call.provider_cache());
                    }
                }
                _ => {
                    return Err(
                        logto_proto::Error::Usage("a step this driver does not know").into(),
                    )
                }
            }
        }
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
