//! Session calls: one client call on a session kept in a store, as a sans-IO machine.
//!
//! The rules are on [`Call`]. This file holds the call and its inputs; `constructors`
//! each call of the client API with its policy, `state` the call's state (its phases and
//! their transitions, the lease, writes and store-failure backoff), and
//! `merge` what a call keeps of the stored session after a conflict.

mod constructors;
mod merge;
mod state;

use crate::claims::{IdTokenClaims, UserInfo};
use crate::config::Config;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::logout::BackchannelLogout;
use crate::metadata::ProviderCache;
use crate::ops::{Bound, OperationValues, SignOutResult};
use crate::signin::{SignInEntropy, SignInOptions};
use crate::snapshot::{AccessToken, Snapshot, TokenTarget};
use crate::stored_session::SessionReader;
use crate::time::UnixTime;
use state::{CallState, Drive, Peek, Policy};
use std::fmt;
use std::sync::Arc;

/// What every call of a client needs: the configuration, a copy of the provider cache, the
/// client's refresh-lease holder id ([`lease_holder`](crate::adapter::lease_holder)) and a
/// number that no other call of that client uses.
///
/// A lease is held by one call (`{holder}.{call}`), never by a client: two calls of one
/// client running at once (two threads on clones of it) must not both count as its holder.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallInputs<'a> {
    /// The app's configuration.
    pub config: &'a Config,
    /// The shared provider cache as it is now (copied only if the call needs a request).
    pub cache: Arc<ProviderCache>,
    /// This client's lease holder id.
    pub holder: &'a str,
    /// This call's number among the client's calls.
    pub call: u64,
}

impl<'a> CallInputs<'a> {
    /// The environment of call number `call` of the client whose lease holder id is
    /// `holder`.
    pub fn new(config: &'a Config, cache: Arc<ProviderCache>, holder: &'a str, call: u64) -> Self {
        CallInputs {
            config,
            cache,
            holder,
            call,
        }
    }
}

/// What a [session call](Call) wants next: the requests of its operation, plus the store's
/// reads and compare-and-swap writes and the waits for another client's lease or for the
/// store. More kinds of step may come (drivers answer one they do not know with
/// [`Error::Usage`]).
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum CallStep<T> {
    /// Send this request and feed the response to [`Call::handle_response`] (or, when it
    /// cannot be sent, tell [`Call::handle_transport_error`]).
    Send(HttpRequest),
    /// Read the stored session (key [`SESSION_KEY`](crate::adapter::SESSION_KEY)) and feed
    /// what the store holds to [`Call::handle_read`] (or, when the store fails,
    /// tell [`Call::handle_read_failed`]).
    ReadSession,
    /// Compare-and-swap the stored session: write `new` (`None`: delete the key) only if the
    /// store holds `expected` (`None`: nothing), atomically, and feed whether it wrote to
    /// [`Call::handle_written`] (or, when the store fails, tell
    /// [`Call::handle_write_failed`]).
    WriteSession {
        /// What the store must hold for the write to happen.
        expected: Option<String>,
        /// What to write.
        new: Option<String>,
    },
    /// Wait this long (for another client's lease, for the store, or the operation's own
    /// pause between polls), then tell [`Call::handle_waited`].
    Wait(std::time::Duration),
    /// Finished with this value.
    Done(T),
}

/// One client call on a stored session: drive it with one loop over
/// [`step`](Call::step), answering each step with the matching `handle_*`.
///
/// An [`Operation`](crate::adapter::Operation) works on a session it is given. A [`Call`] also keeps that session in a
/// store shared with other clients and processes, under the rules that keep refresh-token
/// rotation safe. Its steps are the operation's requests plus storage reads,
/// compare-and-swap writes and waits ([`CallStep::ReadSession`],
/// [`CallStep::WriteSession`], [`CallStep::Wait`]); every decision about them is taken here,
/// from values.
///
/// ```text
///  read ──► run the operation ─────────────────────────► done: write what changed ──► Done
///   ▲          │ a refresh is needed          ▲  token response with a rotated token:
///   │          ▼                              │  written at once (lease renewed)
///   │       take the lease (write) ── ok ──► run it again, allowed to refresh
///   │          │ held elsewhere: wait, re-read
///   └──────────┘ any write that finds the store changed: re-read, merge, write again
/// ```
///
/// The rules:
/// - Every write is a compare-and-swap against what was read. After a conflict the call
///   re-reads and merges: a rotated refresh token is never lost, a consumed one
///   is never written back, a session signed out meanwhile stays signed out (and the refresh
///   token this call holds is revoked, best effort).
/// - A refresh happens only under the session's refresh lease, taken with a compare-and-swap;
///   other clients wait for it (at most about one lease lifetime, then
///   [`Error::SessionBusy`]) and re-read. A lease dated beyond its lifetime counts as lapsed.
/// - The rotated refresh token is written as soon as its token response is handled, before
///   any further request: dropping the call at any later point loses nothing; dropping it
///   while the token request is in flight loses that request's answer only. Each such write
///   renews the lease, so it covers the longest call.
/// - A call that finds a fresh cached token makes no request and no write.
///
/// ```
/// use logto_proto::adapter::{Call, CallInputs, CallStep, SessionReader};
/// use logto_proto::{Config, TokenTarget, UnixTime};
///
/// let config = Config::new("https://tenant.logto.app", "app-id")?;
/// let inputs = CallInputs::new(&config, Default::default(), "h1", 1);
/// let mut call = Call::access_token(inputs, TokenTarget::resource("https://api"), false);
/// let mut reader = SessionReader::default();
/// let now = UnixTime::from_secs(1_767_225_600);
/// assert!(matches!(call.step(now)?, CallStep::ReadSession));
/// call.handle_read(None, &mut reader, now)?; // nothing stored
/// assert!(matches!(call.step(now), Err(logto_proto::Error::NotAuthenticated)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Call<'a, T> {
    state: Box<dyn Drive<T> + Send + 'a>,
}

