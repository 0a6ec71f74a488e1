//! The one table of DOTS signal channel CBOR keys (the IANA "DOTS Signal Channel CBOR Key Values"
//! registry): RFC 9132 Table 5, RFC 9133 Table 1, RFC 9066 Table 1, RFC 9244 Table 3 and
//! RFC 9362 Tables 2/3.
//!
//! Every integer key the codec reads or writes is a constant of this module; nothing else in the
//! crate spells a key number.
//!
//! # `max-value` / `min-value` (the known trap)
//!
//! RFC 9132 Table 5 assigns **`max-value` = 34, `min-value` = 35, `max-value-decimal` = 41,
//! `min-value-decimal` = 42**. The RFC's IANA section (Section 10.6.1.2) registers no numbers of
//! its own; it only points the registry's 0–51 range at RFC 9132, so Table 5 is the registry
//! content. An IANA excerpt circulating elsewhere swaps 34/35 and 41/42; we follow the RFC text.
//! This is the only place the choice is made.
//!
//! # Comprehension ranges (RFC 9132 Section 6 and Table 8)
//!
//! Keys 1–127 and 256–16383 are comprehension-required: a request with such a key that is not
//! understood is answered 4.00 (Bad Request). Keys 128–255 and 16384–65535 are
//! comprehension-optional and are ignored when not understood. Keys outside 1–65535 are not
//! registrable at all ("MUST be an integer in the 1-65535 range"); we treat them like unknown
//! comprehension-required keys. See [`is_comprehension_required`].

/// Where a key (or member name) is defined: its YANG module, which is also the JSON namespace
/// prefix (RFC 7951) used when the member augments a node of another module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Module {
    /// `ietf-dots-signal-channel` (RFC 9132).
    SignalChannel,
    /// `ietf-dots-signal-control` (RFC 9133).
    SignalControl,
    /// `ietf-dots-call-home` (RFC 9066).
    CallHome,
    /// `ietf-dots-telemetry` (RFC 9244).
    Telemetry,
    /// `ietf-dots-robust-trans` (RFC 9362).
    RobustTrans,
}

