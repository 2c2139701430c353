//! The clients' methods and the driver loop, written once for both modes.
//!
//! Each macro here is expanded twice: in [`blocking`](crate::blocking) with `{} {}`, and in
//! [`aio`](crate::aio) with `{async} {.await}`. A method's text, docs included, is therefore
//! the same in both modes. What differs between the modes is a handful of private helpers
//! each mode writes for itself, with the same names: `read_stored`, `write_stored` (under the
//! session's write lock), `lock_fetching`, `send` (the transport, with the driver's limits)
//! and `pause`.

/// `LogtoClient`: the struct, its `Debug` and its constructors. The type's docs come first.
macro_rules! client_type {
    ($(#[$doc:meta])* storage: $storage:path, transport: $transport:path, lock: $lock:ty) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct LogtoClient {
            session: Session<$lock>,
            storage: Arc<dyn $storage>,
            session_lock: Arc<$lock>,
            transport: Arc<dyn $transport>,
        }

        impl fmt::Debug for LogtoClient {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("LogtoClient")
                    .field("config", self.session.config())
                    .finish_non_exhaustive()
            }
        }

        impl LogtoClient {
            /// A client whose session lives in `storage` and whose requests go through
            /// `transport`.
            pub fn with_transport(
                config: Config,
                storage: impl $storage + 'static,
                transport: impl $transport,
            ) -> Self {
                let cache = shared_cache(&CACHES, config.endpoint());
                LogtoClient {
                    session: Session::new(config, cache),
                    storage: Arc::new(storage),
                    session_lock: Arc::default(),
                    transport: Arc::new(transport),
                }
            }

            /// A client for another session (its own storage and refresh lock) sharing this
            /// client's configuration, transport and provider cache. Cheap enough for every
            /// request: a few reference counts, no I/O and no OS randomness.
            pub fn for_session(&self, storage: impl $storage + 'static) -> Self {
                LogtoClient {
                    session: self.session.another(),
                    storage: Arc::new(storage),
                    session_lock: Arc::default(),
                    transport: self.transport.clone(),
                }
            }

            /// Replaces the clock (for tests).
            #[must_use]
            pub fn with_clock(
                mut self,
                clock: impl Fn() -> UnixTime + Send + Sync + 'static,
            ) -> Self {
                self.session.set_clock(Arc::new(clock) as Clock);
                self
            }

            /// Replaces the random source (for tests).
            #[must_use]
            pub fn with_entropy(
                mut self,
                entropy: impl Fn(&mut [u8]) -> Result<(), String> + Send + Sync + 'static,
            ) -> Self {
                self.session.set_entropy(Arc::new(entropy) as Entropy);
                self
            }
        }
    };
}

/// `MachineClient`: the struct, its docs, its `Debug` and its constructor.
macro_rules! machine_type {
    (lock: $lock:ty) => {
        /// A machine-to-machine client (a Logto "Machine-to-machine" app: client credentials
        /// with its secret). Tokens are cached per target (resource, organization, scopes)
        /// until they near expiry (the config's expiry leeway), concurrent calls needing a
        /// token fetch it once, and [`invalidate`](Self::invalidate) drops a token the API
        /// refused (401) so that the next call fetches a new one. Cheap to clone; clones
        /// share the cache.
        #[derive(Clone)]
        pub struct MachineClient {
            client: LogtoClient,
            tokens: Arc<RwLock<MachineTokens>>,
            fetching: Arc<$lock>,
        }

        impl fmt::Debug for MachineClient {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("MachineClient")
                    .field("config", self.client.config())
                    .finish_non_exhaustive()
            }
        }

        impl MachineClient {
            /// A machine client sending its requests with `client` (its transport, clock and
            /// config).
            pub fn with_client(client: impl Into<LogtoClient>) -> MachineClient {
                MachineClient {
                    client: client.into(),
                    tokens: Arc::default(),
                    fetching: Arc::default(),
                }
            }
        }
    };
}

/// `ApiValidator`: the struct, its docs and its `Debug`.
macro_rules! validator_type {
    () => {
        /// Protects an API: verifies the bearer tokens presented to it (signature with the
        /// provider's keys, `typ`, `iss`, `exp`, `nbf`, `iat`) and checks what each route
        /// requires ([`Requirement`]: audience, organization, scopes).
        ///
        /// - Keys: fetched when first needed and shared with every client of the endpoint;
        ///   a token signed with a key published since is accepted on its first
        ///   presentation (one JWKS request), while made-up `kid`s cost at most one JWKS
        ///   request per
        ///   [`jwks_refetch_cooldown`](logto_proto::ConfigBuilder::jwks_refetch_cooldown),
        ///   and concurrent verifications never fetch the same JWKS twice.
        /// - Verified tokens are cached (by SHA-256 of the token, until its `exp`, at most
        ///   [`DEFAULT_VERIFIED_CACHE`](crate::DEFAULT_VERIFIED_CACHE) entries;
        ///   [`with_cache`](Self::with_cache) sets the size, 0 turns it off), so a token
        ///   presented again is not verified again. The route's requirement is checked on
        ///   every request.
        ///
        /// Errors are [`Error::Protocol`] with an
        /// [`AccessTokenError`](logto_proto::errors::AccessTokenError): answer with its
        /// `http_status()` and `www_authenticate()` (RFC 6750).
        #[derive(Clone)]
        pub struct ApiValidator {
            client: LogtoClient,
            verified: Arc<VerifiedTokenCache>,
        }

        impl fmt::Debug for ApiValidator {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("ApiValidator")
                    .field("endpoint", &self.client.config().endpoint())
                    .finish_non_exhaustive()
            }
        }
    };
}

mod client;
mod services;

pub(crate) use client::client_methods;
pub(crate) use services::{machine_methods, validator_methods};
pub(crate) use {client_type, machine_type, validator_type};
