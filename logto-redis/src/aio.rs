//! The async side: every command multiplexed over one connection of redis-rs's tokio
//! `ConnectionManager`, which reconnects after a failure, with a local copy of what it
//! read that Redis invalidates (RESP3 client tracking).

use crate::store::{retryable, Command, Retry};
use crate::RedisStore;
use logto_proto::resource::LogoutTarget;
use logto_proto::StorageError;
use logto_store::{AsyncSessionStore, AsyncStorage, Expected, StorageFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::caching::{CacheConfig, CacheMode};
use redis::{CommandCacheConfig, ProtocolVersion};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

/// How many times a command that may run twice is tried: the first run, and runs on the
/// connection made again after the server closed the previous one (a restart).
const ATTEMPTS_AFTER_DROPS: u32 = 3;

/// How long the manager waits before making a connection again, at least and at most.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(20);
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// How many sessions the local copy holds at most (the least recently used goes).
const LOCAL_COPY_SESSIONS: usize = 10_000;

/// How long after this process wrote a key its reads go to Redis, not to the local copy:
/// Redis may send the invalidation of our own write just after the write's answer, and a
/// read in between must still see the write.
const OWN_WRITE_WINDOW: Duration = Duration::from_secs(1);

/// Beyond this many recent writes remembered, the expired ones are dropped, at most once
/// per [`OWN_WRITE_WINDOW`] (so that a burst of writes does not scan the map on each).
const OWN_WRITES_PRUNE_AT: usize = 1024;

/// The multiplexed connection, made on first use: the manager spawns its task on the tokio
/// runtime it is made in, so it is made from inside one, not when the store is built.
pub(crate) struct Multiplexed {
    client: redis::Client,
    config: ConnectionManagerConfig,
    manager: OnceLock<ConnectionManager>,
    /// Whether reads may be answered from the local copy.
    local_copy: bool,
    /// The keys this process wrote lately, and when: read from Redis for a while.
    own_writes: RwLock<OwnWrites>,
}

/// The keys this process wrote lately.
#[derive(Default)]
struct OwnWrites {
    /// Each key, with when it was last written.
    keys: HashMap<String, Instant>,
    /// When the expired keys were last dropped.
    last_prune: Option<Instant>,
}

impl Multiplexed {
    pub(crate) fn new(
        client: redis::Client,
        connect_timeout: Duration,
        command_timeout: Duration,
        local_copy_ttl: Option<Duration>,
    ) -> redis::RedisResult<Multiplexed> {
        let mut config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout))
            // One quick try per failure: an outage is reported (503) rather than waited
            // out, and the next command tries again.
            .set_number_of_retries(1)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let mut client = client;
        if let Some(ttl) = local_copy_ttl {
            // Server-assisted client-side caching: Redis tracks the keys this connection
            // read and pushes their invalidation when anyone writes them; a copy is also
            // dropped after `ttl`, the bound should an invalidation not arrive. A new
            // connection (after a failure) starts with an empty copy.
            let size = NonZeroUsize::new(LOCAL_COPY_SESSIONS).unwrap_or(NonZeroUsize::MIN);
            config = config.set_cache_config(
                CacheConfig::new()
                    .set_mode(CacheMode::OptIn)
                    .set_size(size)
                    .set_default_client_ttl(ttl),
            );
            client = with_resp3(client)?;
        }
        Ok(Multiplexed {
            client,
            config,
            manager: OnceLock::new(),
            local_copy: local_copy_ttl.is_some(),
            own_writes: RwLock::default(),
        })
    }

    /// Whether a read of `key` may be answered from the local copy: copies are on, and
    /// this process did not write the key within [`OWN_WRITE_WINDOW`].
    fn may_read_locally(&self, key: &str) -> bool {
        if !self.local_copy {
            return false;
        }
        let own_writes = self.own_writes.read().unwrap_or_else(|p| p.into_inner());
        own_writes
            .keys
            .get(key)
            .is_none_or(|written| written.elapsed() >= OWN_WRITE_WINDOW)
    }

    /// Remembers that this process wrote (or tried to write) `key` now.
    pub(crate) fn wrote(&self, key: &str) {
        if !self.local_copy {
            return;
        }
        let mut own_writes = self.own_writes.write().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let pruned_long_ago = own_writes
            .last_prune
            .is_none_or(|pruned| now.duration_since(pruned) >= OWN_WRITE_WINDOW);
        if own_writes.keys.len() >= OWN_WRITES_PRUNE_AT && pruned_long_ago {
            own_writes
                .keys
                .retain(|_, written| now.duration_since(*written) < OWN_WRITE_WINDOW);
            own_writes.last_prune = Some(now);
        }
        own_writes.keys.insert(key.to_owned(), now);
    }

    /// How many reads the local copy answered so far (for tests and diagnostics).
    pub(crate) fn local_hits(&self) -> usize {
        self.manager
            .get()
            .and_then(ConnectionManager::get_cache_statistics)
            .map_or(0, |statistics| statistics.hit)
    }

    /// The connection manager (a cheap clone), made now if this is the first use. Every
    /// use needs a tokio runtime (the connection's timeouts and reconnection run on it):
    /// without one, an error rather than redis-rs's panic.
    fn manager(&self) -> Result<ConnectionManager, String> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err("the async RedisStore runs on a tokio runtime, and none is running".into());
        }
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let manager =
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                .map_err(|e| e.to_string())?;
        Ok(self.manager.get_or_init(|| manager).clone())
    }
}

