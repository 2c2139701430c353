//! The state of a session call: its phases, its copy of the session, the lease, writes and
//! merges. `transitions` holds the phases' transitions, `drive` the answers to the
//! driver's results, `lease` the refresh lease and the backoff after store failures.
//!
//! The phases ([`Phase`]) and what moves a call between them (`handle_*`: the driver's
//! answer; the rest happens within one `step`):
//!
//! ```text
//!  Read ─► Reading ─handle_read─► Run ─op: Send─► Sending ─handle_response─► Run
//!   ▲         │ a cached answer     │                │ a rotated refresh token
//!   │         └─► Finish            │                └─► Write(Run)
//!   │                               ├─op: Wait─► OperationWaiting ─handle_waited─► Run
//!   │                               ├─op: Send, the lease ends too soon─► Write(Send)
//!   │                               ├─op: RefreshNeeded─► Lease ─taken─► Write(Refresh)
//!   │                               │                       └─held elsewhere─► Waiting
//!   │                               └─op: Done or failed─► Write(Finish)
//!   │                                  (Replace: done ─► Read, failed ─► Finish)
//!   │
//!   │  Write(then) ─► Writing ─written─► then: Run │ Run, refreshing │ SendHeld ─► Sending │ Finish
//!   │                    ├─conflict─► Read(Merge(then)) ─merged─► Write(then)
//!   │                    │                  └─signed out meanwhile─► Revoke ─► Revoking ─► Finish
//!   │                    │  (a conflict on Write(Refresh) or Write(Send): Read, start over)
//!   │                    └─store failed, a rotation or new session unsaved─► WriteAgain
//!   │                                            ─► WaitingToWrite ─handle_waited─► Write(then)
//!   ├── Waiting ─handle_waited─ (read again: the lease holder may have refreshed)
//!   └── WaitingToRead ◄─ ReadAgain ◄─ a read the store failed (to merge, or to replace)
//!
//!  Finish ─► Done(outcome) ─► Over        any error ─► Over
//!  Sessionless and Replace calls start in Run, with no read.
//! ```

mod drive;
mod lease;
mod transitions;

use super::{merge, CallInputs, CallStep};
use crate::config::Config;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::metadata::ProviderCache;
use crate::ops::{Bound, Operation, OperationValues};
use crate::secret::Secret;
use crate::snapshot::{LeaseState, Snapshot};
use crate::stored_session::{
    refresh_lease_ttl, session_write, SessionReader, SessionWrite, CLOCK_SKEW_MARGIN_SECS,
};
use crate::time::UnixTime;
use crate::trace::event;
use std::sync::Arc;
use std::time::Duration;

/// Writes a call may retry after conflicts before it gives up.
const MAX_WRITES: u32 = 32;
/// An answer from the session as read, without an operation (or `None`).
pub(super) type Peek<'a, T> =
    Box<dyn Fn(&Snapshot, UnixTime) -> Option<Result<T, Error>> + Send + 'a>;

/// How a call treats the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    /// Run the operation on the session as read, then write what changed.
    Plain,
    /// Like `Plain`, but a refresh happens only under the refresh lease, and a rotated
    /// refresh token is written as soon as it arrives.
    Leased,
    /// The operation's first change (sign-out clears the session) is written before any
    /// request; after a conflict the operation starts again on the session stored.
    WriteFirst,
    /// The operation never looks at the session (back-channel logout): no read, no write.
    Sessionless,
    /// The operation builds a new session on its own (a device sign-in): it runs before any
    /// read, and what it built replaces whatever is stored.
    Replace,
}

/// Why the call reads the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// To start (or start again after waiting for another holder's lease).
    Begin,
    /// A write found the store changed: merge, then write again and go on with `then`.
    Merge(Then),
    /// To replace what is stored with the session the operation built, then finish.
    Replace,
}

/// What follows a successful write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// Go on with the operation.
    Run,
    /// The lease is ours: run the operation again, allowed to refresh.
    Refresh,
    /// The lease is renewed: send the request the operation asked for.
    Send,
    /// The call is over: return its outcome.
    Finish,
}

