//! The HTTP transports the drivers send the core's requests with: one trait per mode.
//!
//! A transport moves one request and its answer, nothing more. What the SDK decides about
//! every request stays in the driver: the timeouts (the config's), the largest response body
//! read ([`MAX_RESPONSE_BODY`]), and that a redirect is an answer, never followed.

use logto_proto::adapter::{HttpRequest, HttpResponse};
use logto_proto::{Config, TransportError, TransportErrorKind};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The largest response body a driver accepts (discovery, JWKS and tokens are a few KB): a
/// larger one is a [`TransportError`], whatever the transport read.
pub const MAX_RESPONSE_BODY: u64 = 1024 * 1024;

/// The limits a driver sets on one request. A transport applies them while it sends (it
/// stops reading a body at `max_body + 1` bytes, it gives up at the timeouts); the driver
/// checks the body's length again and, in the async driver, enforces `timeout` with the
/// transport's own timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long the whole exchange may take, connection included.
    pub timeout: Duration,
    /// The largest response body accepted, in bytes.
    pub max_body: u64,
}

impl RequestLimits {
    /// The limits of `config` (its connect and request timeouts, [`MAX_RESPONSE_BODY`]).
    pub fn of(config: &Config) -> RequestLimits {
        RequestLimits {
            connect_timeout: config.connect_timeout(),
            timeout: config.request_timeout(),
            max_body: MAX_RESPONSE_BODY,
        }
    }

    /// `response` if its body is within the limit, else the error a transport would give.
    pub fn check(&self, url: &str, response: HttpResponse) -> Result<HttpResponse, TransportError> {
        if response.body.len() as u64 > self.max_body {
            return Err(self.body_too_large(url));
        }
        Ok(response)
    }

    /// The error for a response body larger than [`max_body`](Self::max_body).
    pub fn body_too_large(&self, url: &str) -> TransportError {
        TransportError::new(
            TransportErrorKind::Other,
            url,
            format!(
                "the response body is larger than the limit of {} bytes",
                self.max_body
            ),
        )
    }

    /// The error for a request that took longer than [`timeout`](Self::timeout).
    pub fn timed_out(&self, url: &str) -> TransportError {
        TransportError::new(
            TransportErrorKind::Timeout,
            url,
            format!("no answer within {:?}", self.timeout),
        )
    }
}

/// Sends the blocking driver's requests: implement [`send`](Self::send) over any HTTP
/// client (or a socket) and [`LogtoClient::with_transport`](crate::blocking::LogtoClient::with_transport)
/// gives the whole client: sessions, refresh leases, machine tokens, API validation.
///
/// A transport must:
/// - send the request as it is (method, URL, headers, body; no body at all when it is
///   empty) and return the answer whatever its status: a 4xx or 5xx is a response, not an
///   error;
/// - never follow a redirect (a 3xx is returned as it is);
/// - apply `limits`: give up at its timeouts, and stop reading a body at
///   `limits.max_body + 1` bytes (the driver refuses longer ones);
/// - report a request that got no answer as a [`TransportError`] with its kind
///   (`Connect`, `Timeout`, `Other`) and the request's URL (its host is kept, for logs).
///
/// ```
/// use logto_driver::blocking::Transport;
/// use logto_driver::RequestLimits;
/// use logto_proto::{HttpRequest, HttpResponse, TransportError};
///
/// /// Answers every request with 503 (a provider that is down, for a test).
/// struct Unavailable;
///
/// impl Transport for Unavailable {
///     fn send(&self, _: HttpRequest, _: &RequestLimits) -> Result<HttpResponse, TransportError> {
///         Ok(HttpResponse::new(503, b"down".to_vec()))
///     }
/// }
/// ```
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and reads its answer within `limits`.
    fn send(
        &self,
        request: HttpRequest,
        limits: &RequestLimits,
    ) -> Result<HttpResponse, TransportError>;

    /// Waits `duration` (between the attempts of a session call that found its session
    /// busy). The thread sleeps unless replaced, e.g. by a simulated clock.
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The future of an [`AsyncTransport::send`].
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;

/// The future of an [`AsyncTransport::sleep`].
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Sends the async driver's requests: the [`Transport`] contract, as a future. It needs no
/// runtime of its own: a transport on tokio, async-std, smol or a hand-rolled executor
/// implements [`send`](Self::send), and [`sleep`](Self::sleep) with that runtime's timer
/// (the default is `futures-timer`'s, which runs on any executor).
///
/// The driver races every `send` against `sleep(limits.timeout)`: a transport that never
/// answers still gives a [`Timeout`](TransportErrorKind::Timeout) error in time.
pub trait AsyncTransport: Send + Sync + 'static {
    /// Sends `request` and reads its answer within `limits`.
    fn send(&self, request: HttpRequest, limits: RequestLimits) -> TransportFuture<'_>;

    /// A future that completes after `duration`. It is both the pause between the attempts
    /// of a session call that found its session busy and every request's deadline: a
    /// replacement (a simulated clock in a test) that completes at once also times out
    /// every request that is not ready when first polled.
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(futures_timer::Delay::new(duration))
    }
}

/// Reads a transport's header list as the core's pairs, skipping values that are not text
/// (the core reads only ASCII headers).
pub fn text_headers<N, V>(headers: impl IntoIterator<Item = (N, V)>) -> Vec<(String, String)>
where
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    headers
        .into_iter()
        .filter_map(|(name, value)| {
            let value = std::str::from_utf8(value.as_ref()).ok()?;
            Some((name.as_ref().to_owned(), value.to_owned()))
        })
        .collect()
}
