//! The session parameters in force (RFC 9132 Section 4.5) as the transaction layer's
//! transmission parameters and the heartbeat settings.

use core::time::Duration;

use dots_codec::model::{ConfigParams, DecimalParam, IntParam};

use crate::coap::{RandomFactor, TransmissionParameters};
use crate::signal::server::QBlockParams;

/// RFC 9132 Section 4.5.2's recommended `heartbeat-interval` when the configuration has none.
pub(crate) const DEFAULT_HEARTBEAT_INTERVAL: u16 = 30;
/// RFC 9132 Section 4.5.2's recommended `missing-hb-allowed` when the configuration has none.
pub(crate) const DEFAULT_MISSING_HB_ALLOWED: u16 = 15;

/// What a peer's session runs on: transmission parameters and heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) params: TransmissionParameters,
    /// `None`: heartbeats disabled (`heartbeat-interval` 0).
    pub(crate) interval: Option<Duration>,
    pub(crate) missing: u16,
}

impl Settings {
    /// `heartbeat-interval` in milliseconds.
    pub(crate) fn interval_ms(&self) -> Option<u64> {
        self.interval
            .map(|i| u64::try_from(i.as_millis()).unwrap_or(u64::MAX))
    }
}

fn int(p: Option<IntParam>) -> Option<u16> {
    p.and_then(|p| p.current_value)
}

fn dec(p: Option<DecimalParam>) -> Option<Duration> {
    let h = p.and_then(|p| p.current_value)?.hundredths();
    let ms = u64::try_from(h).ok()?.checked_mul(10)?;
    Some(Duration::from_millis(ms))
}

fn count(v: Option<u16>) -> Option<u8> {
    v.map(|v| u8::try_from(v).unwrap_or(u8::MAX))
}

/// The settings for a set of session parameters. A parameter the set lacks keeps the DOTS
/// default; values the transaction layer rejects (e.g. a zero timeout) leave the DOTS
/// defaults in force.
pub(crate) fn settings(c: &ConfigParams) -> Settings {
    let d = TransmissionParameters::DOTS;
    let q = QBlockParams::from_config(c);
    let p = TransmissionParameters {
        ack_timeout: dec(c.ack_timeout).unwrap_or(d.ack_timeout),
        ack_random_factor: c
            .ack_random_factor
            .and_then(|p| p.current_value)
            .and_then(|v| u32::try_from(v.hundredths()).ok())
            .and_then(RandomFactor::from_hundredths)
            .unwrap_or(d.ack_random_factor),
        max_retransmit: count(int(c.max_retransmit)).unwrap_or(d.max_retransmit),
        probing_rate: int(c.probing_rate).map_or(d.probing_rate, u32::from),
        // RFC 9362 Section 3's defaults: 'non-max-retransmit' is 'max-retransmit',
        // 'non-timeout' is 'ack-timeout', 'non-receive-timeout' twice 'non-timeout'.
        max_payloads: q.max_payloads,
        non_max_retransmit: count(Some(q.non_max_retransmit)).unwrap_or(d.non_max_retransmit),
        non_timeout: q.non_timeout,
        non_receive_timeout: q.non_receive_timeout,
        non_probing_wait: dec(c.non_probing_wait).or(d.non_probing_wait),
        non_partial_timeout: dec(c.non_partial_timeout).or(d.non_partial_timeout),
        ..d
    };
    let params = if p.validate().is_ok() { p } else { d };
    let interval = int(c.heartbeat_interval).unwrap_or(DEFAULT_HEARTBEAT_INTERVAL);
    Settings {
        params,
        interval: (interval > 0).then(|| Duration::from_secs(u64::from(interval))),
        missing: int(c.missing_hb_allowed)
            .unwrap_or(DEFAULT_MISSING_HB_ALLOWED)
            .max(1),
    }
}

#[cfg(test)]
mod tests {
    use dots_codec::model::Decimal2;

    use super::*;

    #[test]
    fn recommended_values_and_overrides() {
        let s = settings(&ConfigParams::default());
        // RFC 9362 Section 3: DOTS's NON_MAX_RETRANSMIT is max-retransmit's 3, not CoAP's 4.
        let dots = TransmissionParameters {
            non_max_retransmit: 3,
            ..TransmissionParameters::DOTS
        };
        assert_eq!(s.params, dots);
        assert_eq!(s.interval, Some(Duration::from_secs(30)));
        assert_eq!(s.missing, 15);
        let c = ConfigParams {
            heartbeat_interval: Some(IntParam::current(0)),
            missing_hb_allowed: Some(IntParam::current(5)),
            max_retransmit: Some(IntParam::current(7)),
            ack_timeout: Some(DecimalParam::current(Decimal2::from_hundredths(350))),
            ack_random_factor: Some(DecimalParam::current(Decimal2::from_hundredths(125))),
            probing_rate: Some(IntParam::current(9)),
            ..ConfigParams::default()
        };
        let s = settings(&c);
        assert_eq!(s.interval, None, "0 disables heartbeats");
        assert_eq!(s.missing, 5);
        assert_eq!(s.params.max_retransmit, 7);
        assert_eq!(s.params.ack_timeout, Duration::from_millis(3500));
        assert_eq!(s.params.ack_random_factor.thousandths(), 1250);
        assert_eq!(s.params.probing_rate, 9);
        // A zero timeout is refused by the transaction layer: the defaults stay.
        let bad = ConfigParams {
            ack_timeout: Some(DecimalParam::current(Decimal2::ZERO)),
            ..ConfigParams::default()
        };
        assert_eq!(settings(&bad).params, TransmissionParameters::DOTS);
    }

    #[test]
    fn rfc9362_defaults_follow_the_negotiated_base_values() {
        // A client that negotiates non-timeout 3.00 alone gets non-receive-timeout 6.00 (twice
        // non-timeout), not the 4.00 that would make the set invalid (RFC 9177 Section 7.2:
        // at least NON_TIMEOUT_RANDOM + 1 s) and drop every negotiated value.
        let c = ConfigParams {
            max_payloads: Some(IntParam::current(1)),
            non_timeout: Some(DecimalParam::current(Decimal2::from_hundredths(300))),
            ..ConfigParams::default()
        };
        let s = settings(&c);
        assert_eq!(s.params.max_payloads, 1);
        assert_eq!(s.params.non_timeout, Duration::from_secs(3));
        assert_eq!(s.params.non_receive_timeout, Duration::from_secs(6));
        // ack-timeout alone: non-timeout follows it; max-retransmit: non-max-retransmit.
        let c = ConfigParams {
            max_retransmit: Some(IntParam::current(5)),
            ack_timeout: Some(DecimalParam::current(Decimal2::from_hundredths(250))),
            ..ConfigParams::default()
        };
        let s = settings(&c);
        assert_eq!(s.params.non_timeout, Duration::from_millis(2500));
        assert_eq!(s.params.non_receive_timeout, Duration::from_secs(5));
        assert_eq!(s.params.non_max_retransmit, 5);
    }
}
