//! Machine-to-machine: an access token for the app itself (client credentials).

use super::engine::{access_token_expiry, Awaiting, Engine};
use super::{Operation, Step};
use crate::error::{ConfigError, Error};
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::snapshot::{AccessToken, TokenTarget};
use crate::time::UnixTime;
use crate::token::{client_request, TokenResponse};

/// Fetches a machine-to-machine token (see
/// [`Context::fetch_machine_token`](crate::Context::fetch_machine_token)): the client
/// credentials grant, authenticated with the app's secret. Done gives the token with its
/// expiry; nothing is stored in the session.
#[derive(Debug)]
pub struct FetchMachineToken<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) target: TokenTarget,
    pub(super) phase: MachinePhase,
}

#[derive(Debug)]
pub(super) enum MachinePhase {
    Start,
    Sent { at: UnixTime },
    Received(Box<AccessToken>),
}

impl FetchMachineToken<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<AccessToken>, Error> {
        match &self.phase {
            MachinePhase::Start => {}
            MachinePhase::Sent { .. } => return Err(Error::Usage("a response is awaited")),
            MachinePhase::Received(token) => return Ok(Step::Done((**token).clone())),
        }
        // A machine proves itself with its secret: there is no grant without one.
        if self.eng.config.app_secret().is_none() {
            return Err(ConfigError::MissingAppSecret.into());
        }
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let mut params = vec![("grant_type", "client_credentials")];
        params.extend(self.target.params());
        let endpoint = (
            "token_endpoint",
            self.eng.metadata()?.token_endpoint.as_str(),
        );
        let request = client_request(self.eng.config, endpoint, &params)?;
        self.phase = MachinePhase::Sent { at: now };
        self.eng.send(Awaiting::Token, request)
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        _now: UnixTime,
    ) -> Result<(), Error> {
        let MachinePhase::Sent { at: sent_at } = self.phase else {
            return Err(Error::Usage("unexpected response"));
        };
        if what != Awaiting::Token {
            return Err(Error::Usage("unexpected response"));
        }
        let response = TokenResponse::parse(&self.eng.success_body(response)?)?;
        let token = AccessToken {
            target: self.target.clone(),
            expires_at: access_token_expiry(
                response.access_token.expose(),
                response.expires_in,
                sent_at,
            ),
            token: response.access_token,
            scope: response.scope,
        };
        self.phase = MachinePhase::Received(Box::new(token));
        Ok(())
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(FetchMachineToken, AccessToken);
