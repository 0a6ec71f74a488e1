//! The value groupings of RFC 9244: percentile/peak/current gauges, connection gauges and
//! connection capacities, and the traffic list entries built from them.
//!
//! A set of optional 64-bit values is stored compactly (a presence mask and the values, 8 bytes
//! per slot instead of 16 for `Option<u64>`): these groupings repeat in every traffic list, so
//! their size multiplies.

use core::fmt;

use super::Unit;
use crate::keys as k;

macro_rules! slot_set {
    (
        $(#[$m:meta])* pub struct $name:ident[$n:literal];
        $(#[$km:meta])* pub enum $kind:ident {
            $( $(#[$vm:meta])* $variant:ident = $idx:literal, $key:path, $yang:literal, $getter:ident; )*
        }
    ) => {
        $(#[$km])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $kind {
            $( $(#[$vm])* $variant = $idx, )*
        }

        impl $kind {
            /// Every member, in ascending CBOR key order.
            pub const ALL: &'static [$kind] = &[$($kind::$variant),*];

            /// The CBOR key (RFC 9244 Table 3).
            pub const fn key(self) -> u64 {
                match self { $( $kind::$variant => $key, )* }
            }

            /// The YANG (JSON) name.
            pub const fn name(self) -> &'static str {
                match self { $( $kind::$variant => $yang, )* }
            }
        }

        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            present: u16,
            values: [u64; $n],
        }

        impl $name {
            /// No value present.
            pub const fn new() -> $name {
                $name { present: 0, values: [0; $n] }
            }

            /// The value of `which`, if present.
            pub const fn get(&self, which: $kind) -> Option<u64> {
                let i = which as usize;
                if self.present & (1 << i) != 0 {
                    Some(self.values[i])
                } else {
                    None
                }
            }

            /// Sets (or with `None` removes) the value of `which`.
            pub fn set(&mut self, which: $kind, value: Option<u64>) {
                let i = which as usize;
                match value {
                    Some(v) => {
                        self.present |= 1 << i;
                        self.values[i] = v;
                    }
                    None => {
                        self.present &= !(1 << i);
                        self.values[i] = 0;
                    }
                }
            }

            /// `self` with `which` set to `value` (builder style).
            #[must_use]
            pub fn with(mut self, which: $kind, value: u64) -> $name {
                self.set(which, Some(value));
                self
            }

            /// Whether no value is present (the container is then omitted when encoding: an
            /// empty non-presence container is the same as an absent one).
            pub const fn is_empty(&self) -> bool {
                self.present == 0
            }

            /// Number of values present.
            pub const fn len(&self) -> usize {
                self.present.count_ones() as usize
            }

            /// The present values, in ascending CBOR key order.
            pub fn iter(&self) -> impl Iterator<Item = ($kind, u64)> + '_ {
                $kind::ALL.iter().filter_map(|w| self.get(*w).map(|v| (*w, v)))
            }

            $(
                #[doc = concat!("`", $yang, "`, if present.")]
                pub const fn $getter(&self) -> Option<u64> {
                    self.get($kind::$variant)
                }
            )*
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.iter().map(|(w, v)| (w.name(), v))).finish()
            }
        }
    };
}

slot_set! {
    /// RFC 9244 `percentile-peak-and-current`: `yang:gauge64` values for the low, mid and high
    /// percentiles, the peak and the current value, each optional.
    ///
    /// In a baseline (`percentile-and-peak`, no `current-g`) the current value must be absent:
    /// the encoders do not write it there and validation reports it.
    pub struct Gauges[5];
    /// One member of [`Gauges`].
    pub enum Gauge {
        /// `low-percentile-g` (key 140).
        LowPercentile = 0, k::LOW_PERCENTILE_G, "low-percentile-g", low_percentile_g;
        /// `mid-percentile-g` (key 141).
        MidPercentile = 1, k::MID_PERCENTILE_G, "mid-percentile-g", mid_percentile_g;
        /// `high-percentile-g` (key 142).
        HighPercentile = 2, k::HIGH_PERCENTILE_G, "high-percentile-g", high_percentile_g;
        /// `peak-g` (key 143).
        Peak = 3, k::PEAK_G, "peak-g", peak_g;
        /// `current-g` (key 209).
        Current = 4, k::CURRENT_G, "current-g", current_g;
    }
}

