//! Device sign-in (RFC 8628): the device authorization request, then polling the token
//! endpoint until the user has signed in elsewhere.

use super::engine::{start_session, Awaiting, Engine, Expected, Verified};
use super::{Operation, Step};
use crate::claims::IdTokenClaims;
use crate::device::{DeviceAuthorization, PollAnswer, PollNext, PollSchedule, DEVICE_CODE_GRANT};
use crate::error::{DeviceError, DiscoveryError, Error, ResponseError};
use crate::http::HttpResponse;
use crate::metadata::ProviderCache;
use crate::time::UnixTime;
use crate::token::{client_request, TokenResponse};
use crate::trace::event;
use crate::verify::NonceCheck;
use std::time::Duration;

/// Polls in a row that may get no answer before the sign-in gives up.
const MAX_UNANSWERED_POLLS: u32 = 5;

/// Starts a device sign-in (see
/// [`Context::start_device_sign_in`](crate::Context::start_device_sign_in)). Done gives what
/// to show the user; the session is not touched.
#[derive(Debug)]
pub struct StartDeviceSignIn<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) received: Option<Box<DeviceAuthorization>>,
}

impl StartDeviceSignIn<'_> {
    fn advance(&mut self, now: UnixTime) -> Result<Step<DeviceAuthorization>, Error> {
        if let Some(device) = self.received.take() {
            return Ok(Step::Done(*device));
        }
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        let endpoint = self
            .eng
            .metadata()?
            .device_authorization_endpoint
            .clone()
            .ok_or(DiscoveryError::MissingEndpoint {
                name: "device_authorization_endpoint",
            })?;
        let config = self.eng.config;
        let scope = config.scopes().join(" ");
        let mut params = vec![("scope", scope.as_str())];
        params.extend(config.resources().iter().map(|r| ("resource", r.as_str())));
        let request = client_request(
            config,
            ("device_authorization_endpoint", &endpoint),
            &params,
        )?;
        self.eng.send(Awaiting::DeviceAuthorization, request)
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        if what != Awaiting::DeviceAuthorization {
            return Err(Error::Usage("unexpected response"));
        }
        let body = self.eng.success_body(response)?;
        let device = DeviceAuthorization::parse(&body, now)?;
        event!(
            info,
            expires_in = device.expires_at().secs_since(now),
            interval = device.interval(),
            "device sign-in started"
        );
        self.received = Some(Box::new(device));
        Ok(())
    }

    fn on_transport_error(&mut self, _: Awaiting, _: UnixTime) -> bool {
        false
    }
}

operation_impl!(StartDeviceSignIn, DeviceAuthorization);

/// Completes a device sign-in (see
/// [`Context::complete_device_sign_in`](crate::Context::complete_device_sign_in)): waits and
/// polls until the user has signed in, then verifies the ID token and stores the tokens as a
/// code exchange does. Done gives the ID token's claims. Dropping it at any step abandons the
/// sign-in; nothing was stored.
#[derive(Debug)]
pub struct CompleteDeviceSignIn<'a> {
    pub(super) eng: Engine<'a>,
    pub(super) device: DeviceAuthorization,
    pub(super) schedule: PollSchedule,
    pub(super) phase: DevicePhase,
    pub(super) unanswered: u32,
}

#[derive(Debug)]
pub(super) enum DevicePhase {
    /// Waiting for the user, polling on the schedule.
    Polling,
    /// A poll sent at `sent_at` awaits its answer.
    Sent { sent_at: UnixTime },
    /// The user signed in: the tokens await verification.
    Verify {
        response: TokenResponse,
        sent_at: UnixTime,
        received_at: UnixTime,
    },
}

impl<'a> CompleteDeviceSignIn<'a> {
    pub(super) fn new(eng: Engine<'a>, device: DeviceAuthorization) -> Self {
        CompleteDeviceSignIn {
            eng,
            schedule: PollSchedule::new(&device),
            device,
            phase: DevicePhase::Polling,
            unanswered: 0,
        }
    }

    /// The current polling interval in seconds (grown by each `slow_down`).
    pub fn interval(&self) -> u64 {
        self.schedule.interval()
    }

