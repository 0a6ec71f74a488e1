//! Client configuration, the session parameters in force (RFC 9132 Section 4.5, RFC 9362) and
//! how the client picks values within a server's ranges.

use core::time::Duration;

use dots_codec::model::{ConfigParams, Decimal2, DecimalParam, IntParam, SignalConfig};

use crate::coap::{RandomFactor, TransmissionParameters, Transport};

/// `mid` (and `tsid`, `tmid`) value from which a DOTS client restarts at 0 when no attack is
/// detected (RFC 9132 Section 4.4.1.1: "3/4 of (2^(32) - 1) (i.e., 3221225471)"; RFC 9244
/// Sections 7.1.2 and 8.2 for `tsid` and `tmid`).
pub const MID_ROLLOVER: u32 = 3_221_225_471;

/// The shortest reconnection interval allowed after a failed attempt (RFC 9132 Section 4.7:
/// "MUST NOT retry more frequently than every 60 seconds").
pub const MIN_RECONNECT_INTERVAL: Duration = Duration::from_secs(60);

/// The default reconnection interval (RFC 9132 Section 4.7: "SHOULD NOT retry ... more
/// frequently than every 300 seconds").
pub const DEFAULT_RECONNECT_INTERVAL: Duration = Duration::from_secs(300);

/// How long a server the client used stays in its memory for ping-pong detection (RFC 9132
/// Section 4.6: "already communicated within the last five (5) minutes").
pub const REDIRECT_MEMORY: Duration = Duration::from_secs(300);

/// The configuration refresh period when a response carries no Max-Age (RFC 9132 Section
/// 4.5.3: "each 60 seconds", RFC 7252 Section 5.10.5's default Max-Age).
pub const DEFAULT_CONFIG_REFRESH: Duration = Duration::from_secs(60);

/// The default lifetime of a mitigation request that does not set one (RFC 9132 Section
/// 4.4.1.1: "The RECOMMENDED lifetime of a mitigation request is 3600 seconds").
pub const DEFAULT_LIFETIME: u32 = 3600;

/// The smallest delay between two sends of the same NON request by the session (RFC 9132
/// Section 4.4: "MUST NOT send more than one Non-confirmable request every 3 seconds" without
/// an RTT estimate).
pub const RETRY_DELAY: Duration = Duration::from_secs(3);

/// How long a withdrawn mitigation still counts as active (status 5, active-but-terminating):
/// RFC 9132 Section 4.4.4's default of 120 seconds, unless a notification ends it sooner.
pub const TERMINATING_PERIOD: Duration = Duration::from_secs(120);

/// Which configuration set is in force (RFC 9132 Section 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// No mitigation is active: `idle-config`.
    Idle,
    /// A mitigation is requested or active: `mitigating-config`.
    Mitigating,
}

/// One configuration set, resolved: the negotiated values where there are some, the RFC 9132
/// Section 4.5.2 and RFC 9362 defaults otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionParameters {
    /// `heartbeat-interval`; zero disables heartbeats.
    pub heartbeat_interval: Duration,
    /// `missing-hb-allowed`.
    pub missing_hb_allowed: u16,
    /// The CoAP transmission parameters (`probing-rate`, `max-retransmit`, `ack-timeout`,
    /// `ack-random-factor` and the RFC 9362 Q-Block parameters).
    pub transmission: TransmissionParameters,
}

impl SessionParameters {
    /// RFC 9132 Section 4.5.2's recommended values: heartbeats every 30 s, 15 missing allowed,
    /// and [`TransmissionParameters::DOTS`].
    pub const DEFAULT: SessionParameters = SessionParameters {
        heartbeat_interval: Duration::from_secs(30),
        missing_hb_allowed: 15,
        transmission: TransmissionParameters::DOTS,
    };

