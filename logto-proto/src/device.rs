//! Device sign-in (OAuth 2.0 Device Authorization Grant, RFC 8628): the provider's answer to
//! the device authorization request, and the polling rules.
//!
//! A device or a command-line tool with no browser of its own asks the provider for a pair of
//! codes, shows the user code and the verification URI, and polls the token endpoint while
//! the user signs in elsewhere. Logto serves it for native apps (public clients).

use crate::error::ResponseError;
use crate::secret::Secret;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

/// The grant type of the device-code poll.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Seconds between polls when the provider gives no `interval` (RFC 8628 §3.2).
pub const DEFAULT_POLL_INTERVAL: u64 = 5;

/// Seconds a `slow_down` answer adds to the interval, for this and every later poll (RFC 8628
/// §3.5).
pub const SLOW_DOWN_STEP: u64 = 5;

/// The longest user code shown: a user types it, so a longer one is not a user code.
const MAX_USER_CODE_CHARS: usize = 64;

/// The longest verification URI accepted (the user opens it).
const MAX_VERIFICATION_URI_CHARS: usize = 2048;

/// What the provider answered to a device authorization request: what to show the user, and
/// (kept inside) the device code to poll with.
///
/// Show [`user_code`](Self::user_code) with [`verification_uri`](Self::verification_uri), or
/// offer [`verification_uri_complete`](Self::verification_uri_complete) (the code filled in,
/// for a link or a QR code); the user has until [`expires_at`](Self::expires_at). It can be
/// stored (serde) to complete the sign-in in another process. `Debug` hides the device code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    device_code: Secret,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    /// When the answer arrived: the first poll waits an interval from here.
    issued_at: UnixTime,
    expires_at: UnixTime,
    interval: u64,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &self.device_code)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("verification_uri_complete", &self.verification_uri_complete)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .finish()
    }
}

impl DeviceAuthorization {
    /// Parses a 2xx device authorization response that arrived at `received_at`.
    ///
    /// `device_code`, `user_code`, `verification_uri` and `expires_in` are required;
    /// `interval` defaults to [`DEFAULT_POLL_INTERVAL`]. The URIs must be absolute `http(s)`
    /// URLs and the user code short printable text: both are shown to a user.
    ///
    /// ```
    /// use logto_proto::{DeviceAuthorization, UnixTime};
    /// let body = br#"{"device_code":"dc","user_code":"WDJB-MJHT",
    ///   "verification_uri":"https://tenant.logto.app/oidc/device",
    ///   "verification_uri_complete":"https://tenant.logto.app/oidc/device?user_code=WDJB-MJHT",
    ///   "expires_in":600}"#;
    /// let device = DeviceAuthorization::parse(body, UnixTime::from_secs(1000))?;
    /// assert_eq!(device.user_code(), "WDJB-MJHT");
    /// assert_eq!(device.expires_at(), UnixTime::from_secs(1600));
    /// assert_eq!(device.interval(), 5);
    /// # Ok::<(), logto_proto::errors::ResponseError>(())
    /// ```
    pub fn parse(body: &[u8], received_at: UnixTime) -> Result<Self, ResponseError> {
        #[derive(Deserialize)]
        struct Raw {
            device_code: String,
            user_code: String,
            verification_uri: String,
            #[serde(default)]
            verification_uri_complete: Option<String>,
            expires_in: u64,
            #[serde(default)]
            interval: Option<u64>,
        }
        let malformed = |reason: String| ResponseError::Malformed {
            what: "device authorization",
            reason,
        };
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| malformed(crate::error::json_reason(&e)))?;
        if raw.device_code.is_empty() {
            return Err(malformed("empty device_code".into()));
        }
        let shown = |c: char| !c.is_control() && !c.is_whitespace();
        if raw.user_code.is_empty()
            || raw.user_code.chars().count() > MAX_USER_CODE_CHARS
            || !raw.user_code.chars().all(shown)
        {
            return Err(malformed(
                "user_code is not short printable text without spaces".into(),
            ));
        }
        check_uri("verification_uri", &raw.verification_uri).map_err(malformed)?;
        if let Some(uri) = &raw.verification_uri_complete {
            check_uri("verification_uri_complete", uri).map_err(malformed)?;
        }
        Ok(DeviceAuthorization {
            device_code: Secret::new(raw.device_code),
            user_code: raw.user_code,
            verification_uri: raw.verification_uri,
            verification_uri_complete: raw.verification_uri_complete,
            issued_at: received_at,
            expires_at: received_at.add_secs(raw.expires_in),
            interval: raw.interval.unwrap_or(DEFAULT_POLL_INTERVAL),
        })
    }

    /// The code the user enters on the verification page.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user enters the code.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// The verification page with the code filled in, if the provider gives one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// When the codes expire: no poll is sent at or after it.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// The provider's polling interval in seconds, as first given.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    pub(crate) fn device_code(&self) -> &Secret {
        &self.device_code
    }
}

