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

use crate::claims::{IdTokenClaims, UserInfo};
use crate::config::Config;
use crate::error::{CallbackError, DiscoveryError, Error, ProviderError, ResponseError};
use crate::http::{HttpRequest, HttpResponse};
use crate::jwks::Jwks;
use crate::metadata::{ProviderCache, ProviderMetadata};
use crate::secret::Secret;
use crate::signin::{check_callback, end_session_url, sign_in_url, SignInEntropy, SignInOptions};
use crate::snapshot::{AccessToken, Snapshot, TokenTarget};
use crate::time::UnixTime;
use crate::token::{client_request, TokenResponse};
use crate::verify::{verify_id_token, IdTokenCheck, NonceCheck};
use crate::IdTokenError;
use std::fmt;

/// What an operation wants next.
#[derive(Debug)]
#[must_use]
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

/// Why the operation asks for the JWKS.
#[derive(Debug)]
enum JwksNeed {
    /// It has none, or only a stale one.
    Missing,
    /// A token-endpoint ID token names a `kid` this set lacks: the keys rotated.
    Rotated { tried: Jwks },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Metadata,
    Jwks,
    Token,
    UserInfo,
    Revocation,
}

enum Verified {
    Claims(Box<IdTokenClaims>),
    Fetch(HttpRequest),
}

/// What every operation shares: the context, the request in flight, discovery and JWKS.
#[derive(Debug)]
struct Engine<'a> {
    config: &'a Config,
    cache: &'a mut ProviderCache,
    snapshot: &'a mut Snapshot,
    awaiting: Option<Awaiting>,
    jwks_need: JwksNeed,
    /// Whether this operation fetched a JWKS itself (always after its token response).
    jwks_fetched: bool,
    over: bool,
}

impl<'a> Engine<'a> {
    fn new(ctx: Context<'a>) -> Self {
        Engine {
            config: ctx.config,
            cache: ctx.cache,
            snapshot: ctx.snapshot,
            awaiting: None,
            jwks_need: JwksNeed::Missing,
            jwks_fetched: false,
            over: false,
        }
    }

    fn check_can_step(&self) -> Result<(), Error> {
        if self.over {
            return Err(Error::Usage("the operation is over"));
        }
        if self.awaiting.is_some() {
            return Err(Error::Usage("a response is awaited: call handle_response"));
        }
        Ok(())
    }

    fn send<T>(&mut self, what: Awaiting, request: HttpRequest) -> Result<Step<T>, Error> {
        self.awaiting = Some(what);
        Ok(Step::Send(request))
    }

    /// Ends the operation when `result` is an error or `Done`.
    fn settle<T>(&mut self, result: Result<Step<T>, Error>) -> Result<Step<T>, Error> {
        if !matches!(result, Ok(Step::Send(_))) {
            self.over = true;
        }
        result
    }

    /// The discovery request, unless fresh metadata is cached.
    fn need_metadata(&self, now: UnixTime) -> Option<HttpRequest> {
        match self.cache.fresh_metadata(self.config, now) {
            Some(_) => None,
            None => Some(HttpRequest::get(self.config.discovery_url())),
        }
    }

    fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        self.cache
            .metadata
            .as_ref()
            .ok_or(Error::Usage("metadata missing after discovery"))
    }

    /// Routes a response: discovery and JWKS are handled here, the rest is returned to the
    /// operation with what it answers.
    fn route(
        &mut self,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<Option<(Awaiting, HttpResponse)>, Error> {
        if self.over {
            return Err(Error::Usage("the operation is over"));
        }
        let what = self
            .awaiting
            .take()
            .ok_or(Error::Usage("no request is in flight"))?;
        let result = match what {
            Awaiting::Metadata => {
                let body = success_body(response)?;
                let metadata = ProviderMetadata::parse(self.config, &body, now)?;
                self.cache.metadata = Some(metadata);
                Ok(None)
            }
            Awaiting::Jwks => {
                let body = success_body(response)?;
                self.cache.jwks = Some(Jwks::parse(&body, now)?);
                self.jwks_fetched = true;
                Ok(None)
            }
            other => Ok(Some((other, response))),
        };
        if result.is_err() {
            self.over = true;
        }
        result
    }

    /// Verifies an ID token that arrived in a token-endpoint response at `received_at`,
    /// asking for the JWKS when it is missing or stale, or when it lacks the token's `kid`.
    fn verify(
        &mut self,
        token: &str,
        expect: &Expected<'_>,
        received_at: UnixTime,
        now: UnixTime,
    ) -> Result<Verified, Error> {
        let issuer = self.metadata()?.issuer.clone();
        let jwks_uri = self.metadata()?.jwks_uri.clone();
        let Some(jwks) = self.cache.fresh_jwks(self.config, now) else {
            self.jwks_need = JwksNeed::Missing;
            return Ok(Verified::Fetch(HttpRequest::get(jwks_uri)));
        };
        let check = IdTokenCheck {
            issuer: &issuer,
            client_id: self.config.app_id(),
            now,
            clock_tolerance: self.config.clock_tolerance(),
            nonce: expect.nonce,
            subject: expect.subject,
            auth_time: expect.auth_time,
        };
        match verify_id_token(token, jwks, &check) {
            Ok(claims) => Ok(Verified::Claims(Box::new(claims))),
            // The token came straight from the issuer over this client's own connection, so
            // an unknown kid is evidence of a key rotation: refetch at once, whatever was
            // fetched shortly before. Only keys fetched after the token arrived (by this
            // operation, or by another one sharing the cache) would have had it.
            Err(IdTokenError::UnknownKey { .. })
                if !self.jwks_fetched && jwks.fetched_at() <= received_at =>
            {
                self.jwks_need = JwksNeed::Rotated {
                    tried: jwks.clone(),
                };
                Ok(Verified::Fetch(HttpRequest::get(jwks_uri)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// See [`Operation::handle_shared_cache`]: takes the shared metadata or JWKS when it is
    /// what the request in flight would fetch.
    fn take_shared(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
        let taken = match self.awaiting {
            Some(Awaiting::Metadata) => match shared.fresh_metadata(self.config, now) {
                Some(metadata) => {
                    self.cache.metadata = Some(metadata.clone());
                    true
                }
                None => false,
            },
            Some(Awaiting::Jwks) => match shared.fresh_jwks(self.config, now) {
                // After a rotation only a newer set than the one that lacked the kid helps.
                Some(jwks) => match &self.jwks_need {
                    JwksNeed::Missing => true,
                    JwksNeed::Rotated { tried } => jwks.is_newer_than(tried),
                }
                .then(|| self.cache.jwks = Some(jwks.clone()))
                .is_some(),
                None => false,
            },
            _ => false,
        };
        if taken {
            self.awaiting = None;
        }
        taken
    }
}

/// What a verified ID token must repeat: the sign-in's nonce, or the session's user.
struct Expected<'a> {
    nonce: NonceCheck<'a>,
    subject: Option<&'a str>,
    auth_time: Option<UnixTime>,
}

fn success_body(response: HttpResponse) -> Result<Vec<u8>, Error> {
    if response.is_success() {
        Ok(response.body)
    } else {
        Err(Error::Provider(ProviderError::from_response(
            response.status,
            &response.body,
        )))
    }
}

/// `min(sent_at + expires_in, JWT exp)`; a token with neither is already stale.
fn access_token_expiry(token: &str, expires_in: Option<u64>, sent_at: UnixTime) -> UnixTime {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: Option<UnixTime>,
    }
    let by_server = expires_in.map(|s| sent_at.add_secs(s));
    let by_jwt = crate::jwt::decode_payload::<Exp>(token)
        .ok()
        .and_then(|e| e.exp);
    match (by_server, by_jwt) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => sent_at,
    }
}

macro_rules! operation_impl {
    ($ty:ident, $out:ty) => {
        impl Operation for $ty<'_> {
            type Output = $out;

            fn step(&mut self, now: UnixTime) -> Result<Step<$out>, Error> {
                let result = match self.eng.check_can_step() {
                    Ok(()) => self.advance(now),
                    Err(e) => return Err(e),
                };
                self.eng.settle(result)
            }

            fn handle_response(
                &mut self,
                response: HttpResponse,
                now: UnixTime,
            ) -> Result<(), Error> {
                let result = match self.eng.route(response, now)? {
                    None => Ok(()),
                    Some((what, response)) => self.on_response(what, response, now),
                };
                if result.is_err() {
                    self.eng.over = true;
                }
                result
            }

            fn handle_transport_error(&mut self, now: UnixTime) -> bool {
                let what = self.eng.awaiting.take();
                let go_on = what.is_some_and(|w| self.on_transport_error(w, now));
                if !go_on {
                    self.eng.over = true;
                }
                go_on
            }

            fn fetches_provider_data(&self) -> bool {
                matches!(self.eng.awaiting, Some(Awaiting::Metadata | Awaiting::Jwks))
            }

            fn handle_shared_cache(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
                !self.eng.over && self.eng.take_shared(shared, now)
            }

            fn provider_cache(&self) -> &ProviderCache {
                self.eng.cache
            }
        }
    };
}

/// Fetches provider metadata (see [`Context::discover`]).
#[derive(Debug)]
pub struct Discover<'a> {
    eng: Engine<'a>,
}

