//! Filtering capabilities of a DOTS server (RFC 8783 Section 7.1, Figure 10).

use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::types::{AddressFamily, ForwardingAction};

/// The read-only `capabilities` container.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capabilities {
    /// Address families supported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address_family: Vec<AddressFamily>,
    /// Forwarding actions supported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwarding_actions: Vec<ForwardingAction>,
    /// Whether `rate-limit` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<bool>,
    /// Upper-layer protocols a filter may name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transport_protocols: Vec<u8>,
    /// IPv4 header fields supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Capabilities>,
    /// IPv6 header fields supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Capabilities>,
    /// TCP header fields supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCapabilities>,
    /// UDP header fields supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpCapabilities>,
    /// ICMP/ICMPv6 header fields supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpCapabilities>,
    /// Whether the server shares vendor attack mappings with its clients (RFC 9244 Section
    /// 8.1.6, module `ietf-dots-mapping`).
    #[serde(
        default,
        rename = "ietf-dots-mapping:vendor-mapping-enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub vendor_mapping_enabled: Option<bool>,
}

/// Declares a capability container of optional booleans.
macro_rules! caps {
    ($(#[$meta:meta])* $name:ident { $( $(#[$fmeta:meta])* $field:ident ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<bool>,
            )+
        }
    };
}

caps! {
    /// IPv4 fields (`capabilities/ipv4`).
    Ipv4Capabilities {
        /// DSCP.
        dscp,
        /// ECN.
        ecn,
        /// Total Length.
        length,
        /// TTL.
        ttl,
        /// Protocol.
        protocol,
        /// IHL.
        ihl,
        /// RFC 8519 flags.
        flags,
        /// Fragment offset.
        offset,
        /// Identification.
        identification,
        /// Source prefix.
        source_prefix,
        /// Destination prefix.
        destination_prefix,
        /// DOTS fragment match.
        fragment,
    }
}

caps! {
    /// IPv6 fields (`capabilities/ipv6`).
    Ipv6Capabilities {
        /// DSCP.
        dscp,
        /// ECN.
        ecn,
        /// Payload Length.
        length,
        /// Hop Limit.
        hoplimit,
        /// Next Header.
        protocol,
        /// Destination prefix.
        destination_prefix,
        /// Source prefix.
        source_prefix,
        /// Flow Label.
        flow_label,
        /// DOTS fragment match.
        fragment,
    }
}

caps! {
    /// TCP fields (`capabilities/tcp`).
    TcpCapabilities {
        /// Sequence number.
        sequence_number,
        /// Acknowledgement number.
        acknowledgement_number,
        /// Data offset.
        data_offset,
        /// Reserved field.
        reserved,
        /// RFC 8519 flags.
        flags,
        /// Window size.
        window_size,
        /// Urgent pointer.
        urgent_pointer,
        /// Options.
        options,
        /// DOTS flags bitmask.
        flags_bitmask,
        /// Source port.
        source_port,
        /// Destination port.
        destination_port,
        /// Port ranges and operators.
        port_range,
    }
}

caps! {
    /// UDP fields (`capabilities/udp`).
    UdpCapabilities {
        /// Length.
        length,
        /// Source port.
        source_port,
        /// Destination port.
        destination_port,
        /// Port ranges and operators.
        port_range,
    }
}

caps! {
    /// ICMP fields (`capabilities/icmp`).
    IcmpCapabilities {
        /// Type.
        #[serde(rename = "type")]
        icmp_type,
        /// Code.
        code,
        /// Rest of header.
        rest_of_header,
    }
}

impl Capabilities {
    /// The mandatory-to-implement set of RFC 8783 Section 4.2 (Table 1) with `accept`, `drop`
    /// and `rate-limit`: the capabilities of RFC 8783 Figure 23.
    #[must_use]
    pub fn rfc8783_mandatory() -> Capabilities {
        let t = Some(true);
        Capabilities {
            address_family: vec![AddressFamily::Ipv4, AddressFamily::Ipv6],
            forwarding_actions: vec![ForwardingAction::Drop, ForwardingAction::Accept],
            rate_limit: t,
            transport_protocols: vec![1, 6, 17, 58],
            ipv4: Some(Ipv4Capabilities {
                length: t,
                protocol: t,
                destination_prefix: t,
                source_prefix: t,
                fragment: t,
                ..Ipv4Capabilities::default()
            }),
            ipv6: Some(Ipv6Capabilities {
                length: t,
                protocol: t,
                destination_prefix: t,
                source_prefix: t,
                fragment: t,
                ..Ipv6Capabilities::default()
            }),
            tcp: Some(TcpCapabilities {
                flags_bitmask: t,
                source_port: t,
                destination_port: t,
                port_range: t,
                ..TcpCapabilities::default()
            }),
            udp: Some(UdpCapabilities {
                length: t,
                source_port: t,
                destination_port: t,
                port_range: t,
            }),
            icmp: Some(IcmpCapabilities {
                icmp_type: t,
                code: t,
                ..IcmpCapabilities::default()
            }),
            vendor_mapping_enabled: None,
        }
    }

    /// Every match field of the module, `accept`, `drop` and `rate-limit`, for ICMP, TCP, UDP
    /// and ICMPv6, and the exchange of vendor attack mappings (RFC 9244): what the model can
    /// express (a host narrows it to what its filtering engine enforces).
    #[must_use]
    pub fn all() -> Capabilities {
        let t = Some(true);
        Capabilities {
            ipv4: Some(Ipv4Capabilities {
                dscp: t,
                ecn: t,
                length: t,
                ttl: t,
                protocol: t,
                ihl: t,
                flags: t,
                offset: t,
                identification: t,
                source_prefix: t,
                destination_prefix: t,
                fragment: t,
            }),
            ipv6: Some(Ipv6Capabilities {
                dscp: t,
                ecn: t,
                length: t,
                hoplimit: t,
                protocol: t,
                destination_prefix: t,
                source_prefix: t,
                flow_label: t,
                fragment: t,
            }),
            tcp: Some(TcpCapabilities {
                sequence_number: t,
                acknowledgement_number: t,
                data_offset: t,
                reserved: t,
                flags: t,
                window_size: t,
                urgent_pointer: t,
                options: t,
                flags_bitmask: t,
                source_port: t,
                destination_port: t,
                port_range: t,
            }),
            icmp: Some(IcmpCapabilities {
                icmp_type: t,
                code: t,
                rest_of_header: t,
            }),
            vendor_mapping_enabled: t,
            ..Capabilities::rfc8783_mandatory()
        }
    }
}
