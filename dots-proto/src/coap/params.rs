//! Transmission parameters (RFC 7252 §4.8, RFC 9177 §7.2, RFC 9132 §4.5.2, RFC 9362 §2) and the
//! time spans derived from them.
//!
//! DOTS negotiates `ack-timeout`, `ack-random-factor`, `max-retransmit` and `probing-rate` per
//! session, in two sets (idle and mitigating), and RFC 9362 adds the robust-block (Q-Block)
//! parameters. The session calls [`Endpoint::set_parameters`](super::Endpoint::set_parameters)
//! whenever the set in force changes; nothing here is hard-coded to RFC 7252's defaults.

use core::time::Duration;

use thiserror::Error;

/// A factor of at least 1, in thousandths (ACK_RANDOM_FACTOR, RFC 7252 §4.8). DOTS carries it
/// as a decimal64 with two fraction digits (`1.50`, RFC 9132 §4.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RandomFactor(u32);

impl RandomFactor {
    /// 1.0: no randomisation.
    pub const ONE: RandomFactor = RandomFactor(1000);
    /// 1.5, the default of RFC 7252 §4.8 and RFC 9132 §4.5.2.
    pub const DEFAULT: RandomFactor = RandomFactor(1500);

    /// The factor `thousandths / 1000`; `None` below 1.0.
    #[must_use]
    pub const fn from_thousandths(thousandths: u32) -> Option<RandomFactor> {
        if thousandths < 1000 {
            None
        } else {
            Some(RandomFactor(thousandths))
        }
    }

    /// The factor `hundredths / 100` (the DOTS decimal64 with fraction-digits 2); `None` below
    /// 1.00.
    #[must_use]
    pub const fn from_hundredths(hundredths: u32) -> Option<RandomFactor> {
        match hundredths.checked_mul(10) {
            Some(t) => RandomFactor::from_thousandths(t),
            None => None,
        }
    }

    /// The factor in thousandths.
    #[must_use]
    pub const fn thousandths(self) -> u32 {
        self.0
    }

    /// `d * self`, rounded down to the nanosecond, saturating.
    #[must_use]
    pub fn scale(self, d: Duration) -> Duration {
        mul_div(d, u128::from(self.0), 1000)
    }
}

impl Default for RandomFactor {
    fn default() -> RandomFactor {
        RandomFactor::DEFAULT
    }
}

/// `d * num / den`, saturating at `Duration::MAX`.
pub(crate) fn mul_div(d: Duration, num: u128, den: u128) -> Duration {
    let nanos = d.as_nanos().saturating_mul(num) / den.max(1);
    duration_from_nanos(nanos)
}

pub(crate) fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = nanos / 1_000_000_000;
    match u64::try_from(secs) {
        Ok(s) => Duration::new(s, (nanos % 1_000_000_000) as u32),
        Err(_) => Duration::MAX,
    }
}

/// `d * 2^exp`, saturating.
pub(crate) fn shl(d: Duration, exp: u32) -> Duration {
    let factor = 1u128.checked_shl(exp.min(100)).unwrap_or(u128::MAX);
    duration_from_nanos(d.as_nanos().saturating_mul(factor))
}

/// The largest `max_retransmit` / `non_max_retransmit` accepted: RFC 9132 allows up to 15 in its
/// example ranges; 20 keeps every derived span finite and meaningful.
pub const MAX_RETRANSMIT_LIMIT: u8 = 20;