    /// These parameters with the current values of `params` laid over them (absent values
    /// keep `self`'s).
    #[must_use]
    pub fn with(&self, params: &ConfigParams) -> SessionParameters {
        let mut p = *self;
        let int = |x: Option<IntParam>| x.and_then(|x| x.current_value);
        let dec = |x: Option<DecimalParam>| x.and_then(|x| x.current_value);
        let secs = |d: Decimal2| u64::try_from(d.as_millis()).ok().map(Duration::from_millis);
        if let Some(v) = int(params.heartbeat_interval) {
            p.heartbeat_interval = Duration::from_secs(u64::from(v));
        }
        if let Some(v) = int(params.missing_hb_allowed) {
            p.missing_hb_allowed = v;
        }
        let t = &mut p.transmission;
        if let Some(v) = int(params.probing_rate) {
            t.probing_rate = u32::from(v);
        }
        if let Some(v) = int(params.max_retransmit) {
            t.max_retransmit = u8::try_from(v).unwrap_or(u8::MAX);
        }
        if let Some(v) = dec(params.ack_timeout).and_then(secs) {
            t.ack_timeout = v;
        }
        if let Some(v) = dec(params.ack_random_factor)
            .and_then(|d| u32::try_from(d.hundredths()).ok())
            .and_then(RandomFactor::from_hundredths)
        {
            t.ack_random_factor = v;
        }
        if let Some(v) = int(params.max_payloads) {
            t.max_payloads = v;
        }
        // RFC 9362 Section 3: 'non-max-retransmit' defaults to 'max-retransmit', 'non-timeout'
        // to 'ack-timeout', 'non-receive-timeout' to twice 'non-timeout'.
        if let Some(v) = int(params.non_max_retransmit).or(int(params.max_retransmit)) {
            t.non_max_retransmit = u8::try_from(v).unwrap_or(u8::MAX);
        }
        let non_timeout = dec(params.non_timeout).or(dec(params.ack_timeout));
        if let Some(v) = non_timeout.and_then(secs) {
            t.non_timeout = v;
        }
        if let Some(v) = dec(params.non_receive_timeout).and_then(secs) {
            t.non_receive_timeout = v;
        } else if non_timeout.is_some() {
            t.non_receive_timeout = t.non_timeout.saturating_mul(2);
        }
        if let Some(v) = dec(params.non_probing_wait).and_then(secs) {
            t.non_probing_wait = Some(v);
        }
        if let Some(v) = dec(params.non_partial_timeout).and_then(secs) {
            t.non_partial_timeout = Some(v);
        }
        p
    }
}

impl Default for SessionParameters {
    fn default() -> SessionParameters {
        SessionParameters::DEFAULT
    }
}

/// Runtime policy of a [`SignalClient`](super::SignalClient), fixed at creation (the
/// capacities are its const parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The CoAP endpoint configuration: UDP/DTLS or TCP/TLS, and the transmission parameters
    /// used until a configuration is negotiated.
    pub endpoint: crate::coap::Config,
    /// The first `mid` to allocate. `mid`s MUST increase monotonically (RFC 9132 Section
    /// 4.4.1.1), also across restarts: persist [`SignalClient::next_mid`](super::SignalClient::next_mid)
    /// and pass it here.
    pub first_mid: u32,
    /// The first `sid` (RFC 9132 Section 4.5.2: increasing, like `mid`).
    pub first_sid: u32,
    /// The first `tsid` (RFC 9244 Section 7.1.2).
    pub first_tsid: u32,
    /// The first `tmid` (RFC 9244 Section 8.2).
    pub first_tmid: u32,
    /// How long before a mitigation's lifetime ends the client refreshes it (at most half the
    /// granted lifetime). Default 60 s.
    pub refresh_lead: Duration,
    /// How long before a configuration's Max-Age ends the client fetches it again (at most half
    /// the Max-Age). Default 10 s.
    pub config_refresh_lead: Duration,
    /// The pause after a failed reconnection attempt before the next (RFC 9132 Section 4.7);
    /// clamped to at least [`MIN_RECONNECT_INTERVAL`]. Default [`DEFAULT_RECONNECT_INTERVAL`].
    pub reconnect_interval: Duration,
    /// Register an Observe relation on all the client's mitigations once the server accepted
    /// one (RFC 9132 Section 4.4.2.1; RECOMMENDED by RFC 9133 Section 3.2.1). Default true.
    pub auto_observe: bool,
    /// Fetch the configuration (GET `/config`) when the session starts and after each
    /// reconnection, and keep it fresh (Section 4.5.3). Default true.
    pub fetch_config: bool,
    /// This is a Call Home DOTS client (RFC 9066): the (D)TLS roles are reversed, 5.03
    /// redirections are discarded (Section 5.2.2). Default false.
    pub call_home: bool,
    /// Use Q-Block (RFC 9177, RFC 9362) for bodies larger than a block and announce it in
    /// GETs. Default false (a server without RFC 9177 answers 4.02 to the critical option).
    pub q_block: bool,
}

impl ClientConfig {
    /// The defaults over UDP/DTLS.
    #[must_use]
    pub const fn udp() -> ClientConfig {
        ClientConfig {
            endpoint: crate::coap::Config::udp(),
            first_mid: 1,
            first_sid: 1,
            first_tsid: 1,
            first_tmid: 1,
            refresh_lead: Duration::from_secs(60),
            config_refresh_lead: Duration::from_secs(10),
            reconnect_interval: DEFAULT_RECONNECT_INTERVAL,
            auto_observe: true,
            fetch_config: true,
            call_home: false,
            q_block: false,
        }
    }