impl Discover<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<ProviderMetadata>, Error> {
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        Ok(Step::Done(self.eng.metadata()?.clone()))
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(Discover, ProviderMetadata);

/// Builds the sign-in URL after discovery (see [`Context::sign_in`]).
#[derive(Debug)]
pub struct SignIn<'a> {
    eng: Engine<'a>,
    options: SignInOptions,
    entropy: SignInEntropy,
}

impl SignIn<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<String>, Error> {
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let metadata = self
            .eng
            .cache
            .metadata
            .as_ref()
            .ok_or(Error::Usage("metadata missing after discovery"))?;
        let url = sign_in_url(
            self.eng.config,
            metadata,
            self.eng.snapshot,
            &self.options,
            &self.entropy,
            now,
        )?;
        Ok(Step::Done(url))
    }

    fn on_response(&mut self, _: Awaiting, _: HttpResponse, _: UnixTime) -> Result<(), Error> {
        Err(Error::Usage("unexpected response"))
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(SignIn, String);

#[derive(Debug)]
enum CallbackPhase {
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

/// Completes a sign-in (see [`Context::handle_sign_in_callback`]): checks the callback,
/// exchanges the code, verifies the ID token and stores the tokens. Done gives the ID
/// token's claims.
pub struct HandleSignInCallback<'a> {
    eng: Engine<'a>,
    callback_url: String,
    phase: CallbackPhase,
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
                let snapshot = &mut *self.eng.snapshot;
                snapshot.clear_tokens();
                snapshot.id_token = Some(id_token.clone());
                snapshot.refresh_token = response.refresh_token.clone();
                snapshot.store_access_token(AccessToken {
                    target: TokenTarget::userinfo(),
                    expires_at: access_token_expiry(
                        response.access_token.expose(),
                        response.expires_in,
                        *sent_at,
                    ),
                    token: response.access_token.clone(),
                    scope: response.scope.clone(),
                });
                snapshot.pending = None;
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
        let body = success_body(response)?;
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

#[derive(Debug)]
enum FetchPhase {
    Start,
    Refreshing {
        sent_at: UnixTime,
    },
    Verify {
        response: TokenResponse,
        sent_at: UnixTime,
        received_at: UnixTime,
    },
}

/// The access-token logic shared by [`GetAccessToken`] and [`FetchUserInfo`].
#[derive(Debug)]
struct TokenFetch {
    target: TokenTarget,
    force: bool,
    /// False: stop with [`Error::RefreshNeeded`] where a refresh-token grant would go out.
    may_refresh: bool,
    phase: FetchPhase,
}

impl TokenFetch {
    fn new(target: TokenTarget, force: bool) -> Self {
        TokenFetch {
            target,
            force,
            may_refresh: true,
            phase: FetchPhase::Start,
        }
    }

    fn advance(&mut self, eng: &mut Engine<'_>, now: UnixTime) -> Result<Step<AccessToken>, Error> {
        match &self.phase {
            FetchPhase::Start => {
                if self.target.organization_id.is_some() && !eng.config.has_organizations_scope() {
                    return Err(Error::MissingOrganizationScope);
                }
                if !self.force {
                    if let Some(token) = eng.snapshot.fresh_access_token(
                        &self.target,
                        now,
                        eng.config.expiry_leeway(),
                    ) {
                        return Ok(Step::Done(token.clone()));
                    }
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
                if let Some(r) = &self.target.resource {
                    params.push(("resource", r));
                }
                if let Some(o) = &self.target.organization_id {
                    params.push(("organization_id", o));
                }
                if let Some(scope) = &self.target.scope {
                    params.push(("scope", scope));
                }
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
                        Verified::Claims(_) => eng.snapshot.id_token = Some(id_token.clone()),
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
                Ok(Step::Done(token))
            }
        }
    }

    fn on_response(
        &mut self,
        eng: &mut Engine<'_>,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        let FetchPhase::Refreshing { sent_at } = self.phase else {
            return Err(Error::Usage("unexpected response"));
        };
        if !response.is_success() {
            let error = ProviderError::from_response(response.status, &response.body);
            if error.is("invalid_grant") {
                // The provider no longer honours the refresh token: the session is over.
                eng.snapshot.clear_tokens();
                return Err(Error::SessionExpired(error));
            }
            return Err(Error::Provider(error));
        }
        let response = TokenResponse::parse(&response.body)?;
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
        };
        Ok(())
    }
}

/// An access token for a resource, an organization, or both (see
/// [`Context::access_token`]).
#[derive(Debug)]
pub struct GetAccessToken<'a> {
    eng: Engine<'a>,
    fetch: TokenFetch,
}

