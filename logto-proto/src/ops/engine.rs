//! What every operation shares: the context, the request in flight, discovery and JWKS.

use super::{OperationValues, Step};
use crate::claims::IdTokenClaims;
use crate::config::Config;
use crate::error::IdTokenError;
use crate::error::{Error, ProviderError};
use crate::http::{redact_query, HttpRequest, HttpResponse};
use crate::jwks::Jwks;
use crate::metadata::{ProviderCache, ProviderMetadata};
use crate::secret::Secret;
use crate::snapshot::{AccessToken, Snapshot, TokenTarget};
use crate::time::UnixTime;
use crate::token::TokenResponse;
use crate::trace::event;
use crate::verify::{verify_id_token, IdTokenCheck, NonceCheck};

/// Why the operation asks for the JWKS.
#[derive(Debug)]
pub(super) enum JwksNeed {
    /// It has none, or only a stale one.
    Missing,
    /// A token-endpoint ID token names a `kid` this set lacks: the keys rotated.
    Rotated { tried: Jwks },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Awaiting {
    Metadata,
    Jwks,
    DeviceAuthorization,
    Token,
    UserInfo,
    Revocation,
}

pub(super) enum Verified {
    Claims(Box<IdTokenClaims>),
    Fetch(HttpRequest),
}

/// What [`Engine::verify_presented`] gives: the verified value, or a request to send first.
pub(super) enum Presented<T> {
    Verified(T),
    Fetch(HttpRequest),
}

/// A value an operation works on: the caller's (borrowed through a [`Context`]), or its
/// own (an operation run inside a session call, which keeps the session between steps). An
/// owned value remembers whether it was ever borrowed mutably: a session call writes back
/// only a session the operation may have changed.
///
/// [`Context`]: crate::Context
#[derive(Debug)]
pub(crate) enum Slot<'a, T> {
    Borrowed(&'a mut T),
    Owned { value: T, touched: bool },
}

impl<T> Slot<'_, T> {
    /// Whether the value may have changed (it was borrowed mutably).
    pub(crate) fn touched(&self) -> bool {
        match self {
            Slot::Borrowed(_) => true,
            Slot::Owned { touched, .. } => *touched,
        }
    }

    /// From now on, only a new mutable borrow counts as a change.
    pub(crate) fn untouch(&mut self) {
        if let Slot::Owned { touched, .. } = self {
            *touched = false;
        }
    }
}

impl<T> std::ops::Deref for Slot<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Slot::Borrowed(t) => t,
            Slot::Owned { value, .. } => value,
        }
    }
}

impl<T> std::ops::DerefMut for Slot<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            Slot::Borrowed(t) => t,
            Slot::Owned { value, touched } => {
                *touched = true;
                value
            }
        }
    }
}

/// What every operation shares: the context, the request in flight, discovery and JWKS.
#[derive(Debug)]
pub(super) struct Engine<'a> {
    pub(super) config: &'a Config,
    pub(super) cache: Slot<'a, ProviderCache>,
    pub(super) snapshot: Slot<'a, Snapshot>,
    pub(super) awaiting: Option<Awaiting>,
    /// The URL (without its query) of the request in flight: a provider error names it.
    pub(super) endpoint: String,
    pub(super) jwks_need: JwksNeed,
    /// Whether this operation fetched a JWKS itself (always after its token response).
    pub(super) jwks_fetched: bool,
    pub(super) over: bool,
}

impl<'a> Engine<'a> {
    pub(super) fn new(values: OperationValues<'a>) -> Self {
        Engine {
            config: values.config,
            cache: values.cache,
            snapshot: values.snapshot,
            awaiting: None,
            endpoint: String::new(),
            jwks_need: JwksNeed::Missing,
            jwks_fetched: false,
            over: false,
        }
    }

    pub(super) fn check_can_step(&self) -> Result<(), Error> {
        if self.over {
            return Err(Error::Usage("the operation is over"));
        }
        if self.awaiting.is_some() {
            return Err(Error::Usage("a response is awaited: call handle_response"));
        }
        Ok(())
    }

