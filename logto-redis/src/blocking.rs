//! The blocking side: pooled connections with socket timeouts, for blocking drivers.

use crate::store::{retryable, Command, Retry};
use crate::RedisStore;
use logto_proto::resource::LogoutTarget;
use logto_proto::StorageError;
use logto_store::{Expected, SessionStore, Storage};
use std::time::Duration;

/// The pool of blocking connections: made when first needed (nothing connects before first
/// use, so an app can start while Redis is still coming up).
pub(crate) fn pool(
    client: redis::Client,
    size: u32,
    connect_timeout: Duration,
    command_timeout: Duration,
) -> r2d2::Pool<Connector> {
    let connector = Connector {
        client,
        connect_timeout,
        command_timeout,
    };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(connect_timeout)
        // A checkout costs no PING: a connection the server closed fails its command, and
        // the command runs again on a new one (`run`).
        .test_on_check_out(false)
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(connector)
}

impl RedisStore {
    /// Runs the command `make` builds for each attempt on a pooled connection. A
    /// connection the server closed since it was pooled (a restart) fails at once and is
    /// dropped by the pool; a command that may run twice ([`Retry::Yes`]) then runs on the
    /// next one, at most once per pooled connection plus a new one.
    fn run<'s, T: redis::FromRedisValue>(
        &'s self,
        key: &str,
        retry: Retry,
        make: impl Fn(u32) -> Command<'s>,
    ) -> Result<T, StorageError> {
        let pool = &self.inner.pool;
        let attempts = match retry {
            Retry::Yes => pool.max_size() + 1,
            Retry::No => 1,
        };
        let mut last = None;
        for attempt in 0..attempts {
            let mut conn = pool
                .get()
                .map_err(|e| StorageError::unavailable(key, self.describe(&e.to_string())))?;
            let result = match make(attempt) {
                Command::Plain(command) => command.query(&mut *conn),
                Command::Script(invocation) => invocation.invoke(&mut *conn),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if retryable(&e, retry) => last = Some(e),
                Err(e) => return Err(self.storage_error(key, &e)),
            }
        }
        let e = last.map_or_else(|| "no connection".to_owned(), |e| e.to_string());
        Err(StorageError::unavailable(key, self.describe(&e)))
    }

    /// The server's remaining lifetime of `key`'s value, if it has one (for tests and
    /// diagnostics).
    pub fn ttl(&self, key: &str) -> Result<Option<Duration>, StorageError> {
        let full = format!("{}{key}", self.prefix());
        let seconds: i64 = self.run(key, Retry::Yes, |_| {
            let mut command = redis::cmd("TTL");
            command.arg(&full);
            Command::Plain(command)
        })?;
        Ok(u64::try_from(seconds).ok().map(Duration::from_secs))
    }
}

impl Storage for RedisStore {
    fn get(&self, key: &str) -> Result<Option<String>, StorageError> {
        self.run(key, Retry::Yes, |_| self.get_command(key))
    }

    /// Atomic on the server (one Lua script). Retried after a dropped connection: the
    /// retry counts its own write, found done, as written.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        // The async side's local copy of the key is not trusted for a while, from before
        // the write to after its answer (see `aio`).
        #[cfg(feature = "tokio")]
        self.inner.multiplexed.wrote(key);
        let written: Result<i64, StorageError> = self.run(key, Retry::Yes, |attempt| {
            self.swap_command(key, expected, new, attempt)
        });
        #[cfg(feature = "tokio")]
        self.inner.multiplexed.wrote(key);
        Ok(written? == 1)
    }
}

impl SessionStore for RedisStore {
    fn end_sessions(&self, target: &LogoutTarget) -> Result<usize, StorageError> {
        let index = self.index_key_of(target);
        let ended: i64 = self.run(&index, Retry::Yes, |_| {
            self.end_sessions_command(target, None)
        })?;
        Ok(usize::try_from(ended).unwrap_or(0))
    }

    /// Atomic on the server (one Lua script). Not retried after a dropped connection: had
    /// the script run, a second run would take the token for a replay.
    fn end_sessions_once(
        &self,
        target: &LogoutTarget,
        replay_key: &str,
        ttl: Duration,
    ) -> Result<Option<usize>, StorageError> {
        let index = self.index_key_of(target);
        let ended: i64 = self.run(&index, Retry::No, |_| {
            self.end_sessions_command(target, Some((replay_key, ttl)))
        })?;
        Ok(usize::try_from(ended).ok())
    }
}

/// Makes the pool's connections: with a connect timeout, and read and write timeouts on
/// every command.
pub(crate) struct Connector {
    client: redis::Client,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl r2d2::ManageConnection for Connector {
    type Connection = redis::Connection;
    type Error = redis::RedisError;

    fn connect(&self) -> Result<redis::Connection, redis::RedisError> {
        let conn = self
            .client
            .get_connection_with_timeout(self.connect_timeout)?;
        conn.set_read_timeout(Some(self.command_timeout))?;
        conn.set_write_timeout(Some(self.command_timeout))?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut redis::Connection) -> Result<(), redis::RedisError> {
        redis::cmd("PING").query(conn)
    }

    fn has_broken(&self, conn: &mut redis::Connection) -> bool {
        !redis::ConnectionLike::is_open(conn)
    }
}