    /// The defaults over TCP/TLS.
    #[must_use]
    pub const fn tcp() -> ClientConfig {
        ClientConfig {
            endpoint: crate::coap::Config::tcp(),
            ..ClientConfig::udp()
        }
    }

    /// Starting the identifiers at these values (restored from persistent storage).
    #[must_use]
    pub const fn with_identifiers(mut self, mid: u32, sid: u32, tsid: u32, tmid: u32) -> Self {
        self.first_mid = mid;
        self.first_sid = sid;
        self.first_tsid = tsid;
        self.first_tmid = tmid;
        self
    }

    /// The transport.
    #[must_use]
    pub const fn transport(&self) -> Transport {
        self.endpoint.transport
    }

    pub(crate) fn reconnect_interval(&self) -> Duration {
        self.reconnect_interval.max(MIN_RECONNECT_INTERVAL)
    }
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig::udp()
    }
}

fn clamp_int(want: Option<IntParam>, range: Option<IntParam>, zero_ok: bool) -> Option<IntParam> {
    let v = want?.current_value?;
    let v = match range {
        _ if zero_ok && v == 0 => 0,
        Some(r) => {
            let v = r.min_value.map_or(v, |m| v.max(m));
            r.max_value.map_or(v, |m| v.min(m))
        }
        None => v,
    };
    Some(IntParam::current(v))
}

fn clamp_dec(want: Option<DecimalParam>, range: Option<DecimalParam>) -> Option<DecimalParam> {
    let v = want?.current_value?;
    let v = match range {
        Some(r) => {
            let v = r.min_value.map_or(v, |m| v.max(m));
            r.max_value.map_or(v, |m| v.min(m))
        }
        None => v,
    };
    Some(DecimalParam::current(v))
}

/// The values the client sends for one phase: `desired`'s current values, clamped into the
/// server's `min-value`..=`max-value` (RFC 9132 Section 4.5.1), a `heartbeat-interval` of 0
/// (disabled) kept as is. Over TCP, only `heartbeat-interval` and `probing-rate` are sent:
/// `missing-hb-allowed` and the loss-related parameters "are negotiated only for DOTS over
/// unreliable transports" (Section 4.5).
#[must_use]
pub fn pick(desired: &ConfigParams, server: Option<&ConfigParams>, tcp: bool) -> ConfigParams {
    let s = server.copied().unwrap_or_default();
    let mut p = ConfigParams {
        heartbeat_interval: clamp_int(desired.heartbeat_interval, s.heartbeat_interval, true),
        missing_hb_allowed: clamp_int(desired.missing_hb_allowed, s.missing_hb_allowed, false),
        probing_rate: clamp_int(desired.probing_rate, s.probing_rate, false),
        max_retransmit: clamp_int(desired.max_retransmit, s.max_retransmit, false),
        ack_timeout: clamp_dec(desired.ack_timeout, s.ack_timeout),
        ack_random_factor: clamp_dec(desired.ack_random_factor, s.ack_random_factor),
        max_payloads: clamp_int(desired.max_payloads, s.max_payloads, false),
        non_max_retransmit: clamp_int(desired.non_max_retransmit, s.non_max_retransmit, false),
        non_timeout: clamp_dec(desired.non_timeout, s.non_timeout),
        non_receive_timeout: clamp_dec(desired.non_receive_timeout, s.non_receive_timeout),
        non_probing_wait: clamp_dec(desired.non_probing_wait, s.non_probing_wait),
        non_partial_timeout: clamp_dec(desired.non_partial_timeout, s.non_partial_timeout),
    };
    if tcp {
        p = ConfigParams {
            heartbeat_interval: p.heartbeat_interval,
            probing_rate: p.probing_rate,
            ..ConfigParams::default()
        };
    }
    p
}

