//! The session call's transitions: what each phase does next, and why.

use super::*;
use crate::ops::Step;

impl<'a, O: Bound + 'a> CallState<'a, O> {
    pub(super) fn step_inner(&mut self, now: UnixTime) -> Result<CallStep<O::Output>, Error> {
        let result = self.advance(now);
        if result.is_err() {
            self.phase = Phase::Over;
        }
        result
    }

    fn advance(&mut self, now: UnixTime) -> Result<CallStep<O::Output>, Error> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Over) {
                Phase::Read(purpose) => {
                    // Every decision starts from what the store holds now.
                    self.phase = Phase::Reading(purpose);
                    return Ok(CallStep::ReadSession);
                }
                Phase::Run => {
                    let op = self.op.as_mut().ok_or(Error::Usage("no operation"))?;
                    match op.step(now) {
                        Ok(Step::Send(request)) if self.lease_runs_short(now) => {
                            // The answer could come after the lease ends, when another client
                            // may take it over and present the same refresh token: renew it
                            // first. The compare-and-swap fails if someone took it already.
                            self.renew_lease(now);
                            self.held = Some(request);
                            self.phase = Phase::Write(Then::Send);
                        }
                        Ok(Step::Send(request)) => {
                            // The lease (if any) outlasts the answer: send at once.
                            self.phase = Phase::Sending;
                            return Ok(CallStep::Send(request));
                        }
                        // Done or failed, what the operation changed is written next.
                        Ok(Step::Done(value)) => self.finish(Ok(value)),
                        Ok(Step::Wait(duration)) => {
                            // The operation's own pause (a device sign-in between polls).
                            self.phase = Phase::OperationWaiting;
                            return Ok(CallStep::Wait(duration));
                        }
                        Err(Error::RefreshNeeded) if self.policy == Policy::Leased => {
                            // The refresh must wait for the lease. What the operation changed
                            // (a token the provider refused) goes with the lease's write.
                            self.drop_op();
                            self.phase = Phase::Lease;
                        }
                        Err(e) => self.finish(Err(e)),
                    }
                }
                Phase::Lease => {
                    // Taken with a write (a compare-and-swap), or waited for (see `lease`).
                    if let Some(step) = self.lease(now)? {
                        return Ok(step);
                    }
                }
                Phase::Write(then) => {
                    // A write the store already holds is skipped: the call goes on to `then`.
                    if let Some(step) = self.write(then) {
                        return Ok(step);
                    }
                }
                Phase::WriteAgain { then, wait } => {
                    // The store failed while a rotated refresh token (kept by the lease from
                    // other refreshes) or a new session is unsaved: back off, write again.
                    self.phase = Phase::WaitingToWrite(then);
                    return Ok(CallStep::Wait(wait));
                }
                Phase::ReadAgain { purpose, wait } => {
                    // The same, for the read that write needs first (to merge, or to know
                    // what the new session replaces).
                    self.phase = Phase::WaitingToRead(purpose);
                    return Ok(CallStep::Wait(wait));
                }
                Phase::SendHeld => {
                    // The lease is renewed in the store: the held request may go now.
                    let request = self.held.take().ok_or(Error::Usage("no request held"))?;
                    self.phase = Phase::Sending;
                    return Ok(CallStep::Send(request));
                }
                Phase::Revoke(request) => {
                    // A refresh token nobody stores any more must not stay live.
                    self.phase = Phase::Revoking;
                    return Ok(CallStep::Send(request));
                }
                Phase::Finish => {
                    // Everything the call changed is stored: hand over its outcome, once.
                    let outcome = self
                        .outcome
                        .take()
                        .ok_or(Error::Usage("the call is over"))?;
                    return outcome.map(CallStep::Done);
                }
                // Stepping a finished call is the driver's mistake.
                Phase::Over => return Err(Error::Usage("the call is over")),
                waiting @ (Phase::Reading(_)
                | Phase::Sending
                | Phase::Writing { .. }
                | Phase::Waiting
                | Phase::OperationWaiting
                | Phase::WaitingToWrite(_)
                | Phase::WaitingToRead(_)
                | Phase::Revoking) => {
                    // A step is out; stepping again before its answer is the driver's
                    // mistake, and the call stays where it was.
                    self.phase = waiting;
                    return Err(Error::Usage("a step's answer is awaited"));
                }
            }
        }
    }
}