#[derive(Debug)]
pub(super) enum Phase {
    /// Ask to read the store.
    Read(Purpose),
    /// Waiting for [`Call::handle_read`].
    Reading(Purpose),
    /// Step the operation.
    Run,
    /// Send the request held while the lease was renewed.
    SendHeld,
    /// Waiting for the operation's response.
    Sending,
    /// Take the refresh lease on the session as read.
    Lease,
    /// Write the session as the call holds it, then `Then`.
    Write(Then),
    /// Waiting for [`Call::handle_written`].
    Writing { then: Then, text: Option<String> },
    /// Waiting for [`Call::handle_waited`].
    Waiting,
    /// The operation asked to wait: step it again after [`Call::handle_waited`].
    OperationWaiting,
    /// The store failed a write that carries a rotated refresh token: wait this long, then
    /// write again.
    WriteAgain { then: Then, wait: Duration },
    /// Waiting for [`Call::handle_waited`] before writing again.
    WaitingToWrite(Then),
    /// The store failed a read this call needs to merge a rotated refresh token: wait this
    /// long, then read again.
    ReadAgain { purpose: Purpose, wait: Duration },
    /// Waiting for [`Call::handle_waited`] before reading again.
    WaitingToRead(Purpose),
    /// Revoke this refresh token (the session was signed out meanwhile), then finish.
    Revoke(HttpRequest),
    /// Waiting for the revocation's answer.
    Revoking,
    /// Return the outcome.
    Finish,
    /// The call is over.
    Over,
}

/// The driver-facing side of a call's state, behind [`Call`] (generic over its operation).
pub(super) trait Drive<T> {
    fn step(&mut self, now: UnixTime) -> Result<CallStep<T>, Error>;
    fn read(
        &mut self,
        stored: Option<String>,
        reader: &mut SessionReader,
        now: UnixTime,
    ) -> Result<(), Error>;
    fn read_parsed(
        &mut self,
        stored: Option<String>,
        snapshot: Arc<Snapshot>,
        now: UnixTime,
    ) -> Result<(), Error>;
    fn written(&mut self, written: bool, now: UnixTime) -> Result<(), Error>;
    fn store_failed(&mut self, now: UnixTime) -> bool;
    fn waited(&mut self, now: UnixTime) -> Result<(), Error>;
    fn response(&mut self, response: Option<HttpResponse>, now: UnixTime) -> Result<(), Error>;
    fn shared(&mut self, shared: &ProviderCache, now: UnixTime) -> bool;
    fn op(&self) -> Option<&dyn Operation<Output = T>>;
    fn cache(&self) -> &ProviderCache;
}

/// A session call's state: its phase, the session as it holds it, what it last read or
/// wrote, the lease it holds, and its counters of waits, writes and store failures.
pub(super) struct CallState<'a, O: Operation> {
    /// The call's name in events (`access_token`, `sign_out`, ...).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    name: &'static str,
    config: &'a Config,
    /// This call's lease holder id.
    holder: String,
    policy: Policy,
    /// Builds the operation on a session; `true`: allowed to refresh.
    make: Box<dyn FnMut(OperationValues<'a>, bool) -> O + Send + 'a>,
    /// Answers the call from the session as read, when it can (a fresh cached token).
    peek: Option<Peek<'a, O::Output>>,
    /// The provider cache and the session while no operation holds them.
    cache: Arc<ProviderCache>,
    ours: Snapshot,
    op: Option<O>,
    phase: Phase,
    /// The store's value as last read or written: what the next write expects.
    base_text: Option<String>,
    base: Arc<Snapshot>,
    /// The refresh token as last read or written: a different one in the operation's
    /// session is a rotation, written at once.
    written_rt: Option<Secret>,
    leased: bool,
    /// Whether the session as this call holds it may differ from what it read or wrote
    /// last (when not, a write needs no serialising to know it is needless).
    touched: bool,
    /// A request held back until the lease is renewed.
    held: Option<HttpRequest>,
    waits: u32,
    writes: u32,
    /// Reads and writes the store failed while a rotated refresh token was unsaved.
    write_failures: u32,
    outcome: Option<Result<O::Output, Error>>,
}

