//! User info.

use super::engine::{Awaiting, Engine};
use super::token::TokenFetch;
use super::{Operation, Step};
use crate::claims::UserInfo;
use crate::error::{DiscoveryError, Error};
use crate::http::{HttpRequest, HttpResponse};
use crate::metadata::ProviderCache;
use crate::snapshot::{AccessToken, TokenTarget};
use crate::time::UnixTime;

#[derive(Debug)]
pub(super) enum UserInfoPhase {
    Token,
    /// The token is at hand; the metadata (for the userinfo endpoint) is being fetched.
    Discovering(Box<AccessToken>),
    Requested,
    Ready(Box<UserInfo>),
}

/// The userinfo claims (see [`Context::fetch_user_info`](crate::Context::fetch_user_info)). A 401 from the userinfo endpoint
/// forces one token refresh and one retry.
#[derive(Debug)]
pub struct FetchUserInfo<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) fetch: TokenFetch,
    pub(super) phase: UserInfoPhase,
    pub(super) retried: bool,
}

impl FetchUserInfo<'_> {
    /// Never refreshes a token: where a refresh would be needed (no fresh cached token, or
    /// the userinfo endpoint refused the cached one) the operation stops with
    /// [`Error::RefreshNeeded`], having cleared a refused token from the snapshot.
    ///
    /// For drivers that serialise refreshes across clients (a lease in the stored session):
    /// the common call, with a fresh token, then needs neither the lease nor a storage
    /// write, and only this error sends the driver to the lease-holding path. Built this
    /// way, the operation changes the snapshot only when it stops with that error.
    #[must_use]
    pub fn without_refresh(mut self) -> Self {
        self.fetch.may_refresh = false;
        self
    }

    fn advance(&mut self, now: UnixTime) -> Result<Step<UserInfo>, Error> {
        match &mut self.phase {
            UserInfoPhase::Token => {
                let token = match self.fetch.advance(&mut self.eng, now)? {
                    Step::Done(token) => token,
                    Step::Send(request) => return Ok(Step::Send(request)),
                    Step::Wait(pause) => return Ok(Step::Wait(pause)),
                };
                if let Some(request) = self.eng.need_metadata(now) {
                    // A token from the session alone, in a process that has not fetched the
                    // metadata yet (the userinfo endpoint is in it).
                    self.phase = UserInfoPhase::Discovering(Box::new(token));
                    return self.eng.send(Awaiting::Metadata, request);
                }
                self.request(&token)
            }
            UserInfoPhase::Discovering(token) => {
                let token = (**token).clone();
                self.request(&token)
            }
            UserInfoPhase::Requested => Err(Error::Usage("a response is awaited")),
            UserInfoPhase::Ready(info) => Ok(Step::Done(std::mem::take(&mut **info))),
        }
    }

    fn request(&mut self, token: &AccessToken) -> Result<Step<UserInfo>, Error> {
        let endpoint = self.eng.metadata()?.userinfo_endpoint.clone().ok_or(
            DiscoveryError::MissingEndpoint {
                name: "userinfo_endpoint",
            },
        )?;
        let mut request = HttpRequest::get(endpoint);
        request.headers.push((
            "authorization".into(),
            format!("Bearer {}", token.token.expose()),
        ));
        self.phase = UserInfoPhase::Requested;
        self.eng.send(Awaiting::UserInfo, request)
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        match what {
            Awaiting::Token => self.fetch.on_response(&mut self.eng, response, now),
            Awaiting::UserInfo => {
                if response.status == 401 && !self.retried {
                    // The cached token was revoked or expired early: refresh once and retry.
                    self.retried = true;
                    self.eng
                        .snapshot
                        .clear_access_token(&TokenTarget::userinfo());
                    let may_refresh = self.fetch.may_refresh;
                    self.fetch = TokenFetch::new(TokenTarget::userinfo(), true);
                    self.fetch.may_refresh = may_refresh;
                    self.phase = UserInfoPhase::Token;
                    return Ok(());
                }
                let body = self.eng.success_body(response)?;
                self.phase = UserInfoPhase::Ready(Box::new(UserInfo::parse(&body)?));
                Ok(())
            }
            _ => Err(Error::Usage("unexpected response")),
        }
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(FetchUserInfo, UserInfo);
