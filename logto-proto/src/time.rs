//! Wall-clock time as a value: the core never reads a clock.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in wall-clock time: whole seconds since the Unix epoch.
///
/// The core never reads the system clock; every call that needs the time takes a `UnixTime`
/// argument, so a flow run twice with the same inputs gives the same outputs. Adapters pass
/// `SystemTime::now()` converted with [`UnixTime::from_secs`].
///
/// ```
/// use logto_proto::UnixTime;
/// let t = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(t.add_secs(60).as_secs(), 1_700_000_060);
/// assert_eq!(t.secs_since(UnixTime::from_secs(1_699_999_990)), 10);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The time `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating at the far future.
    #[must_use]
    pub const fn add_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_add(secs))
    }

    /// This time minus `secs` seconds, saturating at the epoch.
    #[must_use]
    pub const fn sub_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_sub(secs))
    }

    /// Seconds elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub const fn secs_since(self, earlier: UnixTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixTime({})", self.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
