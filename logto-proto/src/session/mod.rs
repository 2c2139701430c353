//! Session calls: one client call on a session kept in a store, as a sans-IO machine.
//!
//! The rules are on [`Call`].

mod merge;

use crate::claims::{IdTokenClaims, UserInfo};
use crate::client::{refresh_lease_ttl, session_write, SessionReader, SessionWrite};
use crate::config::Config;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::logout::BackchannelLogout;
use crate::metadata::ProviderCache;
use crate::ops::{Bound, Cx, Operation, SignOutResult, Step};
use crate::secret::Secret;
use crate::signin::{SignInEntropy, SignInOptions};
use crate::snapshot::{AccessToken, LeaseState, Snapshot, TokenTarget};
use crate::time::UnixTime;
use crate::trace::event;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Writes a call may retry after conflicts before it gives up.
const MAX_WRITES: u32 = 32;
/// Store failures a new session (a device sign-in's) is retried through before it is given
/// up: the user signed in and the device code is spent, so it is worth a few seconds.
const MAX_REPLACE_STORE_FAILURES: u32 = 10;
/// How long a wait for another holder's lease lasts at most, each time.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// What every call of a client needs: the configuration, a copy of the provider cache, the
/// client's refresh-lease holder id ([`lease_holder`](crate::adapter::lease_holder)) and a
/// number that no other call of that client uses.
///
/// A lease is held by one call (`{holder}.{call}`), never by a client: two calls of one
/// client running at once (two threads on clones of it) must not both count as its holder.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallEnv<'a> {
    /// The app's configuration.
    pub config: &'a Config,
    /// The shared provider cache as it is now (copied only if the call needs a request).
    pub cache: Arc<ProviderCache>,
    /// This client's lease holder id.
    pub holder: &'a str,
    /// This call's number among the client's calls.
    pub call: u64,
}

impl<'a> CallEnv<'a> {
    /// The environment of call number `call` of the client whose lease holder id is
    /// `holder`.
    pub fn new(config: &'a Config, cache: Arc<ProviderCache>, holder: &'a str, call: u64) -> Self {
        CallEnv {
            config,
            cache,
            holder,
            call,
        }
    }
}

/// One client call on a stored session: drive it with one loop over
/// [`step`](Operation::step), answering each step with the matching `handle_*`.
///
/// An [`Operation`] works on a session it is given. A [`Call`] also keeps that session in a
/// store shared with other clients and processes, under the rules that keep refresh-token
/// rotation safe. Its steps are the operation's requests plus storage reads,
/// compare-and-swap writes and waits ([`Step::ReadSession`], [`Step::WriteSession`],
/// [`Step::Wait`]); every decision about them is taken here, from values.
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
/// use logto_proto::adapter::{Call, CallEnv, SessionReader};
/// use logto_proto::{Config, Operation, Step, TokenTarget, UnixTime};
///
/// let config = Config::new("https://tenant.logto.app", "app-id")?;
/// let env = CallEnv::new(&config, Default::default(), "h1", 1);
/// let mut call = Call::access_token(env, TokenTarget::resource("https://api"), false);
/// let mut reader = SessionReader::default();
/// let now = UnixTime::from_secs(1_767_225_600);
/// assert!(matches!(call.step(now)?, Step::ReadSession));
/// call.handle_read(None, &mut reader, now)?; // nothing stored
/// assert!(matches!(call.step(now), Err(logto_proto::Error::NotAuthenticated)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Call<'a, T> {
    machine: Box<dyn Drive<T> + Send + 'a>,
}

impl<T> fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}

impl<'a> Call<'a, AccessToken> {
    /// An access token for `target` (see [`Context::access_token`](crate::Context::access_token)).
    /// A fresh cached token is answered from the session as read, with nothing copied.
    pub fn access_token(env: CallEnv<'a>, target: TokenTarget, force_refresh: bool) -> Self {
        let config = env.config;
        let cached_target = target.clone();
        let peek: Option<Peek<'a, AccessToken>> = (!force_refresh).then(|| {
            Box::new(move |snapshot: &Snapshot, now| {
                crate::ops::cached_token(config, snapshot, &cached_target, now)
            }) as Peek<'a, AccessToken>
        });
        Call::new(
            env,
            "access_token",
            Policy::Leased,
            peek,
            move |cx, refresh| {
                let op = cx.access_token(target.clone(), force_refresh);
                if refresh {
                    op
                } else {
                    op.without_refresh()
                }
            },
        )
    }
}

