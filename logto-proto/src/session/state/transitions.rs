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
                            let until = now.add_secs(refresh_lease_ttl(self.config));
                            if let Some(lease) = &mut self.ours_mut().lease {
                                lease.until = until;
                            }
                            self.held = Some(request);
                            self.phase = Phase::Write(Then::Send);
                        }
                        Ok(Step::Send(request)) => {
                            self.phase = Phase::Sending;
                            return Ok(CallStep::Send(request));
                        }
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
                    if let Some(step) = self.lease(now)? {
                        return Ok(step);
                    }
                }
                Phase::Write(then) => {
                    if let Some(step) = self.write(then) {
                        return Ok(step);
                    }
                }
                Phase::WriteAgain { then, wait } => {
                    self.phase = Phase::WaitingToWrite(then);
                    return Ok(CallStep::Wait(wait));
                }
                Phase::ReadAgain { purpose, wait } => {
                    self.phase = Phase::WaitingToRead(purpose);
                    return Ok(CallStep::Wait(wait));
                }
                Phase::SendHeld => {
                    let request = self.held.take().ok_or(Error::Usage("no request held"))?;
                    self.phase = Phase::Sending;
                    return Ok(CallStep::Send(request));
                }
                Phase::Revoke(request) => {
                    self.phase = Phase::Revoking;
                    return Ok(CallStep::Send(request));
                }
                Phase::Finish => {
                    let outcome = self
                        .outcome
                        .take()
                        .ok_or(Error::Usage("the call is over"))?;
                    return outcome.map(CallStep::Done);
                }
                Phase::Over => return Err(Error::Usage("the call is over")),
                waiting @ (Phase::Reading(_)
                | Phase::Sending
                | Phase::Writing { .. }
                | Phase::Waiting
                | Phase::OperationWaiting
                | Phase::WaitingToWrite(_)
                | Phase::WaitingToRead(_)
                | Phase::Revoking) => {
                    self.phase = waiting;
                    return Err(Error::Usage("a step's answer is awaited"));
                }
            }
        }
    }
}
