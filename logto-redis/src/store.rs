//! The store: connections, scripts, and each operation once (blocking; the async store runs
//! these on a blocking thread pool).

use crate::Error;
use logto_proto::adapter::{logout_index_keys, read_session};
use logto_proto::{LogoutTarget, StorageError};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Compare-and-swap with the logout index, atomically on the server.
///
/// A session is a hash: `v`, the value, and `t`, the logout targets it is indexed under
/// (newline-separated), so that the script can take it out of the sets of the value it
/// replaces, and so that ending a target's sessions deletes only those that still name it.
///
/// `KEYS[1]`: the session. `ARGV[1]`: `any` (no comparison), `absent` or `equal` (to
/// `ARGV[2]`); `ARGV[3]`: `set` (`ARGV[4]`, for `ARGV[5]` seconds, under the targets
/// `ARGV[7]`) or `delete`; `ARGV[6]`: the index key prefix; `ARGV[8]`: `retry` when the
/// same swap ran before on a connection that dropped before its answer. Returns 1 if it
/// wrote (or, on a retry, finds its write done: the value already the new one, or gone for
/// a delete), 0 if the stored value was not the expected one.
const SWAP: &str = r"
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[8] == 'retry' then
  if (ARGV[3] == 'set' and current == ARGV[4]) or (ARGV[3] == 'delete' and not current) then
    return 1
  end
end
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif ARGV[1] == 'equal' then
  if current ~= ARGV[2] then return 0 end
end
local old = redis.call('HGET', KEYS[1], 't')
if old then
  for target in string.gmatch(old, '[^\n]+') do
    redis.call('SREM', ARGV[6] .. target, KEYS[1])
  end
end
redis.call('DEL', KEYS[1])
if ARGV[3] == 'set' then
  redis.call('HSET', KEYS[1], 'v', ARGV[4], 't', ARGV[7])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  for target in string.gmatch(ARGV[7], '[^\n]+') do
    redis.call('SADD', ARGV[6] .. target, KEYS[1])
    redis.call('EXPIRE', ARGV[6] .. target, ARGV[5])
  end
end
return 1
";

/// Ends the sessions of a logout target: for each index set `KEYS[i]` (i from 1 to
/// `#ARGV - 1`), deletes the sessions in it that still name index key `ARGV[i + 1]`, and
/// the set. With one key more, `KEYS[#KEYS]`, first records that key for `ARGV[1]` seconds
/// unless it is recorded already (a replay: returns -1, nothing ended). Returns how many
/// sessions ended.
const END_SESSIONS: &str = r"
local sets = #ARGV - 1
if #KEYS > sets and not redis.call('SET', KEYS[#KEYS], 1, 'NX', 'EX', ARGV[1]) then
  return -1
end
local ended = 0
for i = 1, sets do
  for _, session in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    local targets = redis.call('HGET', session, 't')
    if targets and string.find('\n' .. targets .. '\n', '\n' .. ARGV[i + 1] .. '\n', 1, true) then
      ended = ended + redis.call('DEL', session)
    end
  end
  redis.call('DEL', KEYS[i])
end
return ended
";