impl<'a> Call<'a, UserInfo> {
    /// The userinfo claims (see [`Context::fetch_user_info`](crate::Context::fetch_user_info)).
    pub fn fetch_user_info(env: CallEnv<'a>) -> Self {
        Call::new(
            env,
            "fetch_user_info",
            Policy::Leased,
            None,
            |cx, refresh| {
                let op = cx.fetch_user_info();
                if refresh {
                    op
                } else {
                    op.without_refresh()
                }
            },
        )
    }
}

impl<'a> Call<'a, String> {
    /// Starts a sign-in (see [`Context::sign_in`](crate::Context::sign_in)).
    pub fn sign_in(env: CallEnv<'a>, options: SignInOptions, entropy: SignInEntropy) -> Self {
        Call::new(env, "sign_in", Policy::Plain, None, move |cx, _| {
            cx.sign_in(options.clone(), entropy.clone())
        })
    }
}

impl<'a> Call<'a, IdTokenClaims> {
    /// Completes a sign-in (see
    /// [`Context::handle_sign_in_callback`](crate::Context::handle_sign_in_callback)).
    pub fn handle_sign_in_callback(env: CallEnv<'a>, callback_url: &str) -> Self {
        let url = callback_url.to_owned();
        Call::new(
            env,
            "handle_sign_in_callback",
            Policy::Plain,
            None,
            move |cx, _| cx.handle_sign_in_callback(url.clone()),
        )
    }
}

impl<'a> Call<'a, SignOutResult> {
    /// Signs out (see [`Context::sign_out`](crate::Context::sign_out)): the stored session is
    /// cleared first, then the refresh token it held is revoked.
    pub fn sign_out(env: CallEnv<'a>, post_logout_redirect_uri: Option<&str>) -> Self {
        let uri = post_logout_redirect_uri.map(str::to_owned);
        Call::new(env, "sign_out", Policy::WriteFirst, None, move |cx, _| {
            cx.sign_out(uri.as_deref())
        })
    }
}

impl<'a> Call<'a, ()> {
    /// Forgets the cached token for `target` (`None`: every cached access token).
    pub fn clear_access_tokens(env: CallEnv<'a>, target: Option<TokenTarget>) -> Self {
        Call::new(
            env,
            "clear_access_tokens",
            Policy::Plain,
            None,
            move |cx, _| cx.clear_access_tokens(target.clone()),
        )
    }
}

impl<'a> Call<'a, crate::access::VerifiedAccessToken> {
    /// Verifies a bearer access token presented to an API (see
    /// [`Context::verify_access_token`](crate::Context::verify_access_token)). The call
    /// never reads or writes a session: it only fetches the provider's keys when needed.
    pub fn verify_access_token(env: CallEnv<'a>, authorization: Option<&str>) -> Self {
        let token = crate::access::bearer_token(authorization).map(str::to_owned);
        Call::new(
            env,
            "verify_access_token",
            Policy::Sessionless,
            None,
            move |cx, _| cx.verify_access_token(token.clone()),
        )
    }
}

impl<'a> Call<'a, AccessToken> {
    /// A machine-to-machine token (see
    /// [`Context::fetch_machine_token`](crate::Context::fetch_machine_token)). The call never
    /// reads or writes a session.
    pub fn fetch_machine_token(env: CallEnv<'a>, target: TokenTarget) -> Self {
        Call::new(
            env,
            "fetch_machine_token",
            Policy::Sessionless,
            None,
            move |cx, _| cx.fetch_machine_token(target.clone()),
        )
    }
}

impl<'a> Call<'a, BackchannelLogout> {
    /// Verifies a back-channel logout request from its form body (see
    /// [`Context::handle_backchannel_logout`](crate::Context::handle_backchannel_logout)).
    /// The call never reads or writes the session: it only fetches the provider's keys when
    /// needed, through the shared cache.
    pub fn handle_backchannel_logout(env: CallEnv<'a>, form_body: &[u8]) -> Self {
        let token = crate::logout::logout_token_from_form(form_body);
        Call::new(
            env,
            "handle_backchannel_logout",
            Policy::Sessionless,
            None,
            move |cx, _| cx.handle_backchannel_logout(token.clone()),
        )
    }
}

