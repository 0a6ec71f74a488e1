//! Configuration of the signal-channel server core: lifetimes, quotas, session-configuration
//! defaults and ranges, and conflict policy.

use core::time::Duration;

use dots_codec::model::{ConfigParams, Decimal2, DecimalParam, IntParam, SignalConfig};

/// `mid` value from which a DOTS client resets to 0 when no attack is detected (RFC 9132
/// Section 4.4.1.1: "3/4 of (2^(32) - 1) (i.e., 3221225471)").
///
/// A new request with a `mid` below this value overrides an overlapping request whose `mid` is
/// at or above it, although numerically lower: the client rolled over.
pub const MID_ROLLOVER: u32 = 3_221_225_471;

/// The default active-but-terminating period after a DELETE (RFC 9132 Section 4.4.4: "SHOULD be
/// set by default to 120 seconds").
pub const TERMINATING_PERIOD: Duration = Duration::from_secs(120);

/// The longest active-but-terminating period (RFC 9132 Section 4.4.4: "up to a maximum of 300
/// seconds").
pub const MAX_TERMINATING_PERIOD: Duration = Duration::from_secs(300);

/// How many times status 3 (`attack-stopped`) or 7 (`attack-mitigation-withdrawn`) of a
/// preconfigured request (`trigger-mitigation` false) is transmitted before it turns to 8
/// (RFC 9132 Table 3: "transmitted four times and then transition to '8'").
pub const PRECONFIGURED_REPEATS: u8 = 4;

/// The Max-Age of a 2.05 configuration response (RFC 9132 Section 4.5.3: "SHOULD be returned").
pub const CONFIG_MAX_AGE: u32 = 3600;

/// Longest `cuid` or `cdid` accepted, in bytes (a Uri-Path option holds at most 255).
pub const MAX_ID_LEN: usize = 255;

/// What to do with a mitigation request whose targets overlap an active mitigation of another
/// DOTS client (RFC 9132 Section 4.4.1.3: "the DOTS server may return 2.01 (Created) or 4.09
/// (Conflict)").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum ConflictDecision {
    /// Keep both: 2.01 with `conflict-information` (`conflict-status` 2 `request-active`,
    /// `conflict-cause` 1, `conflict-scope`); the other client is notified the same way.
    #[default]
    AcceptAndFlag,
    /// Reject: 4.09 with `conflict-information` (`conflict-status` 1
    /// `request-inactive-other-active`, `conflict-cause` 1, `conflict-scope`, and `retry-timer`
    /// set to the remaining lifetime of the other request).
    Reject,
}

/// A token bucket: at most `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Bucket size (requests).
    pub burst: u32,
    /// Refill rate (requests per second); 0 means no refill.
    pub per_second: u32,
}

/// Per-client quotas and what the server answers when one is hit.
///
/// | quota | answer | why |
/// |---|---|---|
/// | `max_mitigations` | 5.03 + Max-Age [`ServerConfig::retry_after`] | RFC 9132 Section 4.4.1.3: "MAY reject mitigation requests when it is near capacity"; 5.xx is for a server "currently unavailable to provide mitigation" |
/// | `max_clients` | 5.03 + Max-Age | the same, server-wide |
/// | `max_observers` | 2.05 without Observe | RFC 7641 Section 4.1: a server unwilling to add an observer answers the GET without registering it |
/// | `rate` | 4.29 + Max-Age (seconds until a token is back) | RFC 8516: "Too Many Requests", the CoAP answer for a rate-limited client (RFC 9132 Section 9 lists codes "not exhaustive") |
///
/// Heartbeats (`/hb`) are never rate-limited: dropping them would declare live sessions dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quotas {
    /// DOTS clients (cuids) with state at the server.
    pub max_clients: usize,
    /// Mitigation requests a client holds (every status, preconfigured ones included).
    pub max_mitigations: usize,
    /// Observe registrations a client holds (one per mitigation observed, all-mitigations,
    /// configuration).
    pub max_observers: usize,
    /// Request rate per client (`None`: unlimited).
    pub rate: Option<RateLimit>,
}

impl Default for Quotas {
    /// 100,000 clients, 64 mitigations and 66 observers per client, 64 requests at once then 16
    /// per second.
    fn default() -> Quotas {
        Quotas {
            max_clients: 100_000,
            max_mitigations: 64,
            max_observers: 66,
            rate: Some(RateLimit {
                burst: 64,
                per_second: 16,
            }),
        }
    }
}