    pub(super) fn send<T>(
        &mut self,
        what: Awaiting,
        request: HttpRequest,
    ) -> Result<Step<T>, Error> {
        self.await_answer(what, &request);
        Ok(Step::Send(request))
    }

    /// `request` is about to be sent: its answer is awaited.
    fn await_answer(&mut self, what: Awaiting, request: &HttpRequest) {
        self.awaiting = Some(what);
        self.endpoint = redact_query(&request.url).to_owned();
    }

    /// The body of a 2xx response; any other status is the provider's error, naming the
    /// endpoint that answered.
    pub(super) fn success_body(&self, response: HttpResponse) -> Result<Vec<u8>, Error> {
        if response.is_success() {
            Ok(response.body)
        } else {
            Err(Error::Provider(self.provider_error(&response)))
        }
    }

    /// The error an error status of the request in flight stands for.
    pub(super) fn provider_error(&self, response: &HttpResponse) -> ProviderError {
        ProviderError::from_response(response.status, &response.body).at(&self.endpoint)
    }

    /// Ends the operation when `result` is an error or `Done`.
    pub(super) fn settle<T>(&mut self, result: Result<Step<T>, Error>) -> Result<Step<T>, Error> {
        // A wait (a device sign-in between polls) goes on after it, as a request does.
        if !matches!(result, Ok(Step::Send(_) | Step::Wait(_))) {
            self.over = true;
        }
        result
    }

    /// The discovery request, unless fresh metadata is cached.
    pub(super) fn need_metadata(&self, now: UnixTime) -> Option<HttpRequest> {
        match self.cache.fresh_metadata(self.config, now) {
            Some(_) => None,
            None => Some(HttpRequest::get(self.config.discovery_url())),
        }
    }

