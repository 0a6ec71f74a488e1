//! ACE match criteria (RFC 8783 Section 4.2, reusing `ietf-packet-fields` of RFC 8519).

use core::fmt;

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize, Serializer};

use super::types::{
    Binary, BitmaskOperator, FragmentType, Ipv4Flags, PortOperator, SchemaError, TcpFlags,
};

/// The `matches` of an ACE: at most one layer-3 and at most one layer-4 criterion (the YANG
/// choices `l3` and `l4`). No criterion at all matches every packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "MatchesWire")]
pub struct Matches {
    /// The `l3` choice.
    pub l3: Option<L3Match>,
    /// The `l4` choice.
    pub l4: Option<L4Match>,
}

/// The layer-3 choice of [`Matches`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum L3Match {
    /// `ipv4`.
    Ipv4(Ipv4Match),
    /// `ipv6`.
    Ipv6(Ipv6Match),
}

/// The layer-4 choice of [`Matches`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum L4Match {
    /// `tcp`.
    Tcp(TcpMatch),
    /// `udp`.
    Udp(UdpMatch),
    /// `icmp` (ICMP or ICMPv6, per the `l3` match or the ACL type).
    Icmp(IcmpMatch),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchesWire {
    #[serde(default)]
    ipv4: Option<Ipv4Match>,
    #[serde(default)]
    ipv6: Option<Ipv6Match>,
    #[serde(default)]
    tcp: Option<TcpMatch>,
    #[serde(default)]
    udp: Option<UdpMatch>,
    #[serde(default)]
    icmp: Option<IcmpMatch>,
}

#[derive(Serialize)]
struct MatchesRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<&'a Ipv4Match>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<&'a Ipv6Match>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<&'a TcpMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<&'a UdpMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp: Option<&'a IcmpMatch>,
}

/// Message of a conversion error; starts like serde's own messages so that the error class
/// (invalid value, missing member) survives ([`super::DecodeError`]).
struct WireError(&'static str);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl TryFrom<MatchesWire> for Matches {
    type Error = WireError;

    fn try_from(w: MatchesWire) -> Result<Matches, WireError> {
        let l3 = match (w.ipv4, w.ipv6) {
            (Some(_), Some(_)) => {
                return Err(WireError(
                    "invalid value: 'ipv4' and 'ipv6' are cases of the same choice 'l3'",
                ))
            }
            (Some(v4), None) => Some(L3Match::Ipv4(v4)),
            (None, Some(v6)) => Some(L3Match::Ipv6(v6)),
            (None, None) => None,
        };
        let l4 = match (w.tcp, w.udp, w.icmp) {
            (None, None, None) => None,
            (Some(t), None, None) => Some(L4Match::Tcp(t)),
            (None, Some(u), None) => Some(L4Match::Udp(u)),
            (None, None, Some(i)) => Some(L4Match::Icmp(i)),
            _ => {
                return Err(WireError(
                    "invalid value: 'tcp', 'udp' and 'icmp' are cases of the same choice 'l4'",
                ))
            }
        };
        Ok(Matches { l3, l4 })
    }
}

impl Serialize for Matches {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ipv4, ipv6) = match &self.l3 {
            Some(L3Match::Ipv4(m)) => (Some(m), None),
            Some(L3Match::Ipv6(m)) => (None, Some(m)),
            None => (None, None),
        };
        let (tcp, udp, icmp) = match &self.l4 {
            Some(L4Match::Tcp(m)) => (Some(m), None, None),
            Some(L4Match::Udp(m)) => (None, Some(m), None),
            Some(L4Match::Icmp(m)) => (None, None, Some(m)),
            None => (None, None, None),
        };
        MatchesRef {
            ipv4,
            ipv6,
            tcp,
            udp,
            icmp,
        }
        .serialize(s)
    }
}

impl Matches {
    /// The `ipv4` match, if that is the `l3` case.
    #[must_use]
    pub fn ipv4(&self) -> Option<&Ipv4Match> {
        match &self.l3 {
            Some(L3Match::Ipv4(m)) => Some(m),
            _ => None,
        }
    }

    /// The `ipv6` match, if that is the `l3` case.
    #[must_use]
    pub fn ipv6(&self) -> Option<&Ipv6Match> {
        match &self.l3 {
            Some(L3Match::Ipv6(m)) => Some(m),
            _ => None,
        }
    }

