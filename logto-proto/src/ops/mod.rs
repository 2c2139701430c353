//! Operations: the flows that need the network, each a short-lived state machine.
//!
//! Every operation has the same shape. Ask it for its next [`Step`] with the current time:
//! either a request to send ([`Step::Send`]) or the result ([`Step::Done`]). Send the
//! request, feed the response back with [`Operation::handle_response`], and ask again. If the
//! request could not be sent at all, tell [`Operation::handle_transport_error`]; it says
//! whether the operation can go on without it (sign-out can), else give up.
//!
//! An operation borrows the config, the shared [`ProviderCache`] and the session
//! [`Snapshot`] for its whole life and updates them as it goes, so after it ends (done or
//! failed) the caller saves the snapshot and merges the cache back. Errors leave the
//! snapshot consistent: a failed refresh keeps the refresh token, a failed callback keeps
//! the pending sign-in.

use crate::config::Config;
use crate::device::DeviceAuthorization;
use crate::error::Error;
use crate::exchange::TokenExchange;
use crate::http::{HttpRequest, HttpResponse};
use crate::metadata::ProviderCache;
use crate::signin::{SignInEntropy, SignInOptions};
use crate::snapshot::{Snapshot, TokenTarget};
use crate::time::UnixTime;
use std::fmt;

#[macro_use]
mod engine;
mod callback;
mod clear;
mod device;
mod discover;
mod exchange;
mod logout;
mod machine;
mod sign_in;
mod sign_out;
mod token;
mod user_info;
mod validate;

use callback::CallbackPhase;
pub use callback::HandleSignInCallback;
pub(crate) use clear::ClearAccessTokens;
pub use device::{CompleteDeviceSignIn, StartDeviceSignIn};
pub use discover::Discover;
use engine::{Engine, Slot};
pub use exchange::ExchangeToken;
pub use logout::HandleBackchannelLogout;
pub use machine::FetchMachineToken;
use machine::MachinePhase;
pub use sign_in::SignIn;
pub use sign_out::{Revocation, SignOut, SignOutResult};
pub(crate) use token::cached_token;
pub use token::GetAccessToken;
use token::TokenFetch;
pub use user_info::FetchUserInfo;
use user_info::UserInfoPhase;
pub use validate::VerifyAccessToken;

/// What an operation wants next: a request sent, a pause, or its result. A
/// [session call](crate::adapter::Call) has steps of its own, which add the store's reads
/// and writes ([`CallStep`](crate::adapter::CallStep)). More kinds of step may come (drivers
/// answer one they do not know with [`Error::Usage`]).
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Step<T> {
    /// Send this request and feed the response to
    /// [`handle_response`](Operation::handle_response).
    Send(HttpRequest),
    /// Wait this long, then step again (a device sign-in between polls).
    Wait(std::time::Duration),
    /// Finished with this value.
    Done(T),
}

/// The shape every network flow shares; adapters drive any operation with one loop.
pub trait Operation {
    /// What the operation produces.
    type Output;

    /// The next step at `now`. After `Done`, or after an error, the operation is over and
    /// further calls give [`Error::Usage`].
    fn step(&mut self, now: UnixTime) -> Result<Step<Self::Output>, Error>;

    /// The response to the last request sent.
    fn handle_response(&mut self, response: HttpResponse, now: UnixTime) -> Result<(), Error>;

    /// The last request could not be sent, or got no answer. Returns whether the operation
    /// can go on without it (then call [`step`](Self::step) again); if not, it is over and the
    /// snapshot keeps what it had.
    fn handle_transport_error(&mut self, now: UnixTime) -> bool;

    /// Whether the request in flight fetches a provider document (discovery or JWKS): data
    /// every session of the endpoint shares, which a driver fetches once for all of them.
    fn fetches_provider_data(&self) -> bool;

    /// Offers the cache a driver shares between operations, just before it sends a request
    /// that [`fetches_provider_data`](Self::fetches_provider_data). Returns true when that
    /// cache already holds what the request would fetch (another operation fetched it
    /// meanwhile): the operation takes it, the request is dropped unsent, and the driver
    /// calls [`step`](Self::step) again. False: send the request.
    fn handle_shared_cache(&mut self, shared: &ProviderCache, now: UnixTime) -> bool;

    /// The operation's view of the provider cache, with what it fetched: a driver merges it
    /// into its shared cache after each provider-data response.
    fn provider_cache(&self) -> &ProviderCache;
}

/// Why [`run`] stopped.
#[derive(Debug)]
pub enum RunError<E> {
    /// The caller's transport failed on a request the operation needs.
    Transport(E),
    /// The protocol failed.
    Protocol(Error),
}