/// The transmission parameters in force on an endpoint.
///
/// The defaults ([`TransmissionParameters::DOTS`]) are those of RFC 9132 §4.5.2 (which equal
/// RFC 7252 §4.8 except `probing-rate`, 5 bytes/s) and of RFC 9177 §7.2 / RFC 9362 for the
/// Q-Block parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransmissionParameters {
    /// ACK_TIMEOUT: the initial retransmission timeout of a CON (DOTS `ack-timeout`, 2 s).
    pub ack_timeout: Duration,
    /// ACK_RANDOM_FACTOR: the initial timeout is random in `[ack_timeout, ack_timeout *
    /// factor]` (DOTS `ack-random-factor`, 1.5).
    pub ack_random_factor: RandomFactor,
    /// MAX_RETRANSMIT: retransmissions of a CON before giving up (DOTS `max-retransmit`, 3).
    pub max_retransmit: u8,
    /// NSTART: outstanding interactions with the peer at a time (RFC 7252 §4.7, default 1).
    /// Not negotiated by DOTS; values below 1 count as 1.
    pub nstart: u8,
    /// PROBING_RATE in bytes per second: the average rate not to exceed towards a peer that does
    /// not respond (RFC 7252 §4.7; DOTS `probing-rate`, 5). Values below 1 count as 1.
    pub probing_rate: u32,
    /// MAX_LATENCY (RFC 7252 §4.8.2: 100 s).
    pub max_latency: Duration,
    /// MAX_PAYLOADS: Q-Block payloads sent in one burst (RFC 9177 §7.2; DOTS `max-payloads`,
    /// 10). Values below 1 count as 1.
    pub max_payloads: u16,
    /// NON_TIMEOUT: the base of the delay between bursts of a body and of the retransmission
    /// timeout of NON requests (RFC 9177 §7.2; DOTS `non-timeout`, 2 s).
    pub non_timeout: Duration,
    /// NON_RECEIVE_TIMEOUT: how long a receiver waits for a missing payload before asking for it
    /// (RFC 9177 §7.2; DOTS `non-receive-timeout`, 4 s). Doubles with each re-request.
    pub non_receive_timeout: Duration,
    /// NON_MAX_RETRANSMIT: re-requests for missing payloads (and retransmissions of a NON
    /// request) without answer before giving up (RFC 9177 §7.2; DOTS `non-max-retransmit`, 4).
    pub non_max_retransmit: u8,
    /// NON_PROBING_WAIT, when configured explicitly (used without jitter, RFC 9177 §7.2);
    /// `None` computes it from the other parameters.
    pub non_probing_wait: Option<Duration>,
    /// NON_PARTIAL_TIMEOUT, when configured explicitly; `None` computes it.
    pub non_partial_timeout: Option<Duration>,
}

impl TransmissionParameters {
    /// The DOTS defaults (RFC 9132 §4.5.2, RFC 9177 §7.2, RFC 9362 §2).
    pub const DOTS: TransmissionParameters = TransmissionParameters {
        ack_timeout: Duration::from_secs(2),
        ack_random_factor: RandomFactor::DEFAULT,
        max_retransmit: 3,
        nstart: 1,
        probing_rate: 5,
        max_latency: Duration::from_secs(100),
        max_payloads: 10,
        non_timeout: Duration::from_secs(2),
        non_receive_timeout: Duration::from_secs(4),
        non_max_retransmit: 4,
        non_probing_wait: None,
        non_partial_timeout: None,
    };

    /// RFC 7252 §4.8's defaults (MAX_RETRANSMIT 4, PROBING_RATE 1 byte/s), with RFC 9177's
    /// Q-Block defaults.
    pub const RFC7252: TransmissionParameters = TransmissionParameters {
        max_retransmit: 4,
        probing_rate: 1,
        ..TransmissionParameters::DOTS
    };

    /// Checks the values: non-zero timeouts, retransmission counts up to
    /// [`MAX_RETRANSMIT_LIMIT`], and NON_RECEIVE_TIMEOUT at least one second above the largest
    /// NON_TIMEOUT_RANDOM (RFC 9177 §7.2 MUST).
    ///
    /// # Errors
    /// The first [`ParameterError`].
    pub fn validate(&self) -> Result<(), ParameterError> {
        if self.ack_timeout.is_zero() {
            return Err(ParameterError::ZeroAckTimeout);
        }
        if self.non_timeout.is_zero() {
            return Err(ParameterError::ZeroNonTimeout);
        }
        if self.max_retransmit > MAX_RETRANSMIT_LIMIT
            || self.non_max_retransmit > MAX_RETRANSMIT_LIMIT
        {
            return Err(ParameterError::TooManyRetransmissions);
        }
        if self.non_receive_timeout < self.non_timeout_random_max() + Duration::from_secs(1) {
            return Err(ParameterError::NonReceiveTimeoutTooShort);
        }
        Ok(())
    }

    /// NSTART, at least 1.
    #[must_use]
    pub fn nstart(&self) -> usize {
        usize::from(self.nstart.max(1))
    }

    /// MAX_PAYLOADS, at least 1.
    #[must_use]
    pub fn max_payloads(&self) -> u32 {
        u32::from(self.max_payloads.max(1))
    }