slot_set! {
    /// RFC 9244 `total-connection-capacity`: the connection limits of a target (`uint64` each,
    /// optional), used in baselines.
    pub struct ConnectionLimits[10];
    /// One member of [`ConnectionLimits`].
    pub enum ConnectionLimit {
        /// `connection` (key 147): simultaneous connections.
        Connection = 0, k::CONNECTION, "connection", connection;
        /// `connection-client` (key 148): simultaneous connections per client.
        ConnectionClient = 1, k::CONNECTION_CLIENT, "connection-client", connection_client;
        /// `embryonic` (key 149): simultaneous embryonic connections.
        Embryonic = 2, k::EMBRYONIC, "embryonic", embryonic;
        /// `embryonic-client` (key 150): simultaneous embryonic connections per client.
        EmbryonicClient = 3, k::EMBRYONIC_CLIENT, "embryonic-client", embryonic_client;
        /// `connection-ps` (key 151): new connections per second.
        ConnectionPs = 4, k::CONNECTION_PS, "connection-ps", connection_ps;
        /// `connection-client-ps` (key 152): new connections per second per client.
        ConnectionClientPs = 5, k::CONNECTION_CLIENT_PS, "connection-client-ps", connection_client_ps;
        /// `request-ps` (key 153): requests per second.
        RequestPs = 6, k::REQUEST_PS, "request-ps", request_ps;
        /// `request-client-ps` (key 154): requests per second per client.
        RequestClientPs = 7, k::REQUEST_CLIENT_PS, "request-client-ps", request_client_ps;
        /// `partial-request-max` (key 155): outstanding partial requests.
        PartialRequestMax = 8, k::PARTIAL_REQUEST_MAX, "partial-request-max", partial_request_max;
        /// `partial-request-client-max` (key 156): outstanding partial requests per client.
        PartialRequestClientMax = 9, k::PARTIAL_REQUEST_CLIENT_MAX, "partial-request-client-max", partial_request_client_max;
    }
}

/// A traffic list entry keyed by `unit` (`total-traffic`, `total-attack-traffic`,
/// `total-traffic-normal`, a talker's `total-attack-traffic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitTraffic {
    /// `unit` (the list key).
    pub unit: Unit,
    /// The values.
    pub gauges: Gauges,
}

/// A traffic list entry keyed by `unit` and `protocol` (`total-traffic-protocol`,
/// `total-attack-traffic-protocol`, `total-traffic-normal-per-protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolTraffic {
    /// `protocol` (IANA protocol number; a list key).
    pub protocol: u8,
    /// `unit` (a list key).
    pub unit: Unit,
    /// The values.
    pub gauges: Gauges,
}

/// A traffic list entry keyed by `unit` and `port` (`total-traffic-port`,
/// `total-attack-traffic-port`, `total-traffic-normal-per-port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortTraffic {
    /// `port` (a list key).
    pub port: u16,
    /// `unit` (a list key).
    pub unit: Unit,
    /// The values.
    pub gauges: Gauges,
}

/// RFC 9244 `connection-all`: attack connection gauges (`connection-c`, `embryonic-c`,
/// `connection-ps-c`, `request-ps-c`, `partial-request-c`). Empty members are omitted on the
/// wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnectionGauges {
    /// `connection-c`: simultaneous attack connections.
    pub connection_c: Gauges,
    /// `embryonic-c`: simultaneous embryonic connections.
    pub embryonic_c: Gauges,
    /// `connection-ps-c`: attack connections per second.
    pub connection_ps_c: Gauges,
    /// `request-ps-c`: attack requests per second.
    pub request_ps_c: Gauges,
    /// `partial-request-c`: attack partial requests.
    pub partial_request_c: Gauges,
}

