//! Signal channel session configuration (RFC 9132 Section 4.5) with RFC 9362's Q-Block
//! parameters.

use super::Decimal2;

/// An integer session parameter (`heartbeat-interval`, `missing-hb-allowed`, `probing-rate`,
/// `max-retransmit`, RFC 9362 `max-payloads`, `non-max-retransmit`).
///
/// `max-value`/`min-value` are server-to-client only; a client PUT carries `current-value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IntParam {
    /// `max-value` (CBOR key 34).
    pub max_value: Option<u16>,
    /// `min-value` (CBOR key 35).
    pub min_value: Option<u16>,
    /// `current-value` (CBOR key 36).
    pub current_value: Option<u16>,
}

impl IntParam {
    /// Only a `current-value` (what a client sends).
    pub const fn current(v: u16) -> IntParam {
        IntParam {
            max_value: None,
            min_value: None,
            current_value: Some(v),
        }
    }

    /// `max-value`, `min-value` and `current-value` (what a server sends).
    pub const fn range(min: u16, max: u16, current: u16) -> IntParam {
        IntParam {
            max_value: Some(max),
            min_value: Some(min),
            current_value: Some(current),
        }
    }
}

/// A `decimal64` session parameter (`ack-timeout`, `ack-random-factor`, RFC 9362
/// `non-timeout`, `non-receive-timeout`, `non-probing-wait`, `non-partial-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DecimalParam {
    /// `max-value-decimal` (CBOR key 41).
    pub max_value: Option<Decimal2>,
    /// `min-value-decimal` (CBOR key 42).
    pub min_value: Option<Decimal2>,
    /// `current-value-decimal` (CBOR key 43).
    pub current_value: Option<Decimal2>,
}

impl DecimalParam {
    /// Only a `current-value-decimal`.
    pub const fn current(v: Decimal2) -> DecimalParam {
        DecimalParam {
            max_value: None,
            min_value: None,
            current_value: Some(v),
        }
    }

    /// `max-value-decimal`, `min-value-decimal` and `current-value-decimal`.
    pub const fn range(min: Decimal2, max: Decimal2, current: Decimal2) -> DecimalParam {
        DecimalParam {
            max_value: Some(max),
            min_value: Some(min),
            current_value: Some(current),
        }
    }
}

/// `mitigating-config` or `idle-config`: the parameters of one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConfigParams {
    /// `heartbeat-interval` (seconds).
    pub heartbeat_interval: Option<IntParam>,
    /// `missing-hb-allowed`.
    pub missing_hb_allowed: Option<IntParam>,
    /// `probing-rate` (bytes/second).
    pub probing_rate: Option<IntParam>,
    /// `max-retransmit`.
    pub max_retransmit: Option<IntParam>,
    /// `ack-timeout` (seconds).
    pub ack_timeout: Option<DecimalParam>,
    /// `ack-random-factor`.
    pub ack_random_factor: Option<DecimalParam>,
    /// RFC 9362 `ietf-dots-robust-trans:max-payloads`.
    pub max_payloads: Option<IntParam>,
    /// RFC 9362 `ietf-dots-robust-trans:non-max-retransmit`.
    pub non_max_retransmit: Option<IntParam>,
    /// RFC 9362 `ietf-dots-robust-trans:non-timeout` (seconds).
    pub non_timeout: Option<DecimalParam>,
    /// RFC 9362 `ietf-dots-robust-trans:non-receive-timeout` (seconds).
    pub non_receive_timeout: Option<DecimalParam>,
    /// RFC 9362 `ietf-dots-robust-trans:non-probing-wait` (seconds).
    pub non_probing_wait: Option<DecimalParam>,
    /// RFC 9362 `ietf-dots-robust-trans:non-partial-timeout` (seconds).
    pub non_partial_timeout: Option<DecimalParam>,
}

impl ConfigParams {
    /// The integer parameters with their YANG names, in encoding order.
    pub fn int_params(&self) -> [(&'static str, Option<&IntParam>); 6] {
        [
            ("heartbeat-interval", self.heartbeat_interval.as_ref()),
            ("missing-hb-allowed", self.missing_hb_allowed.as_ref()),
            ("probing-rate", self.probing_rate.as_ref()),
            ("max-retransmit", self.max_retransmit.as_ref()),
            ("max-payloads", self.max_payloads.as_ref()),
            ("non-max-retransmit", self.non_max_retransmit.as_ref()),
        ]
    }

    /// The decimal parameters with their YANG names.
    pub fn decimal_params(&self) -> [(&'static str, Option<&DecimalParam>); 6] {
        [
            ("ack-timeout", self.ack_timeout.as_ref()),
            ("ack-random-factor", self.ack_random_factor.as_ref()),
            ("non-timeout", self.non_timeout.as_ref()),
            ("non-receive-timeout", self.non_receive_timeout.as_ref()),
            ("non-probing-wait", self.non_probing_wait.as_ref()),
            ("non-partial-timeout", self.non_partial_timeout.as_ref()),
        ]
    }

    /// Whether no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.int_params().iter().all(|(_, p)| p.is_none())
            && self.decimal_params().iter().all(|(_, p)| p.is_none())
    }
}

/// The `ietf-dots-signal-channel:signal-config` body (RFC 9132 Section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SignalConfig {
    /// `sid` (Table 5 key 31; RFC 9132 carries it in the Uri-Path, older peers in the body).
    pub sid: Option<u32>,
    /// `mitigating-config`.
    pub mitigating_config: Option<ConfigParams>,
    /// `idle-config`.
    pub idle_config: Option<ConfigParams>,
}
