//! Caller-supplied time.
//!
//! Every state machine in this crate takes the current time as an explicit [`Instant`] argument:
//! a count of milliseconds since an epoch the caller chooses (boot, process start, ...). Only
//! differences between instants matter. Durations are [`core::time::Duration`]; when a duration
//! is added to an instant, any sub-millisecond part is rounded *up*, so that a timer never fires
//! before the duration has fully elapsed.
//!
//! Time must not go backwards. The state machines treat a `now` smaller than the last one they saw
//! as equal to the last one.

use core::fmt;
use core::ops::{Add, AddAssign};
use core::time::Duration;

/// A point in time: milliseconds since a caller-chosen epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant ("never", for timers that are not armed).
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `ms` milliseconds after the epoch.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms)
    }

    /// An instant `s` seconds after the epoch (saturating).
    #[must_use]
    pub const fn from_secs(s: u64) -> Instant {
        Instant(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, or `None` on overflow. Sub-millisecond parts of `d` round up.
    #[must_use]
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        self.0.checked_add(duration_ms_ceil(d)).map(Instant)
    }

    /// `self + d`, saturating at [`Instant::MAX`]. Sub-millisecond parts of `d` round up.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_ms_ceil(d)))
    }

    /// `self - d`, or `None` before the epoch. Sub-millisecond parts of `d` round up.
    #[must_use]
    pub fn checked_sub(self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(duration_ms_ceil(d)).map(Instant)
    }

    /// The later of `self` and `other`: how a state machine clamps a `now` that went backwards.
    #[must_use]
    pub fn max(self, other: Instant) -> Instant {
        Ord::max(self, other)
    }
}

/// Whole milliseconds in `d`, rounded up, saturating at `u64::MAX`.
fn duration_ms_ceil(d: Duration) -> u64 {
    let ms = d.as_millis() + u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturating addition (see [`Instant::saturating_add`]).
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = self.saturating_add(d);
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({}.{:03}s)", self.0 / 1000, self.0 % 1000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// Converts `std::time::Instant` readings into this crate's [`Instant`].
///
/// Create one at start-up; its creation time is the epoch.
///
/// ```
/// let clock = dots_proto::time::StdClock::new();
/// let now = clock.now();
/// assert!(now.as_millis() < 1000);
/// ```
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock whose epoch is the current moment.
    #[must_use]
    pub fn new() -> StdClock {
        StdClock {
            origin: std::time::Instant::now(),
        }
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.from_std(std::time::Instant::now())
    }

    /// Converts a `std::time::Instant` (instants before the epoch map to the epoch).
    #[must_use]
    pub fn from_std(&self, t: std::time::Instant) -> Instant {
        let ms = t.saturating_duration_since(self.origin).as_millis();
        Instant(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Converts back, e.g. to arm a `tokio::time::sleep_until`.
    #[must_use]
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        self.origin + Duration::from_millis(t.0)
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> StdClock {
        StdClock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_rounds_up_and_saturates() {
        let t = Instant::from_millis(1000);
        assert_eq!(t + Duration::from_micros(1), Instant::from_millis(1001));
        assert_eq!(t + Duration::from_millis(1500), Instant::from_millis(2500));
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(t.checked_sub(Duration::from_secs(2)), None);
        assert_eq!(
            t.saturating_duration_since(Instant::from_secs(5)),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_secs(5).saturating_duration_since(t),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn display() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", Instant::from_millis(61_005)), "61.005s");
    }
}
