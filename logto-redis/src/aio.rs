//! The async side: every command multiplexed over one connection of redis-rs's tokio
//! `ConnectionManager`, which reconnects after a failure.

use crate::store::{retryable, Command, Retry};
use crate::RedisStore;
use logto_proto::{LogoutTarget, StorageError};
use logto_store::{AsyncSessionStore, AsyncStorage, Expected, StorageFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::OnceLock;
use std::time::Duration;

/// How many times a command that may run twice is tried: the first run, and runs on the
/// connection made again after the server closed the previous one (a restart).
const ATTEMPTS_AFTER_DROPS: u32 = 3;

/// How long the manager waits before making a connection again, at least and at most.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(20);
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// The multiplexed connection, made on first use: the manager spawns its task on the tokio
/// runtime it is made in, so it is made from inside one, not when the store is built.
pub(crate) struct Multiplexed {
    client: redis::Client,
    config: ConnectionManagerConfig,
    manager: OnceLock<ConnectionManager>,
}

impl Multiplexed {
    pub(crate) fn new(
        client: redis::Client,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Multiplexed {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout))
            // One quick try per failure: an outage is reported (503) rather than waited
            // out, and the next command tries again.
            .set_number_of_retries(1)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        Multiplexed {
            client,
            config,
            manager: OnceLock::new(),
        }
    }

    /// The connection manager (a cheap clone), made now if this is the first use.
    fn manager(&self) -> Result<ConnectionManager, String> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err("the async RedisStore runs on a tokio runtime, and none is running".into());
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
}

impl AsyncStorage for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
        Box::pin(self.run_async(key, Retry::Yes, move |_| self.get_command(key)))
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
            let written: i64 = self
                .run_async(key, Retry::Yes, move |attempt| {
                    self.swap_command(key, expected, new, attempt)
                })
                .await?;
            Ok(written == 1)
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