/// An absolute `http(s)` URL of bounded length, without credentials.
fn check_uri(name: &str, uri: &str) -> Result<(), String> {
    if uri.len() > MAX_VERIFICATION_URI_CHARS {
        return Err(format!(
            "{name} is longer than {MAX_VERIFICATION_URI_CHARS} bytes"
        ));
    }
    let url = Url::parse(uri).map_err(|e| format!("{name} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(format!("{name} is not an http(s) URL without credentials"));
    }
    Ok(())
}

/// How a poll of the token endpoint was answered, for the polling rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollAnswer {
    /// `authorization_pending`: the user has not finished; poll again after the interval.
    Pending,
    /// `slow_down`: the same, with the interval grown by [`SLOW_DOWN_STEP`].
    SlowDown,
    /// The request got no answer: poll again after a longer interval.
    NoAnswer,
}

/// The longest interval a run of unanswered polls grows to, in seconds.
const MAX_BACKOFF_INTERVAL: u64 = 60;

/// The polling schedule: the current interval, and when the next poll may go out.
///
/// Two rules hold whatever the answers and the clock do: a poll never follows the previous
/// one sooner than the current interval (the wait is given in full before each poll, and
/// measured again on the clock), and no poll is sent at or after the expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PollSchedule {
    interval: u64,
    expires_at: UnixTime,
    /// The clock time before which the next poll may not go.
    not_before: UnixTime,
    /// Whether the full interval has been asked for since the last poll.
    waited: bool,
}

/// What the schedule says to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollNext {
    /// Wait this many seconds, then ask again.
    Wait(u64),
    /// Send the poll now.
    Poll,
    /// The device code has expired.
    Expired,
}

impl PollSchedule {
    pub(crate) fn new(device: &DeviceAuthorization) -> Self {
        PollSchedule {
            interval: device.interval.max(1),
            expires_at: device.expires_at,
            not_before: device.issued_at.add_secs(device.interval.max(1)),
            waited: false,
        }
    }

    pub(crate) fn interval(&self) -> u64 {
        self.interval
    }

    pub(crate) fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// What to do at `now`. A wait that runs into the expiry ends at the expiry, which
    /// then answers [`PollNext::Expired`].
    pub(crate) fn next(&mut self, now: UnixTime) -> PollNext {
        if now >= self.expires_at {
            return PollNext::Expired;
        }
        let left = self.expires_at.secs_since(now);
        if !self.waited {
            // The driver's own timer measures the interval, whatever the clock's resolution
            // or jumps; the clock check below only adds to it.
            self.waited = true;
            return PollNext::Wait(self.interval.min(left));
        }
        if now < self.not_before {
            return PollNext::Wait(self.not_before.secs_since(now).min(left));
        }
        PollNext::Poll
    }

    /// A poll went out at `now`: the next one waits a full interval from here.
    pub(crate) fn polled(&mut self, now: UnixTime) {
        self.waited = false;
        self.not_before = now.add_secs(self.interval);
    }

