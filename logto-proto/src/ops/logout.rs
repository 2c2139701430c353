//! Back-channel logout: verifying the logout token the provider POSTs to the app.

use super::engine::{Awaiting, Engine, JwksNeed};
use super::{Operation, Step};
use crate::error::{Error, LogoutTokenError};
use crate::http::{HttpRequest, HttpResponse};
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
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let metadata = self.eng.metadata()?;
        let (issuer, jwks_uri) = (metadata.issuer.clone(), metadata.jwks_uri.clone());
        let Some(jwks) = self.eng.cache.fresh_jwks(self.eng.config, now) else {
            self.eng.jwks_need = JwksNeed::Missing;
            return self.eng.send(Awaiting::Jwks, HttpRequest::get(jwks_uri));
        };
        let check = LogoutTokenCheck {
            issuer: &issuer,
            client_id: self.eng.config.app_id(),
            now,
            clock_tolerance: self.eng.config.clock_tolerance(),
        };
        match verify_logout_token(&token, jwks, &check) {
            Ok(logout) => Ok(Step::Done(logout)),
            // Anyone can POST to the logout route, so the `kid` is an outsider's choice: an
            // unknown one refetches the keys (a rotation) only when they were fetched more
            // than the cooldown ago, so that made-up kids cost at most one JWKS request per
            // cooldown.
            Err(e)
                if is_unknown_key(&e)
                    && !self.eng.jwks_fetched
                    && now.secs_since(jwks.fetched_at())
                        >= self.eng.config.jwks_refetch_cooldown() =>
            {
                self.eng.jwks_need = JwksNeed::Rotated {
                    tried: jwks.clone(),
                };
                self.eng.send(Awaiting::Jwks, HttpRequest::get(jwks_uri))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(HandleBackchannelLogout, BackchannelLogout);
