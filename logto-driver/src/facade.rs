//! The client types a transport crate (`logto-ureq`, `logto-isahc`, `logto-reqwest`) gives
//! its users, written once: each is the driver's type plus the constructors that take the
//! crate's HTTP client.

/// Declares `LogtoClient`, `MachineClient` and `ApiValidator` in a transport crate: newtypes
/// of the driver's types of `mode` (`blocking` or `aio`) that dereference to them (every
/// method of the driver is theirs), convert into them (for `logto-axum` and any code written
/// against the driver), and add the constructors over the crate's HTTP client.
///
/// `default_client` makes the HTTP client of a config (`|config| -> Result<Client, Error>`),
/// `transport` wraps a client as the mode's transport. The three type docs come from the
/// caller, with examples in its mode.
#[doc(hidden)]
#[macro_export]
macro_rules! __transport_facade {
    (
        mode: $mode:ident,
        storage: $storage:ident,
        http_client: $http:ty,
        default_client: |$config:ident| $default_client:expr,
        transport: |$client:ident| $transport:expr,
        client_docs: { $(#[$client_doc:meta])* },
        machine_docs: { $(#[$machine_doc:meta])* },
        validator_docs: { $(#[$validator_doc:meta])* }
    ) => {
        $(#[$client_doc])*
        #[derive(Clone)]
        pub struct LogtoClient($crate::$mode::LogtoClient);

        impl ::std::fmt::Debug for LogtoClient {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl ::std::ops::Deref for LogtoClient {
            type Target = $crate::$mode::LogtoClient;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::std::convert::From<LogtoClient> for $crate::$mode::LogtoClient {
            fn from(client: LogtoClient) -> Self {
                client.0
            }
        }

        impl LogtoClient {
            /// A client with its own in-memory session store (one session: for a CLI or a
            /// test; a web app makes one per request with [`for_session`](Self::for_session)).
            pub fn new(config: $crate::__private::Config) -> Result<Self, $crate::__private::Error> {
                let store = $crate::__private::MemoryStore::with_limits(
                    $crate::__private::MemoryStoreLimits::keep_signed_in(),
                );
                LogtoClient::with_storage(config, store)
            }

            /// A client whose session lives in `storage`.
            pub fn with_storage(
                config: $crate::__private::Config,
                storage: impl $crate::__private::$storage + 'static,
            ) -> Result<Self, $crate::__private::Error> {
                let client = {
                    let $config = &config;
                    $default_client
                }?;
                Ok(LogtoClient::with_http_client(config, storage, client))
            }

            /// A client that sends its requests with the app's own HTTP client (a proxy,
            /// custom root certificates, client certificates). The config's request timeout
            /// and the body limit apply to every request, and redirects are answers: the
            /// transport turns them off per request where the HTTP client allows it, and
            /// otherwise never replays a request body and refuses an answer a followed
            /// redirect produced (the transport's docs say which).
            pub fn with_http_client(
                config: $crate::__private::Config,
                storage: impl $crate::__private::$storage + 'static,
                client: $http,
            ) -> Self {
                let transport = {
                    let $client = client;
                    $transport
                };
                LogtoClient($crate::$mode::LogtoClient::with_transport(config, storage, transport))
            }

            /// A client for another session (its own storage and refresh lock) sharing this
            /// client's configuration, HTTP client and provider cache. Cheap enough for every
            /// request: a few reference counts, no I/O and no OS randomness.
            pub fn for_session(&self, storage: impl $crate::__private::$storage + 'static) -> Self {
                LogtoClient(self.0.for_session(storage))
            }

            /// Replaces the clock (for tests).
            #[must_use]
            pub fn with_clock(
                self,
                clock: impl Fn() -> $crate::__private::UnixTime + Send + Sync + 'static,
            ) -> Self {
                LogtoClient(self.0.with_clock(clock))
            }

            /// Replaces the random source (for tests).
            #[must_use]
            pub fn with_entropy(
                self,
                entropy: impl Fn(&mut [u8]) -> Result<(), String> + Send + Sync + 'static,
            ) -> Self {
                LogtoClient(self.0.with_entropy(entropy))
            }
        }

        $(#[$machine_doc])*
        #[derive(Clone, Debug)]
        pub struct MachineClient {
            machine: $crate::$mode::MachineClient,
            client: LogtoClient,
        }

        impl ::std::ops::Deref for MachineClient {
            type Target = $crate::$mode::MachineClient;

            fn deref(&self) -> &Self::Target {
                &self.machine
            }
        }

        impl ::std::convert::From<MachineClient> for $crate::$mode::MachineClient {
            fn from(machine: MachineClient) -> Self {
                machine.machine
            }
        }

        impl MachineClient {
            /// A machine client for an app with a secret.
            pub fn new(config: $crate::__private::Config) -> Result<MachineClient, $crate::__private::Error> {
                Ok(MachineClient::with_client(LogtoClient::new(config)?))
            }

            /// A machine client sending its requests with `client` (its HTTP client, clock
            /// and config).
            pub fn with_client(client: LogtoClient) -> MachineClient {
                MachineClient {
                    machine: $crate::$mode::MachineClient::with_client(client.0.clone()),
                    client,
                }
            }

            /// The underlying client.
            pub fn client(&self) -> &LogtoClient {
                &self.client
            }
        }

        $(#[$validator_doc])*
        #[derive(Clone, Debug)]
        pub struct ApiValidator($crate::$mode::ApiValidator);

        impl ::std::ops::Deref for ApiValidator {
            type Target = $crate::$mode::ApiValidator;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::std::convert::From<ApiValidator> for $crate::$mode::ApiValidator {
            fn from(validator: ApiValidator) -> Self {
                validator.0
            }
        }

        impl ApiValidator {
            /// A validator for the tokens of the Logto tenant at `endpoint` (the tenant's
            /// URL, without `/oidc`).
            pub fn new(endpoint: &str) -> Result<ApiValidator, $crate::__private::Error> {
                // An API has no app of its own: the config carries the endpoint and tolerances.
                let config = $crate::__private::Config::builder(endpoint, "api").build()?;
                Ok(ApiValidator::with_client(LogtoClient::new(config)?))
            }

            /// A validator sending its requests with `client` (its HTTP client, clock,
            /// tolerances and cooldown).
            pub fn with_client(client: LogtoClient) -> ApiValidator {
                ApiValidator($crate::$mode::ApiValidator::with_client(client.0))
            }

            /// Keeps at most `capacity` verified tokens (0: none, every presentation is
            /// verified).
            #[must_use]
            pub fn with_cache(self, capacity: usize) -> ApiValidator {
                ApiValidator(self.0.with_cache(capacity))
            }
        }
    };
}

/// Re-exports in a transport crate what its users name beside the client types: the core's
/// config, options, claims and errors (`Error` is the core's `ClientError`), the core itself
/// as `proto`, the stores, and `storage`, the mode's storage items of `logto-store`. One
/// list for every transport crate, so that none lacks an item another has. The crate
/// depends on `logto-proto` and `logto-store` (every transport crate does).
#[doc(hidden)]
#[macro_export]
macro_rules! __transport_reexports {
    (storage: [$($storage_item:ident),+]) => {
        pub use $crate::{Cancel, Clock, Entropy, DEFAULT_VERIFIED_CACHE};
        pub use logto_proto as proto;
        pub use logto_proto::adapter::{Revocation, SESSION_KEY};
        pub use logto_proto::errors::{AccessTokenError, DeviceError, TokenExchangeError};
        pub use logto_proto::resource::{
            BackchannelLogout, LogoutTarget, Requirement, VerifiedAccessToken,
        };
        pub use logto_proto::{
            AccessToken, AccessTokenClaims, Actor, ClientAuth, Config as LogtoConfig,
            DeviceAuthorization, DirectSignIn, FirstScreen, IdTokenClaims, Identifier,
            InteractionMode, OrganizationTokenClaims, Prompt, SignInOptions, SignOutResult,
            TokenExchange, TokenTarget, UnixTime, UserInfo, UserScope,
        };
        pub use logto_proto::{
            ClientError as Error, StorageError, TransportError, TransportErrorKind,
        };
        pub use logto_store::{Expected, FileStore, MemoryStore, MemoryStoreLimits};
        pub use logto_store::{$($storage_item),+};
    };
}

/// What the facade macro names, reachable from the crates that expand it.
#[doc(hidden)]
pub mod __private {
    pub use logto_proto::{ClientError as Error, Config, UnixTime};
    pub use logto_store::{AsyncStorage, MemoryStore, MemoryStoreLimits, Storage};
}
