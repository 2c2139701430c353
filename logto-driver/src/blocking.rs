//! The blocking driver: [`LogtoClient`], [`MachineClient`] and [`ApiValidator`] over any
//! [`Transport`] and [`Storage`]. `logto-ureq` gives them ureq as the transport.

use crate::methods::{
    client_methods, client_type, machine_methods, machine_type, validator_methods, validator_type,
};
use crate::shared::{shared_cache, CacheRegistry, Session};
use crate::{Cancel, Clock, Entropy, RequestLimits, VerifiedTokenCache, DEFAULT_VERIFIED_CACHE};
use logto_proto::adapter::{
    Call, CallStep, HttpRequest, HttpResponse, MachineTokens, Snapshot, SESSION_KEY,
};
use logto_proto::resource::{BackchannelLogout, Requirement, VerifiedAccessToken};
use logto_proto::{
    decode_claims, AccessToken, AccessTokenClaims, ClientError as Error, Config,
    DeviceAuthorization, IdTokenClaims, OrganizationTokenClaims, SignInOptions, SignOutResult,
    StorageError, TokenExchange, TokenTarget, TransportError, UnixTime, UserInfo,
};
use logto_store::{Expected, Storage};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

pub use crate::transport::Transport;

/// Every endpoint's provider cache for the blocking clients of this process.
static CACHES: CacheRegistry<Mutex<()>> = CacheRegistry::new();

client_type! {
    /// A Logto client for one session, blocking.
    ///
    /// Cloning gives another handle on the same session (same storage, same refresh lock),
    /// to use from several threads. [`for_session`](Self::for_session) gives a client for
    /// another session that shares the transport and the provider cache: a web app keeps
    /// one client and makes one per request around that request's session store.
    ///
    /// Methods follow the Logto guide: sign-in, callback, sign-out, tokens, user info. Every
    /// method that may refresh a token is single-flight per session: concurrent calls
    /// needing the same token make one refresh request, and calls needing different tokens
    /// take turns, each with the latest (possibly rotated) refresh token.
    storage: Storage, transport: Transport, lock: Mutex<()>
}

impl LogtoClient {
    client_methods!({} {});

    fn read_stored(&self) -> Result<Option<String>, StorageError> {
        self.storage.get(SESSION_KEY)
    }

    /// One write at a time per session in this process: the compare-and-swap is atomic here
    /// even over a store whose own is not.
    fn write_stored(
        &self,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        let _one_writer = self.session_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.storage.compare_and_swap(SESSION_KEY, expected, new)
    }

    fn lock_fetching(&self) -> MutexGuard<'_, ()> {
        let fetching = self.session.fetching();
        fetching.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pause(&self, duration: Duration) {
        self.transport.sleep(duration);
    }

    /// The transport's answer, within the config's limits (a blocking transport applies the
    /// timeouts itself: the driver cannot interrupt the thread it blocks).
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let limits = RequestLimits::of(self.session.config());
        let url = request.url.clone();
        let response = self.transport.send(request, &limits)?;
        limits.check(&url, response)
    }
}

machine_type!(lock: Mutex<()>);

impl MachineClient {
    machine_methods!({} {});

    fn lock_fetching(&self) -> MutexGuard<'_, ()> {
        self.fetching.lock().unwrap_or_else(|p| p.into_inner())
    }
}

validator_type!();

impl ApiValidator {
    validator_methods!({} {});
}