    /// The largest initial CON timeout, `ACK_TIMEOUT * ACK_RANDOM_FACTOR`.
    #[must_use]
    pub fn ack_timeout_max(&self) -> Duration {
        self.ack_random_factor.scale(self.ack_timeout)
    }

    /// MAX_TRANSMIT_SPAN = ACK_TIMEOUT * (2^MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR
    /// (RFC 7252 §4.8.2): 45 s with RFC 7252's defaults, 21 s with DOTS's (max-retransmit 3).
    #[must_use]
    pub fn max_transmit_span(&self) -> Duration {
        let n = (1u128 << u32::from(self.max_retransmit.min(MAX_RETRANSMIT_LIMIT))) - 1;
        self.ack_random_factor
            .scale(mul_div(self.ack_timeout, n, 1))
    }

    /// MAX_TRANSMIT_WAIT = ACK_TIMEOUT * (2^(MAX_RETRANSMIT + 1) - 1) * ACK_RANDOM_FACTOR
    /// (RFC 7252 §4.8.2): 93 s with RFC 7252's defaults (45 s with DOTS's); how long a CON
    /// sender waits at most.
    #[must_use]
    pub fn max_transmit_wait(&self) -> Duration {
        let n = (1u128 << (u32::from(self.max_retransmit.min(MAX_RETRANSMIT_LIMIT)) + 1)) - 1;
        self.ack_random_factor
            .scale(mul_div(self.ack_timeout, n, 1))
    }

    /// PROCESSING_DELAY = ACK_TIMEOUT (RFC 7252 §4.8.2).
    #[must_use]
    pub fn processing_delay(&self) -> Duration {
        self.ack_timeout
    }

    /// MAX_RTT = 2 * MAX_LATENCY + PROCESSING_DELAY (RFC 7252 §4.8.2): 202 s.
    #[must_use]
    pub fn max_rtt(&self) -> Duration {
        self.max_latency
            .saturating_mul(2)
            .saturating_add(self.processing_delay())
    }

    /// EXCHANGE_LIFETIME = MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY
    /// (RFC 7252 §4.8.2): 247 s with RFC 7252's defaults, 223 s with DOTS's. How long a CON's
    /// message ID is remembered for deduplication.
    #[must_use]
    pub fn exchange_lifetime(&self) -> Duration {
        self.max_transmit_span().saturating_add(self.max_rtt())
    }

    /// NON_LIFETIME = MAX_TRANSMIT_SPAN + MAX_LATENCY (RFC 7252 §4.8.2): 145 s with RFC 7252's
    /// defaults. How long a NON's message ID is remembered.
    #[must_use]
    pub fn non_lifetime(&self) -> Duration {
        self.max_transmit_span().saturating_add(self.max_latency)
    }

    /// The largest NON_TIMEOUT_RANDOM, `NON_TIMEOUT * ACK_RANDOM_FACTOR` (RFC 9177 §7.2).
    #[must_use]
    pub fn non_timeout_random_max(&self) -> Duration {
        self.ack_random_factor.scale(self.non_timeout)
    }

    /// NON_PROBING_WAIT = NON_TIMEOUT * (2^NON_MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR +
    /// 2 * MAX_LATENCY + NON_TIMEOUT_RANDOM (RFC 9177 §7.2), with the largest
    /// NON_TIMEOUT_RANDOM (248 s with the defaults), unless configured.
    #[must_use]
    pub fn non_probing_wait(&self) -> Duration {
        if let Some(d) = self.non_probing_wait {
            return d;
        }
        self.non_span()
            .saturating_add(self.max_latency.saturating_mul(2))
            .saturating_add(self.non_timeout_random_max())
    }

    /// NON_PARTIAL_TIMEOUT = NON_TIMEOUT * (2^NON_MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR +
    /// 2 * MAX_LATENCY + NON_TIMEOUT (RFC 9177 §7.2; 247 s), unless configured. How long a
    /// partially received body is kept.
    #[must_use]
    pub fn non_partial_timeout(&self) -> Duration {
        if let Some(d) = self.non_partial_timeout {
            return d;
        }
        self.non_span()
            .saturating_add(self.max_latency.saturating_mul(2))
            .saturating_add(self.non_timeout)
    }