impl<E: fmt::Display> fmt::Display for RunError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Transport(e) => write!(f, "request failed: {e}"),
            RunError::Protocol(e) => write!(f, "{e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RunError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Transport(e) => Some(e),
            RunError::Protocol(e) => Some(e),
        }
    }
}

/// Drives an operation to the end with a blocking `send` and a clock, with no cache shared
/// between operations (tests use it with a simulated provider). It never waits: an
/// operation that asks to ([`CompleteDeviceSignIn`]) needs a loop of the caller's.
pub fn run<O, E>(
    op: &mut O,
    mut now: impl FnMut() -> UnixTime,
    mut send: impl FnMut(HttpRequest) -> Result<HttpResponse, E>,
) -> Result<O::Output, RunError<E>>
where
    O: Operation,
{
    loop {
        match op.step(now()).map_err(RunError::Protocol)? {
            Step::Done(value) => return Ok(value),
            Step::Send(request) => match send(request) {
                Ok(response) => op
                    .handle_response(response, now())
                    .map_err(RunError::Protocol)?,
                Err(e) => {
                    if !op.handle_transport_error(now()) {
                        return Err(RunError::Transport(e));
                    }
                }
            },
            Step::Wait(_) => {
                return Err(RunError::Protocol(Error::Usage(
                    "run never waits: drive an operation that waits (a device sign-in) with a \
                     loop of your own",
                )))
            }
        }
    }
}

/// The three values every operation works on.
#[derive(Debug)]
pub struct Context<'a> {
    /// The app's configuration.
    pub config: &'a Config,
    /// Metadata and keys shared across sessions.
    pub cache: &'a mut ProviderCache,
    /// This session.
    pub snapshot: &'a mut Snapshot,
}

/// An operation's values, borrowed from a [`Context`] or owned by a session call.
pub(crate) struct OperationValues<'a> {
    pub(crate) config: &'a Config,
    pub(crate) cache: Slot<'a, ProviderCache>,
    pub(crate) snapshot: Slot<'a, Snapshot>,
}

impl<'a> OperationValues<'a> {
    /// Values an operation owns (a session call keeps them between steps).
    pub(crate) fn owned(config: &'a Config, cache: ProviderCache, snapshot: Snapshot) -> Self {
        OperationValues {
            config,
            cache: Slot::Owned {
                value: cache,
                touched: false,
            },
            snapshot: Slot::Owned {
                value: snapshot,
                touched: false,
            },
        }
    }

