//! Token exchange (RFC 8693): a subject token traded for an access token.

use super::engine::{access_token_expiry, Awaiting, Engine};
use super::{Operation, Step};
use crate::error::{Error, TokenExchangeError};
use crate::exchange::TokenExchange;
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::snapshot::AccessToken;
use crate::time::UnixTime;
use crate::token::{client_request, TokenResponse};

/// Exchanges a token (see [`Context::exchange_token`](crate::Context::exchange_token)). Done
/// gives the issued access token for the exchange's target; nothing is stored in the session.
#[derive(Debug)]
pub struct ExchangeToken<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) exchange: TokenExchange,
    pub(super) sent_at: Option<UnixTime>,
    pub(super) received: Option<Box<AccessToken>>,
}

impl ExchangeToken<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<AccessToken>, Error> {
        if let Some(token) = self.received.take() {
            return Ok(Step::Done(*token));
        }
        if self.sent_at.is_some() {
            return Err(Error::Usage("a response is awaited"));
        }
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let endpoint = (
            "token_endpoint",
            self.eng.metadata()?.token_endpoint.as_str(),
        );
        let request = client_request(self.eng.config, endpoint, &self.exchange.params())?;
        self.sent_at = Some(now);
        self.eng.send(Awaiting::Token, request)
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        _now: UnixTime,
    ) -> Result<(), Error> {
        let (Some(sent_at), Awaiting::Token) = (self.sent_at, what) else {
            return Err(Error::Usage("unexpected response"));
        };
        if !response.is_success() {
            let refused = self.eng.provider_error(&response);
            return Err(match refused.error.as_deref() {
                Some("invalid_grant") => TokenExchangeError::TokenRefused(refused).into(),
                Some("unauthorized_client") => TokenExchangeError::NotAllowed(refused).into(),
                _ => Error::Provider(refused),
            });
        }
        let response = TokenResponse::parse(&response.body)?;
        self.received = Some(Box::new(AccessToken {
            target: self.exchange.target().clone(),
            expires_at: access_token_expiry(
                response.access_token.expose(),
                response.expires_in,
                sent_at,
            ),
            token: response.access_token,
            scope: response.scope,
        }));
        Ok(())
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(ExchangeToken, AccessToken);