    pub(super) fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        self.cache
            .metadata
            .as_ref()
            .ok_or(Error::Usage("metadata missing after discovery"))
    }

    /// Routes a response: discovery and JWKS are handled here, the rest is returned to the
    /// operation with what it answers.
    pub(super) fn route(
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
                let body = self.success_body(response)?;
                let metadata = ProviderMetadata::parse(self.config, &body, now)?;
                event!(
                    info,
                    endpoint = %self.endpoint,
                    reason = if self.cache.metadata.is_some() { "expired" } else { "first use" },
                    "fetched the discovery document"
                );
                self.cache.metadata = Some(metadata);
                Ok(None)
            }
            Awaiting::Jwks => {
                let body = self.success_body(response)?;
                // A refetch for an unknown kid starts the cooldown; a first-use or expiry
                // fetch keeps the last one's start.
                let refetch_at = match &self.jwks_need {
                    JwksNeed::Rotated { .. } => Some(now),
                    JwksNeed::Missing => self
                        .cache
                        .jwks
                        .as_ref()
                        .and_then(Jwks::unknown_kid_refetch_at),
                };
                let jwks = Jwks::parse(&body, now)?.with_unknown_kid_refetch_at(refetch_at);
                event!(
                    info,
                    endpoint = %self.endpoint,
                    reason = match (&self.jwks_need, &*self.cache) {
                        (JwksNeed::Rotated { .. }, _) => "unknown kid",
                        (JwksNeed::Missing, cache) if cache.jwks.is_some() => "expired",
                        (JwksNeed::Missing, _) => "first use",
                    },
                    keys = jwks.keys().len(),
                    "fetched the JWKS"
                );
                self.cache.jwks = Some(jwks);
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
    pub(super) fn verify(
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

    /// Verifies a token an outsider presents (a bearer access token, a logout token) with
    /// the cached keys: asks for the discovery document and the JWKS when they are missing
    /// or stale, and for the JWKS again when the token names a key it lacks, but at most once
    /// per [`jwks_refetch_cooldown`](Config::jwks_refetch_cooldown) counted from the last
    /// refetch for an unknown kid: anyone can present such a token, so its `kid` is an
    /// outsider's choice, and made-up ones must not make the app fetch keys at will. A
    /// first-use or expiry fetch does not start the cooldown, so a key published just after
    /// it is fetched at once. `verify` gets the keys and the issuer.
    pub(super) fn verify_presented<T, E: Into<Error>>(
        &mut self,
        now: UnixTime,
        verify: impl FnOnce(&Jwks, &str) -> Result<T, E>,
        is_unknown_key: impl FnOnce(&E) -> bool,
    ) -> Result<Presented<T>, Error> {
        if let Some(request) = self.need_metadata(now) {
            self.await_answer(Awaiting::Metadata, &request);
            return Ok(Presented::Fetch(request));
        }
        let metadata = self.metadata()?;
        let (issuer, jwks_uri) = (metadata.issuer.clone(), metadata.jwks_uri.clone());
        let Some(jwks) = self.cache.fresh_jwks(self.config, now) else {
            self.jwks_need = JwksNeed::Missing;
            let request = HttpRequest::get(jwks_uri);
            self.await_answer(Awaiting::Jwks, &request);
            return Ok(Presented::Fetch(request));
        };
        match verify(jwks, &issuer) {
            Ok(value) => Ok(Presented::Verified(value)),
            Err(e)
                if is_unknown_key(&e)
                    && !self.jwks_fetched
                    && jwks
                        .unknown_kid_refetch_allowed(now, self.config.jwks_refetch_cooldown()) =>
            {
                self.jwks_need = JwksNeed::Rotated {
                    tried: jwks.clone(),
                };
                let request = HttpRequest::get(jwks_uri);
                self.await_answer(Awaiting::Jwks, &request);
                Ok(Presented::Fetch(request))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// See [`Operation::handle_shared_cache`]: takes the shared metadata or JWKS when it is
    /// what the request in flight would fetch.
    pub(super) fn take_shared(&mut self, shared: &ProviderCache, now: UnixTime) -> bool {
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
pub(super) struct Expected<'a> {
    pub(super) nonce: NonceCheck<'a>,
    pub(super) subject: Option<&'a str>,
    pub(super) auth_time: Option<UnixTime>,
}

/// A completed sign-in (a callback's code exchange, a device sign-in): the session becomes
/// the new one, with the verified `id_token`, the refresh token and the access token for the
/// userinfo endpoint of the token `response` to a request sent at `sent_at`. Nothing of the
/// session before stays, not even a pending sign-in.
pub(super) fn start_session(
    snapshot: &mut Snapshot,
    id_token: &Secret,
    response: &TokenResponse,
    sent_at: UnixTime,
) {
    snapshot.clear_tokens();
    snapshot.pending = None;
    snapshot.set_id_token(Some(id_token.clone()));
    snapshot.refresh_token = response.refresh_token.clone();
    snapshot.store_access_token(AccessToken {
        target: TokenTarget::userinfo(),
        expires_at: access_token_expiry(
            response.access_token.expose(),
            response.expires_in,
            sent_at,
        ),
        token: response.access_token.clone(),
        scope: response.scope.clone(),
    });
}

/// `min(sent_at + expires_in, JWT exp)`; a token with neither is already stale.
pub(super) fn access_token_expiry(
    token: &str,
    expires_in: Option<u64>,
    sent_at: UnixTime,
) -> UnixTime {
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
                &self.eng.cache
            }
        }

        impl crate::ops::Bound for $ty<'_> {
            fn snapshot(&self) -> &crate::snapshot::Snapshot {
                &self.eng.snapshot
            }

            fn snapshot_mut(&mut self) -> &mut crate::snapshot::Snapshot {
                &mut self.eng.snapshot
            }

            fn cache_mut(&mut self) -> &mut ProviderCache {
                &mut self.eng.cache
            }

            fn snapshot_touched(&self) -> bool {
                self.eng.snapshot.touched()
            }

            fn untouch(&mut self) {
                self.eng.snapshot.untouch();
            }
        }
    };
}
