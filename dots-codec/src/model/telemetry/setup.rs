//! The `telemetry-setup` message (RFC 9244 Section 7): telemetry configuration, pipe capacity
//! and traffic baselines, and the server's acceptable ranges.

use super::{
    ConnectionCapacity, Interval, PortConnectionCapacity, PortTraffic, ProtocolTraffic, QueryType,
    Sample, Unit, UnitClass, UnitTraffic, MAX_BASELINES, MAX_KEYED_TRAFFIC, MAX_LINK_ID_LEN,
    MAX_PIPES, MAX_QUERY_TYPES, MAX_TELEMETRY_SETUPS, MAX_UNIT_CONFIGS, MAX_UNIT_TRAFFIC,
};
use crate::model::{Decimal2, Targets};

/// A `unit-config` entry: enables or disables one unit class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitConfig {
    /// `unit` (the list key).
    pub unit: UnitClass,
    /// `unit-status` (mandatory): whether the class is used.
    pub unit_status: bool,
}

/// The telemetry parameters (RFC 9244 `telemetry-parameters` and the members next to it) of
/// `current-config` (client and server), `max-config-values` and `min-config-values` (server).
///
/// Which members exist depends on the container: `unit-config` only in `current-config`,
/// `server-originated-telemetry` not in `min-config-values`. The encoders write only the
/// members of the container they write, and validation reports the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TelemetryConfig {
    /// `measurement-interval`.
    pub measurement_interval: Option<Interval>,
    /// `measurement-sample` (shorter than the interval).
    pub measurement_sample: Option<Sample>,
    /// `low-percentile` (YANG default 10.00; 0.00 disables low percentiles).
    pub low_percentile: Option<Decimal2>,
    /// `mid-percentile` (default 50.00; equal to low disables it).
    pub mid_percentile: Option<Decimal2>,
    /// `high-percentile` (default 90.00; equal to mid disables it).
    pub high_percentile: Option<Decimal2>,
    /// `unit-config` (in `current-config` only).
    pub unit_config: heapless::Vec<UnitConfig, MAX_UNIT_CONFIGS, u8>,
    /// `server-originated-telemetry` (not in `min-config-values`).
    pub server_originated_telemetry: Option<bool>,
    /// `telemetry-notify-interval` in seconds (1..=3600).
    pub telemetry_notify_interval: Option<u16>,
}

impl TelemetryConfig {
    /// Whether no member is present.
    pub fn is_empty(&self) -> bool {
        self.measurement_interval.is_none()
            && self.measurement_sample.is_none()
            && self.low_percentile.is_none()
            && self.mid_percentile.is_none()
            && self.high_percentile.is_none()
            && self.unit_config.is_empty()
            && self.server_originated_telemetry.is_none()
            && self.telemetry_notify_interval.is_none()
    }

    /// The percentiles with their names, in the YANG order low, mid, high.
    pub fn percentiles(&self) -> [(&'static str, Option<Decimal2>); 3] {
        [
            ("low-percentile", self.low_percentile),
            ("mid-percentile", self.mid_percentile),
            ("high-percentile", self.high_percentile),
        ]
    }
}

/// The `link-id` of a pipe (`nt:link-id`), at most [`MAX_LINK_ID_LEN`] bytes.
pub type LinkId = heapless::String<MAX_LINK_ID_LEN, u8>;

/// A `total-pipe-capacity` entry (RFC 9244 Section 7.2), keyed by `link-id` and `unit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PipeCapacity {
    /// `link-id`.
    pub link_id: LinkId,
    /// `capacity` (mandatory); 0 removes the link (but not every link of a request).
    pub capacity: u64,
    /// `unit`.
    pub unit: Unit,
}

/// A `baseline` entry (RFC 9244 Section 7.3): normal traffic and connection capacity of a target
/// (or of the whole DOTS client domain when it has no target).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Baseline {
    /// `id` (the list key, at least 1).
    pub id: u32,
    /// `target-prefix`, `target-port-range`, `target-protocol`, `target-fqdn`, `target-uri`,
    /// `alias-name`.
    pub targets: Targets,
    /// `total-traffic-normal` (no `current-g`).
    pub total_traffic_normal: heapless::Vec<UnitTraffic, MAX_UNIT_TRAFFIC, u8>,
    /// `total-traffic-normal-per-protocol` (no `current-g`).
    pub total_traffic_normal_per_protocol: heapless::Vec<ProtocolTraffic, MAX_KEYED_TRAFFIC, u8>,
    /// `total-traffic-normal-per-port` (no `current-g`).
    pub total_traffic_normal_per_port: heapless::Vec<PortTraffic, MAX_KEYED_TRAFFIC, u8>,
    /// `total-connection-capacity`.
    pub total_connection_capacity: heapless::Vec<ConnectionCapacity, MAX_KEYED_TRAFFIC, u8>,
    /// `total-connection-capacity-per-port`.
    pub total_connection_capacity_per_port:
        heapless::Vec<PortConnectionCapacity, MAX_KEYED_TRAFFIC, u8>,
}

