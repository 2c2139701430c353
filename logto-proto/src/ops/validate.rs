//! Protecting an API: verifying a bearer access token presented to it.

use super::engine::{Awaiting, Engine, Presented};
use super::{Operation, Step};
use crate::access::{is_unknown_key, verify_access_token, AccessTokenCheck, VerifiedAccessToken};
use crate::error::{AccessTokenError, Error};
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::time::UnixTime;
use std::fmt;

/// Verifies a bearer access token (see
/// [`Context::verify_access_token`](crate::Context::verify_access_token)), fetching the
/// provider's keys as steps when missing. Done gives the verified token; what a route
/// requires of it is [`VerifiedAccessToken::authorize`]'s.
pub struct VerifyAccessToken<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) token: Result<String, AccessTokenError>,
}

impl fmt::Debug for VerifyAccessToken<'_> {
    // The token is a bearer secret: only its length shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyAccessToken")
            .field("eng", &self.eng)
            .field("token_len", &self.token.as_ref().map(String::len).ok())
            .finish()
    }
}

impl VerifyAccessToken<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<VerifiedAccessToken>, Error> {
        let token = self.token.clone()?;
        let config = self.eng.config;
        let verified = self.eng.verify_presented(
            now,
            |jwks, issuer| {
                let check = AccessTokenCheck::new(issuer, now, config.clock_tolerance());
                let check = match config.requires_access_token_type() {
                    true => check,
                    false => check.type_optional(),
                };
                verify_access_token(&token, jwks, &check)
            },
            is_unknown_key,
        )?;
        Ok(match verified {
            Presented::Verified(token) => Step::Done(token),
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

operation_impl!(VerifyAccessToken, VerifiedAccessToken);