    fn non_span(&self) -> Duration {
        let n = (1u128 << u32::from(self.non_max_retransmit.min(MAX_RETRANSMIT_LIMIT))) - 1;
        self.ack_random_factor
            .scale(mul_div(self.non_timeout, n, 1))
    }
}

impl Default for TransmissionParameters {
    fn default() -> TransmissionParameters {
        TransmissionParameters::DOTS
    }
}

/// Transmission parameters that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum ParameterError {
    /// ACK_TIMEOUT of zero.
    #[error("ack-timeout must be positive")]
    ZeroAckTimeout,
    /// NON_TIMEOUT of zero.
    #[error("non-timeout must be positive")]
    ZeroNonTimeout,
    /// MAX_RETRANSMIT or NON_MAX_RETRANSMIT above [`MAX_RETRANSMIT_LIMIT`].
    #[error("max-retransmit above {MAX_RETRANSMIT_LIMIT}")]
    TooManyRetransmissions,
    /// NON_RECEIVE_TIMEOUT not at least one second above NON_TIMEOUT * ACK_RANDOM_FACTOR
    /// (RFC 9177 §7.2).
    #[error("non-receive-timeout must exceed non-timeout * ack-random-factor by 1 s")]
    NonReceiveTimeoutTooShort,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7252_derived_values() {
        // RFC 7252 §4.8.2 lists the values for the defaults.
        let p = TransmissionParameters::RFC7252;
        assert_eq!(p.max_transmit_span(), Duration::from_secs(45));
        assert_eq!(p.max_transmit_wait(), Duration::from_secs(93));
        assert_eq!(p.max_rtt(), Duration::from_secs(202));
        assert_eq!(p.exchange_lifetime(), Duration::from_secs(247));
        assert_eq!(p.non_lifetime(), Duration::from_secs(145));
        p.validate().unwrap();
    }

    #[test]
    fn dots_derived_values() {
        // RFC 9132 §4.5.2 defaults: max-retransmit 3.
        let p = TransmissionParameters::DOTS;
        assert_eq!(p.max_transmit_span(), Duration::from_secs(21));
        assert_eq!(p.max_transmit_wait(), Duration::from_secs(45));
        assert_eq!(p.exchange_lifetime(), Duration::from_secs(223));
        p.validate().unwrap();
    }

    #[test]
    fn rfc9177_derived_values() {
        // RFC 9177 Table 3: NON_PROBING_WAIT between 247 and 248 s, NON_PARTIAL_TIMEOUT 247 s.
        let p = TransmissionParameters::DOTS;
        assert_eq!(p.non_partial_timeout(), Duration::from_secs(247));
        assert_eq!(p.non_probing_wait(), Duration::from_secs(248));
        assert_eq!(p.non_timeout_random_max(), Duration::from_secs(3));
    }

    #[test]
    fn negotiated_values_change_the_spans() {
        let p = TransmissionParameters {
            ack_timeout: Duration::from_secs(3),
            ack_random_factor: RandomFactor::from_hundredths(200).unwrap(),
            max_retransmit: 2,
            ..TransmissionParameters::DOTS
        };
        // 3 s * (2^2 - 1) * 2 = 18 s; + 2 * 100 s + 3 s.
        assert_eq!(p.max_transmit_span(), Duration::from_secs(18));
        assert_eq!(p.exchange_lifetime(), Duration::from_secs(221));
        assert_eq!(p.max_transmit_wait(), Duration::from_secs(42));
    }

    #[test]
    fn invalid_parameters() {
        let zero = TransmissionParameters {
            ack_timeout: Duration::ZERO,
            ..TransmissionParameters::DOTS
        };
        assert_eq!(zero.validate(), Err(ParameterError::ZeroAckTimeout));
        let many = TransmissionParameters {
            max_retransmit: 21,
            ..TransmissionParameters::DOTS
        };
        assert_eq!(many.validate(), Err(ParameterError::TooManyRetransmissions));
        let short = TransmissionParameters {
            non_receive_timeout: Duration::from_secs(3),
            ..TransmissionParameters::DOTS
        };
        assert_eq!(
            short.validate(),
            Err(ParameterError::NonReceiveTimeoutTooShort)
        );
        assert_eq!(RandomFactor::from_hundredths(99), None);
        assert_eq!(
            RandomFactor::DEFAULT.scale(Duration::from_secs(2)),
            Duration::from_secs(3)
        );
    }
}