    /// Checks the YANG ranges and constraints of every criterion.
    pub fn validate(&self) -> Result<(), SchemaError> {
        match &self.l3 {
            Some(L3Match::Ipv4(m)) => m.validate().map_err(|e| e.within("ipv4"))?,
            Some(L3Match::Ipv6(m)) => m.validate().map_err(|e| e.within("ipv6"))?,
            None => {}
        }
        match &self.l4 {
            Some(L4Match::Tcp(m)) => m.validate().map_err(|e| e.within("tcp"))?,
            Some(L4Match::Udp(_) | L4Match::Icmp(_)) | None => {}
        }
        Ok(())
    }
}

/// The DOTS `fragment` match (RFC 8783 Section 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    /// How to interpret `type` (`match` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<BitmaskOperator>,
    /// The fragment types to look for (mandatory).
    #[serde(rename = "type")]
    pub fragment_type: FragmentType,
}

impl Fragment {
    fn validate(&self) -> Result<(), SchemaError> {
        if let Some(op) = self.operator {
            op.validate()?;
        }
        Ok(())
    }
}

/// The `ipv4` match: `acl-ip-header-fields` + `acl-ipv4-header-fields` + DOTS `fragment`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Ipv4Match {
    /// Differentiated Services Code Point (0..=63).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<u8>,
    /// Explicit Congestion Notification (0..=3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecn: Option<u8>,
    /// Total Length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    /// Time to Live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// Protocol number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    /// Internet Header Length (5..=60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ihl: Option<u8>,
    /// IPv4 flags (must not be combined with `fragment` by DOTS clients, RFC 8783 Section 4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Ipv4Flags>,
    /// Fragment offset (20..=65535 per RFC 8519).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u16>,
    /// Identification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<u16>,
    /// Destination prefix (mandatory in `immediate` ACLs, RFC 8783 Section 7.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_ipv4_network: Option<Ipv4Net>,
    /// Source prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ipv4_network: Option<Ipv4Net>,
    /// DOTS fragment match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment: Option<Fragment>,
}

fn check_range(v: Option<impl Into<u32>>, lo: u32, hi: u32, path: &str) -> Result<(), SchemaError> {
    match v.map(Into::into) {
        Some(x) if x < lo || x > hi => Err(SchemaError::invalid(
            path,
            alloc::format!("{x} is outside the range {lo}..{hi}"),
        )),
        _ => Ok(()),
    }
}

impl Ipv4Match {
    fn validate(&self) -> Result<(), SchemaError> {
        check_range(self.dscp, 0, 63, "dscp")?;
        check_range(self.ecn, 0, 3, "ecn")?;
        check_range(self.ihl, 5, 60, "ihl")?;
        check_range(self.offset, 20, 65535, "offset")?;
        if let Some(f) = &self.fragment {
            f.validate().map_err(|e| e.within("fragment"))?;
        }
        Ok(())
    }
}

/// The `ipv6` match: `acl-ip-header-fields` + `acl-ipv6-header-fields` + DOTS `fragment`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Ipv6Match {
    /// Differentiated Services Code Point (0..=63).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<u8>,
    /// Explicit Congestion Notification (0..=3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecn: Option<u8>,
    /// Payload Length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    /// Hop Limit (`ttl` in `ietf-packet-fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// Next Header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    /// Destination prefix (mandatory in `immediate` ACLs, RFC 8783 Section 7.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_ipv6_network: Option<Ipv6Net>,
    /// Source prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ipv6_network: Option<Ipv6Net>,
    /// Flow Label (20 bits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
    /// DOTS fragment match (`df` must not be set in IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment: Option<Fragment>,
}

impl Ipv6Match {
    fn validate(&self) -> Result<(), SchemaError> {
        check_range(self.dscp, 0, 63, "dscp")?;
        check_range(self.ecn, 0, 3, "ecn")?;
        check_range(self.flow_label, 0, 0xF_FFFF, "flow-label")?;
        if let Some(f) = &self.fragment {
            f.validate().map_err(|e| e.within("fragment"))?;
            if f.fragment_type.contains(FragmentType::DF) {
                return Err(SchemaError::invalid(
                    "fragment/type",
                    "the 'df' bit must be 0 in an IPv6 filter",
                ));
            }
        }
        Ok(())
    }
}

/// The DOTS `flags-bitmask` TCP match (RFC 8783 Section 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsBitmask {
    /// How to apply the bitmask (`match` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<BitmaskOperator>,
    /// Last 4 bits of byte 12 and byte 13 of the TCP header (mandatory).
    pub bitmask: u16,
}

