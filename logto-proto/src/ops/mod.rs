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
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::metadata::ProviderCache;
use crate::signin::{SignInEntropy, SignInOptions};
use crate::snapshot::{Snapshot, TokenTarget};
use crate::time::UnixTime;
use std::fmt;

#[macro_use]
mod engine;
mod callback;
mod discover;
mod sign_in;
mod sign_out;
mod token;
mod user_info;

use callback::CallbackPhase;
pub use callback::HandleSignInCallback;
pub use discover::Discover;
use engine::Engine;
pub use sign_in::SignIn;
pub use sign_out::{Revocation, SignOut, SignOutResult};
pub use token::GetAccessToken;
use token::TokenFetch;
pub use user_info::FetchUserInfo;
use user_info::UserInfoPhase;

/// What an operation wants next. More kinds of step may come (drivers answer one they do
/// not know with [`Error::Usage`]).
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Step<T> {
    /// Send this request and feed the response to
    /// [`handle_response`](Operation::handle_response).
    Send(HttpRequest),
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
/// between operations (tests use it with a simulated provider).
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

    /// Fetches the provider metadata unless the cache has fresh metadata.
    pub fn discover(self) -> Discover<'a> {
        Discover {
            eng: Engine::new(self),
        }
    }

    /// Starts a sign-in: the URL to send the user to (see [`sign_in_url`]).
    pub fn sign_in(self, options: SignInOptions, entropy: SignInEntropy) -> SignIn<'a> {
        SignIn {
            eng: Engine::new(self),
            options,
            entropy,
        }
    }

    /// Completes a sign-in from the callback URL the provider redirected to.
    pub fn handle_sign_in_callback(
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
    pub fn access_token(self, target: TokenTarget, force_refresh: bool) -> GetAccessToken<'a> {
        GetAccessToken {
            eng: Engine::new(self),
            fetch: TokenFetch::new(target, force_refresh),
        }
    }

    /// The userinfo claims, with the access token for no resource (refreshed if needed).
    pub fn fetch_user_info(self) -> FetchUserInfo<'a> {
        FetchUserInfo {
            eng: Engine::new(self),
            fetch: TokenFetch::new(TokenTarget::userinfo(), false),
            phase: UserInfoPhase::Token,
            retried: false,
        }
    }

    /// Signs out: the session's tokens and pending sign-in are cleared at once; then the
    /// refresh token is revoked (its failure is reported, never fatal) and the end-session
    /// URL is built.
    pub fn sign_out(self, post_logout_redirect_uri: Option<&str>) -> SignOut<'a> {
        let id_token = self.snapshot.id_token.take();
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
