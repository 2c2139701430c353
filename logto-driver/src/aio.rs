//! The async driver: [`LogtoClient`], [`MachineClient`] and [`ApiValidator`] over any
//! [`AsyncTransport`] and [`AsyncStorage`], on any executor. `logto-reqwest` gives them
//! reqwest (tokio) as the transport, `logto-isahc` isahc.

use crate::methods::{
    client_methods, client_type, machine_methods, machine_type, validator_methods, validator_type,
};
use crate::shared::{shared_cache, CacheRegistry, Session};
use crate::{Cancel, Clock, Entropy, RequestLimits, VerifiedTokenCache, DEFAULT_VERIFIED_CACHE};
use async_lock::{Mutex as AsyncMutex, MutexGuard as AsyncMutexGuard};
use logto_proto::adapter::{
    Call, CallStep, HttpRequest, HttpResponse, MachineTokens, Snapshot, SESSION_KEY,
};
use logto_proto::resource::{BackchannelLogout, Requirement, VerifiedAccessToken};
use logto_proto::{
    decode_claims, AccessToken, AccessTokenClaims, ClientError as Error, Config,
    DeviceAuthorization, IdTokenClaims, OrganizationTokenClaims, SignInOptions, SignOutResult,
    StorageError, TokenExchange, TokenTarget, TransportError, UnixTime, UserInfo,
};
use logto_store::{AsyncStorage, Expected};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::Poll;
use std::time::Duration;

pub use crate::transport::{AsyncTransport, SleepFuture, TransportFuture};

/// Every endpoint's provider cache for the async clients of this process.
static CACHES: CacheRegistry<AsyncMutex<()>> = CacheRegistry::new();

client_type! {
    /// A Logto client for one session, async and tied to no runtime (its transport brings
    /// the runtime it needs, if any).
    ///
    /// Cloning gives another handle on the same session (same storage, same refresh lock),
    /// to use from several tasks. [`for_session`](Self::for_session) gives a client for
    /// another session that shares the transport and the provider cache: a web app keeps
    /// one client and makes one per request around that request's session store.
    ///
    /// Methods follow the Logto guide: sign-in, callback, sign-out, tokens, user info. Every
    /// method that may refresh a token is single-flight per session: concurrent calls
    /// needing the same token make one refresh request, and calls needing different tokens
    /// take turns, each with the latest (possibly rotated) refresh token.
    storage: AsyncStorage, transport: AsyncTransport, lock: AsyncMutex<()>
}

impl LogtoClient {
    client_methods!({async} {.await});

    async fn read_stored(&self) -> Result<Option<String>, StorageError> {
        self.storage.get(SESSION_KEY).await
    }

    /// One write at a time per session in this process: the compare-and-swap is atomic here
    /// even over a store whose own is not.
    async fn write_stored(
        &self,
        expected: Expected<'_>,
        new: Option<&str>,
    ) -> Result<bool, StorageError> {
        let _one_writer = self.session_lock.lock().await;
        let written = self.storage.compare_and_swap(SESSION_KEY, expected, new);
        written.await
    }

    async fn lock_fetching(&self) -> AsyncMutexGuard<'_, ()> {
        self.session.fetching().lock().await
    }

    async fn pause(&self, duration: Duration) {
        self.transport.sleep(duration).await;
    }

    /// The transport's answer, within the config's limits: a transport that does not answer
    /// within the request timeout loses the race against its own timer.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let limits = RequestLimits::of(self.session.config());
        let url = request.url.clone();
        let sent = self.transport.send(request, limits);
        let deadline = self.transport.sleep(limits.timeout);
        match first_of(sent, deadline).await {
            Some(answer) => limits.check(&url, answer?),
            None => Err(limits.timed_out(&url)),
        }
    }
}

/// The output of `work`, or `None` when `deadline` completes first.
async fn first_of<T>(
    mut work: impl Future<Output = T> + Unpin,
    mut deadline: impl Future<Output = ()> + Unpin,
) -> Option<T> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = Pin::new(&mut work).poll(cx) {
            return Poll::Ready(Some(output));
        }
        match Pin::new(&mut deadline).poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

machine_type!(lock: AsyncMutex<()>);

impl MachineClient {
    machine_methods!({async} {.await});

    async fn lock_fetching(&self) -> AsyncMutexGuard<'_, ()> {
        self.fetching.lock().await
    }
}

validator_type!();

impl ApiValidator {
    validator_methods!({async} {.await});
}
