//! Access tokens: the cached one, or a refresh-token grant.

use super::engine::{access_token_expiry, Awaiting, Engine, Expected, Verified};
use super::{Operation, Step};
use crate::config::Config;
use crate::error::Error;
use crate::error::IdTokenError;
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::snapshot::{AccessToken, Snapshot, TokenTarget};
use crate::time::UnixTime;
use crate::token::{client_request, TokenResponse};
#[cfg(feature = "tracing")]
use crate::trace;
use crate::trace::event;
use crate::verify::NonceCheck;

#[derive(Debug)]
pub(super) enum FetchPhase {
    Start,
    Refreshing {
        sent_at: UnixTime,
    },
    Verify {
        response: TokenResponse,
        sent_at: UnixTime,
        received_at: UnixTime,
        /// Whether the provider rotated the refresh token (for the event).
        #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
        rotated: bool,
    },
}

/// What a call for `target` answers from the session alone, without a request: the fresh
/// cached token, or the refusal of an organization token without the organizations scope.
/// `None`: a refresh is needed.
pub(crate) fn cached_token(
    config: &Config,
    snapshot: &Snapshot,
    target: &TokenTarget,
    now: UnixTime,
) -> Option<Result<AccessToken, Error>> {
    if target.organization_id.is_some() && !config.has_organizations_scope() {
        return Some(Err(Error::MissingOrganizationScope));
    }
    snapshot
        .fresh_access_token(target, now, config.expiry_leeway())
        .map(|token| Ok(token.clone()))
}

/// The access-token logic shared by [`GetAccessToken`] and [`FetchUserInfo`].
#[derive(Debug)]
pub(super) struct TokenFetch {
    pub(super) target: TokenTarget,
    pub(super) force: bool,
    /// False: stop with [`Error::RefreshNeeded`] where a refresh-token grant would go out.
    pub(super) may_refresh: bool,
    pub(super) phase: FetchPhase,
}

impl TokenFetch {
    pub(super) fn new(target: TokenTarget, force: bool) -> Self {
        TokenFetch {
            target,
            force,
            may_refresh: true,
            phase: FetchPhase::Start,
        }
    }

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(super) fn advance(
        &mut self,
        eng: &mut Engine<'_>,
        now: UnixTime,
    ) -> Result<Step<AccessToken>, Error> {
        match &self.phase {
            FetchPhase::Start => {
                if !self.force {
                    if let Some(cached) = cached_token(eng.config, &eng.snapshot, &self.target, now)
                    {
                        return cached.map(Step::Done);
                    }
                } else if self.target.organization_id.is_some()
                    && !eng.config.has_organizations_scope()
                {
                    return Err(Error::MissingOrganizationScope);
                }
                let refresh_token = eng
                    .snapshot
                    .refresh_token
                    .clone()
                    .ok_or(Error::NotAuthenticated)?;
                if !self.may_refresh {
                    return Err(Error::RefreshNeeded);
                }
                if let Some(request) = eng.need_metadata(now) {
                    return eng.send(Awaiting::Metadata, request);
                }
                let mut params = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                ];
                params.extend(self.target.params());
                let endpoint = ("token_endpoint", eng.metadata()?.token_endpoint.as_str());
                let request = client_request(eng.config, endpoint, &params)?;
                self.phase = FetchPhase::Refreshing { sent_at: now };
                eng.send(Awaiting::Token, request)
            }
            FetchPhase::Refreshing { .. } => Err(Error::Usage("a response is awaited")),
            FetchPhase::Verify {
                response,
                sent_at,
                received_at,
                rotated,
            } => {
                if let Some(id_token) = &response.id_token {
                    // OIDC Core 12.2: the new ID token must name the session's user (and
                    // authentication). Without a readable session token there is nothing to
                    // compare it with, so it is refused rather than taken unchecked.
                    let session = eng.snapshot.id_token_claims().map_err(|e| {
                        IdTokenError::SessionTokenUnreadable {
                            reason: e.to_string(),
                        }
                    })?;
                    let expect = Expected {
                        nonce: NonceCheck::IfPresent(session.nonce.as_deref()),
                        subject: Some(&session.sub),
                        auth_time: session.auth_time,
                    };
                    match eng.verify(id_token.expose(), &expect, *received_at, now)? {
                        Verified::Fetch(request) => return eng.send(Awaiting::Jwks, request),
                        Verified::Claims(_) => {
                            eng.snapshot.set_id_token(Some(id_token.clone()));
                        }
                    }
                }
                let token = AccessToken {
                    target: self.target.clone(),
                    expires_at: access_token_expiry(
                        response.access_token.expose(),
                        response.expires_in,
                        *sent_at,
                    ),
                    token: response.access_token.clone(),
                    scope: response.scope.clone(),
                };
                eng.snapshot.store_access_token(token.clone());
                event!(
                    info,
                    token_target = %trace::target(&self.target),
                    rotated,
                    "refreshed an access token"
                );
                Ok(Step::Done(token))
            }
        }
    }

    pub(super) fn on_response(
        &mut self,
        eng: &mut Engine<'_>,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        let FetchPhase::Refreshing { sent_at } = self.phase else {
            return Err(Error::Usage("unexpected response"));
        };
        if !response.is_success() {
            let error = eng.provider_error(&response);
            // The call reports the error itself; this says which token it was for.
            event!(
                debug,
                token_target = %trace::target(&self.target),
                status = error.status,
                "the refresh was refused"
            );
            if error.is("invalid_grant") {
                // The provider no longer honours the refresh token: the session is over.
                eng.snapshot.clear_tokens();
                return Err(Error::SessionExpired(error));
            }
            return Err(Error::Provider(error));
        }
        let response = TokenResponse::parse(&response.body)?;
        let rotated = response
            .refresh_token
            .as_ref()
            .is_some_and(|rt| eng.snapshot.refresh_token.as_ref() != Some(rt));
        // The provider may have consumed the old refresh token (rotation): the new one is
        // kept at once, even if the ID token below fails its checks, so the session is never
        // left holding a consumed token.
        if let Some(rotated) = &response.refresh_token {
            eng.snapshot.refresh_token = Some(rotated.clone());
        }
        self.phase = FetchPhase::Verify {
            response,
            sent_at,
            received_at: now,
            rotated,
        };
        Ok(())
    }
}

/// An access token for a resource, an organization, or both (see
/// [`Context::access_token`](crate::Context::access_token)).
#[derive(Debug)]
pub struct GetAccessToken<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) fetch: TokenFetch,
}

impl GetAccessToken<'_> {
    /// Never refreshes: without a fresh cached token the operation stops with
    /// [`Error::RefreshNeeded`] (see [`FetchUserInfo::without_refresh`](crate::FetchUserInfo::without_refresh)).
    #[must_use]
    pub fn without_refresh(mut self) -> Self {
        self.fetch.may_refresh = false;
        self
    }

    pub(super) fn advance(&mut self, now: UnixTime) -> Result<Step<AccessToken>, Error> {
        self.fetch.advance(&mut self.eng, now)
    }

    pub(super) fn on_response(
        &mut self,
        _: Awaiting,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.fetch.on_response(&mut self.eng, response, now)
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(GetAccessToken, AccessToken);