impl<T> fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}

impl<'a, T: Send + 'a> Call<'a, T> {
    /// A call named `name` (in events) that treats the store as `policy` says, answers from
    /// the session as read with `peek` when it can, and runs the operations `make` builds.
    fn new<O>(
        inputs: CallInputs<'a>,
        name: &'static str,
        policy: Policy,
        peek: Option<Peek<'a, T>>,
        make: impl FnMut(OperationValues<'a>, bool) -> O + Send + 'a,
    ) -> Self
    where
        O: Bound<Output = T> + Send + 'a,
    {
        Call {
            state: Box::new(CallState::new(inputs, name, policy, peek, make)),
        }
    }
}

impl<T> Call<'_, T> {
    /// What the store held at [`CallStep::ReadSession`] (`None`: nothing). `reader` parses it
    /// (reusing its last parse while the text is unchanged); a session it cannot read ends
    /// the call with [`Error::Snapshot`].
    pub fn handle_read(
        &mut self,
        stored: Option<String>,
        reader: &mut SessionReader,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.state.read(stored, reader, now)
    }

    /// [`handle_read`](Self::handle_read) with the parse already at hand: `snapshot` must be
    /// what `stored` parses to, as [`SessionReader::peek`] returns it.
    pub fn handle_read_parsed(
        &mut self,
        stored: Option<String>,
        snapshot: Arc<Snapshot>,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.state.read_parsed(stored, snapshot, now)
    }

    /// Whether the compare-and-swap of [`CallStep::WriteSession`] wrote.
    pub fn handle_written(&mut self, written: bool, now: UnixTime) -> Result<(), Error> {
        self.state.written(written, now)
    }

    /// The compare-and-swap of [`CallStep::WriteSession`] failed: the store could not be
    /// reached, or answered with an error, so nothing is known to be written. Returns
    /// whether the call goes on.
    ///
    /// It goes on when the write carries a refresh token the provider has just rotated: the
    /// old one is consumed, so losing the new one would end the session (and a client that
    /// presented the old one would make Logto revoke the grant). The call then waits
    /// ([`CallStep::Wait`], growing from 200 ms to 1 s) and writes again, for as long as its
    /// refresh lease lasts; other clients wait for the lease meanwhile. For any other write,
    /// and once the lease has run out, it returns false: the call is over, and the driver
    /// reports the store's error (the stored session is as it was).
    pub fn handle_write_failed(&mut self, now: UnixTime) -> bool {
        self.state.store_failed(now)
    }

    /// The read of [`CallStep::ReadSession`] failed (the store could not be reached, or answered
    /// with an error). Returns whether the call goes on: as with
    /// [`handle_write_failed`](Self::handle_write_failed), only while the call holds a
    /// rotated refresh token the store does not have yet (a read after a write conflict, to
    /// merge), and the lease lasts; it then waits and reads again. Otherwise the call is over
    /// and the driver reports the store's error.
    pub fn handle_read_failed(&mut self, now: UnixTime) -> bool {
        self.state.store_failed(now)
    }

    /// The wait of [`CallStep::Wait`] is over.
    pub fn handle_waited(&mut self, now: UnixTime) -> Result<(), Error> {
        self.state.waited(now)
    }
}

impl<T> Call<'_, T> {
    /// The next step at `now`. After `Done`, or after an error, the call is over and further
    /// calls give [`Error::Usage`].
    pub fn step(&mut self, now: UnixTime) -> Result<CallStep<T>, Error> {
        self.state.step(now)
    }

    /// The response to the request of [`CallStep::Send`].
    pub fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        self.state.response(Some(response), now)
    }

    /// The request of [`CallStep::Send`] could not be sent, or got no answer. Always true: a
    /// call goes on after a failed request, to write what changed and end its lease, and then
    /// fails with [`Error::RequestFailed`] (the driver answers with the transport error it
    /// holds) unless the operation could do without the request.
    pub fn handle_transport_error(&mut self, now: UnixTime) -> bool {
        self.state.response(None, now).is_ok()
    }

    /// Whether the request in flight fetches a provider document (see
    /// [`Operation::fetches_provider_data`](crate::adapter::Operation::fetches_provider_data)).
    pub fn fetches_provider_data(&self) -> bool {
        self.state.op().is_some_and(|op| op.fetches_provider_data())
    }

    /// Offers the cache a driver shares between calls, before a request that
    /// [`fetches_provider_data`](Self::fetches_provider_data) (see
    /// [`Operation::handle_shared_cache`](crate::adapter::Operation::handle_shared_cache)):
    /// true when it already holds what the request would fetch, and the request is dropped.
    pub fn handle_shared_cache(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
        self.state.shared(shared, now)
    }

    /// The call's view of the provider cache, with what it fetched: a driver merges it into
    /// its shared cache after each provider-data response.
    pub fn provider_cache(&self) -> &ProviderCache {
        self.state.cache()
    }
}