impl ConnectionGauges {
    /// Nothing present.
    pub const fn new() -> ConnectionGauges {
        ConnectionGauges {
            connection_c: Gauges::new(),
            embryonic_c: Gauges::new(),
            connection_ps_c: Gauges::new(),
            request_ps_c: Gauges::new(),
            partial_request_c: Gauges::new(),
        }
    }

    /// The members with their CBOR keys, in ascending key order (158, 159, 160, 161, 172).
    pub fn members(&self) -> [(u64, &'static str, &Gauges); 5] {
        [
            (k::CONNECTION_C, "connection-c", &self.connection_c),
            (k::EMBRYONIC_C, "embryonic-c", &self.embryonic_c),
            (k::CONNECTION_PS_C, "connection-ps-c", &self.connection_ps_c),
            (k::REQUEST_PS_C, "request-ps-c", &self.request_ps_c),
            (
                k::PARTIAL_REQUEST_C,
                "partial-request-c",
                &self.partial_request_c,
            ),
        ]
    }

    /// The member with CBOR key `key`, if it is one of the five.
    pub fn member_mut(&mut self, key: u64) -> Option<&mut Gauges> {
        match key {
            k::CONNECTION_C => Some(&mut self.connection_c),
            k::EMBRYONIC_C => Some(&mut self.embryonic_c),
            k::CONNECTION_PS_C => Some(&mut self.connection_ps_c),
            k::REQUEST_PS_C => Some(&mut self.request_ps_c),
            k::PARTIAL_REQUEST_C => Some(&mut self.partial_request_c),
            _ => None,
        }
    }

    /// Whether every member is empty.
    pub fn is_empty(&self) -> bool {
        self.members().iter().all(|(_, _, g)| g.is_empty())
    }
}

/// A `total-attack-connection-protocol` entry (keyed by `protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolConnection {
    /// `protocol` (the list key).
    pub protocol: u8,
    /// The gauges.
    pub gauges: ConnectionGauges,
}

/// A `total-attack-connection-port` entry (keyed by `protocol` and `port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortConnection {
    /// `protocol` (a list key).
    pub protocol: u8,
    /// `port` (a list key).
    pub port: u16,
    /// The gauges.
    pub gauges: ConnectionGauges,
}

/// A baseline `total-connection-capacity` entry (keyed by `protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionCapacity {
    /// `protocol` (the list key).
    pub protocol: u8,
    /// The limits.
    pub limits: ConnectionLimits,
}

/// A baseline `total-connection-capacity-per-port` entry (keyed by `protocol` and `port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortConnectionCapacity {
    /// `protocol` (a list key).
    pub protocol: u8,
    /// `port` (a list key).
    pub port: u16,
    /// The limits.
    pub limits: ConnectionLimits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_compare_by_content() {
        let mut a = Gauges::new().with(Gauge::Peak, 60);
        let b = Gauges::new().with(Gauge::Peak, 60);
        assert_eq!(a, b);
        a.set(Gauge::Current, Some(7));
        a.set(Gauge::Current, None);
        assert_eq!(a, b, "a removed value leaves no trace");
        assert_eq!(a.peak_g(), Some(60));
        assert_eq!(a.current_g(), None);
        assert_eq!(a.len(), 1);
        assert_eq!(
            Gauges::new()
                .with(Gauge::Current, 1)
                .with(Gauge::LowPercentile, 2)
                .iter()
                .map(|(w, _)| w.key())
                .collect::<heapless::Vec<u64, 5>>()
                .as_slice(),
            &[140, 209],
            "ascending key order"
        );
        let l = ConnectionLimits::new().with(ConnectionLimit::PartialRequestClientMax, u64::MAX);
        assert_eq!(l.partial_request_client_max(), Some(u64::MAX));
        assert_eq!(ConnectionLimit::ALL.last().map(|w| w.key()), Some(156));
    }

    #[test]
    fn sizes_stay_compact() {
        assert_eq!(core::mem::size_of::<Gauges>(), 48);
        assert_eq!(core::mem::size_of::<UnitTraffic>(), 56);
        assert_eq!(core::mem::size_of::<ConnectionGauges>(), 240);
    }
}
