//! The store: settings, scripts, and each operation's command once; `blocking` and `aio`
//! run them on their connections.

use crate::Error;
use logto_proto::resource::LogoutTarget;
use logto_proto::StorageError;
use logto_store::{Expected, StoredSession};
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
/// a delete), 0 if the stored value was not the expected one. A retried delete that finds
/// the key gone counts as done even if another writer deleted it: either way the key is
/// gone, which is what the delete wanted.
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
/// `#ARGV - 1`), deletes the sessions in it that still name index key `ARGV[i + 1]`, takes
/// each out of the other index sets it is listed in (the prefix is `KEYS[i]` without its
/// index key), and deletes the set. With one key more, `KEYS[#KEYS]`, first records that
/// key for `ARGV[1]` seconds unless it is recorded already (a replay: returns -1, nothing
/// ended). Returns how many sessions ended.
const END_SESSIONS: &str = r"
local sets = #ARGV - 1
if #KEYS > sets and not redis.call('SET', KEYS[#KEYS], 1, 'NX', 'EX', ARGV[1]) then
  return -1
end
local ended = 0
for i = 1, sets do
  local prefix = string.sub(KEYS[i], 1, #KEYS[i] - #ARGV[i + 1])
  for _, session in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    local targets = redis.call('HGET', session, 't')
    if targets and string.find('\n' .. targets .. '\n', '\n' .. ARGV[i + 1] .. '\n', 1, true) then
      for target in string.gmatch(targets, '[^\n]+') do
        redis.call('SREM', prefix .. target, session)
      end
      ended = ended + redis.call('DEL', session)
    end
  end
  redis.call('DEL', KEYS[i])
end
return ended
";

/// How long the async side answers a read from its local copy at most, by default.
pub const DEFAULT_LOCAL_COPY_TTL: Duration = Duration::from_secs(1);

/// A Redis session store: cheap to clone (one reference count), shared by every client and
/// request of an app. A [`Storage`](logto_store::Storage) and
/// [`SessionStore`](logto_store::SessionStore) on pooled blocking connections (feature
/// `blocking`), an [`AsyncStorage`](logto_store::AsyncStorage) and
/// [`AsyncSessionStore`](logto_store::AsyncSessionStore) on one multiplexed tokio
/// connection (feature `tokio`). See the [crate docs](crate) for what it guarantees.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    #[cfg(feature = "blocking")]
    pub(crate) pool: r2d2::Pool<crate::blocking::Connector>,
    #[cfg(feature = "tokio")]
    pub(crate) multiplexed: crate::aio::Multiplexed,
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
    /// Read by the blocking side only.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pool_size: u32,
    connect_timeout: Duration,
    command_timeout: Duration,
    /// Read by the async side only.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    local_copy_ttl: Option<Duration>,
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

    /// How many connections the blocking side keeps open at most (default 16); more
    /// concurrent commands wait for one, up to the connect timeout. The async side
    /// multiplexes every command over one connection.
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

    /// How long the async side may answer a read from its own copy of a session, which
    /// Redis invalidates (default 1 s; `None`: every read asks Redis). See the crate docs,
    /// "A local copy that Redis invalidates": a write elsewhere reaches this process's
    /// reads as soon as Redis's invalidation arrives (on the open connection, within
    /// milliseconds), and in any case within this time. Needs Redis 6 or later (RESP3).
    pub fn local_copy_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.local_copy_ttl = ttl.filter(|ttl| !ttl.is_zero());
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
        #[cfg(feature = "tokio")]
        let multiplexed = crate::aio::Multiplexed::new(
            client.clone(),
            self.connect_timeout,
            self.command_timeout,
            self.local_copy_ttl,
        )
        .map_err(|e| Error::InvalidUrl {
            url: address.clone(),
            reason: e.to_string(),
        })?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                #[cfg(feature = "blocking")]
                pool: crate::blocking::pool(
                    client.clone(),
                    self.pool_size,
                    self.connect_timeout,
                    self.command_timeout,
                ),
                #[cfg(feature = "tokio")]
                multiplexed,
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
            local_copy_ttl: Some(DEFAULT_LOCAL_COPY_TTL),
        }
    }

    /// The command reading the value under `key`.
    pub(crate) fn get_command(&self, key: &str) -> Command<'_> {
        let mut command = redis::cmd("HGET");
        command.arg(self.key(key)).arg("v");
        Command::Plain(command)
    }

    /// The command of a compare-and-swap of `key` (see [`SWAP`]); the session's logout
    /// index follows the value. `attempt` is the run's number: a run after a connection
    /// dropped before its answer (attempt > 0) counts its own write found done as written
    /// (a session's values are unique: a snapshot carries random ids and times), instead
    /// of answering "conflict" and making the caller undo what it did.
    pub(crate) fn swap_command(
        &self,
        key: &str,
        expected: Expected<'_>,
        new: Option<&str>,
        attempt: u32,
    ) -> Command<'_> {
        let stored = new.map(StoredSession::of).unwrap_or_default();
        let ttl = match stored.signed_in {
            true => self.inner.session_ttl,
            false => self.inner.pending_ttl,
        };
        // The script keeps the index keys one per line: a key with a line break (never
        // Logto's) is left out.
        let index_keys: Vec<&str> = (stored.index_keys.iter())
            .map(String::as_str)
            .filter(|index_key| !index_key.contains('\n'))
            .collect();
        let (mode, compared) = match expected {
            Expected::Any => ("any", ""),
            Expected::Absent => ("absent", ""),
            Expected::Value(value) => ("equal", value),
        };
        let mut invocation = self.inner.swap.prepare_invoke();
        invocation
            .key(self.key(key))
            .arg(mode)
            .arg(compared)
            .arg(if new.is_some() { "set" } else { "delete" })
            .arg(new.unwrap_or_default())
            .arg(ttl.as_secs().max(1))
            .arg(self.index_prefix())
            .arg(index_keys.join("\n"))
            .arg(if attempt > 0 { "retry" } else { "first" });
        Command::Script(invocation)
    }

    /// The command ending the sessions listed under any of `target`'s index keys (see
    /// [`END_SESSIONS`]), recording `once` (the replay key and how long) first if given.
    pub(crate) fn end_sessions_command(
        &self,
        target: &LogoutTarget,
        once: Option<(&str, Duration)>,
    ) -> Command<'_> {
        let mut invocation = self.inner.end_sessions.prepare_invoke();
        invocation.arg(once.map_or(1, |(_, ttl)| ttl.as_secs().max(1)));
        for index_key in target.index_keys() {
            invocation
                .key(self.index_prefix() + &index_key)
                .arg(index_key);
        }
        if let Some((replay_key, _)) = once {
            invocation.key(format!("{}once:{replay_key}", self.inner.prefix));
        }
        Command::Script(invocation)
    }

    /// The key of the first index set `target` names (what errors about it mention).
    pub(crate) fn index_key_of(&self, target: &LogoutTarget) -> String {
        let first = target.index_keys().into_iter().next().unwrap_or_default();
        self.index_prefix() + &first
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    /// What every key of this store starts with.
    #[cfg(feature = "blocking")]
    pub(crate) fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    fn index_prefix(&self) -> String {
        format!("{}index:", self.inner.prefix)
    }

    /// The [`StorageError`] of a failed command on `key`: unavailable when the server
    /// cannot answer now, a backend error otherwise. The message names the server without
    /// credentials.
    pub(crate) fn storage_error(&self, key: &str, e: &redis::RedisError) -> StorageError {
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

    pub(crate) fn describe(&self, error: &str) -> String {
        format!("redis at {}: {error}", self.inner.address)
    }
}

/// One command, run by either side: a plain command or a script invocation.
pub(crate) enum Command<'s> {
    Plain(redis::Cmd),
    Script(redis::ScriptInvocation<'s>),
}

/// Whether a command may run twice (it is idempotent, or a second run is harmless).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    Yes,
    No,
}

/// Whether a failed attempt may be followed by another: the connection dropped (a server
/// restart, or a connection it closed while idle) and the command may run twice. A timeout
/// is not retried: the server may be overloaded.
pub(crate) fn retryable(e: &redis::RedisError, retry: Retry) -> bool {
    retry == Retry::Yes && e.is_connection_dropped() && !e.is_timeout()
}
