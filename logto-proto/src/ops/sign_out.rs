//! Sign-out.

use super::engine::{Awaiting, Engine};
use super::{Operation, Step};
use crate::error::{Error, ProviderError};
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::secret::Secret;
use crate::signin::end_session_url;
use crate::time::UnixTime;
use crate::token::client_request;
use crate::trace::event;
use std::fmt;

/// How the refresh-token revocation at sign-out went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The provider revoked the refresh token (and with it the grant's tokens).
    Revoked,
    /// Nothing to revoke: no refresh token, or no revocation endpoint.
    Skipped,
    /// The provider answered with an error.
    Failed(ProviderError),
    /// The request could not be sent or got no answer.
    Unreachable,
}

/// The result of a sign-out. `Debug` leaves out the end-session URL, whose
/// `id_token_hint` is the ID token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignOutResult {
    /// Where to send the user to end the provider session: carries `client_id`,
    /// `post_logout_redirect_uri` and `id_token_hint`.
    pub end_session_url: String,
    /// How the revocation went (never blocks the sign-out).
    pub revocation: Revocation,
}

impl fmt::Debug for SignOutResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignOutResult")
            .field(
                "end_session_url",
                &crate::http::redact_query(&self.end_session_url),
            )
            .field("revocation", &self.revocation)
            .finish()
    }
}

/// Signs out (see [`Context::sign_out`](crate::Context::sign_out)).
#[derive(Debug)]
pub struct SignOut<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) post_logout_redirect_uri: Option<String>,
    pub(super) id_token: Option<Secret>,
    pub(super) refresh_token: Option<Secret>,
    pub(super) revocation: Option<Revocation>,
}

impl SignOut<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<SignOutResult>, Error> {
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let metadata = self.eng.metadata()?;
        let Some(revocation) = self.revocation.clone() else {
            match (&self.refresh_token, &metadata.revocation_endpoint) {
                (Some(token), Some(endpoint)) => {
                    let request = client_request(
                        self.eng.config,
                        ("revocation_endpoint", endpoint),
                        &[
                            ("token", token.expose()),
                            ("token_type_hint", "refresh_token"),
                        ],
                    )?;
                    return self.eng.send(Awaiting::Revocation, request);
                }
                _ => {
                    event!(debug, "nothing to revoke at sign-out");
                    self.revocation = Some(Revocation::Skipped);
                    return self.advance(now);
                }
            }
        };
        let end_session_url = end_session_url(
            self.eng.config,
            metadata,
            self.id_token.as_ref().map(Secret::expose),
            self.post_logout_redirect_uri.as_deref(),
        )?;
        Ok(Step::Done(SignOutResult {
            end_session_url,
            revocation,
        }))
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        _: UnixTime,
    ) -> Result<(), Error> {
        if what != Awaiting::Revocation {
            return Err(Error::Usage("unexpected response"));
        }
        let revocation = if response.is_success() {
            event!(info, endpoint = %self.eng.endpoint, "revoked the refresh token at sign-out");
            Revocation::Revoked
        } else {
            let error = self.eng.provider_error(&response);
            event!(
                warn,
                "revocation at sign-out failed (the sign-out goes on): {error}"
            );
            Revocation::Failed(error)
        };
        self.revocation = Some(revocation);
        Ok(())
    }

    fn on_transport_error(&mut self, what: Awaiting, _: UnixTime) -> bool {
        if what == Awaiting::Revocation {
            event!(
                warn,
                endpoint = %self.eng.endpoint,
                "revocation endpoint unreachable at sign-out (the sign-out goes on)"
            );
            self.revocation = Some(Revocation::Unreachable);
            true
        } else {
            false
        }
    }
}

operation_impl!(SignOut, SignOutResult);
