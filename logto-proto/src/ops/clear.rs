//! Forgetting cached access tokens: no request, only a change to the session.

use super::engine::{Awaiting, Engine};
use super::{Operation, Step};
use crate::error::Error;
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::snapshot::TokenTarget;
use crate::time::UnixTime;

/// Drops the cached token for a target, or every cached access token (`None`).
#[derive(Debug)]
pub(crate) struct ClearAccessTokens<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) target: Option<TokenTarget>,
}

impl ClearAccessTokens<'_> {
    fn advance(&mut self, _: UnixTime) -> Result<Step<()>, Error> {
        match &self.target {
            Some(target) => self.eng.snapshot.clear_access_token(target),
            None => self.eng.snapshot.clear_access_tokens(),
        }
        Ok(Step::Done(()))
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(ClearAccessTokens, ());
