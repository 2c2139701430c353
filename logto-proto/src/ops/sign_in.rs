//! The sign-in URL.

use super::engine::{Awaiting, Engine};
use super::{Operation, Step};
use crate::error::Error;
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::signin::{sign_in_url, SignInEntropy, SignInOptions};
use crate::time::UnixTime;

/// Builds the sign-in URL after discovery (see [`Context::sign_in`](crate::Context::sign_in)).
#[derive(Debug)]
pub struct SignIn<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) options: SignInOptions,
    pub(super) entropy: SignInEntropy,
}

impl SignIn<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<String>, Error> {
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let metadata = self
            .eng
            .cache
            .metadata
            .as_ref()
            .ok_or(Error::Usage("metadata missing after discovery"))?;
        let url = sign_in_url(
            self.eng.config,
            metadata,
            &mut self.eng.snapshot,
            &self.options,
            &self.entropy,
            now,
        )?;
        Ok(Step::Done(url))
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(SignIn, String);
