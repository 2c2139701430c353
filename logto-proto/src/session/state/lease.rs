//! The refresh lease of a session call (taking it, waiting for another holder, renewing it
//! before a request could outlast it) and the backoff after store failures.

use super::*;

/// Store failures a new session (a device sign-in's) is retried through before it is given
/// up: the user signed in and the device code is spent, so it is worth a few seconds.
pub(super) const MAX_REPLACE_STORE_FAILURES: u32 = 10;
/// How long a wait for another holder's lease lasts at most, each time.
pub(super) const WAIT_STEP: Duration = Duration::from_millis(50);
/// How many waits of [`WAIT_STEP`] make a second: a call waits for another holder's lease
/// about one lease lifetime (in seconds) times this before it gives up.
pub(super) const WAITS_PER_SECOND: u64 = 1000 / WAIT_STEP.as_millis() as u64;
/// After one store failure the call waits twice this, and twice as long after each further
/// one (see [`store_retry_wait`]).
pub(super) const STORE_RETRY_BASE_MS: u64 = 100;
/// The longest wait before retrying the store.
pub(super) const STORE_RETRY_MAX: Duration = Duration::from_secs(1);
/// Store retries that fit in a second at most: each waits at least the first backoff
/// (twice [`STORE_RETRY_BASE_MS`]), so a call retries about one lease lifetime (in
/// seconds) times this before it gives up, whatever the clock does.
pub(super) const STORE_RETRIES_PER_SECOND: u64 = 1000 / (2 * STORE_RETRY_BASE_MS);

impl<'a, O: Bound + 'a> CallState<'a, O> {
    /// Takes the refresh lease on the session as read, or waits for its holder.
    pub(super) fn lease(&mut self, now: UnixTime) -> Result<Option<CallStep<O::Output>>, Error> {
        let ttl = refresh_lease_ttl(self.config);
        self.touched = true;
        match self.ours.take_refresh_lease(&self.holder, now, ttl) {
            LeaseState::Acquired => {
                event!(
                    debug,
                    call = self.name,
                    "taking the session's refresh lease"
                );
                self.phase = Phase::Write(Then::Refresh);
                Ok(None)
            }
            LeaseState::HeldElsewhere { until } => {
                // Bounded: about one lease lifetime of waits, whatever the clock does.
                let max_waits = ttl.saturating_add(1).saturating_mul(WAITS_PER_SECOND);
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
                self.phase = Phase::Waiting;
                let left = Duration::from_secs(until.secs_since(now).max(1));
                Ok(Some(CallStep::Wait(WAIT_STEP.min(left))))
            }
        }
    }

    /// Dates the lease this call holds one lifetime from `now`; the next write carries it,
    /// and fails if another call took the lease meanwhile.
    pub(super) fn renew_lease(&mut self, now: UnixTime) {
        let until = now.add_secs(refresh_lease_ttl(self.config));
        if let Some(lease) = &mut self.ours_mut().lease {
            lease.until = until;
        }
    }

    /// Whether this call's lease could end before an answer to a request sent now arrives
    /// (the request timeout, and a margin for clocks of other clients).
    pub(super) fn lease_runs_short(&self, now: UnixTime) -> bool {
        let answer_by = now
            .add_secs(self.config.request_timeout().as_secs())
            .add_secs(CLOCK_SKEW_MARGIN_SECS);
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
    pub(super) fn store_failed_replacing(&mut self, failed: Phase) -> bool {
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
        self.retry_store(failed, STORE_RETRY_MAX, "a new session")
    }

    /// The store failed the read or write of `failed` while `unsaved` is not stored: wait
    /// (growing with each failure, at most `limit`), then the same read or write again.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(super) fn retry_store(
        &mut self,
        failed: Phase,
        limit: Duration,
        unsaved: &'static str,
    ) -> bool {
        self.write_failures += 1;
        let wait = store_retry_wait(self.write_failures).min(limit);
        event!(
            warn,
            call = self.name,
            failures = self.write_failures,
            wait_ms = wait.as_millis() as u64,
            "the store failed while {unsaved} is unsaved: retrying"
        );
        self.phase = match failed {
            Phase::Writing { then, .. } => Phase::WriteAgain { then, wait },
            Phase::Reading(purpose) => Phase::ReadAgain { purpose, wait },
            // Not reached: only a read or a write is retried (`store_failed` checks).
            _ => return false,
        };
        true
    }

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(super) fn report_store_failure(&self, unsaved_rotation: bool) {
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
}

/// The wait before retrying the store after `failures` failures in a row: 200 ms, doubling,
/// at most 1 s.
pub(super) fn store_retry_wait(failures: u32) -> Duration {
    // Four doublings already pass the maximum; the cap keeps the shift small.
    const DOUBLINGS_PAST_MAX: u32 = 4;
    let backoff = Duration::from_millis(STORE_RETRY_BASE_MS << failures.min(DOUBLINGS_PAST_MAX));
    backoff.min(STORE_RETRY_MAX)
}
