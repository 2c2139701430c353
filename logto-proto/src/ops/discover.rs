//! Discovery.

use super::engine::{Awaiting, Engine};
use super::{Operation, Step};
use crate::error::Error;
use crate::http::HttpResponse;
use crate::metadata::{ProviderCache, ProviderMetadata};
use crate::time::UnixTime;

/// Fetches provider metadata (see [`Context::discover`](crate::Context::discover)).
#[derive(Debug)]
pub struct Discover<'a> {
    pub(super) eng: Engine<'a>,
}

impl Discover<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<ProviderMetadata>, Error> {
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        Ok(Step::Done(self.eng.metadata()?.clone()))
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(Discover, ProviderMetadata);