    /// Drops the cached token for `target`, or every cached access token (`None`).
    pub(crate) fn clear_access_tokens(self, target: Option<TokenTarget>) -> ClearAccessTokens<'a> {
        ClearAccessTokens {
            eng: Engine::new(self),
            target,
        }
    }

    /// Fetches the provider metadata unless the cache has fresh metadata.
    pub(crate) fn discover(self) -> Discover<'a> {
        Discover {
            eng: Engine::new(self),
        }
    }

    /// Starts a sign-in: the URL to send the user to (see [`sign_in_url`](crate::sign_in_url)).
    pub(crate) fn sign_in(self, options: SignInOptions, entropy: SignInEntropy) -> SignIn<'a> {
        SignIn {
            eng: Engine::new(self),
            options,
            entropy,
        }
    }

    /// Completes a sign-in from the callback URL the provider redirected to.
    pub(crate) fn handle_sign_in_callback(
        self,
        callback_url: impl Into<String>,
    ) -> HandleSignInCallback<'a> {
        HandleSignInCallback {
            eng: Engine::new(self),
            callback_url: callback_url.into(),
            phase: CallbackPhase::Start,
        }
    }

    /// An access token for `target`: the cached one if fresh (and `force_refresh` is false),
    /// else a refresh-token grant.
    pub(crate) fn access_token(
        self,
        target: TokenTarget,
        force_refresh: bool,
    ) -> GetAccessToken<'a> {
        GetAccessToken {
            eng: Engine::new(self),
            fetch: TokenFetch::new(target, force_refresh),
        }
    }

    /// The userinfo claims, with the access token for no resource (refreshed if needed).
    pub(crate) fn fetch_user_info(self) -> FetchUserInfo<'a> {
        FetchUserInfo {
            eng: Engine::new(self),
            fetch: TokenFetch::new(TokenTarget::userinfo(), false),
            phase: UserInfoPhase::Token,
            retried: false,
        }
    }

    /// Verifies a bearer access token presented to an API.
    pub(crate) fn verify_access_token(
        self,
        token: Result<String, crate::error::AccessTokenError>,
    ) -> VerifyAccessToken<'a> {
        VerifyAccessToken {
            eng: Engine::new(self),
            token,
        }
    }

    /// A machine-to-machine token for `target` (client credentials).
    pub(crate) fn fetch_machine_token(self, target: TokenTarget) -> FetchMachineToken<'a> {
        FetchMachineToken {
            eng: Engine::new(self),
            target,
            phase: MachinePhase::Start,
        }
    }

    /// Starts a device sign-in: the device authorization request.
    pub(crate) fn start_device_sign_in(self) -> StartDeviceSignIn<'a> {
        StartDeviceSignIn {
            eng: Engine::new(self),
            received: None,
        }
    }

    /// Completes a device sign-in: polls until the user has signed in, then stores the
    /// session.
    pub(crate) fn complete_device_sign_in(
        self,
        device: DeviceAuthorization,
    ) -> CompleteDeviceSignIn<'a> {
        CompleteDeviceSignIn::new(Engine::new(self), device)
    }

    /// Trades a token at the token endpoint (RFC 8693).
    pub(crate) fn exchange_token(self, exchange: TokenExchange) -> ExchangeToken<'a> {
        ExchangeToken {
            eng: Engine::new(self),
            exchange,
            sent_at: None,
            received: None,
        }
    }

    /// Verifies the logout token of a back-channel logout request.
    pub(crate) fn handle_backchannel_logout(
        self,
        token: Result<String, crate::error::LogoutTokenError>,
    ) -> HandleBackchannelLogout<'a> {
        HandleBackchannelLogout {
            eng: Engine::new(self),
            token,
        }
    }

    /// Signs out: the session's tokens and pending sign-in are cleared at once; then the
    /// refresh token is revoked (its failure is reported, never fatal) and the end-session
    /// URL is built.
    pub(crate) fn sign_out(mut self, post_logout_redirect_uri: Option<&str>) -> SignOut<'a> {
        let id_token = self.snapshot.set_id_token(None);
        let refresh_token = self.snapshot.refresh_token.take();
        self.snapshot.clear_tokens();
        self.snapshot.pending = None;
        SignOut {
            eng: Engine::new(self),
            post_logout_redirect_uri: post_logout_redirect_uri.map(str::to_owned),
            id_token,
            refresh_token,
            revocation: None,
        }
    }
}

/// What the session calls need of an operation besides [`Operation`]: its view of the
/// session.
pub(crate) trait Bound: Operation {
    fn snapshot(&self) -> &Snapshot;
    fn snapshot_mut(&mut self) -> &mut Snapshot;
    fn cache_mut(&mut self) -> &mut ProviderCache;
    /// Whether the operation may have changed its session since it started (or since
    /// [`untouch`](Self::untouch)).
    fn snapshot_touched(&self) -> bool;
    fn untouch(&mut self);
}

impl<'a> Context<'a> {
    /// Bundles the three values.
    pub fn new(
        config: &'a Config,
        cache: &'a mut ProviderCache,
        snapshot: &'a mut Snapshot,
    ) -> Self {
        Context {
            config,
            cache,
            snapshot,
        }
    }