/// Configuration of a [`SignalServer`](super::SignalServer).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The longest lifetime granted, in seconds (a longer request is granted this; RFC 9132
    /// Section 4.4.1.1 lets the server choose and "MUST always indicate the actual lifetime in
    /// the response"). `None`: no cap.
    pub max_lifetime: Option<u32>,
    /// Whether an indefinite lifetime (-1) is granted; when not, the request gets
    /// `max_lifetime` (or 3600 s without a cap). Default true.
    pub allow_indefinite_lifetime: bool,
    /// The first active-but-terminating period after a DELETE.
    pub terminating_period: Duration,
    /// The longest active-but-terminating period after repeated re-requests.
    pub max_terminating_period: Duration,
    /// The session configuration: `current-value`s are the defaults, `min-value`/`max-value`
    /// the acceptable ranges (a PUT outside them is 4.22). Default: RFC 9132 Section 4.5.2's
    /// recommended values with the ranges of Figure 20.
    pub session: SignalConfig,
    /// Max-Age of configuration responses (`None`: none sent; RFC 9132 Section 4.5.3).
    pub config_max_age: Option<u32>,
    /// Per-client quotas.
    pub quotas: Quotas,
    /// Max-Age (seconds) of 5.03 answers when a quota or the host refuses (default 60).
    pub retry_after: u32,
    /// Default for conflicts with other clients' mitigations (the host hook may decide
    /// otherwise per request).
    pub cross_client_conflict: ConflictDecision,
    /// When true, two requests overlap only if their addresses (or names) overlap **and** their
    /// port ranges and protocols intersect (a missing list means "any"). When false (the
    /// default, RFC 9132 Section 4.4.1.3: "overlapping scopes if there is a common IP address,
    /// IP prefix, FQDN, URI, or alias"), ports and protocols do not matter.
    pub refine_overlap_by_ports_and_protocols: bool,
    /// The Unix time, in seconds, of the caller's `Instant::ZERO`, to report `mitigation-start`
    /// (RFC 9132 Section 4.4.2). `None`: only what the host reports is sent.
    pub unix_time_at_epoch: Option<u64>,
    /// Events kept for `poll_event`; the oldest are dropped (and counted) beyond.
    pub max_events: usize,
    /// RFC 9244 telemetry (`/tm-setup`, `/tm`, Uri-Query filters, telemetry in mitigation
    /// status). `None`: not supported, the telemetry resources are 4.04 and only `c` filters
    /// a GET.
    pub telemetry: Option<super::telemetry::TelemetryPolicy>,
    /// The RFC 9066 Call Home DOTS server role: only immediate mitigation requests with
    /// `source-prefix` and `target-prefix`, and PUT `/redirect` (see the `callhome` module of
    /// the server). Default false.
    pub call_home: bool,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_lifetime: None,
            allow_indefinite_lifetime: true,
            terminating_period: TERMINATING_PERIOD,
            max_terminating_period: MAX_TERMINATING_PERIOD,
            session: default_session_config(),
            config_max_age: Some(CONFIG_MAX_AGE),
            quotas: Quotas::default(),
            retry_after: 60,
            cross_client_conflict: ConflictDecision::AcceptAndFlag,
            refine_overlap_by_ports_and_protocols: false,
            unix_time_at_epoch: None,
            max_events: 65_536,
            telemetry: Some(super::telemetry::TelemetryPolicy::default()),
            call_home: false,
        }
    }
}

/// RFC 9132 Section 4.5.2's recommended values (`heartbeat-interval` 30 s, `missing-hb-allowed`
/// 15, `max-retransmit` 3, `ack-timeout` 2.00 s, `ack-random-factor` 1.50, `probing-rate` 5
/// bytes/s) with Figure 20's acceptable ranges, the same for both phases; and the RFC 9362
/// Q-Block parameters: `max-payloads` 10 (its YANG default) in 1..=64, and ranges without a
/// current value for the others, whose defaults derive from the other parameters (RFC 9362
/// Section 3, Implementation Note 2; computed by
/// [`SessionParams::qblock`](super::SessionParams::qblock)) unless a client sets them:
/// `non-max-retransmit` in 2..=15, `non-timeout` in 1.00..=30.00 s, `non-receive-timeout` in
/// 2.00..=60.00 s, `non-probing-wait` and `non-partial-timeout` in 1.00..=1000.00 s.
#[must_use]
pub fn default_session_config() -> SignalConfig {
    let derived = |min, max| DecimalParam {
        max_value: Some(max),
        min_value: Some(min),
        current_value: None,
    };
    let d = Decimal2::from_hundredths;
    let params = ConfigParams {
        heartbeat_interval: Some(IntParam::range(15, 240, 30)),
        missing_hb_allowed: Some(IntParam::range(3, 20, 15)),
        probing_rate: Some(IntParam::range(5, 20, 5)),
        max_retransmit: Some(IntParam::range(2, 15, 3)),
        ack_timeout: Some(DecimalParam::range(d(100), d(3000), d(200))),
        ack_random_factor: Some(DecimalParam::range(d(110), d(400), d(150))),
        max_payloads: Some(IntParam::range(1, 64, 10)),
        non_max_retransmit: Some(IntParam {
            current_value: None,
            ..IntParam::range(2, 15, 3)
        }),
        non_timeout: Some(derived(d(100), d(3000))),
        non_receive_timeout: Some(derived(d(200), d(6000))),
        non_probing_wait: Some(derived(d(100), d(100_000))),
        non_partial_timeout: Some(derived(d(100), d(100_000))),
    };
    SignalConfig {
        sid: None,
        mitigating_config: Some(params),
        idle_config: Some(params),
    }
}