    /// The poll sent at `sent_at` was answered with `answer`.
    pub(crate) fn answered(&mut self, answer: PollAnswer, sent_at: UnixTime) {
        self.interval = match answer {
            PollAnswer::Pending => self.interval,
            PollAnswer::SlowDown => self.interval.saturating_add(SLOW_DOWN_STEP),
            PollAnswer::NoAnswer => self
                .interval
                .saturating_mul(2)
                .min(MAX_BACKOFF_INTERVAL)
                .max(self.interval),
        };
        self.not_before = sent_at.add_secs(self.interval);
        self.waited = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(interval: Option<u64>, expires_in: u64) -> DeviceAuthorization {
        let body = serde_json::json!({
            "device_code": "dc", "user_code": "ABCD-EFGH",
            "verification_uri": "https://tenant.logto.app/oidc/device",
            "expires_in": expires_in, "interval": interval,
        });
        DeviceAuthorization::parse(body.to_string().as_bytes(), UnixTime::from_secs(100)).unwrap()
    }

    #[test]
    fn the_first_poll_waits_a_full_interval() {
        let mut schedule = PollSchedule::new(&device(Some(3), 600));
        assert_eq!(schedule.next(UnixTime::from_secs(100)), PollNext::Wait(3));
        assert_eq!(schedule.next(UnixTime::from_secs(103)), PollNext::Poll);
    }

    #[test]
    fn slow_down_grows_the_interval_for_every_later_poll() {
        let mut schedule = PollSchedule::new(&device(None, 600));
        schedule.polled(UnixTime::from_secs(105));
        schedule.answered(PollAnswer::SlowDown, UnixTime::from_secs(105));
        assert_eq!(schedule.interval(), 10);
        assert_eq!(schedule.next(UnixTime::from_secs(106)), PollNext::Wait(10));
        // The clock says only 5 s passed: the rest of the interval is waited too.
        assert_eq!(schedule.next(UnixTime::from_secs(110)), PollNext::Wait(5));
        assert_eq!(schedule.next(UnixTime::from_secs(115)), PollNext::Poll);
        schedule.polled(UnixTime::from_secs(115));
        schedule.answered(PollAnswer::Pending, UnixTime::from_secs(115));
        assert_eq!(schedule.interval(), 10);
    }

    #[test]
    fn no_poll_at_or_after_the_expiry() {
        let mut schedule = PollSchedule::new(&device(Some(5), 7));
        assert_eq!(schedule.next(UnixTime::from_secs(100)), PollNext::Wait(5));
        assert_eq!(schedule.next(UnixTime::from_secs(105)), PollNext::Poll);
        schedule.polled(UnixTime::from_secs(105));
        assert_eq!(schedule.next(UnixTime::from_secs(105)), PollNext::Wait(2));
        assert_eq!(schedule.next(UnixTime::from_secs(107)), PollNext::Expired);
    }

    #[test]
    fn what_a_user_is_shown_is_checked() {
        let answer = |user_code: &str, uri: &str| {
            let body = serde_json::json!({
                "device_code": "dc", "user_code": user_code, "verification_uri": uri,
                "expires_in": 600,
            });
            DeviceAuthorization::parse(body.to_string().as_bytes(), UnixTime::from_secs(1))
        };
        assert!(answer("ABCD", "https://tenant.logto.app/oidc/device").is_ok());
        assert!(answer("AB\u{1b}[2J", "https://tenant.logto.app/oidc/device").is_err());
        assert!(answer("ABCD", "javascript:alert(1)").is_err());
        assert!(answer("ABCD", "https://user:pw@tenant.logto.app/device").is_err());
        assert!(answer("ABCD", "https://:pw@tenant.logto.app/device").is_err());
        assert!(answer(&"A".repeat(65), "https://tenant.logto.app/oidc/device").is_err());
        let debug = format!("{:?}", answer("ABCD", "https://t.example/d").unwrap());
        assert!(!debug.contains("\"dc\""), "{debug}");
    }
}