/// A `port-range-or-operator` (RFC 8519 `ietf-packet-fields`): a closed range, or an operator
/// applied to one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "PortWire")]
pub enum PortMatch {
    /// The `range` case: `lower-port` ..= `upper-port`.
    Range {
        /// Lower bound.
        lower_port: u16,
        /// Upper bound (inclusive, not below `lower_port`).
        upper_port: u16,
    },
    /// The `operator` case.
    Operator {
        /// The comparison (`eq` when absent).
        operator: Option<PortOperator>,
        /// The port compared with.
        port: u16,
    },
}

impl PortMatch {
    /// Whether `port` satisfies this criterion.
    #[must_use]
    pub fn matches(&self, port: u16) -> bool {
        match *self {
            PortMatch::Range {
                lower_port,
                upper_port,
            } => (lower_port..=upper_port).contains(&port),
            PortMatch::Operator { operator, port: p } => match operator.unwrap_or_default() {
                PortOperator::Lte => port <= p,
                PortOperator::Gte => port >= p,
                PortOperator::Eq => port == p,
                PortOperator::Neq => port != p,
            },
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PortWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lower_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upper_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operator: Option<PortOperator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

impl TryFrom<PortWire> for PortMatch {
    type Error = WireError;

    fn try_from(w: PortWire) -> Result<PortMatch, WireError> {
        let range = w.lower_port.is_some() || w.upper_port.is_some();
        let op = w.operator.is_some() || w.port.is_some();
        match (range, op) {
            (true, true) => Err(WireError(
                "invalid value: 'range' and 'operator' are cases of the same choice",
            )),
            (true, false) => match (w.lower_port, w.upper_port) {
                (Some(lower_port), Some(upper_port)) if upper_port >= lower_port => {
                    Ok(PortMatch::Range {
                        lower_port,
                        upper_port,
                    })
                }
                (Some(_), Some(_)) => Err(WireError(
                    "invalid value: lower-port must be less than or equal to upper-port",
                )),
                (None, _) => Err(WireError("missing field `lower-port`")),
                (_, None) => Err(WireError("missing field `upper-port`")),
            },
            (false, true) => match w.port {
                Some(port) => Ok(PortMatch::Operator {
                    operator: w.operator,
                    port,
                }),
                None => Err(WireError("missing field `port`")),
            },
            (false, false) => Err(WireError("missing field `port`")),
        }
    }
}

impl Serialize for PortMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let w = match *self {
            PortMatch::Range {
                lower_port,
                upper_port,
            } => PortWire {
                lower_port: Some(lower_port),
                upper_port: Some(upper_port),
                operator: None,
                port: None,
            },
            PortMatch::Operator { operator, port } => PortWire {
                lower_port: None,
                upper_port: None,
                operator,
                port: Some(port),
            },
        };
        w.serialize(s)
    }
}

/// The `tcp` match: `acl-tcp-header-fields` + DOTS `flags-bitmask` + ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TcpMatch {
    /// Sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u32>,
    /// Acknowledgement number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement_number: Option<u32>,
    /// Data offset (5..=15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_offset: Option<u8>,
    /// Reserved field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<u8>,
    /// RFC 8519 TCP flags (must not be combined with `flags-bitmask`, RFC 8783 Section 4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<TcpFlags>,
    /// Window size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_size: Option<u16>,
    /// Urgent pointer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent_pointer: Option<u16>,
    /// Options (1 to 40 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Binary>,
    /// DOTS flags bitmask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags_bitmask: Option<FlagsBitmask>,
    /// Source port criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port_range_or_operator: Option<PortMatch>,
    /// Destination port criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port_range_or_operator: Option<PortMatch>,
}

impl TcpMatch {
    fn validate(&self) -> Result<(), SchemaError> {
        check_range(self.data_offset, 5, 15, "data-offset")?;
        if let Some(o) = &self.options {
            if o.0.is_empty() || o.0.len() > 40 {
                return Err(SchemaError::invalid(
                    "options",
                    "TCP options must be 1 to 40 bytes long",
                ));
            }
        }
        if let Some(fb) = &self.flags_bitmask {
            if let Some(op) = fb.operator {
                op.validate().map_err(|e| e.within("flags-bitmask"))?;
            }
        }
        Ok(())
    }
}

/// The `udp` match: `acl-udp-header-fields` + ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UdpMatch {
    /// UDP length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    /// Source port criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port_range_or_operator: Option<PortMatch>,
    /// Destination port criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port_range_or_operator: Option<PortMatch>,
}

/// The `icmp` match (`acl-icmp-header-fields`), for ICMP and ICMPv6.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IcmpMatch {
    /// ICMP type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// The four bytes after type/code (ICMP) or the message body (ICMPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_of_header: Option<Binary>,
}