impl<'a, O: Bound + 'a> CallState<'a, O> {
    /// The state of a new call (see [`Call::new`]).
    pub(super) fn new(
        inputs: CallInputs<'a>,
        name: &'static str,
        policy: Policy,
        peek: Option<Peek<'a, O::Output>>,
        make: impl FnMut(OperationValues<'a>, bool) -> O + Send + 'a,
    ) -> Self {
        let mut call = CallState {
            name,
            config: inputs.config,
            holder: format!("{}.{}", inputs.holder, inputs.call),
            policy,
            make: Box::new(make),
            peek,
            cache: inputs.cache,
            ours: Snapshot::new(),
            op: None,
            phase: Phase::Read(Purpose::Begin),
            base_text: None,
            base: Arc::default(),
            written_rt: None,
            leased: false,
            touched: false,
            held: None,
            waits: 0,
            writes: 0,
            write_failures: 0,
            outcome: None,
        };
        if matches!(policy, Policy::Sessionless | Policy::Replace) {
            call.run_op(true);
        }
        call
    }

    /// The session as this call holds it.
    fn ours(&self) -> &Snapshot {
        self.op.as_ref().map_or(&self.ours, |op| op.snapshot())
    }

    fn ours_mut(&mut self) -> &mut Snapshot {
        self.touched = true;
        match &mut self.op {
            Some(op) => op.snapshot_mut(),
            None => &mut self.ours,
        }
    }

    fn is_touched(&self) -> bool {
        self.touched || self.op.as_ref().is_some_and(|op| op.snapshot_touched())
    }

    /// Builds the operation on the session as this call holds it.
    fn start_op(&mut self, refresh: bool) {
        let snapshot = std::mem::take(&mut self.ours);
        let cache = Arc::unwrap_or_clone(std::mem::take(&mut self.cache));
        self.op = Some((self.make)(
            OperationValues::owned(self.config, cache, snapshot),
            refresh,
        ));
    }

    /// Takes the session and the cache back from the operation.
    fn drop_op(&mut self) {
        if let Some(mut op) = self.op.take() {
            self.touched |= op.snapshot_touched();
            self.ours = std::mem::take(op.snapshot_mut());
            self.cache = Arc::new(std::mem::take(op.cache_mut()));
        }
    }

    fn finish(&mut self, outcome: Result<O::Output, Error>) {
        if let Err(e) = &outcome {
            self.report(e);
        }
        let replaces = self.policy == Policy::Replace && outcome.is_ok();
        self.outcome = Some(outcome);
        self.drop_op();
        if self.leased {
            self.touched = true;
            self.ours.end_refresh_lease(&self.holder);
        }
        self.phase = match (self.policy, replaces) {
            // The new session goes over what is stored now, whatever that is.
            (Policy::Replace, true) => Phase::Read(Purpose::Replace),
            // A failed sign-in writes nothing: the stored session stays as it was.
            (Policy::Replace, false) => Phase::Finish,
            _ => Phase::Write(Then::Finish),
        };
    }

    /// The event for a call that fails: refused input (a callback, a token) and the
    /// provider's refusals are worth a look; the app's own misuse too.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn report(&self, e: &Error) {
        match e {
            Error::Callback(_)
            | Error::IdToken(_)
            | Error::LogoutToken(_)
            | Error::AccessToken(_)
            | Error::Device(_)
            | Error::TokenExchange(_) => {
                event!(info, call = self.name, kind = e.kind(), "refused: {e}")
            }
            Error::SessionExpired(_) => event!(info, call = self.name, kind = e.kind(), "{e}"),
            Error::NotAuthenticated | Error::RefreshNeeded | Error::RequestFailed => {
                event!(debug, call = self.name, kind = e.kind(), "{e}")
            }
            _ => event!(warn, call = self.name, kind = e.kind(), "failed: {e}"),
        }
    }

    /// The session was read for `purpose`.
    fn on_read(&mut self, stored: Option<String>, snapshot: Arc<Snapshot>, now: UnixTime) {
        match purpose_of(&self.phase) {
            Purpose::Begin => {
                if let Some(answer) = self.peek.as_ref().and_then(|peek| peek(&snapshot, now)) {
                    // Answered from the session as read: no request, no write, no copy.
                    self.outcome = Some(answer);
                    self.phase = Phase::Finish;
                    return;
                }
                self.base_text = stored;
                self.written_rt = snapshot.refresh_token.clone();
                self.ours = (*snapshot).clone();
                self.base = snapshot;
                self.touched = false;
                match self.policy {
                    Policy::Plain => self.run_op(true),
                    Policy::Leased => {
                        let refresh = self.leased;
                        self.run_op(refresh);
                    }
                    Policy::WriteFirst => {
                        self.start_op(true);
                        self.phase = Phase::Write(Then::Run);
                    }
                    // Never asks to read first: they start running.
                    Policy::Sessionless | Policy::Replace => self.run_op(true),
                }
            }
            Purpose::Merge(then) => self.merge(stored, Arc::unwrap_or_clone(snapshot), then),
            Purpose::Replace => {
                self.base_text = stored;
                self.base = snapshot;
                self.touched = true;
                self.phase = Phase::Write(Then::Finish);
            }
        }
    }

    fn run_op(&mut self, refresh: bool) {
        self.start_op(refresh);
        self.phase = Phase::Run;
    }

    /// A write found `stored` instead of what the call read before.
    fn merge(&mut self, stored: Option<String>, snapshot: Snapshot, then: Then) {
        if self.policy == Policy::WriteFirst && then == Then::Run {
            // Sign-out starts again on what is stored now, so that it revokes the newest
            // refresh token.
            self.drop_op();
            self.base_text = stored;
            self.base = Arc::new(snapshot.clone());
            self.ours = snapshot;
            self.start_op(true);
            self.phase = Phase::Write(Then::Run);
            return;
        }
        match merge::merge(&self.base, self.ours(), &snapshot, &self.holder) {
            Some(merged) => {
                self.base_text = stored;
                self.base = Arc::new(snapshot);
                *self.ours_mut() = merged;
                self.phase = Phase::Write(then);
            }
            None => {
                // A refresh token this call received is live at the provider and belongs
                // to a session that no longer exists: revoke it.
                let rotated = self
                    .ours()
                    .refresh_token
                    .clone()
                    .filter(|rt| self.base.refresh_token.as_ref() != Some(rt));
                let request = rotated.and_then(|rt| self.revocation(&rt));
                event!(
                    info,
                    call = self.name,
                    revoking = request.is_some(),
                    "the session was signed out or replaced while this call held it"
                );
                self.drop_op();
                self.outcome = Some(Err(Error::NotAuthenticated));
                self.phase = match request {
                    Some(request) => Phase::Revoke(request),
                    None => Phase::Finish,
                };
            }
        }
    }

    fn revocation(&self, refresh_token: &Secret) -> Option<HttpRequest> {
        let cache = self
            .op
            .as_ref()
            .map_or(&*self.cache, |op| op.provider_cache());
        let metadata = cache.metadata.as_ref()?;
        let endpoint = metadata.revocation_endpoint.as_deref()?;
        crate::token::client_request(
            self.config,
            ("revocation_endpoint", endpoint),
            &[
                ("token", refresh_token.expose()),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .ok()
    }

    /// The write of the session as the call holds it, unless the store already holds it.
    fn write(&mut self, then: Then) -> Option<CallStep<O::Output>> {
        if !self.is_touched() {
            self.phase = self.after_write(then);
            return None;
        }
        let text = match session_write(self.base_text.as_deref(), self.ours()) {
            SessionWrite::Set(json) => Some(json),
            SessionWrite::Delete if self.base_text.is_some() => None,
            SessionWrite::Delete | SessionWrite::Unchanged => {
                self.phase = self.after_write(then);
                return None;
            }
        };
        self.phase = Phase::Writing {
            then,
            text: text.clone(),
        };
        Some(CallStep::WriteSession {
            expected: self.base_text.clone(),
            new: text,
        })
    }

    /// Where a successful (or needless) write leads.
    fn after_write(&mut self, then: Then) -> Phase {
        match then {
            Then::Run => Phase::Run,
            Then::Refresh => {
                // The lease is ours: the operation starts again, now allowed to refresh.
                self.leased = true;
                self.drop_op();
                self.start_op(true);
                Phase::Run
            }
            Then::Send => Phase::SendHeld,
            Then::Finish => Phase::Finish,
        }
    }
}

fn purpose_of(state: &Phase) -> Purpose {
    match state {
        Phase::Reading(purpose) => *purpose,
        _ => Purpose::Begin,
    }
}