impl Module {
    /// The YANG module name, used as JSON member prefix (`ietf-dots-call-home:source-prefix`).
    pub const fn name(self) -> &'static str {
        match self {
            Module::SignalChannel => "ietf-dots-signal-channel",
            Module::SignalControl => "ietf-dots-signal-control",
            Module::CallHome => "ietf-dots-call-home",
            Module::Telemetry => "ietf-dots-telemetry",
            Module::RobustTrans => "ietf-dots-robust-trans",
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The CBOR map key.
    pub key: u64,
    /// The parameter name without module prefix (`source-prefix`, `mitigation-scope`).
    pub name: &'static str,
    /// The module defining the parameter.
    pub module: Module,
}

macro_rules! key_table {
    ($( $(#[$doc:meta])* $konst:ident = $key:literal, $name:literal, $module:ident; )*) => {
        $( $(#[$doc])* pub const $konst: u64 = $key; )*
        /// Every registered key, in registry order (RFC 9132, 9133, 9244, 9066, 9362).
        pub const TABLE: &[KeyInfo] = &[
            $( KeyInfo { key: $key, name: $name, module: Module::$module }, )*
        ];
    };
}

key_table! {
    /// `ietf-dots-signal-channel:mitigation-scope` (container).
    MITIGATION_SCOPE = 1, "mitigation-scope", SignalChannel;
    /// `scope` (list).
    SCOPE = 2, "scope", SignalChannel;
    /// `cdid` (string). Never in a request body (RFC 9132 Section 4.4.1.1).
    CDID = 3, "cdid", SignalChannel;
    /// `cuid` (string). Never in a request body (RFC 9132 Section 4.4.1.1).
    CUID = 4, "cuid", SignalChannel;
    /// `mid` (uint32).
    MID = 5, "mid", SignalChannel;
    /// `target-prefix` (leaf-list of inet:ip-prefix).
    TARGET_PREFIX = 6, "target-prefix", SignalChannel;
    /// `target-port-range` (list).
    TARGET_PORT_RANGE = 7, "target-port-range", SignalChannel;
    /// `lower-port` (inet:port-number).
    LOWER_PORT = 8, "lower-port", SignalChannel;
    /// `upper-port` (inet:port-number).
    UPPER_PORT = 9, "upper-port", SignalChannel;
    /// `target-protocol` (leaf-list of uint8).
    TARGET_PROTOCOL = 10, "target-protocol", SignalChannel;
    /// `target-fqdn` (leaf-list of inet:domain-name).
    TARGET_FQDN = 11, "target-fqdn", SignalChannel;
    /// `target-uri` (leaf-list of inet:uri).
    TARGET_URI = 12, "target-uri", SignalChannel;
    /// `alias-name` (leaf-list of string).
    ALIAS_NAME = 13, "alias-name", SignalChannel;
    /// `lifetime` (union uint32 / int32 -1).
    LIFETIME = 14, "lifetime", SignalChannel;
    /// `mitigation-start` (uint64, epoch seconds, no tag 1).
    MITIGATION_START = 15, "mitigation-start", SignalChannel;
    /// `status` (enumeration).
    STATUS = 16, "status", SignalChannel;
    /// `conflict-information` (container).
    CONFLICT_INFORMATION = 17, "conflict-information", SignalChannel;
    /// `conflict-status` (enumeration).
    CONFLICT_STATUS = 18, "conflict-status", SignalChannel;
    /// `conflict-cause` (enumeration).
    CONFLICT_CAUSE = 19, "conflict-cause", SignalChannel;
    /// `retry-timer` (uint32).
    RETRY_TIMER = 20, "retry-timer", SignalChannel;
    /// `conflict-scope` (container).
    CONFLICT_SCOPE = 21, "conflict-scope", SignalChannel;
    /// `acl-list` (list) inside `conflict-scope`.
    ACL_LIST = 22, "acl-list", SignalChannel;
    /// `acl-name` (leafref); also RFC 9133's `acl-name`.
    ACL_NAME = 23, "acl-name", SignalChannel;
    /// `acl-type` (leafref).
    ACL_TYPE = 24, "acl-type", SignalChannel;
    /// `bytes-dropped` (zero-based-counter64).
    BYTES_DROPPED = 25, "bytes-dropped", SignalChannel;
    /// `bps-dropped` (gauge64).
    BPS_DROPPED = 26, "bps-dropped", SignalChannel;
    /// `pkts-dropped` (zero-based-counter64).
    PKTS_DROPPED = 27, "pkts-dropped", SignalChannel;
    /// `pps-dropped` (gauge64).
    PPS_DROPPED = 28, "pps-dropped", SignalChannel;
    /// `attack-status` (enumeration).
    ATTACK_STATUS = 29, "attack-status", SignalChannel;
    /// `ietf-dots-signal-channel:signal-config` (container).
    SIGNAL_CONFIG = 30, "signal-config", SignalChannel;
    /// `sid` (uint32).
    SID = 31, "sid", SignalChannel;
    /// `mitigating-config` (container).
    MITIGATING_CONFIG = 32, "mitigating-config", SignalChannel;
    /// `heartbeat-interval` (container).
    HEARTBEAT_INTERVAL = 33, "heartbeat-interval", SignalChannel;
    /// `max-value` (uint16). 34 per RFC 9132 Table 5 (see the module docs).
    MAX_VALUE = 34, "max-value", SignalChannel;
    /// `min-value` (uint16). 35 per RFC 9132 Table 5 (see the module docs).
    MIN_VALUE = 35, "min-value", SignalChannel;
    /// `current-value` (uint16).
    CURRENT_VALUE = 36, "current-value", SignalChannel;
    /// `missing-hb-allowed` (container).
    MISSING_HB_ALLOWED = 37, "missing-hb-allowed", SignalChannel;
    /// `max-retransmit` (container).
    MAX_RETRANSMIT = 38, "max-retransmit", SignalChannel;
    /// `ack-timeout` (container).
    ACK_TIMEOUT = 39, "ack-timeout", SignalChannel;
    /// `ack-random-factor` (container).
    ACK_RANDOM_FACTOR = 40, "ack-random-factor", SignalChannel;
    /// `max-value-decimal` (decimal64). 41 per RFC 9132 Table 5 (see the module docs).
    MAX_VALUE_DECIMAL = 41, "max-value-decimal", SignalChannel;
    /// `min-value-decimal` (decimal64). 42 per RFC 9132 Table 5 (see the module docs).
    MIN_VALUE_DECIMAL = 42, "min-value-decimal", SignalChannel;
    /// `current-value-decimal` (decimal64).
    CURRENT_VALUE_DECIMAL = 43, "current-value-decimal", SignalChannel;
    /// `idle-config` (container).
    IDLE_CONFIG = 44, "idle-config", SignalChannel;
    /// `trigger-mitigation` (boolean).
    TRIGGER_MITIGATION = 45, "trigger-mitigation", SignalChannel;
    /// `ietf-dots-signal-channel:redirected-signal` (container).
    REDIRECTED_SIGNAL = 46, "redirected-signal", SignalChannel;
    /// `alt-server` (inet:domain-name).
    ALT_SERVER = 47, "alt-server", SignalChannel;
    /// `alt-server-record` (leaf-list of inet:ip-address).
    ALT_SERVER_RECORD = 48, "alt-server-record", SignalChannel;
    /// `ietf-dots-signal-channel:heartbeat` (container).
    HEARTBEAT = 49, "heartbeat", SignalChannel;
    /// `probing-rate` (container).
    PROBING_RATE = 50, "probing-rate", SignalChannel;
    /// `peer-hb-status` (boolean).
    PEER_HB_STATUS = 51, "peer-hb-status", SignalChannel;

    // RFC 9133 Table 1 (acl-name = 23 is shared with RFC 9132).
    /// `activation-type` (enumeration), RFC 9133.
    ACTIVATION_TYPE = 52, "activation-type", SignalControl;
    /// `ietf-dots-signal-control:acl-list` (list), RFC 9133.
    CONTROL_ACL_LIST = 53, "acl-list", SignalControl;

    // RFC 9244 Table 3 (all comprehension-optional).
    /// `tsid` (uint32), RFC 9244.
    TSID = 128, "tsid", Telemetry;
    /// `telemetry` (list), RFC 9244.
    TELEMETRY = 129, "telemetry", Telemetry;
    /// `low-percentile` (decimal64), RFC 9244.
    LOW_PERCENTILE = 130, "low-percentile", Telemetry;
    /// `mid-percentile` (decimal64), RFC 9244.
    MID_PERCENTILE = 131, "mid-percentile", Telemetry;
    /// `high-percentile` (decimal64), RFC 9244.
    HIGH_PERCENTILE = 132, "high-percentile", Telemetry;
    /// `unit-config` (list), RFC 9244.
    UNIT_CONFIG = 133, "unit-config", Telemetry;
    /// `unit` (enumeration), RFC 9244.
    UNIT = 134, "unit", Telemetry;
    /// `unit-status` (boolean), RFC 9244.
    UNIT_STATUS = 135, "unit-status", Telemetry;
    /// `total-pipe-capacity` (list), RFC 9244.
    TOTAL_PIPE_CAPACITY = 136, "total-pipe-capacity", Telemetry;
    /// `link-id` (string), RFC 9244.
    LINK_ID = 137, "link-id", Telemetry;
    /// `pre-or-ongoing-mitigation` (list), RFC 9244.
    PRE_OR_ONGOING_MITIGATION = 138, "pre-or-ongoing-mitigation", Telemetry;
    /// `total-traffic-normal` (list), RFC 9244.
    TOTAL_TRAFFIC_NORMAL = 139, "total-traffic-normal", Telemetry;
    /// `low-percentile-g` (gauge64), RFC 9244.
    LOW_PERCENTILE_G = 140, "low-percentile-g", Telemetry;
    /// `mid-percentile-g` (gauge64), RFC 9244.
    MID_PERCENTILE_G = 141, "mid-percentile-g", Telemetry;
    /// `high-percentile-g` (gauge64), RFC 9244.
    HIGH_PERCENTILE_G = 142, "high-percentile-g", Telemetry;
    /// `peak-g` (gauge64), RFC 9244.
    PEAK_G = 143, "peak-g", Telemetry;
    /// `total-attack-traffic` (list), RFC 9244.
    TOTAL_ATTACK_TRAFFIC = 144, "total-attack-traffic", Telemetry;
    /// `total-traffic` (list), RFC 9244.
    TOTAL_TRAFFIC = 145, "total-traffic", Telemetry;
    /// `total-connection-capacity` (list), RFC 9244.
    TOTAL_CONNECTION_CAPACITY = 146, "total-connection-capacity", Telemetry;
    /// `connection` (uint64), RFC 9244.
    CONNECTION = 147, "connection", Telemetry;
    /// `connection-client` (uint64), RFC 9244.
    CONNECTION_CLIENT = 148, "connection-client", Telemetry;
    /// `embryonic` (uint64), RFC 9244.
    EMBRYONIC = 149, "embryonic", Telemetry;
    /// `embryonic-client` (uint64), RFC 9244.
    EMBRYONIC_CLIENT = 150, "embryonic-client", Telemetry;
    /// `connection-ps` (uint64), RFC 9244.
    CONNECTION_PS = 151, "connection-ps", Telemetry;
    /// `connection-client-ps` (uint64), RFC 9244.
    CONNECTION_CLIENT_PS = 152, "connection-client-ps", Telemetry;
    /// `request-ps` (uint64), RFC 9244.
    REQUEST_PS = 153, "request-ps", Telemetry;
    /// `request-client-ps` (uint64), RFC 9244.
    REQUEST_CLIENT_PS = 154, "request-client-ps", Telemetry;
    /// `partial-request-max` (uint64), RFC 9244.
    PARTIAL_REQUEST_MAX = 155, "partial-request-max", Telemetry;
    /// `partial-request-client-max` (uint64), RFC 9244.
    PARTIAL_REQUEST_CLIENT_MAX = 156, "partial-request-client-max", Telemetry;
    /// `total-attack-connection` (container), RFC 9244.
    TOTAL_ATTACK_CONNECTION = 157, "total-attack-connection", Telemetry;
    /// `connection-c` (container), RFC 9244.
    CONNECTION_C = 158, "connection-c", Telemetry;
    /// `embryonic-c` (container), RFC 9244.
    EMBRYONIC_C = 159, "embryonic-c", Telemetry;
    /// `connection-ps-c` (container), RFC 9244.
    CONNECTION_PS_C = 160, "connection-ps-c", Telemetry;
    /// `request-ps-c` (container), RFC 9244.
    REQUEST_PS_C = 161, "request-ps-c", Telemetry;
    /// `attack-detail` (list), RFC 9244.
    ATTACK_DETAIL = 162, "attack-detail", Telemetry;
    /// `id` (uint32), RFC 9244.
    ID = 163, "id", Telemetry;
    /// `attack-id` (uint32), RFC 9244.
    ATTACK_ID = 164, "attack-id", Telemetry;
    /// `attack-description` (string), RFC 9244.
    ATTACK_DESCRIPTION = 165, "attack-description", Telemetry;
    /// `attack-severity` (enumeration), RFC 9244.
    ATTACK_SEVERITY = 166, "attack-severity", Telemetry;
    /// `start-time` (uint64), RFC 9244.
    START_TIME = 167, "start-time", Telemetry;
    /// `end-time` (uint64), RFC 9244.
    END_TIME = 168, "end-time", Telemetry;
    /// `source-count` (container), RFC 9244.
    SOURCE_COUNT = 169, "source-count", Telemetry;
    /// `top-talker` (container), RFC 9244.
    TOP_TALKER = 170, "top-talker", Telemetry;
    /// `spoofed-status` (boolean), RFC 9244.
    SPOOFED_STATUS = 171, "spoofed-status", Telemetry;
    /// `partial-request-c` (container), RFC 9244.
    PARTIAL_REQUEST_C = 172, "partial-request-c", Telemetry;
    /// `total-attack-connection-protocol` (list), RFC 9244.
    TOTAL_ATTACK_CONNECTION_PROTOCOL = 173, "total-attack-connection-protocol", Telemetry;
    /// `baseline` (list), RFC 9244.
    BASELINE = 174, "baseline", Telemetry;
    /// `current-config` (container), RFC 9244.
    CURRENT_CONFIG = 175, "current-config", Telemetry;
    /// `max-config-values` (container), RFC 9244.
    MAX_CONFIG_VALUES = 176, "max-config-values", Telemetry;
    /// `min-config-values` (container), RFC 9244.
    MIN_CONFIG_VALUES = 177, "min-config-values", Telemetry;
    /// `supported-unit-classes` (container), RFC 9244.
    SUPPORTED_UNIT_CLASSES = 178, "supported-unit-classes", Telemetry;
    /// `server-originated-telemetry` (boolean), RFC 9244.
    SERVER_ORIGINATED_TELEMETRY = 179, "server-originated-telemetry", Telemetry;
    /// `telemetry-notify-interval` (uint16), RFC 9244.
    TELEMETRY_NOTIFY_INTERVAL = 180, "telemetry-notify-interval", Telemetry;
    /// `tmid` (uint32), RFC 9244.
    TMID = 181, "tmid", Telemetry;
    /// `measurement-interval` (enumeration), RFC 9244.
    MEASUREMENT_INTERVAL = 182, "measurement-interval", Telemetry;
    /// `measurement-sample` (enumeration), RFC 9244.
    MEASUREMENT_SAMPLE = 183, "measurement-sample", Telemetry;
    /// `talker` (list), RFC 9244.
    TALKER = 184, "talker", Telemetry;
    /// `source-prefix` (inet:ip-prefix) of RFC 9244 (not RFC 9066's 32768).
    TM_SOURCE_PREFIX = 185, "source-prefix", Telemetry;
    /// `mid-list` (leaf-list of uint32), RFC 9244.
    MID_LIST = 186, "mid-list", Telemetry;
    /// `source-port-range` (list) of RFC 9244 (not RFC 9066's 32769).
    TM_SOURCE_PORT_RANGE = 187, "source-port-range", Telemetry;
    /// `source-icmp-type-range` (list) of RFC 9244 (not RFC 9066's 32770).
    TM_SOURCE_ICMP_TYPE_RANGE = 188, "source-icmp-type-range", Telemetry;
    /// `target` (container), RFC 9244.
    TARGET = 189, "target", Telemetry;
    /// `capacity` (uint64), RFC 9244.
    CAPACITY = 190, "capacity", Telemetry;
    /// `protocol` (uint8), RFC 9244.
    PROTOCOL = 191, "protocol", Telemetry;
    /// `total-traffic-normal-per-protocol` (list), RFC 9244.
    TOTAL_TRAFFIC_NORMAL_PER_PROTOCOL = 192, "total-traffic-normal-per-protocol", Telemetry;
    /// `total-traffic-normal-per-port` (list), RFC 9244.
    TOTAL_TRAFFIC_NORMAL_PER_PORT = 193, "total-traffic-normal-per-port", Telemetry;
    /// `total-connection-capacity-per-port` (list), RFC 9244.
    TOTAL_CONNECTION_CAPACITY_PER_PORT = 194, "total-connection-capacity-per-port", Telemetry;
    /// `total-traffic-protocol` (list), RFC 9244.
    TOTAL_TRAFFIC_PROTOCOL = 195, "total-traffic-protocol", Telemetry;
    /// `total-traffic-port` (list), RFC 9244.
    TOTAL_TRAFFIC_PORT = 196, "total-traffic-port", Telemetry;
    /// `total-attack-traffic-protocol` (list), RFC 9244.
    TOTAL_ATTACK_TRAFFIC_PROTOCOL = 197, "total-attack-traffic-protocol", Telemetry;
    /// `total-attack-traffic-port` (list), RFC 9244.
    TOTAL_ATTACK_TRAFFIC_PORT = 198, "total-attack-traffic-port", Telemetry;
    /// `total-attack-connection-port` (list), RFC 9244.
    TOTAL_ATTACK_CONNECTION_PORT = 199, "total-attack-connection-port", Telemetry;
    /// `port` (inet:port-number), RFC 9244.
    PORT = 200, "port", Telemetry;
    /// `supported-query-type` (leaf-list of enumeration), RFC 9244.
    SUPPORTED_QUERY_TYPE = 201, "supported-query-type", Telemetry;
    /// `vendor-id` (uint32), RFC 9244.
    VENDOR_ID = 202, "vendor-id", Telemetry;
    /// `ietf-dots-telemetry:telemetry-setup` (container), RFC 9244.
    TELEMETRY_SETUP = 203, "telemetry-setup", Telemetry;
    /// `ietf-dots-telemetry:total-traffic` (list) in a mitigation scope, RFC 9244.
    SCOPE_TOTAL_TRAFFIC = 204, "total-traffic", Telemetry;
    /// `ietf-dots-telemetry:total-attack-traffic` (list) in a mitigation scope, RFC 9244.
    SCOPE_TOTAL_ATTACK_TRAFFIC = 205, "total-attack-traffic", Telemetry;
    /// `ietf-dots-telemetry:total-attack-connection` (container) in a mitigation scope, RFC 9244.
    SCOPE_TOTAL_ATTACK_CONNECTION = 206, "total-attack-connection", Telemetry;
    /// `ietf-dots-telemetry:attack-detail` (list) in a mitigation scope, RFC 9244.
    SCOPE_ATTACK_DETAIL = 207, "attack-detail", Telemetry;
    /// `ietf-dots-telemetry:telemetry` (container), RFC 9244.
    TELEMETRY_MESSAGE = 208, "telemetry", Telemetry;
    /// `current-g` (gauge64), RFC 9244.
    CURRENT_G = 209, "current-g", Telemetry;
    /// `description-lang` (string), RFC 9244.
    DESCRIPTION_LANG = 210, "description-lang", Telemetry;

    // RFC 9066 Table 1.
    /// `ietf-dots-call-home:source-prefix` (leaf-list of inet:ip-prefix), RFC 9066.
    SOURCE_PREFIX = 32768, "source-prefix", CallHome;
    /// `ietf-dots-call-home:source-port-range` (list), RFC 9066.
    SOURCE_PORT_RANGE = 32769, "source-port-range", CallHome;
    /// `ietf-dots-call-home:source-icmp-type-range` (list), RFC 9066.
    SOURCE_ICMP_TYPE_RANGE = 32770, "source-icmp-type-range", CallHome;
    /// `lower-type` (uint8), RFC 9066 (also used by RFC 9244).
    LOWER_TYPE = 32771, "lower-type", CallHome;
    /// `upper-type` (uint8), RFC 9066 (also used by RFC 9244).
    UPPER_TYPE = 32772, "upper-type", CallHome;
    /// `ietf-dots-call-home:alt-ch-client` (inet:domain-name), RFC 9066.
    ALT_CH_CLIENT = 32773, "alt-ch-client", CallHome;
    /// `ietf-dots-call-home:alt-ch-client-record` (leaf-list of inet:ip-address), RFC 9066.
    ALT_CH_CLIENT_RECORD = 32774, "alt-ch-client-record", CallHome;
    /// `ietf-dots-call-home:ttl` (uint32), RFC 9066.
    TTL = 32775, "ttl", CallHome;

    // RFC 9362 Table 2 (and its IANA Table 3, which agrees).
    /// `ietf-dots-robust-trans:max-payloads` (container), RFC 9362.
    MAX_PAYLOADS = 32776, "max-payloads", RobustTrans;
    /// `ietf-dots-robust-trans:non-max-retransmit` (container), RFC 9362.
    NON_MAX_RETRANSMIT = 32777, "non-max-retransmit", RobustTrans;
    /// `ietf-dots-robust-trans:non-timeout` (container), RFC 9362.
    NON_TIMEOUT = 32778, "non-timeout", RobustTrans;
    /// `ietf-dots-robust-trans:non-receive-timeout` (container), RFC 9362.
    NON_RECEIVE_TIMEOUT = 32779, "non-receive-timeout", RobustTrans;
    /// `ietf-dots-robust-trans:non-probing-wait` (container), RFC 9362.
    NON_PROBING_WAIT = 32780, "non-probing-wait", RobustTrans;
    /// `ietf-dots-robust-trans:non-partial-timeout` (container), RFC 9362.
    NON_PARTIAL_TIMEOUT = 32781, "non-partial-timeout", RobustTrans;
}

/// RFC 9132 Section 6 / Table 8: whether an unknown key must make the request fail (4.00).
///
/// Keys 1–127 and 256–16383 are comprehension-required; 128–255 and 16384–65535 are
/// comprehension-optional. 0 and values above 65535 cannot be registered and are treated as
/// comprehension-required (they can only come from a broken or hostile peer).
pub const fn is_comprehension_required(key: u64) -> bool {
    !matches!(key, 128..=255 | 16384..=65535)
}

/// The table row of `key`, if registered.
pub fn info(key: u64) -> Option<&'static KeyInfo> {
    TABLE.iter().find(|k| k.key == key)
}

/// The parameter name of `key` (without module prefix), or `"unknown"` for unregistered keys.
pub fn name(key: u64) -> &'static str {
    if key == 0 {
        // Not a key: error values use 0 for the body itself.
        return "body";
    }
    match info(key) {
        Some(k) => k.name,
        None => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(a.key, b.key, "{} and {} share a key", a.name, b.name);
            }
        }
    }

    #[test]
    fn the_trap_is_resolved_per_rfc_9132_table_5() {
        assert_eq!((MAX_VALUE, MIN_VALUE), (34, 35));
        assert_eq!((MAX_VALUE_DECIMAL, MIN_VALUE_DECIMAL), (41, 42));
    }

    #[test]
    fn comprehension_ranges_follow_table_8() {
        for (key, required) in [
            (0, true),
            (1, true),
            (127, true),
            (128, false),
            (255, false),
            (256, true),
            (16383, true),
            (16384, false),
            (32768, false),
            (49151, false),
            (49152, false),
            (65535, false),
            (65536, true),
        ] {
            assert_eq!(is_comprehension_required(key), required, "key {key}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(SOURCE_PREFIX), "source-prefix");
        assert_eq!(
            info(SOURCE_PREFIX).map(|k| k.module),
            Some(Module::CallHome)
        );
        assert_eq!(name(100), "unknown");
        assert_eq!(TABLE.len(), 53 + 83 + 8 + 6);
    }
}