    fn advance(&mut self, now: UnixTime) -> Result<Step<IdTokenClaims>, Error> {
        match &self.phase {
            DevicePhase::Polling => self.poll(now),
            DevicePhase::Sent { .. } => Err(Error::Usage("a response is awaited")),
            DevicePhase::Verify { .. } => self.verify_and_store(now),
        }
    }

    fn poll(&mut self, now: UnixTime) -> Result<Step<IdTokenClaims>, Error> {
        if let Some(request) = self.eng.need_metadata(now) {
            return self.eng.send(Awaiting::Metadata, request);
        }
        match self.schedule.next(now) {
            PollNext::Wait(secs) => return Ok(Step::Wait(Duration::from_secs(secs))),
            PollNext::Expired => return Err(self.expired(now)),
            PollNext::Poll => {}
        }
        let token_endpoint = self.eng.metadata()?.token_endpoint.clone();
        let request = client_request(
            self.eng.config,
            ("token_endpoint", &token_endpoint),
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", self.device.device_code().expose()),
            ],
        )?;
        self.schedule.polled(now);
        self.phase = DevicePhase::Sent { sent_at: now };
        self.eng.send(Awaiting::Token, request)
    }

    fn expired(&self, now: UnixTime) -> Error {
        DeviceError::Expired {
            expires_at: self.schedule.expires_at(),
            now,
        }
        .into()
    }

    fn verify_and_store(&mut self, now: UnixTime) -> Result<Step<IdTokenClaims>, Error> {
        let DevicePhase::Verify {
            response,
            sent_at,
            received_at,
        } = &self.phase
        else {
            return Err(Error::Usage("nothing to verify"));
        };
        let id_token = response
            .id_token
            .as_ref()
            .ok_or(ResponseError::MissingIdToken)?;
        // No authorization request carried a nonce: the ID token cannot repeat one (OpenID
        // Connect Core 3.1.3.7 minus step 11). Everything else is checked.
        let expect = Expected {
            nonce: NonceCheck::IfPresent(None),
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
        // A new session: whatever the snapshot held before is replaced.
        start_session(&mut self.eng.snapshot, id_token, response, *sent_at);
        event!(
            info,
            refresh_token = response.refresh_token.is_some(),
            "device sign-in completed"
        );
        Ok(Step::Done(*claims))
    }

    fn on_response(
        &mut self,
        what: Awaiting,
        response: HttpResponse,
        now: UnixTime,
    ) -> Result<(), Error> {
        let DevicePhase::Sent { sent_at } = self.phase else {
            return Err(Error::Usage("unexpected response"));
        };
        if what != Awaiting::Token {
            return Err(Error::Usage("unexpected response"));
        }
        self.unanswered = 0;
        if response.is_success() {
            let response = TokenResponse::parse(&response.body)?;
            self.phase = DevicePhase::Verify {
                response,
                sent_at,
                received_at: now,
            };
            return Ok(());
        }
        let refused = self.eng.provider_error(&response);
        let answer = match refused.error.as_deref() {
            Some("authorization_pending") => PollAnswer::Pending,
            Some("slow_down") => PollAnswer::SlowDown,
            Some("access_denied") => return Err(DeviceError::Denied(refused).into()),
            Some("expired_token") => return Err(self.expired(now)),
            _ => return Err(Error::Provider(refused)),
        };
        self.schedule.answered(answer, sent_at);
        if answer == PollAnswer::SlowDown {
            event!(
                info,
                interval = self.schedule.interval(),
                "the provider asked to poll more slowly"
            );
        }
        self.phase = DevicePhase::Polling;
        Ok(())
    }

    fn on_transport_error(&mut self, what: Awaiting, _now: UnixTime) -> bool {
        let DevicePhase::Sent { sent_at } = self.phase else {
            return false;
        };
        if what != Awaiting::Token {
            return false;
        }
        // A poll that got no answer costs nothing at the provider: poll again, backing off,
        // a few times in a row before giving up.
        self.unanswered += 1;
        if self.unanswered >= MAX_UNANSWERED_POLLS {
            return false;
        }
        self.schedule.answered(PollAnswer::NoAnswer, sent_at);
        self.phase = DevicePhase::Polling;
        true
    }
}

operation_impl!(CompleteDeviceSignIn, IdTokenClaims);