impl<'a> Call<'a, crate::device::DeviceAuthorization> {
    /// Starts a device sign-in (see
    /// [`Context::start_device_sign_in`](crate::Context::start_device_sign_in)). The call
    /// never reads or writes the session.
    pub fn start_device_sign_in(env: CallEnv<'a>) -> Self {
        Call::new(
            env,
            "start_device_sign_in",
            Policy::Sessionless,
            None,
            |cx, _| cx.start_device_sign_in(),
        )
    }
}

impl<'a> Call<'a, IdTokenClaims> {
    /// Completes a device sign-in (see
    /// [`Context::complete_device_sign_in`](crate::Context::complete_device_sign_in)). The
    /// polling touches no store; once the user has signed in, the new session replaces
    /// whatever is stored (read, then compare-and-swap, again after a conflict). A sign-in
    /// that fails or is abandoned leaves the stored session as it was.
    pub fn complete_device_sign_in(
        env: CallEnv<'a>,
        device: crate::device::DeviceAuthorization,
    ) -> Self {
        Call::new(
            env,
            "complete_device_sign_in",
            Policy::Replace,
            None,
            move |cx, _| cx.complete_device_sign_in(device.clone()),
        )
    }
}

impl<'a> Call<'a, AccessToken> {
    /// Trades a token (see [`Context::exchange_token`](crate::Context::exchange_token)). The
    /// call never reads or writes a session.
    pub fn exchange_token(env: CallEnv<'a>, exchange: crate::exchange::TokenExchange) -> Self {
        Call::new(
            env,
            "exchange_token",
            Policy::Sessionless,
            None,
            move |cx, _| cx.exchange_token(exchange.clone()),
        )
    }
}

impl<'a, T: Send + 'a> Call<'a, T> {
    fn new<O>(
        env: CallEnv<'a>,
        name: &'static str,
        policy: Policy,
        peek: Option<Peek<'a, T>>,
        make: impl FnMut(Cx<'a>, bool) -> O + Send + 'a,
    ) -> Self
    where
        O: Bound<Output = T> + Send + 'a,
    {
        let mut machine = Machine {
            name,
            config: env.config,
            holder: format!("{}.{}", env.holder, env.call),
            policy,
            make: Box::new(make),
            peek,
            cache: env.cache,
            ours: Snapshot::new(),
            op: None,
            state: State::Read(Purpose::Begin),
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
            machine.run_op(true);
        }
        Call {
            machine: Box::new(machine),
        }
    }
}

impl<T> Call<'_, T> {
    /// What the store held at [`Step::ReadSession`] (`None`: nothing). `reader` parses it
    /// (reusing its last parse while the text is unchanged); a session it cannot read ends
    /// the call with [`Error::Snapshot`].
    pub fn handle_read(
        &mut self,
        stored: Option<String>,
        reader: &mut SessionReader,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.machine.read(stored, reader, now)
    }

    /// [`handle_read`](Self::handle_read) with the parse already at hand: `snapshot` must be
    /// what `stored` parses to, as [`SessionReader::peek`] returns it.
    pub fn handle_read_parsed(
        &mut self,
        stored: Option<String>,
        snapshot: Arc<Snapshot>,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.machine.read_parsed(stored, snapshot, now)
    }

    /// Whether the compare-and-swap of [`Step::WriteSession`] wrote.
    pub fn handle_written(&mut self, written: bool, now: UnixTime) -> Result<(), Error> {
        self.machine.written(written, now)
    }

    /// The compare-and-swap of [`Step::WriteSession`] failed: the store could not be
    /// reached, or answered with an error, so nothing is known to be written. Returns
    /// whether the call goes on.
    ///
    /// It goes on when the write carries a refresh token the provider has just rotated: the
    /// old one is consumed, so losing the new one would end the session (and a client that
    /// presented the old one would make Logto revoke the grant). The call then waits
    /// ([`Step::Wait`], growing from 200 ms to 1 s) and writes again, for as long as its
    /// refresh lease lasts; other clients wait for the lease meanwhile. For any other write,
    /// and once the lease has run out, it returns false: the call is over, and the driver
    /// reports the store's error (the stored session is as it was).
    pub fn handle_write_failed(&mut self, now: UnixTime) -> bool {
        self.machine.store_failed(now)
    }

    /// The read of [`Step::ReadSession`] failed (the store could not be reached, or answered
    /// with an error). Returns whether the call goes on: as with
    /// [`handle_write_failed`](Self::handle_write_failed), only while the call holds a
    /// rotated refresh token the store does not have yet (a read after a write conflict, to
    /// merge), and the lease lasts; it then waits and reads again. Otherwise the call is over
    /// and the driver reports the store's error.
    pub fn handle_read_failed(&mut self, now: UnixTime) -> bool {
        self.machine.store_failed(now)
    }

    /// The wait of [`Step::Wait`] is over.
    pub fn handle_waited(&mut self, now: UnixTime) -> Result<(), Error> {
        self.machine.waited(now)
    }
}