impl GetAccessToken<'_> {
    /// Never refreshes: without a fresh cached token the operation stops with
    /// [`Error::RefreshNeeded`] (see [`FetchUserInfo::without_refresh`]).
    #[must_use]
    pub fn without_refresh(mut self) -> Self {
        self.fetch.may_refresh = false;
        self
    }

    fn advance(&mut self, now: UnixTime) -> Result<Step<AccessToken>, Error> {
        self.fetch.advance(&mut self.eng, now)
    }

    fn on_response(
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

#[derive(Debug)]
enum UserInfoPhase {
    Token,
    Requested,
    Ready(Box<UserInfo>),
}

/// The userinfo claims (see [`Context::fetch_user_info`]). A 401 from the userinfo endpoint
/// forces one token refresh and one retry.
#[derive(Debug)]
pub struct FetchUserInfo<'a> {
    eng: Engine<'a>,
    fetch: TokenFetch,
    phase: UserInfoPhase,
    retried: bool,
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
                    Step::Send(request) => return Ok(Step::Send(request)),
                    Step::Done(token) => token,
                };
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
            UserInfoPhase::Requested => Err(Error::Usage("a response is awaited")),
            UserInfoPhase::Ready(info) => Ok(Step::Done(std::mem::take(&mut **info))),
        }
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
                let body = success_body(response)?;
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

/// Signs out (see [`Context::sign_out`]).
#[derive(Debug)]
pub struct SignOut<'a> {
    eng: Engine<'a>,
    post_logout_redirect_uri: Option<String>,
    id_token: Option<Secret>,
    refresh_token: Option<Secret>,
    revocation: Option<Revocation>,
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
        self.revocation = Some(if response.is_success() {
            Revocation::Revoked
        } else {
            Revocation::Failed(ProviderError::from_response(
                response.status,
                &response.body,
            ))
        });
        Ok(())
    }

    fn on_transport_error(&mut self, what: Awaiting, _: UnixTime) -> bool {
        if what == Awaiting::Revocation {
            self.revocation = Some(Revocation::Unreachable);
            true
        } else {
            false
        }
    }
}

operation_impl!(SignOut, SignOutResult);