/// The body of a configuration PUT for `desired` against the server's ranges.
#[must_use]
pub fn pick_config(
    desired: &SignalConfig,
    server: Option<&SignalConfig>,
    tcp: bool,
) -> SignalConfig {
    let phase = |d: Option<&ConfigParams>, s: Option<&ConfigParams>| {
        d.map(|d| pick(d, s, tcp)).filter(|p| !p.is_empty())
    };
    let mut out = SignalConfig {
        sid: None,
        mitigating_config: phase(
            desired.mitigating_config.as_ref(),
            server.and_then(|s| s.mitigating_config.as_ref()),
        ),
        idle_config: phase(
            desired.idle_config.as_ref(),
            server.and_then(|s| s.idle_config.as_ref()),
        ),
    };
    // RFC 9362: one max-payloads for both phases.
    if let (Some(m), Some(i)) = (out.mitigating_config.as_mut(), out.idle_config.as_mut()) {
        if let (Some(a), Some(_)) = (m.max_payloads, i.max_payloads) {
            i.max_payloads = Some(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_clamped_into_the_server_ranges() {
        let d = Decimal2::from_hundredths;
        let server = ConfigParams {
            heartbeat_interval: Some(IntParam::range(15, 240, 30)),
            missing_hb_allowed: Some(IntParam::range(3, 20, 15)),
            ack_timeout: Some(DecimalParam::range(d(100), d(3000), d(200))),
            ..ConfigParams::default()
        };
        let want = ConfigParams {
            heartbeat_interval: Some(IntParam::current(5)),
            missing_hb_allowed: Some(IntParam::current(50)),
            ack_timeout: Some(DecimalParam::current(d(250))),
            max_retransmit: Some(IntParam::current(4)),
            ..ConfigParams::default()
        };
        let p = pick(&want, Some(&server), false);
        assert_eq!(p.heartbeat_interval, Some(IntParam::current(15)));
        assert_eq!(p.missing_hb_allowed, Some(IntParam::current(20)));
        assert_eq!(p.ack_timeout, Some(DecimalParam::current(d(250))));
        // Not defined by the server: sent as wanted.
        assert_eq!(p.max_retransmit, Some(IntParam::current(4)));
        // 0 disables heartbeats, whatever the range.
        let off = ConfigParams {
            heartbeat_interval: Some(IntParam::current(0)),
            ..ConfigParams::default()
        };
        assert_eq!(
            pick(&off, Some(&server), false).heartbeat_interval,
            Some(IntParam::current(0))
        );
        // TCP: no loss-related parameters.
        let t = pick(&want, Some(&server), true);
        assert_eq!(t.missing_hb_allowed, None);
        assert_eq!(t.ack_timeout, None);
        assert_eq!(t.heartbeat_interval, Some(IntParam::current(15)));
    }

    #[test]
    fn current_values_resolve_to_parameters() {
        let d = Decimal2::from_hundredths;
        let p = SessionParameters::DEFAULT.with(&ConfigParams {
            heartbeat_interval: Some(IntParam::current(60)),
            missing_hb_allowed: Some(IntParam::current(5)),
            ack_timeout: Some(DecimalParam::current(d(300))),
            ack_random_factor: Some(DecimalParam::current(d(200))),
            non_timeout: Some(DecimalParam::current(d(150))),
            ..ConfigParams::default()
        });
        assert_eq!(p.heartbeat_interval, Duration::from_secs(60));
        assert_eq!(p.missing_hb_allowed, 5);
        assert_eq!(p.transmission.ack_timeout, Duration::from_secs(3));
        assert_eq!(
            p.transmission.ack_random_factor,
            RandomFactor::from_hundredths(200).unwrap()
        );
        assert_eq!(p.transmission.non_timeout, Duration::from_millis(1500));
        assert_eq!(p.transmission.max_retransmit, 3);
    }

    #[test]
    fn rfc9362_defaults_follow_the_negotiated_base_values() {
        // RFC 9362 Section 3: non-max-retransmit defaults to max-retransmit, non-timeout to
        // ack-timeout, non-receive-timeout to twice non-timeout.
        let d = Decimal2::from_hundredths;
        let p = SessionParameters::DEFAULT.with(&ConfigParams {
            max_retransmit: Some(IntParam::current(5)),
            ack_timeout: Some(DecimalParam::current(d(300))),
            ..ConfigParams::default()
        });
        let t = p.transmission;
        assert_eq!(t.non_max_retransmit, 5);
        assert_eq!(t.non_timeout, Duration::from_secs(3));
        assert_eq!(t.non_receive_timeout, Duration::from_secs(6));
        assert!(t.validate().is_ok());
        // non-timeout alone: non-receive-timeout follows it.
        let p = SessionParameters::DEFAULT.with(&ConfigParams {
            non_timeout: Some(DecimalParam::current(d(300))),
            ..ConfigParams::default()
        });
        assert_eq!(p.transmission.non_receive_timeout, Duration::from_secs(6));
        assert!(p.transmission.validate().is_ok());
        // Explicit values win.
        let p = SessionParameters::DEFAULT.with(&ConfigParams {
            max_retransmit: Some(IntParam::current(5)),
            non_max_retransmit: Some(IntParam::current(2)),
            non_timeout: Some(DecimalParam::current(d(300))),
            non_receive_timeout: Some(DecimalParam::current(d(700))),
            ..ConfigParams::default()
        });
        assert_eq!(p.transmission.non_max_retransmit, 2);
        assert_eq!(p.transmission.non_receive_timeout, Duration::from_secs(7));
    }
}
