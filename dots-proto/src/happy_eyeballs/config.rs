//! Timing policy of the connection race.

use core::time::Duration;

/// RFC 8305 §5 default "Connection Attempt Delay" outside attacks: 250 ms.
pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// RFC 9132 §4.3: during an attack the Connection Attempt Delay SHOULD be 100 ms.
pub const ATTACK_ATTEMPT_DELAY: Duration = Duration::from_millis(100);

/// RFC 8305 §5: the Connection Attempt Delay MUST NOT be less than 10 ms.
pub const MIN_ATTEMPT_DELAY: Duration = Duration::from_millis(10);

/// RFC 8305 §5: the Connection Attempt Delay SHOULD NOT be more than 2 s.
pub const MAX_ATTEMPT_DELAY: Duration = Duration::from_secs(2);

/// Default bound on one connection attempt (a DTLS or TLS handshake, TCP connect included)
/// before the race gives up on it: 10 s.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// RFC 9132 §4.3: the outcome of the race is cached "on the order of few minutes (e.g., 10 min)".
pub const DEFAULT_CACHE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// RFC 9132 §4.3: DTLS re-probing while on TLS MUST NOT be more frequent than every 5 minutes.
pub const MIN_REPROBE_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// RFC 9132 §4.3: DTLS re-probing SHOULD NOT be more frequent than every 24 hours (the default).
pub const DEFAULT_REPROBE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// A setting outside the bounds the RFCs allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The Connection Attempt Delay is below [`MIN_ATTEMPT_DELAY`] or above [`MAX_ATTEMPT_DELAY`].
    #[error("connection attempt delay must be between 10 ms and 2 s (RFC 8305 section 5)")]
    AttemptDelayOutOfRange,
    /// The per-attempt timeout is shorter than [`MIN_ATTEMPT_DELAY`].
    #[error("attempt timeout must be at least 10 ms")]
    AttemptTimeoutTooShort,
    /// The DTLS re-probe interval is below [`MIN_REPROBE_INTERVAL`].
    #[error(
        "DTLS re-probing must not be more frequent than every 5 minutes (RFC 9132 section 4.3)"
    )]
    ReprobeTooFrequent,
    /// The First Address Family Count is zero.
    #[error("first address family count must be at least 1 (RFC 8305 section 4)")]
    ZeroFirstAddressFamilyCount,
}

/// Timing policy of a [`HappyEyeballs`](super::HappyEyeballs) race. `Config::default()` follows the
/// RFC defaults; every setter checks the RFC bounds.
///
/// ```
/// use core::time::Duration;
/// use dots_proto::happy_eyeballs::Config;
///
/// let config = Config::default()
///     .with_reprobe_interval(Duration::from_secs(3600))?
///     .with_attempt_delay(Duration::from_millis(300))?;
/// assert_eq!(config.reprobe_interval(), Duration::from_secs(3600));
/// assert!(Config::default().with_reprobe_interval(Duration::from_secs(60)).is_err());
/// # Ok::<(), dots_proto::happy_eyeballs::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    attempt_delay: Duration,
    attack_attempt_delay: Duration,
    attempt_timeout: Duration,
    cache_lifetime: Duration,
    reprobe_interval: Duration,
    first_address_family_count: u8,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            attempt_delay: DEFAULT_ATTEMPT_DELAY,
            attack_attempt_delay: ATTACK_ATTEMPT_DELAY,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            cache_lifetime: DEFAULT_CACHE_LIFETIME,
            reprobe_interval: DEFAULT_REPROBE_INTERVAL,
            first_address_family_count: 1,
        }
    }
}

fn check_delay(d: Duration) -> Result<Duration, ConfigError> {
    if (MIN_ATTEMPT_DELAY..=MAX_ATTEMPT_DELAY).contains(&d) {
        Ok(d)
    } else {
        Err(ConfigError::AttemptDelayOutOfRange)
    }
}

impl Config {
    /// The Connection Attempt Delay outside attacks (default [`DEFAULT_ATTEMPT_DELAY`], 250 ms).
    #[must_use]
    pub fn attempt_delay(&self) -> Duration {
        self.attempt_delay
    }

    /// Sets the Connection Attempt Delay used outside attacks (10 ms ..= 2 s).
    pub fn with_attempt_delay(mut self, d: Duration) -> Result<Config, ConfigError> {
        self.attempt_delay = check_delay(d)?;
        Ok(self)
    }

    /// The Connection Attempt Delay during an attack (default [`ATTACK_ATTEMPT_DELAY`], 100 ms).
    #[must_use]
    pub fn attack_attempt_delay(&self) -> Duration {
        self.attack_attempt_delay
    }

    /// Sets the Connection Attempt Delay used while under attack (10 ms ..= 2 s; RFC 9132 §4.3
    /// recommends 100 ms).
    pub fn with_attack_attempt_delay(mut self, d: Duration) -> Result<Config, ConfigError> {
        self.attack_attempt_delay = check_delay(d)?;
        Ok(self)
    }

    /// How long one attempt may run before the race abandons it (default
    /// [`DEFAULT_ATTEMPT_TIMEOUT`]).
    #[must_use]
    pub fn attempt_timeout(&self) -> Duration {
        self.attempt_timeout
    }

    /// Sets the per-attempt timeout (at least 10 ms).
    pub fn with_attempt_timeout(mut self, d: Duration) -> Result<Config, ConfigError> {
        if d < MIN_ATTEMPT_DELAY {
            return Err(ConfigError::AttemptTimeoutTooShort);
        }
        self.attempt_timeout = d;
        Ok(self)
    }

    /// How long the outcome of a successful race is remembered (default
    /// [`DEFAULT_CACHE_LIFETIME`], 10 min).
    #[must_use]
    pub fn cache_lifetime(&self) -> Duration {
        self.cache_lifetime
    }

    /// Sets the cache lifetime; zero disables the cache.
    #[must_use]
    pub fn with_cache_lifetime(mut self, d: Duration) -> Config {
        self.cache_lifetime = d;
        self
    }

    /// The minimum time between two DTLS re-probes while the session runs over TLS (default
    /// [`DEFAULT_REPROBE_INTERVAL`], 24 h).
    #[must_use]
    pub fn reprobe_interval(&self) -> Duration {
        self.reprobe_interval
    }

    /// Sets the DTLS re-probe interval: at least [`MIN_REPROBE_INTERVAL`] (5 min, a MUST);
    /// RFC 9132 §4.3 recommends no less than 24 h.
    pub fn with_reprobe_interval(mut self, d: Duration) -> Result<Config, ConfigError> {
        if d < MIN_REPROBE_INTERVAL {
            return Err(ConfigError::ReprobeTooFrequent);
        }
        self.reprobe_interval = d;
        Ok(self)
    }

    /// RFC 8305 §4 "First Address Family Count": how many addresses of the preferred family
    /// (IPv6) are tried before the first IPv4 address, per transport (default 1).
    #[must_use]
    pub fn first_address_family_count(&self) -> u8 {
        self.first_address_family_count
    }

    /// Sets the First Address Family Count (at least 1).
    pub fn with_first_address_family_count(mut self, n: u8) -> Result<Config, ConfigError> {
        if n == 0 {
            return Err(ConfigError::ZeroFirstAddressFamilyCount);
        }
        self.first_address_family_count = n;
        Ok(self)
    }
}
