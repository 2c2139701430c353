//! The sign-in callback.

use super::engine::{start_session, Awaiting, Engine, Expected, Verified};
use super::{Operation, Step};
use crate::claims::IdTokenClaims;
use crate::error::{CallbackError, Error, ResponseError};
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::signin::check_callback;
use crate::time::UnixTime;
use crate::token::{client_request, TokenResponse};
use crate::trace::event;
use crate::verify::NonceCheck;
use std::fmt;

#[derive(Debug)]
pub(super) enum CallbackPhase {
    Start,
    Exchanging {
        sent_at: UnixTime,
    },
    Verify {
        response: TokenResponse,
        sent_at: UnixTime,
        received_at: UnixTime,
    },
}

/// Completes a sign-in (see [`Context::handle_sign_in_callback`](crate::Context::handle_sign_in_callback)): checks the callback,
/// exchanges the code, verifies the ID token and stores the tokens. Done gives the ID
/// token's claims.
pub struct HandleSignInCallback<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) callback_url: String,
    pub(super) phase: CallbackPhase,
}

impl fmt::Debug for HandleSignInCallback<'_> {
    // The callback URL's query holds the code and the state: only its path is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleSignInCallback")
            .field("eng", &self.eng)
            .field(
                "callback_url",
                &crate::http::redact_query(&self.callback_url),
            )
            .field("phase", &self.phase)
            .finish()
    }
}

impl HandleSignInCallback<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<IdTokenClaims>, Error> {
        match &self.phase {
            CallbackPhase::Start => {
                let pending = self
                    .eng
                    .snapshot
                    .pending
                    .as_ref()
                    .ok_or(CallbackError::NoPendingSignIn)?;
                let max_age = self.eng.config.sign_in_max_age();
                if now.secs_since(pending.created_at) > max_age {
                    return Err(CallbackError::SignInExpired {
                        started_at: pending.created_at,
                        now,
                        max_age,
                    }
                    .into());
                }
                if let Some(request) = self.eng.need_metadata(now) {
                    return self.eng.send(Awaiting::Metadata, request);
                }
                let metadata = self.eng.metadata()?;
                let pending = self
                    .eng
                    .snapshot
                    .pending
                    .as_ref()
                    .ok_or(CallbackError::NoPendingSignIn)?;
                let accepted = check_callback(pending, metadata, &self.callback_url)?;
                let request = client_request(
                    self.eng.config,
                    ("token_endpoint", &metadata.token_endpoint),
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &accepted.code),
                        ("redirect_uri", &pending.redirect_uri),
                        ("code_verifier", pending.code_verifier.expose()),
                    ],
                )?;
                // A code goes to the token endpoint once, whatever happens next.
                if let Some(p) = self.eng.snapshot.pending.as_mut() {
                    p.used_code = Some(accepted.code_hash);
                }
                self.phase = CallbackPhase::Exchanging { sent_at: now };
                self.eng.send(Awaiting::Token, request)
            }
            CallbackPhase::Exchanging { .. } => Err(Error::Usage("a response is awaited")),
            CallbackPhase::Verify {
                response,
                sent_at,
                received_at,
            } => {
                let id_token = response
                    .id_token
                    .as_ref()
                    .ok_or(ResponseError::MissingIdToken)?;
                let pending = self
                    .eng
                    .snapshot
                    .pending
                    .clone()
                    .ok_or(CallbackError::NoPendingSignIn)?;
                let expect = Expected {
                    nonce: NonceCheck::Required(pending.nonce.expose()),
                    subject: None,
                    auth_time: None,
                };
                let claims = match self
                    .eng
                    .verify(id_token.expose(), &expect, *received_at, now)?
                {
                    Verified::Fetch(request) => return self.eng.send(Awaiting::Jwks, request),
                    Verified::Claims(claims) => claims,
                };
                start_session(&mut self.eng.snapshot, id_token, response, *sent_at);
                event!(
                    info,
                    refresh_token = response.refresh_token.is_some(),
                    "sign-in completed"
                );
                Ok(Step::Done(*claims))
            }
        }
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        let CallbackPhase::Exchanging { sent_at } = self.phase else {
            return Err(Error::Usage("unexpected response"));
        };
        if what != Awaiting::Token {
            return Err(Error::Usage("unexpected response"));
        }
        let body = self.eng.success_body(response)?;
        let response = TokenResponse::parse(&body)?;
        self.phase = CallbackPhase::Verify {
            response,
            sent_at,
            received_at: now,
        };
        Ok(())
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(HandleSignInCallback, IdTokenClaims);