impl RedisStore {
    /// Runs the command `make` builds for each attempt on the multiplexed connection. When
    /// the server closed it (a restart), the manager connects again and a command that
    /// may run twice ([`Retry::Yes`]) runs on the new connection: the caller never sees
    /// the stale one.
    async fn run_async<'s, T: redis::FromRedisValue>(
        &'s self,
        key: &str,
        retry: Retry,
        make: impl Fn(u32) -> Command<'s> + Send,
    ) -> Result<T, StorageError> {
        let mut conn = self
            .inner
            .multiplexed
            .manager()
            .map_err(|e| StorageError::backend(key, self.describe(&e)))?;
        let attempts = match retry {
            Retry::Yes => ATTEMPTS_AFTER_DROPS,
            Retry::No => 1,
        };
        let mut attempt = 0;
        loop {
            let result = match make(attempt) {
                Command::Plain(command) => command.query_async(&mut conn).await,
                Command::Script(invocation) => invocation.invoke_async(&mut conn).await,
            };
            attempt += 1;
            match result {
                Ok(value) => return Ok(value),
                Err(e) if attempt < attempts && retryable(&e, retry) => {}
                Err(e) => return Err(self.storage_error(key, &e)),
            }
        }
    }

    /// How many reads of the async side its local copy answered, without asking Redis
    /// (for tests and diagnostics; 0 when the copy is off).
    pub fn local_copy_hits(&self) -> usize {
        self.inner.multiplexed.local_hits()
    }
}

impl AsyncStorage for RedisStore {
    /// From the local copy when this process holds one that Redis has not invalidated
    /// (see [`RedisStoreBuilder::local_copy_ttl`](crate::RedisStoreBuilder::local_copy_ttl)).
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        let local = self.inner.multiplexed.may_read_locally(key);
        Box::pin(self.run_async(key, Retry::Yes, move |_| {
            let mut command = self.get_command(key);
            if let Command::Plain(read) = &mut command {
                read.set_cache_config(CommandCacheConfig::new().set_enable_cache(local));
            }
            command
        }))
    }

    /// Atomic on the server (one Lua script). Retried after a dropped connection: the
    /// retry counts its own write, found done, as written.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Expected<'a>,
        new: Option<&'a str>,
    ) -> StorageFuture<'a, bool> {
        Box::pin(async move {
            // Whatever the outcome, the local copy of the key is not trusted for a while:
            // a write changed it, or a conflict showed it stale.
            self.inner.multiplexed.wrote(key);
            let written: Result<i64, StorageError> = self
                .run_async(key, Retry::Yes, move |attempt| {
                    self.swap_command(key, expected, new, attempt)
                })
                .await;
            // Counted again from the answer: a slow write must not shorten the window.
            self.inner.multiplexed.wrote(key);
            Ok(written? == 1)
        })
    }
}

impl AsyncSessionStore for RedisStore {
    fn end_sessions<'a>(&'a self, target: &'a LogoutTarget) -> StorageFuture<'a, usize> {
        Box::pin(async move {
            let index = self.index_key_of(target);
            let ended: i64 = self
                .run_async(&index, Retry::Yes, move |_| {
                    self.end_sessions_command(target, None)
                })
                .await?;
            Ok(usize::try_from(ended).unwrap_or(0))
        })
    }

    /// Atomic on the server (one Lua script). Not retried after a dropped connection: had
    /// the script run, a second run would take the token for a replay.
    fn end_sessions_once<'a>(
        &'a self,
        target: &'a LogoutTarget,
        replay_key: &'a str,
        ttl: Duration,
    ) -> StorageFuture<'a, Option<usize>> {
        Box::pin(async move {
            let index = self.index_key_of(target);
            let ended: i64 = self
                .run_async(&index, Retry::No, move |_| {
                    self.end_sessions_command(target, Some((replay_key, ttl)))
                })
                .await?;
            Ok(usize::try_from(ended).ok())
        })
    }
}

/// `client` speaking RESP3, which client-side caching needs (its pushes carry the
/// invalidations), whatever protocol its URL named.
fn with_resp3(client: redis::Client) -> redis::RedisResult<redis::Client> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}