    fn values(self) -> OperationValues<'a> {
        OperationValues {
            config: self.config,
            cache: Slot::Borrowed(self.cache),
            snapshot: Slot::Borrowed(self.snapshot),
        }
    }

    /// Fetches the provider metadata unless the cache has fresh metadata.
    pub fn discover(self) -> Discover<'a> {
        self.values().discover()
    }

    /// Starts a sign-in: the URL to send the user to (see [`sign_in_url`](crate::sign_in_url)).
    pub fn sign_in(self, options: SignInOptions, entropy: SignInEntropy) -> SignIn<'a> {
        self.values().sign_in(options, entropy)
    }

    /// Completes a sign-in from the callback URL the provider redirected to.
    pub fn handle_sign_in_callback(
        self,
        callback_url: impl Into<String>,
    ) -> HandleSignInCallback<'a> {
        self.values().handle_sign_in_callback(callback_url)
    }

    /// An access token for `target`: the cached one if fresh (and `force_refresh` is false),
    /// else a refresh-token grant.
    pub fn access_token(self, target: TokenTarget, force_refresh: bool) -> GetAccessToken<'a> {
        self.values().access_token(target, force_refresh)
    }

    /// The userinfo claims, with the access token for no resource (refreshed if needed).
    pub fn fetch_user_info(self) -> FetchUserInfo<'a> {
        self.values().fetch_user_info()
    }

    /// Verifies a bearer access token presented to an API (RFC 9068, Logto's JWT access
    /// tokens): the signature with the provider's keys (fetched when missing; refetched for
    /// an unknown `kid` at most once per
    /// [`jwks_refetch_cooldown`](crate::ConfigBuilder::jwks_refetch_cooldown), since the
    /// presenter chooses it), `typ`, `iss`, `exp`, `nbf` and `iat`. Done gives a
    /// [`VerifiedAccessToken`](crate::VerifiedAccessToken), which may be cached until it
    /// expires; each route then checks its
    /// [`Requirement`](crate::Requirement) (audience, organization, scopes) with
    /// [`authorize`](crate::VerifiedAccessToken::authorize). `authorization` is the request's
    /// `Authorization` header value. The snapshot is not touched: an API has no session.
    pub fn verify_access_token(self, authorization: Option<&str>) -> VerifyAccessToken<'a> {
        let token = crate::access::bearer_token(authorization).map(str::to_owned);
        self.values().verify_access_token(token)
    }

    /// A machine-to-machine access token (OAuth 2.0 client credentials, authenticated with
    /// the app secret): for `target`'s API resource (Logto takes exactly one), narrowed to
    /// its scopes, and with its organization an organization token (no resource) or an
    /// organization-scoped API token. Nothing is stored in the snapshot; the caller caches
    /// the token until it nears [`AccessToken::expires_at`](crate::AccessToken). A machine
    /// app that is not in the organization gets [`Error::Provider`] with status 403
    /// (`access_denied`).
    pub fn fetch_machine_token(self, target: TokenTarget) -> FetchMachineToken<'a> {
        self.values().fetch_machine_token(target)
    }

    /// Verifies a back-channel logout request (OpenID Connect Back-Channel Logout 1.0) from
    /// its `application/x-www-form-urlencoded` body: the logout token's signature (the keys
    /// fetched when missing, and refetched for an unknown `kid` at most once per
    /// [`jwks_refetch_cooldown`](crate::ConfigBuilder::jwks_refetch_cooldown)), issuer,
    /// audience, age, event, `sid`/`sub` and the absence of a nonce. Done gives the sessions
    /// to end; the replay check by `jti` is the caller's, with a store
    /// ([`BackchannelLogout::replay_key`](crate::BackchannelLogout::replay_key)). The
    /// snapshot is not touched.
    pub fn handle_backchannel_logout(self, form_body: &[u8]) -> HandleBackchannelLogout<'a> {
        self.values()
            .handle_backchannel_logout(crate::logout::logout_token_from_form(form_body))
    }

    /// Starts a device sign-in (OAuth 2.0 Device Authorization Grant, RFC 8628) with the
    /// config's scopes and resources: done gives the codes to show the user (a
    /// [`DeviceAuthorization`]). The snapshot is not touched. A provider without a
    /// `device_authorization_endpoint` gives
    /// [`DiscoveryError::MissingEndpoint`](crate::DiscoveryError::MissingEndpoint).
    pub fn start_device_sign_in(self) -> StartDeviceSignIn<'a> {
        self.values().start_device_sign_in()
    }

    /// Completes a device sign-in: waits ([`Step::Wait`]) and polls the token endpoint at
    /// the provider's interval, grown by 5 s at each `slow_down`, never at or after the
    /// codes' expiry; then verifies the ID token (as at a callback, without a nonce, which a
    /// device sign-in cannot carry) and stores the session as a sign-in does, replacing
    /// what the snapshot held. A refusal is [`DeviceError::Denied`](crate::DeviceError),
    /// an expiry [`DeviceError::Expired`](crate::DeviceError). Abandon it by dropping it.
    pub fn complete_device_sign_in(self, device: DeviceAuthorization) -> CompleteDeviceSignIn<'a> {
        self.values().complete_device_sign_in(device)
    }

    /// Trades a token at the token endpoint (OAuth 2.0 Token Exchange, RFC 8693): a
    /// personal access token, an impersonation subject token or an access token, optionally
    /// with an actor token, for an access token for the exchange's target. The app
    /// authenticates as the config says (public or with its secret). Nothing is stored in
    /// the snapshot. A refused subject or actor token is
    /// [`TokenExchangeError::TokenRefused`](crate::TokenExchangeError), an app not allowed
    /// to exchange [`TokenExchangeError::NotAllowed`](crate::TokenExchangeError).
    pub fn exchange_token(self, exchange: TokenExchange) -> ExchangeToken<'a> {
        self.values().exchange_token(exchange)
    }

    /// Signs out: the session's tokens and pending sign-in are cleared at once; then the
    /// refresh token is revoked (its failure is reported, never fatal) and the end-session
    /// URL is built.
    pub fn sign_out(self, post_logout_redirect_uri: Option<&str>) -> SignOut<'a> {
        self.values().sign_out(post_logout_redirect_uri)
    }
}
