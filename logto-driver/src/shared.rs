//! What a client holds whatever its mode: the app every client of a configuration shares
//! (config, provider cache, lease-holder ids), the session's parsed snapshot, the clock and
//! the random source.

use logto_proto::adapter::{lease_holder, CallInputs, SessionReader};
use logto_proto::adapter::{ProviderCache, SignInEntropy, Snapshot};
use logto_proto::{ClientError as Error, Config, UnixTime};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time (the system clock unless replaced for tests).
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;
/// A source of random bytes (the OS generator unless replaced for tests).
pub type Entropy = Arc<dyn Fn(&mut [u8]) -> Result<(), String> + Send + Sync>;

/// Random bytes a sign-in draws: state, PKCE verifier and nonce.
const SIGN_IN_ENTROPY_LEN: usize = 96;
/// Random bytes of an app's lease-holder prefix.
const HOLDER_PREFIX_LEN: usize = 12;

/// The provider cache of an endpoint, and the lock (of the driver's mode, `F`) that makes
/// its fetches single-flight.
#[derive(Default)]
pub(crate) struct SharedCache<F> {
    cache: RwLock<Arc<ProviderCache>>,
    pub(crate) fetching: F,
}

/// Every endpoint's shared cache in this process, for one mode.
pub(crate) type CacheRegistry<F> = OnceLock<Mutex<HashMap<String, Arc<SharedCache<F>>>>>;

/// The shared cache of `endpoint` in `registry` (created on first use).
pub(crate) fn shared_cache<F: Default>(
    registry: &CacheRegistry<F>,
    endpoint: &str,
) -> Arc<SharedCache<F>> {
    let mut caches = registry
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    caches.entry(endpoint.to_owned()).or_default().clone()
}

/// What every client of one configuration shares: the config and the provider cache
/// (shared by every client of the endpoint in the process).
struct App<F> {
    config: Config,
    cache: Arc<SharedCache<F>>,
    /// Drawn once per app: every client's lease holder is this plus a counter, so that a
    /// client per request costs no OS randomness.
    holder_prefix: Arc<str>,
    sessions: AtomicU64,
}

/// One session's client state, whatever the mode: the app, the last parse of the stored
/// session, the lease-holder id, the clock and the random source.
pub(crate) struct Session<F> {
    app: Arc<App<F>>,
    /// The last parse of the stored session: looked at under the shared lock, replaced
    /// under the exclusive one when the stored text changed.
    reader: Arc<RwLock<SessionReader>>,
    holder: Arc<str>,
    calls: Arc<AtomicU64>,
    clock: Clock,
    entropy: Entropy,
}

// Not derived: `F` (the lock) needs no `Clone` to share it.
impl<F> Clone for Session<F> {
    fn clone(&self) -> Self {
        Session {
            app: self.app.clone(),
            reader: self.reader.clone(),
            holder: self.holder.clone(),
            calls: self.calls.clone(),
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
        }
    }
}

impl<F> Session<F> {
    /// The first session of an app of `config`, on the system clock and the OS generator.
    pub(crate) fn new(config: Config, cache: Arc<SharedCache<F>>) -> Self {
        let app = App {
            cache,
            config,
            holder_prefix: new_holder(&os_entropy),
            sessions: AtomicU64::new(1),
        };
        Session {
            holder: format!("{}.0", app.holder_prefix).into(),
            app: Arc::new(app),
            reader: Arc::default(),
            calls: Arc::default(),
            clock: Arc::new(system_clock),
            entropy: Arc::new(os_entropy),
        }
    }

    /// Another session of the same app: its own parse and lease holder, no I/O and no OS
    /// randomness.
    pub(crate) fn another(&self) -> Self {
        let n = self.app.sessions.fetch_add(1, Ordering::Relaxed);
        Session {
            reader: Arc::default(),
            holder: format!("{}.{n}", self.app.holder_prefix).into(),
            calls: Arc::default(),
            ..self.clone()
        }
    }

    pub(crate) fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    pub(crate) fn set_entropy(&mut self, entropy: Entropy) {
        self.entropy = entropy;
    }

    pub(crate) fn config(&self) -> &Config {
        &self.app.config
    }

    pub(crate) fn now(&self) -> UnixTime {
        (self.clock)()
    }

    pub(crate) fn fetching(&self) -> &F {
        &self.app.cache.fetching
    }

    /// What a core call needs of this client: config, provider cache, holder, call number.
    pub(crate) fn call_inputs(&self) -> CallInputs<'_> {
        CallInputs::new(
            &self.app.config,
            self.cache(),
            &self.holder,
            self.calls.fetch_add(1, Ordering::Relaxed),
        )
    }

    pub(crate) fn sign_in_entropy(&self) -> Result<SignInEntropy, Error> {
        let mut bytes = [0u8; SIGN_IN_ENTROPY_LEN];
        (self.entropy)(&mut bytes).map_err(Error::Random)?;
        Ok(SignInEntropy::from_bytes(bytes))
    }

    pub(crate) fn cache(&self) -> Arc<ProviderCache> {
        self.app
            .cache
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Offers what a call fetched (discovery, keys) to every client of the endpoint.
    pub(crate) fn merge_cache(&self, cache: &ProviderCache) {
        let mut shared = self
            .app
            .cache
            .cache
            .write()
            .unwrap_or_else(|p| p.into_inner());
        Arc::make_mut(&mut shared).merge(cache, self.now());
    }

    /// The reader's parse of `stored` if it has one (a shared lock: the requests of one
    /// session do not wait for each other).
    pub(crate) fn peek(&self, stored: Option<&str>) -> Option<Arc<Snapshot>> {
        let reader = self.reader.read().unwrap_or_else(|p| p.into_inner());
        reader.peek(stored)
    }

    pub(crate) fn reader_mut(&self) -> RwLockWriteGuard<'_, SessionReader> {
        self.reader.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The snapshot of `stored`, parsed once per stored text.
    pub(crate) fn parse(&self, stored: Option<&str>) -> Result<Arc<Snapshot>, Error> {
        if let Some(snapshot) = self.peek(stored) {
            return Ok(snapshot);
        }
        Ok(self.reader_mut().read_shared(stored)?)
    }
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

fn new_holder(entropy: &(dyn Fn(&mut [u8]) -> Result<(), String> + Send + Sync)) -> Arc<str> {
    let mut bytes = [0u8; HOLDER_PREFIX_LEN];
    if entropy(&mut bytes).is_err() {
        // A holder id only separates clients; the address of a fresh allocation will do.
        let marker = Box::new(0u8);
        return format!("h{:p}", marker).into();
    }
    lease_holder(bytes).into()
}