impl<T> Operation for Call<'_, T> {
    type Output = T;

    fn step(&mut self, now: UnixTime) -> Result<Step<T>, Error> {
        self.machine.step(now)
    }

    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error> {
        self.machine.response(Some(response), now)
    }

    /// Always true: a call goes on after a failed request, to write what changed and end
    /// its lease, and then fails with [`Error::RequestFailed`] (the driver answers with the
    /// transport error it holds) unless the operation could do without the request.
    fn handle_transport_error(&mut self, now: UnixTime) -> bool {
        self.machine.response(None, now).is_ok()
    }

    fn fetches_provider_data(&self) -> bool {
        self.machine
            .op()
            .is_some_and(|op| op.fetches_provider_data())
    }

    fn handle_shared_cache(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
        self.machine.shared(shared, now)
    }

    fn provider_cache(&self) -> &ProviderCache {
        self.machine.cache()
    }
}

/// An answer from the session as read, without an operation (or `None`).
type Peek<'a, T> = Box<dyn Fn(&Snapshot, UnixTime) -> Option<Result<T, Error>> + Send + 'a>;

/// How a call treats the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
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
enum Purpose {
    /// To start (or start again after waiting for another holder's lease).
    Begin,
    /// A write found the store changed: merge, then write again and go on with `then`.
    Merge(Then),
    /// To replace what is stored with the session the operation built, then finish.
    Replace,
}