/// The `setup-type` choice of a `telemetry` entry: exactly one kind of setup data (RFC 9244
/// Section 7: a request mixing them is answered 4.00, which the decoders report as
/// [`DecodeError::MixedChoice`](crate::cbor::DecodeError::MixedChoice)).
///
/// Inline like everything in the model (no heap to box into): the enum is as large as its
/// largest case, the baselines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(clippy::large_enum_variant)]
pub enum SetupData {
    /// `current-config` (Section 7.1).
    CurrentConfig(TelemetryConfig),
    /// `total-pipe-capacity` (Section 7.2).
    TotalPipeCapacity(heapless::Vec<PipeCapacity, MAX_PIPES, u8>),
    /// `baseline` (Section 7.3).
    Baseline(heapless::Vec<Baseline, MAX_BASELINES, u8>),
}

impl SetupData {
    /// The YANG name of the member this case carries.
    pub const fn name(&self) -> &'static str {
        match self {
            SetupData::CurrentConfig(_) => "current-config",
            SetupData::TotalPipeCapacity(_) => "total-pipe-capacity",
            SetupData::Baseline(_) => "baseline",
        }
    }

    /// Whether the case carries nothing.
    pub fn is_empty(&self) -> bool {
        match self {
            SetupData::CurrentConfig(c) => c.is_empty(),
            SetupData::TotalPipeCapacity(p) => p.is_empty(),
            SetupData::Baseline(b) => b.is_empty(),
        }
    }
}

/// One `telemetry` list entry of a `telemetry-setup` body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TelemetrySetupEntry {
    /// `tsid`: server-to-client only (a request carries it in the Uri-Path).
    pub tsid: Option<u32>,
    /// The setup data.
    pub setup: Option<SetupData>,
}

impl TelemetrySetupEntry {
    /// An entry carrying `setup` (what a client PUTs).
    pub fn new(setup: SetupData) -> TelemetrySetupEntry {
        TelemetrySetupEntry {
            tsid: None,
            setup: Some(setup),
        }
    }
}

/// The `ietf-dots-telemetry:telemetry-setup` body (CBOR key 203): a client's PUT to
/// `/tm-setup`, or a server's GET response with its acceptable ranges and every installed
/// `tsid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TelemetrySetup {
    /// `max-config-values` (server-to-client only).
    pub max_config_values: Option<TelemetryConfig>,
    /// `min-config-values` (server-to-client only).
    pub min_config_values: Option<TelemetryConfig>,
    /// `supported-unit-classes` / `unit-config` (server-to-client only).
    pub supported_unit_classes: heapless::Vec<UnitConfig, MAX_UNIT_CONFIGS, u8>,
    /// `supported-query-type` (server-to-client only).
    pub supported_query_type: heapless::Vec<QueryType, MAX_QUERY_TYPES, u8>,
    /// `telemetry`: the setup entries.
    pub telemetry: heapless::Vec<TelemetrySetupEntry, MAX_TELEMETRY_SETUPS, u8>,
}

impl TelemetrySetup {
    /// A request body carrying one entry with `setup`.
    pub fn request(setup: SetupData) -> TelemetrySetup {
        let mut s = TelemetrySetup::default();
        // One entry always fits.
        let _ = s.telemetry.push(TelemetrySetupEntry::new(setup));
        s
    }

    /// The name of the first server-to-client-only member present at the top level, if any.
    pub fn first_server_only_member(&self) -> Option<&'static str> {
        [
            (self.max_config_values.is_some(), "max-config-values"),
            (self.min_config_values.is_some(), "min-config-values"),
            (
                !self.supported_unit_classes.is_empty(),
                "supported-unit-classes",
            ),
            (
                !self.supported_query_type.is_empty(),
                "supported-query-type",
            ),
        ]
        .into_iter()
        .find_map(|(present, name)| present.then_some(name))
    }
}
