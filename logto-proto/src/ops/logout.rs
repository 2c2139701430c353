//! Back-channel logout: verifying the logout token the provider POSTs to the app.

use super::engine::{Awaiting, Engine, Presented};
use super::{Operation, Step};
use crate::error::{Error, LogoutTokenError};
use crate::http::HttpResponse;
use crate::logout::{is_unknown_key, verify_logout_token, BackchannelLogout, LogoutTokenCheck};
use crate::metadata::ProviderCache;
use crate::time::UnixTime;
use std::fmt;

/// Verifies a back-channel logout request (see
/// [`Context::handle_backchannel_logout`](crate::Context::handle_backchannel_logout)): the
/// logout token of its form body, against the provider's keys, fetched as steps when
/// missing. Done gives what to log out; the session is not touched.
pub struct HandleBackchannelLogout<'a> {
    pub(super) eng: Engine<'a>,
    /// The form body's logout token, or why there is none.
    pub(super) token: Result<String, LogoutTokenError>,
}

impl fmt::Debug for HandleBackchannelLogout<'_> {
    // The token is signed by the provider and names a user's session: only its length shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleBackchannelLogout")
            .field("eng", &self.eng)
            .field("token_len", &self.token.as_ref().map(String::len).ok())
            .finish()
    }
}

impl HandleBackchannelLogout<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<BackchannelLogout>, Error> {
        let token = self.token.clone()?;
        let client_id = self.eng.config.app_id().to_owned();
        let tolerance = self.eng.config.clock_tolerance();
        let verified = self.eng.verify_presented(
            now,
            |jwks, issuer| {
                let check = LogoutTokenCheck {
                    issuer,
                    client_id: &client_id,
                    now,
                    clock_tolerance: tolerance,
                };
                verify_logout_token(&token, jwks, &check)
            },
            is_unknown_key,
        )?;
        Ok(match verified {
            Presented::Verified(logout) => Step::Done(logout),
            Presented::Fetch(request) => Step::Send(request),
        })
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(HandleBackchannelLogout, BackchannelLogout);