/// What follows a successful write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
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
enum State {
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

/// The call machine behind [`Call`], generic over its operation.
trait Drive<T> {
    fn step(&mut self, now: UnixTime) -> Result<Step<T>, Error>;
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

struct Machine<'a, O: Operation> {
    /// The call's name in events (`access_token`, `sign_out`, ...).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    name: &'static str,
    config: &'a Config,
    /// This call's lease holder id.
    holder: String,
    policy: Policy,
    /// Builds the operation on a session; `true`: allowed to refresh.
    make: Box<dyn FnMut(Cx<'a>, bool) -> O + Send + 'a>,
    /// Answers the call from the session as read, when it can (a fresh cached token).
    peek: Option<Peek<'a, O::Output>>,
    /// The provider cache and the session while no operation holds them.
    cache: Arc<ProviderCache>,
    ours: Snapshot,
    op: Option<O>,
    state: State,
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

impl<'a, O: Bound + 'a> Machine<'a, O> {
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
            Cx::owned(self.config, cache, snapshot),
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
            self.ours.release_refresh_lease(&self.holder);
        }
        self.state = match (self.policy, replaces) {
            // The new session goes over what is stored now, whatever that is.
            (Policy::Replace, true) => State::Read(Purpose::Replace),
            // A failed sign-in writes nothing: the stored session stays as it was.
            (Policy::Replace, false) => State::Finish,
            _ => State::Write(Then::Finish),
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

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn report_store_failure(&self, unsaved_rotation: bool) {
        if unsaved_rotation {
            event!(
                error,
                call = self.name,
                failures = self.write_failures,
                "the store kept failing while a rotated refresh token was unsaved: it is lost, \
                 and the user will have to sign in again"
            );
            return;
        }
        event!(debug, call = self.name, "the store failed: the call ends");
    }

    /// The session was read for `purpose`.
    fn on_read(&mut self, stored: Option<String>, snapshot: Arc<Snapshot>, now: UnixTime) {
        match purpose_of(&self.state) {
            Purpose::Begin => {
                if let Some(answer) = self.peek.as_ref().and_then(|peek| peek(&snapshot, now)) {
                    // Answered from the session as read: no request, no write, no copy.
                    self.outcome = Some(answer);
                    self.state = State::Finish;
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
                        self.state = State::Write(Then::Run);
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
                self.state = State::Write(Then::Finish);
            }
        }
    }

    fn run_op(&mut self, refresh: bool) {
        self.start_op(refresh);
        self.state = State::Run;
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
            self.state = State::Write(Then::Run);
            return;
        }
        match merge::merge(&self.base, self.ours(), &snapshot, &self.holder) {
            Some(merged) => {
                self.base_text = stored;
                self.base = Arc::new(snapshot);
                *self.ours_mut() = merged;
                self.state = State::Write(then);
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
                self.state = match request {
                    Some(request) => State::Revoke(request),
                    None => State::Finish,
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

    /// Takes the refresh lease on the session as read, or waits for its holder.
    fn lease(&mut self, now: UnixTime) -> Result<Option<Step<O::Output>>, Error> {
        let ttl = refresh_lease_ttl(self.config);
        self.touched = true;
        match self.ours.acquire_refresh_lease(&self.holder, now, ttl) {
            LeaseState::Acquired => {
                event!(
                    debug,
                    call = self.name,
                    "taking the session's refresh lease"
                );
                self.state = State::Write(Then::Refresh);
                Ok(None)
            }
            LeaseState::HeldElsewhere { until } => {
                // Bounded: about one lease lifetime of waits, whatever the clock does.
                let max_waits = ttl.saturating_add(1).saturating_mul(20);
                self.waits += 1;
                if u64::from(self.waits) > max_waits {
                    event!(
                        warn,
                        call = self.name,
                        until = until.as_secs(),
                        waits = self.waits,
                        "another call held the session's refresh lease for too long: giving up"
                    );
                    return Err(Error::SessionBusy { until });
                }
                if self.waits == 1 {
                    event!(
                        debug,
                        call = self.name,
                        until = until.as_secs(),
                        "waiting for the refresh lease another call holds"
                    );
                }
                self.state = State::Waiting;
                let left = Duration::from_secs(until.secs_since(now).max(1));
                Ok(Some(Step::Wait(WAIT_STEP.min(left))))
            }
        }
    }

    /// The write of the session as the call holds it, unless the store already holds it.
    fn write(&mut self, then: Then) -> Option<Step<O::Output>> {
        if !self.is_touched() {
            self.state = self.after_write(then);
            return None;
        }
        let text = match session_write(self.base_text.as_deref(), self.ours()) {
            SessionWrite::Set(json) => Some(json),
            SessionWrite::Delete if self.base_text.is_some() => None,
            SessionWrite::Delete | SessionWrite::Unchanged => {
                self.state = self.after_write(then);
                return None;
            }
        };
        self.state = State::Writing {
            then,
            text: text.clone(),
        };
        Some(Step::WriteSession {
            expected: self.base_text.clone(),
            new: text,
        })
    }

    /// Where a successful (or needless) write leads.
    fn after_write(&mut self, then: Then) -> State {
        match then {
            Then::Run => State::Run,
            Then::Refresh => {
                // The lease is ours: the operation starts again, now allowed to refresh.
                self.leased = true;
                self.drop_op();
                self.start_op(true);
                State::Run
            }
            Then::Send => State::SendHeld,
            Then::Finish => State::Finish,
        }
    }

    /// Whether this call's lease could end before an answer to a request sent now arrives
    /// (the request timeout, and a margin for clocks of other clients).
    fn lease_runs_short(&self, now: UnixTime) -> bool {
        let answer_by = now
            .add_secs(self.config.request_timeout().as_secs())
            .add_secs(5);
        self.leased
            && self
                .ours()
                .lease
                .as_ref()
                .is_some_and(|lease| lease.holder == self.holder && lease.until < answer_by)
    }

    /// A read or write of a new session failed: try again after a growing wait, a few
    /// times; then the session is lost (the user signs in again), and said so loudly.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn store_failed_replacing(&mut self, failed: State) -> bool {
        if self.write_failures >= MAX_REPLACE_STORE_FAILURES {
            event!(
                error,
                call = self.name,
                failures = self.write_failures,
                "the store kept failing while a new session was unsaved: it is lost, and the \
                 user will have to sign in again"
            );
            return false;
        }
        self.write_failures += 1;
        let wait = store_retry_wait(self.write_failures);
        event!(
            warn,
            call = self.name,
            failures = self.write_failures,
            wait_ms = wait.as_millis() as u64,
            "the store failed while a new session is unsaved: retrying"
        );
        self.state = match failed {
            State::Writing { then, .. } => State::WriteAgain { then, wait },
            State::Reading(purpose) => State::ReadAgain { purpose, wait },
            _ => return false,
        };
        true
    }

    fn step_inner(&mut self, now: UnixTime) -> Result<Step<O::Output>, Error> {
        let result = self.advance(now);
        if result.is_err() {
            self.state = State::Over;
        }
        result
    }

    fn advance(&mut self, now: UnixTime) -> Result<Step<O::Output>, Error> {
        loop {
            match std::mem::replace(&mut self.state, State::Over) {
                State::Read(purpose) => {
                    self.state = State::Reading(purpose);
                    return Ok(Step::ReadSession);
                }
                State::Run => {
                    let op = self.op.as_mut().ok_or(Error::Usage("no operation"))?;
                    match op.step(now) {
                        Ok(Step::Send(request)) if self.lease_runs_short(now) => {
                            // The answer could come after the lease ends, when another client
                            // may take it over and present the same refresh token: renew it
                            // first. The compare-and-swap fails if someone took it already.
                            let until = now.add_secs(refresh_lease_ttl(self.config));
                            if let Some(lease) = &mut self.ours_mut().lease {
                                lease.until = until;
                            }
                            self.held = Some(request);
                            self.state = State::Write(Then::Send);
                        }
                        Ok(Step::Send(request)) => {
                            self.state = State::Sending;
                            return Ok(Step::Send(request));
                        }
                        Ok(Step::Done(value)) => self.finish(Ok(value)),
                        Ok(Step::Wait(duration)) => {
                            // The operation's own pause (a device sign-in between polls).
                            self.state = State::OperationWaiting;
                            return Ok(Step::Wait(duration));
                        }
                        Ok(_) => return Err(Error::Usage("an operation stepped out of turn")),
                        Err(Error::RefreshNeeded) if self.policy == Policy::Leased => {
                            // The refresh must wait for the lease. What the operation changed
                            // (a token the provider refused) goes with the lease's write.
                            self.drop_op();
                            self.state = State::Lease;
                        }
                        Err(e) => self.finish(Err(e)),
                    }
                }
                State::Lease => {
                    if let Some(step) = self.lease(now)? {
                        return Ok(step);
                    }
                }
                State::Write(then) => {
                    if let Some(step) = self.write(then) {
                        return Ok(step);
                    }
                }
                State::WriteAgain { then, wait } => {
                    self.state = State::WaitingToWrite(then);
                    return Ok(Step::Wait(wait));
                }
                State::ReadAgain { purpose, wait } => {
                    self.state = State::WaitingToRead(purpose);
                    return Ok(Step::Wait(wait));
                }
                State::SendHeld => {
                    let request = self.held.take().ok_or(Error::Usage("no request held"))?;
                    self.state = State::Sending;
                    return Ok(Step::Send(request));
                }
                State::Revoke(request) => {
                    self.state = State::Revoking;
                    return Ok(Step::Send(request));
                }
                State::Finish => {
                    let outcome = self
                        .outcome
                        .take()
                        .ok_or(Error::Usage("the call is over"))?;
                    return outcome.map(Step::Done);
                }
                State::Over => return Err(Error::Usage("the call is over")),
                waiting @ (State::Reading(_)
                | State::Sending
                | State::Writing { .. }
                | State::Waiting
                | State::OperationWaiting
                | State::WaitingToWrite(_)
                | State::WaitingToRead(_)
                | State::Revoking) => {
                    self.state = waiting;
                    return Err(Error::Usage("a step's answer is awaited"));
                }
            }
        }
    }
}

/// The wait before retrying the store after `failures` failures in a row: 200 ms, doubling,
/// at most 1 s.
fn store_retry_wait(failures: u32) -> Duration {
    let backoff = Duration::from_millis(100 << failures.min(4));
    backoff.min(Duration::from_secs(1))
}

fn purpose_of(state: &State) -> Purpose {
    match state {
        State::Reading(purpose) => *purpose,
        _ => Purpose::Begin,
    }
}

impl<'a, O: Bound + 'a> Drive<O::Output> for Machine<'a, O> {
    fn step(&mut self, now: UnixTime) -> Result<Step<O::Output>, Error> {
        self.step_inner(now)
    }

    fn read(
        &mut self,
        stored: Option<String>,
        reader: &mut SessionReader,
        now: UnixTime,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Reading(_)) {
            return Err(Error::Usage("no read is awaited"));
        }
        if matches!(self.state, State::Reading(Purpose::Replace)) {
            // Replaced whatever it holds, readable or not: only its text is compared.
            self.on_read(stored, Arc::default(), now);
            return Ok(());
        }
        let snapshot = match reader.read_shared(stored.as_deref()) {
            Ok(snapshot) => snapshot,
            Err(crate::StorageError::Corrupt(e)) => {
                self.state = State::Over;
                return Err(Error::Snapshot(e));
            }
            Err(_) => {
                self.state = State::Over;
                return Err(Error::Usage("the session reader failed"));
            }
        };
        self.read_parsed(stored, snapshot, now)
    }

    fn read_parsed(
        &mut self,
        stored: Option<String>,
        snapshot: Arc<Snapshot>,
        now: UnixTime,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Reading(_)) {
            return Err(Error::Usage("no read is awaited"));
        }
        self.on_read(stored, snapshot, now);
        Ok(())
    }

    fn written(&mut self, written: bool, _now: UnixTime) -> Result<(), Error> {
        let State::Writing { then, text } = std::mem::replace(&mut self.state, State::Over) else {
            return Err(Error::Usage("no write is awaited"));
        };
        if written {
            self.base = Arc::new(self.ours().clone());
            self.base_text = text;
            self.touched = false;
            if let Some(op) = &mut self.op {
                op.untouch();
            }
            self.written_rt = self.base.refresh_token.clone();
            self.state = self.after_write(then);
            return Ok(());
        }
        self.writes += 1;
        if self.writes > MAX_WRITES {
            event!(
                warn,
                call = self.name,
                attempts = self.writes,
                "the stored session changed under every write: giving up"
            );
            return Err(Error::WriteContended {
                attempts: self.writes,
            });
        }
        event!(
            debug,
            call = self.name,
            attempt = self.writes,
            "storage conflict: the stored session changed since it was read; reading it again"
        );
        self.state = match then {
            // The new session replaces whatever was written meanwhile too.
            Then::Finish if self.policy == Policy::Replace => State::Read(Purpose::Replace),
            // Someone wrote before the lease was ours: start over from what is stored (it
            // may hold the token this call needs, refreshed by that writer).
            Then::Refresh => State::Read(Purpose::Begin),
            // The lease could not be renewed: someone took it over. The request held is
            // dropped unsent and the call starts over (what it received so far is stored).
            Then::Send => {
                self.held = None;
                self.drop_op();
                self.leased = false;
                State::Read(Purpose::Begin)
            }
            then => State::Read(Purpose::Merge(then)),
        };
        Ok(())
    }

    fn store_failed(&mut self, now: UnixTime) -> bool {
        let failed = std::mem::replace(&mut self.state, State::Over);
        if !matches!(failed, State::Writing { .. } | State::Reading(_)) {
            return false;
        }
        // Only a refresh token the provider has rotated is worth waiting for the store: the
        // old one is consumed. Anything else fails now; the user's next request retries it.
        let unsaved_rotation = self.policy == Policy::Leased
            && self.ours().refresh_token.is_some()
            && self.ours().refresh_token != self.written_rt;
        if self.policy == Policy::Replace {
            return self.store_failed_replacing(failed);
        }
        // The lease as stored, not as this call would renew it with the failed write: past
        // it, another client may take the lease and present the consumed refresh token.
        let lease_until = self
            .base
            .lease
            .as_ref()
            .filter(|lease| lease.holder == self.holder)
            .map(|lease| lease.until);
        // Bounded whatever the clock does (a frozen or stepped-back clock): each wait is at
        // least 200 ms, so this is about the lease's lifetime of waits.
        let max_failures = refresh_lease_ttl(self.config).saturating_mul(5);
        match lease_until {
            Some(until)
                if unsaved_rotation
                    && now < until
                    && u64::from(self.write_failures) < max_failures =>
            {
                self.write_failures += 1;
                let left = Duration::from_secs(until.secs_since(now));
                let wait = store_retry_wait(self.write_failures).min(left);
                event!(
                    warn,
                    call = self.name,
                    failures = self.write_failures,
                    wait_ms = wait.as_millis() as u64,
                    "the store failed while a rotated refresh token is unsaved: retrying"
                );
                self.state = match failed {
                    State::Writing { then, .. } => State::WriteAgain { then, wait },
                    State::Reading(purpose) => State::ReadAgain { purpose, wait },
                    _ => State::Over,
                };
                true
            }
            _ => {
                self.report_store_failure(unsaved_rotation);
                false
            }
        }
    }

    fn waited(&mut self, _now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Over) {
            State::Waiting => self.state = State::Read(Purpose::Begin),
            State::OperationWaiting => self.state = State::Run,
            State::WaitingToWrite(then) => self.state = State::Write(then),
            State::WaitingToRead(purpose) => self.state = State::Read(purpose),
            other => {
                self.state = other;
                return Err(Error::Usage("no wait is awaited"));
            }
        }
        Ok(())
    }

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn response(&mut self, response: Option<HttpResponse>, now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Over) {
            State::Revoking => {
                // Best effort: the call fails as NotAuthenticated whatever the answer.
                match &response {
                    Some(answer) if answer.is_success() => event!(
                        info,
                        call = self.name,
                        "revoked the refresh token received for the ended session"
                    ),
                    Some(answer) => event!(
                        warn,
                        call = self.name,
                        status = answer.status,
                        "revoking the refresh token received for the ended session failed"
                    ),
                    None => event!(
                        warn,
                        call = self.name,
                        "revoking the refresh token received for the ended session: no answer"
                    ),
                }
                self.state = State::Finish;
                Ok(())
            }
            State::Sending => {
                let op = self.op.as_mut().ok_or(Error::Usage("no operation"))?;
                let handled = match response {
                    Some(response) => op.handle_response(response, now),
                    None if op.handle_transport_error(now) => Ok(()),
                    // The call still writes what changed (and ends its lease) before it
                    // reports the failure, which the driver holds.
                    None => Err(Error::RequestFailed),
                };
                match handled {
                    Ok(()) => {
                        let rotated = self.policy == Policy::Leased
                            && self.ours().refresh_token != self.written_rt;
                        self.state = if rotated {
                            // Before any further request: the provider consumed the old
                            // refresh token, so the new one must reach the store now.
                            let until = now.add_secs(refresh_lease_ttl(self.config));
                            if let Some(lease) = &mut self.ours_mut().lease {
                                lease.until = until;
                            }
                            State::Write(Then::Run)
                        } else {
                            State::Run
                        };
                        Ok(())
                    }
                    Err(e) => {
                        // The operation is over; what it left is consistent and is written.
                        self.finish(Err(e));
                        Ok(())
                    }
                }
            }
            other => {
                self.state = other;
                Err(Error::Usage("no response is awaited"))
            }
        }
    }

    fn shared(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
        let taken = matches!(self.state, State::Sending)
            && self
                .op
                .as_mut()
                .is_some_and(|op| op.handle_shared_cache(shared, now));
        if taken {
            // The request in flight is dropped unsent: the operation steps on.
            self.state = State::Run;
        }
        taken
    }

    fn op(&self) -> Option<&dyn Operation<Output = O::Output>> {
        self.op
            .as_ref()
            .map(|op| op as &dyn Operation<Output = O::Output>)
    }

    fn cache(&self) -> &ProviderCache {
        self.op().map_or(&*self.cache, |op| op.provider_cache())
    }
}
