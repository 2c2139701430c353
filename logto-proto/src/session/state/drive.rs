//! How a session call takes the driver's results: a read, a write's outcome, a wait, a
//! response, a store failure.

use super::lease::STORE_RETRIES_PER_SECOND;
use super::*;

impl<'a, O: Bound + 'a> Drive<O::Output> for CallState<'a, O> {
    fn step(&mut self, now: UnixTime) -> Result<CallStep<O::Output>, Error> {
        self.step_inner(now)
    }

    fn read(
        &mut self,
        stored: Option<String>,
        reader: &mut SessionReader,
        now: UnixTime,
    ) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Reading(_)) {
            return Err(Error::Usage("no read is awaited"));
        }
        if matches!(self.phase, Phase::Reading(Purpose::Replace)) {
            // Replaced whatever it holds, readable or not: only its text is compared.
            self.on_read(stored, Arc::default(), now);
            return Ok(());
        }
        let snapshot = match reader.read_shared(stored.as_deref()) {
            Ok(snapshot) => snapshot,
            Err(crate::StorageError::Corrupt(e)) => {
                self.phase = Phase::Over;
                return Err(Error::Snapshot(e));
            }
            Err(_) => {
                self.phase = Phase::Over;
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
        if !matches!(self.phase, Phase::Reading(_)) {
            return Err(Error::Usage("no read is awaited"));
        }
        self.on_read(stored, snapshot, now);
        Ok(())
    }

    fn written(&mut self, written: bool, _now: UnixTime) -> Result<(), Error> {
        let Phase::Writing { then, text } = std::mem::replace(&mut self.phase, Phase::Over) else {
            return Err(Error::Usage("no write is awaited"));
        };
        if written {
            // What the call holds is what the store holds: the base of the next write.
            self.base = Arc::new(self.ours().clone());
            self.base_text = text;
            self.touched = false;
            if let Some(op) = &mut self.op {
                op.untouch();
            }
            self.written_rt = self.base.refresh_token.clone();
            self.phase = self.after_write(then);
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
        self.phase = match then {
            // The new session replaces whatever was written meanwhile too.
            Then::Finish if self.policy == Policy::Replace => Phase::Read(Purpose::Replace),
            // Someone wrote before the lease was ours: start over from what is stored (it
            // may hold the token this call needs, refreshed by that writer).
            Then::Refresh => Phase::Read(Purpose::Begin),
            // The lease could not be renewed: someone took it over. The request held is
            // dropped unsent and the call starts over (what it received so far is stored).
            Then::Send => {
                self.held = None;
                self.drop_op();
                self.leased = false;
                Phase::Read(Purpose::Begin)
            }
            then => Phase::Read(Purpose::Merge(then)),
        };
        Ok(())
    }

    fn store_failed(&mut self, now: UnixTime) -> bool {
        let failed = std::mem::replace(&mut self.phase, Phase::Over);
        if !matches!(failed, Phase::Writing { .. } | Phase::Reading(_)) {
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
        // Bounded whatever the clock does (a frozen or stepped-back clock): about the lease's
        // lifetime of retries.
        let max_failures = refresh_lease_ttl(self.config).saturating_mul(STORE_RETRIES_PER_SECOND);
        match lease_until {
            Some(until)
                if unsaved_rotation
                    && now < until
                    && u64::from(self.write_failures) < max_failures =>
            {
                let left = Duration::from_secs(until.secs_since(now));
                self.retry_store(failed, left, "a rotated refresh token")
            }
            _ => {
                self.report_store_failure(unsaved_rotation);
                false
            }
        }
    }

    fn waited(&mut self, _now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            // Read again: the lease's holder may have stored the token this call needs.
            Phase::Waiting => self.phase = Phase::Read(Purpose::Begin),
            // The operation's pause is over: it polls again.
            Phase::OperationWaiting => self.phase = Phase::Run,
            // The backoff after a store failure is over: the same write, or read, again.
            Phase::WaitingToWrite(then) => self.phase = Phase::Write(then),
            Phase::WaitingToRead(purpose) => self.phase = Phase::Read(purpose),
            other => {
                self.phase = other;
                return Err(Error::Usage("no wait is awaited"));
            }
        }
        Ok(())
    }

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn response(&mut self, response: Option<HttpResponse>, now: UnixTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Revoking => {
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
                self.phase = Phase::Finish;
                Ok(())
            }
            Phase::Sending => {
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
                        self.phase = if rotated {
                            // Before any further request: the provider consumed the old
                            // refresh token, so the new one must reach the store now.
                            self.renew_lease(now);
                            Phase::Write(Then::Run)
                        } else {
                            Phase::Run
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
                self.phase = other;
                Err(Error::Usage("no response is awaited"))
            }
        }
    }

    fn shared(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
        let taken = matches!(self.phase, Phase::Sending)
            && self
                .op
                .as_mut()
                .is_some_and(|op| op.handle_shared_cache(shared, now));
        if taken {
            // The request in flight is dropped unsent: the operation steps on.
            self.phase = Phase::Run;
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