/// A Redis session store: cheap to clone (one reference count), shared by every client and
/// request of an app. See the [crate docs](crate) for what it guarantees.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: r2d2::Pool<Connector>,
    prefix: String,
    session_ttl: Duration,
    pending_ttl: Duration,
    /// The server, without credentials (for `Debug` and errors).
    address: String,
    swap: redis::Script,
    end_sessions: redis::Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("address", &self.inner.address)
            .field("prefix", &self.inner.prefix)
            .field("session_ttl", &self.inner.session_ttl)
            .field("pending_ttl", &self.inner.pending_ttl)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisStore`]; see [`RedisStore::builder`].
#[must_use]
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    session_ttl: Duration,
    pending_ttl: Duration,
    pool_size: u32,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    // The URL may hold a password: only the server is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("address", &logto_proto::redact_url(&self.url))
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Prepended to every key (default `logto-rs:`), so that several apps share one Redis.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a signed-in session lives after its last write (default 7 days). Sessions
    /// write whenever a token is refreshed, so an active one lives on.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How long a session that never signed in (a sign-in under way) lives (default 10
    /// minutes, the core's limit for a sign-in anyway).
    pub fn pending_ttl(mut self, ttl: Duration) -> Self {
        self.pending_ttl = ttl;
        self
    }

    /// How many connections are kept open at most (default 16); more concurrent commands
    /// wait for one, up to the connect timeout.
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long connecting, or waiting for a pooled connection, may take (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one command may take to be written or answered (default 2 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The store. Fails only on an invalid URL or setting: the server is connected to when
    /// first used, so an app can start while Redis is still coming up.
    pub fn build(self) -> Result<RedisStore, Error> {
        let address = logto_proto::redact_url(&self.url);
        let client = redis::Client::open(self.url.as_str()).map_err(|e| Error::InvalidUrl {
            url: address.clone(),
            reason: e.to_string(),
        })?;
        for (name, value) in [
            ("session_ttl", self.session_ttl),
            ("pending_ttl", self.pending_ttl),
            ("connect_timeout", self.connect_timeout),
            ("command_timeout", self.command_timeout),
        ] {
            // Redis counts TTLs in whole seconds; a zero timeout would mean none at all.
            if value.is_zero() || (name.ends_with("ttl") && value.as_secs() == 0) {
                return Err(Error::InvalidSetting { name, value });
            }
        }
        let connector = Connector {
            client,
            connect_timeout: self.connect_timeout,
            command_timeout: self.command_timeout,
        };
        let pool = r2d2::Pool::builder()
            .max_size(self.pool_size)
            // Connections are made when needed: nothing is connected before first use.
            .min_idle(Some(0))
            .connection_timeout(self.connect_timeout)
            // A checkout costs no PING: a connection the server closed fails its command,
            // and the command runs again on a new one (`with_connection`).
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(connector);
        Ok(RedisStore {
            inner: Arc::new(Inner {
                pool,
                prefix: self.prefix,
                session_ttl: self.session_ttl,
                pending_ttl: self.pending_ttl,
                address,
                swap: redis::Script::new(SWAP),
                end_sessions: redis::Script::new(END_SESSIONS),
            }),
        })
    }
}

impl RedisStore {
    /// A store at `url` (`redis://[:password@]host:port/db`, or `redis+unix:///path`) with
    /// the defaults.
    pub fn open(url: &str) -> Result<RedisStore, Error> {
        RedisStore::builder(url).build()
    }

    /// A builder for a store at `url`.
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: "logto-rs:".to_owned(),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            pending_ttl: Duration::from_secs(600),
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
        }
    }

    /// The value under `key`, if any.
    pub fn get_value(&self, key: &str) -> Result<Option<String>, StorageError> {
        let full = self.key(key);
        self.with_connection(key, Retry::Yes, |conn, _| {
            redis::cmd("HGET").arg(&full).arg("v").query(conn)
        })
    }

    /// Writes `new` (`None`: deletes) under `key` if the stored value is `expected`
    /// (`Some(None)`: absent), or whatever it is (`None`), in one step on the server; the
    /// session's logout index follows. Returns whether it wrote.
    pub fn swap(
        &self,
        key: &str,
        expected: Option<Option<&str>>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        let full = self.key(key);
        let (pending, targets) = new.map(session_kind).unwrap_or((true, Vec::new()));
        let ttl = match pending {
            false => self.inner.session_ttl,
            true => self.inner.pending_ttl,
        };
        let (mode, compared) = match expected {
            None => ("any", ""),
            Some(None) => ("absent", ""),
            Some(Some(value)) => ("equal", value),
        };
        // Retried on a dropped connection, when the first run may have written: the retry
        // says so, and counts its own write found done as written (a session's values are
        // unique: a snapshot carries random ids and times), instead of answering "conflict"
        // and making the caller undo what it did.
        let written: i64 = self.with_connection(key, Retry::Yes, |conn, attempt| {
            self.inner
                .swap
                .key(&full)
                .arg(mode)
                .arg(compared)
                .arg(if new.is_some() { "set" } else { "delete" })
                .arg(new.unwrap_or_default())
                .arg(ttl.as_secs().max(1))
                .arg(self.index_prefix())
                .arg(targets.join("\n"))
                .arg(if attempt > 0 { "retry" } else { "first" })
                .invoke(conn)
        })?;
        Ok(written == 1)
    }

    /// Deletes every session indexed under `target` (every instance's), and returns how
    /// many there were.
    pub fn end_sessions(&self, target: &LogoutTarget) -> Result<usize, StorageError> {
        let ended = self.run_end_sessions(target, None, Retry::Yes)?;
        Ok(usize::try_from(ended).unwrap_or(0))
    }

    /// What back-channel logout does with a verified logout token, in one step on the
    /// server: unless `replay_key` is recorded already, records it for `ttl` and deletes
    /// every session indexed under `target`. Returns how many sessions ended, or `None` for
    /// a replay (nothing ended).
    pub fn end_sessions_once(
        &self,
        target: &LogoutTarget,
        replay_key: &str,
        ttl: Duration,
    ) -> Result<Option<usize>, StorageError> {
        // Not retried on a dropped connection: had the script run, a second run would take
        // the token for a replay.
        let once = (self.once_key(replay_key), ttl);
        let ended = self.run_end_sessions(target, Some(once), Retry::No)?;
        Ok(usize::try_from(ended).ok())
    }

    /// Runs [`END_SESSIONS`] over every index key of `target`, recording `once` first if
    /// given.
    fn run_end_sessions(
        &self,
        target: &LogoutTarget,
        once: Option<(String, Duration)>,
        retry: Retry,
    ) -> Result<i64, StorageError> {
        let index_keys = target.index_keys();
        let first_set = self.index_prefix() + index_keys.first().map_or("", String::as_str);
        self.with_connection(&first_set, retry, |conn, _| {
            let mut invocation = self.inner.end_sessions.prepare_invoke();
            let ttl = once.as_ref().map_or(1, |(_, ttl)| ttl.as_secs().max(1));
            invocation.arg(ttl);
            for index_key in &index_keys {
                invocation
                    .key(self.index_prefix() + index_key)
                    .arg(index_key);
            }
            if let Some((once_key, _)) = &once {
                invocation.key(once_key);
            }
            invocation.invoke(conn)
        })
    }

    /// Records `key` for `ttl` unless it is recorded already; returns whether this call
    /// recorded it (false: seen before).
    pub fn insert_once(&self, key: &str, ttl: Duration) -> Result<bool, StorageError> {
        let full = self.once_key(key);
        let reply: Option<String> = self.with_connection(key, Retry::No, |conn, _| {
            redis::cmd("SET")
                .arg(&full)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query(conn)
        })?;
        Ok(reply.is_some())
    }

    /// The server's remaining lifetime of `key`'s value, if it has one (for tests and
    /// diagnostics).
    pub fn ttl(&self, key: &str) -> Result<Option<Duration>, StorageError> {
        let full = self.key(key);
        let seconds: i64 = self.with_connection(key, Retry::Yes, |conn, _| {
            redis::cmd("TTL").arg(&full).query(conn)
        })?;
        Ok(u64::try_from(seconds).ok().map(Duration::from_secs))
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    fn index_prefix(&self) -> String {
        format!("{}index:", self.inner.prefix)
    }

    fn once_key(&self, key: &str) -> String {
        format!("{}once:{key}", self.inner.prefix)
    }

    /// Runs `command` on a pooled connection. A connection the server closed since it was
    /// pooled (a restart) fails at once and is dropped by the pool; a command that may run
    /// twice ([`Retry::Yes`]) then runs on the next one, at most once per pooled connection
    /// plus a new one. `command` gets the attempt's number (0 for the first).
    fn with_connection<T>(
        &self,
        key: &str,
        retry: Retry,
        command: impl Fn(&mut redis::Connection, u32) -> redis::RedisResult<T>,
    ) -> Result<T, StorageError> {
        let attempts = match retry {
            Retry::Yes => self.inner.pool.max_size() + 1,
            Retry::No => 1,
        };
        let mut last = None;
        for attempt in 0..attempts {
            let mut conn = self
                .inner
                .pool
                .get()
                .map_err(|e| StorageError::unavailable(key, self.describe(&e.to_string())))?;
            match command(&mut conn, attempt) {
                Ok(value) => return Ok(value),
                Err(e) if e.is_connection_dropped() && !e.is_timeout() => last = Some(e),
                Err(e) => return Err(self.storage_error(key, &e)),
            }
        }
        let e = last.map_or_else(|| "no connection".to_owned(), |e| e.to_string());
        Err(StorageError::unavailable(key, self.describe(&e)))
    }

    fn storage_error(&self, key: &str, e: &redis::RedisError) -> StorageError {
        use redis::{ErrorKind, ServerErrorKind};
        // A server loading its data after a restart, or a replica or failover answering,
        // will answer again shortly: unavailable, like one that cannot be reached.
        let passing = matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
            )
        );
        let unreachable = passing
            || e.is_io_error()
            || e.is_timeout()
            || e.is_connection_refusal()
            || e.is_connection_dropped();
        let message = self.describe(&e.to_string());
        match unreachable {
            true => StorageError::unavailable(key, message),
            false => StorageError::backend(key, message),
        }
    }

    fn describe(&self, error: &str) -> String {
        format!("redis at {}: {error}", self.inner.address)
    }
}

/// Whether a command may run twice (it is idempotent, or a second run is harmless).
#[derive(Clone, Copy)]
enum Retry {
    Yes,
    No,
}

/// What a stored value is, from one parse: whether it is a session that never signed in
/// (short-lived), and the logout index keys it is listed under (none unless signed in). A
/// value that is not a snapshot counts as signed in, with no index keys. A key with a line
/// break (never Logto's) is left out: the script keeps them one per line.
fn session_kind(value: &str) -> (bool, Vec<String>) {
    match read_session(Some(value)) {
        Ok(snapshot) => {
            let targets = logout_index_keys(&snapshot)
                .into_iter()
                .filter(|index_key| !index_key.contains('\n'))
                .collect();
            (!snapshot.is_authenticated(), targets)
        }
        Err(_) => (false, Vec::new()),
    }
}

/// Makes the pool's connections: with a connect timeout, and read and write timeouts on
/// every command.
struct Connector {
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
