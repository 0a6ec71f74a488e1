//! DOTS rules for aliases and filtering rules beyond the YANG schema (RFC 8783 Sections 4.2,
//! 6.1 and 7.2): targets, capabilities, activation, policy.

use alloc::format;

use dots_codec::data::{
    Ace, Acl, ActivationType, AddressFamily, Alias, Capabilities, ErrorTag, ErrorType,
    ForwardingAction, IpNet, Ipv4Net, Ipv6Net, L3Match, L4Match, Matches, PortMatch, PortOperator,
};

use super::config::DataServerConfig;
use super::error::{instance_path, Failure};
use super::policy::{ClientRef, DataPolicy};

/// What validation needs to know.
pub(crate) struct Ctx<'a, P: ?Sized> {
    pub(crate) config: &'a DataServerConfig,
    pub(crate) policy: &'a P,
    pub(crate) client: ClientRef<'a>,
}

/// Prefixes no target may overlap (RFC 8783 Section 6.1: "MUST NOT include broadcast,
/// loopback, or multicast addresses").
fn special_prefixes() -> [IpNet; 8] {
    let v4 = |a: [u8; 4], l: u8| IpNet::V4(Ipv4Net::new_assert(a.into(), l));
    let v6 = |a: [u16; 8], l: u8| IpNet::V6(Ipv6Net::new_assert(a.into(), l));
    [
        v4([127, 0, 0, 0], 8),
        v4([224, 0, 0, 0], 4),
        v4([255, 255, 255, 255], 32),
        v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
        // the IPv4-mapped forms of the same
        v6([0, 0, 0, 0, 0, 0xffff, 0x7f00, 0], 104),
        v6([0, 0, 0, 0, 0, 0xffff, 0xe000, 0], 100),
        v6([0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff], 128),
    ]
}

/// Whether `p` overlaps a loopback, multicast or broadcast range.
#[must_use]
pub fn is_special_prefix(p: &IpNet) -> bool {
    let p = p.trunc();
    special_prefixes()
        .iter()
        .any(|s| s.contains(&p) || p.contains(s))
}

fn read_only(path: &str) -> Failure {
    Failure::invalid("read-only node in a configuration request").with_path(path)
}

fn check_prefix<P: DataPolicy + ?Sized>(
    ctx: &Ctx<'_, P>,
    p: &IpNet,
    path: &str,
) -> Result<(), Failure> {
    if is_special_prefix(p) {
        return Err(Failure::invalid(format!(
            "{p} includes broadcast, loopback or multicast addresses"
        ))
        .with_path(path));
    }
    if !ctx.policy.prefix_allowed(ctx.client, p) {
        return Err(
            Failure::forbidden(format!("{p} is outside the DOTS client domain")).with_path(path),
        );
    }
    Ok(())
}

/// Checks an alias of a POST or PUT. `base` is the instance path of the `aliases` container.
pub(crate) fn check_alias<P: DataPolicy + ?Sized>(
    ctx: &Ctx<'_, P>,
    alias: &Alias,
    base: &str,
) -> Result<(), Failure> {
    let me = instance_path(base, &format!("alias={}", alias.name));
    let limits = ctx.policy.limits(ctx.client);
    if alias.name.is_empty() || alias.name.len() > limits.max_alias_name_len {
        return Err(Failure::invalid("bad alias name length").with_path(format!("{me}/name")));
    }
    if alias.pending_lifetime.is_some() {
        return Err(read_only(&format!("{me}/pending-lifetime")));
    }
    if alias.target_count() > limits.max_targets_per_alias {
        return Err(Failure::new(
            413,
            ErrorType::Application,
            ErrorTag::TooBig,
            "too many targets in one alias",
        )
        .with_path(me));
    }
    alias
        .validate()
        .map_err(|e| Failure::from_schema(&e, base))?;
    if !alias.has_target() {
        // RFC 8783 Section 6.1: "at least one of the 'target-prefix', 'target-fqdn', or
        // 'target-uri' attributes MUST be present".
        return Err(Failure::missing(
            "at least one of target-prefix, target-fqdn or target-uri is required",
        )
        .with_path(me));
    }
    for p in &alias.target_prefix {
        check_prefix(ctx, p, &format!("{me}/target-prefix"))?;
    }
    if let Some(f) = alias
        .target_fqdn
        .iter()
        .find(|f| !ctx.policy.fqdn_allowed(ctx.client, f))
    {
        return Err(
            Failure::forbidden(format!("{f} is outside the DOTS client domain"))
                .with_path(format!("{me}/target-fqdn")),
        );
    }
    if let Some(u) = alias
        .target_uri
        .iter()
        .find(|u| !ctx.policy.uri_allowed(ctx.client, u))
    {
        return Err(
            Failure::forbidden(format!("{u} is outside the DOTS client domain"))
                .with_path(format!("{me}/target-uri")),
        );
    }
    Ok(())
}

/// Checks an ACL of a POST or PUT. `base` is the instance path of the `acls` container.
pub(crate) fn check_acl<P: DataPolicy + ?Sized>(
    ctx: &Ctx<'_, P>,
    acl: &Acl,
    base: &str,
) -> Result<(), Failure> {
    let me = instance_path(base, &format!("acl={}", acl.name));
    if acl.pending_lifetime.is_some() {
        return Err(read_only(&format!("{me}/pending-lifetime")));
    }
    acl.validate().map_err(|e| Failure::from_schema(&e, base))?;
    let immediate = acl.effective_activation_type() == ActivationType::Immediate;
    for ace in acl.ace_list() {
        let at = instance_path(&me, &format!("aces/ace={}", ace.name));
        check_ace(ctx, ace, immediate, &at)?;
    }
    Ok(())
}

fn check_ace<P: DataPolicy + ?Sized>(
    ctx: &Ctx<'_, P>,
    ace: &Ace,
    immediate: bool,
    me: &str,
) -> Result<(), Failure> {
    let caps = &ctx.config.capabilities;
    if ace.statistics.is_some() {
        return Err(read_only(&format!("{me}/statistics")));
    }
    let Some(actions) = &ace.actions else {
        // 'actions' is mandatory (RFC 8783 Section 7.2).
        return Err(Failure::missing("'actions' is mandatory").with_path(format!("{me}/actions")));
    };
    let fwd = format!("{me}/actions/forwarding");
    if actions.forwarding == ForwardingAction::Reject {
        // RFC 8783 Section 4.1: "'reject' action ... is not supported".
        return Err(Failure::invalid("the reject action is not supported by DOTS").with_path(fwd));
    }
    if !caps.forwarding_actions.contains(&actions.forwarding) {
        return Err(
            Failure::invalid("forwarding action not supported by this server").with_path(fwd),
        );
    }
    if let Some(rate) = actions.rate_limit {
        let path = format!("{me}/actions/rate-limit");
        if caps.rate_limit != Some(true) {
            return Err(
                Failure::bad(ErrorTag::UnknownElement, "rate-limit is not supported")
                    .with_path(path),
            );
        }
        if rate.0 < 0 {
            return Err(Failure::invalid("a rate limit cannot be negative").with_path(path));
        }
    }
    if let Some(m) = &ace.matches {
        check_matches(ctx, caps, m, &format!("{me}/matches"))?;
    }
    // RFC 8783 Section 7.2: the destination network "is a mandatory attribute in requests with
    // an 'activation-type' set to 'immediate'". RFC 8783 Figure 36 installs an immediate ACL
    // whose only match is on TCP flags; we read the rule as applying to ACEs with an IPv4 or
    // IPv6 match (an ACE without one covers the whole client domain, as the same section says
    // of an absent destination), which admits both the figure and the rule.
    if immediate {
        let missing = match ace.matches.as_ref().and_then(|m| m.l3.as_ref()) {
            Some(L3Match::Ipv4(v4)) => v4
                .destination_ipv4_network
                .is_none()
                .then_some("ipv4/destination-ipv4-network"),
            Some(L3Match::Ipv6(v6)) => v6
                .destination_ipv6_network
                .is_none()
                .then_some("ipv6/destination-ipv6-network"),
            None => None,
        };
        if let Some(leaf) = missing {
            return Err(Failure::missing(
                "the destination network is mandatory in an immediate ACL",
            )
            .with_path(format!("{me}/matches/{leaf}")));
        }
    }
    Ok(())
}

/// A match field the capabilities do not list (RFC 8783 Section 7.2: "an invalid or unknown
/// parameter (e.g., a match field not supported by the DOTS server)").
fn unsupported(path: &str) -> Failure {
    Failure::bad(
        ErrorTag::UnknownElement,
        "match field not supported by this server",
    )
    .with_path(path)
}

/// Fails when `present` and the capability is not `Some(true)`.
fn need(cap: Option<bool>, present: bool, base: &str, leaf: &str) -> Result<(), Failure> {
    if present && cap != Some(true) {
        return Err(unsupported(&format!("{base}/{leaf}")));
    }
    Ok(())
}

fn check_matches<P: DataPolicy + ?Sized>(
    ctx: &Ctx<'_, P>,
    caps: &Capabilities,
    m: &Matches,
    me: &str,
) -> Result<(), Failure> {
    let mut l3_protocol = None;
    let mut v6 = None;
    match &m.l3 {
        Some(L3Match::Ipv4(x)) => {
            let at = format!("{me}/ipv4");
            if !caps.address_family.contains(&AddressFamily::Ipv4) {
                return Err(unsupported(&at));
            }
            let c = caps.ipv4.unwrap_or_default();
            need(c.dscp, x.dscp.is_some(), &at, "dscp")?;
            need(c.ecn, x.ecn.is_some(), &at, "ecn")?;
            need(c.length, x.length.is_some(), &at, "length")?;
            need(c.ttl, x.ttl.is_some(), &at, "ttl")?;
            need(c.protocol, x.protocol.is_some(), &at, "protocol")?;
            need(c.ihl, x.ihl.is_some(), &at, "ihl")?;
            need(c.flags, x.flags.is_some(), &at, "flags")?;
            need(c.offset, x.offset.is_some(), &at, "offset")?;
            need(
                c.identification,
                x.identification.is_some(),
                &at,
                "identification",
            )?;
            need(
                c.destination_prefix,
                x.destination_ipv4_network.is_some(),
                &at,
                "destination-ipv4-network",
            )?;
            need(
                c.source_prefix,
                x.source_ipv4_network.is_some(),
                &at,
                "source-ipv4-network",
            )?;
            need(c.fragment, x.fragment.is_some(), &at, "fragment")?;
            if x.flags.is_some() && x.fragment.is_some() {
                // RFC 8783 Section 4.2: clients "MUST NOT set these fields in the same
                // request"; the server reaction is not specified: we refuse the ambiguity.
                return Err(
                    Failure::invalid("'fragment' and 'flags' must not be used together")
                        .with_path(format!("{at}/flags")),
                );
            }
            if let Some(d) = &x.destination_ipv4_network {
                check_prefix(
                    ctx,
                    &IpNet::V4(*d),
                    &format!("{at}/destination-ipv4-network"),
                )?;
            }
            l3_protocol = x.protocol.map(|p| (p, format!("{at}/protocol")));
            v6 = Some(false);
        }
        Some(L3Match::Ipv6(x)) => {
            let at = format!("{me}/ipv6");
            if !caps.address_family.contains(&AddressFamily::Ipv6) {
                return Err(unsupported(&at));
            }
            let c = caps.ipv6.unwrap_or_default();
            need(c.dscp, x.dscp.is_some(), &at, "dscp")?;
            need(c.ecn, x.ecn.is_some(), &at, "ecn")?;
            need(c.length, x.length.is_some(), &at, "length")?;
            need(c.hoplimit, x.ttl.is_some(), &at, "ttl")?;
            need(c.protocol, x.protocol.is_some(), &at, "protocol")?;
            need(
                c.destination_prefix,
                x.destination_ipv6_network.is_some(),
                &at,
                "destination-ipv6-network",
            )?;
            need(
                c.source_prefix,
                x.source_ipv6_network.is_some(),
                &at,
                "source-ipv6-network",
            )?;
            need(c.flow_label, x.flow_label.is_some(), &at, "flow-label")?;
            need(c.fragment, x.fragment.is_some(), &at, "fragment")?;
            if let Some(d) = &x.destination_ipv6_network {
                check_prefix(
                    ctx,
                    &IpNet::V6(*d),
                    &format!("{at}/destination-ipv6-network"),
                )?;
            }
            l3_protocol = x.protocol.map(|p| (p, format!("{at}/protocol")));
            v6 = Some(true);
        }
        None => {}
    }
    if let Some((p, path)) = &l3_protocol {
        if !caps.transport_protocols.is_empty() && !caps.transport_protocols.contains(p) {
            return Err(
                Failure::invalid(format!("protocol {p} is not supported")).with_path(path.clone())
            );
        }
    }
    let (l4_protocols, at): (&[u8], _) = match &m.l4 {
        Some(L4Match::Tcp(t)) => {
            let at = format!("{me}/tcp");
            let Some(c) = caps.tcp else {
                return Err(unsupported(&at));
            };
            need(
                c.sequence_number,
                t.sequence_number.is_some(),
                &at,
                "sequence-number",
            )?;
            need(
                c.acknowledgement_number,
                t.acknowledgement_number.is_some(),
                &at,
                "acknowledgement-number",
            )?;
            need(c.data_offset, t.data_offset.is_some(), &at, "data-offset")?;
            need(c.reserved, t.reserved.is_some(), &at, "reserved")?;
            need(c.flags, t.flags.is_some(), &at, "flags")?;
            need(c.window_size, t.window_size.is_some(), &at, "window-size")?;
            need(
                c.urgent_pointer,
                t.urgent_pointer.is_some(),
                &at,
                "urgent-pointer",
            )?;
            need(c.options, t.options.is_some(), &at, "options")?;
            need(
                c.flags_bitmask,
                t.flags_bitmask.is_some(),
                &at,
                "flags-bitmask",
            )?;
            check_port(
                c.source_port,
                c.port_range,
                t.source_port_range_or_operator,
                &at,
                "source-port-range-or-operator",
            )?;
            check_port(
                c.destination_port,
                c.port_range,
                t.destination_port_range_or_operator,
                &at,
                "destination-port-range-or-operator",
            )?;
            if t.flags.is_some() && t.flags_bitmask.is_some() {
                // RFC 8783 Section 4.2, as for 'fragment' and 'flags'.
                return Err(Failure::invalid(
                    "'flags-bitmask' and 'flags' must not be used together",
                )
                .with_path(format!("{at}/flags")));
            }
            (&[6], at)
        }
        Some(L4Match::Udp(u)) => {
            let at = format!("{me}/udp");
            let Some(c) = caps.udp else {
                return Err(unsupported(&at));
            };
            need(c.length, u.length.is_some(), &at, "length")?;
            check_port(
                c.source_port,
                c.port_range,
                u.source_port_range_or_operator,
                &at,
                "source-port-range-or-operator",
            )?;
            check_port(
                c.destination_port,
                c.port_range,
                u.destination_port_range_or_operator,
                &at,
                "destination-port-range-or-operator",
            )?;
            (&[17], at)
        }
        Some(L4Match::Icmp(i)) => {
            let at = format!("{me}/icmp");
            let Some(c) = caps.icmp else {
                return Err(unsupported(&at));
            };
            need(c.icmp_type, i.icmp_type.is_some(), &at, "type")?;
            need(c.code, i.code.is_some(), &at, "code")?;
            need(
                c.rest_of_header,
                i.rest_of_header.is_some(),
                &at,
                "rest-of-header",
            )?;
            let ps: &[u8] = match v6 {
                Some(false) => &[1],
                Some(true) => &[58],
                None => &[1, 58],
            };
            (ps, at)
        }
        None => return Ok(()),
    };
    if !caps.transport_protocols.is_empty()
        && !l4_protocols
            .iter()
            .any(|p| caps.transport_protocols.contains(p))
    {
        return Err(unsupported(&at));
    }
    if let Some((p, path)) = l3_protocol {
        if !l4_protocols.contains(&p) {
            return Err(
                Failure::invalid(format!("protocol {p} contradicts the layer-4 match"))
                    .with_path(path),
            );
        }
    }
    Ok(())
}

/// A port criterion needs the source/destination-port capability, and `port-range` unless it
/// is a plain `eq`.
fn check_port(
    port_cap: Option<bool>,
    range_cap: Option<bool>,
    m: Option<PortMatch>,
    base: &str,
    leaf: &str,
) -> Result<(), Failure> {
    let Some(m) = m else {
        return Ok(());
    };
    need(port_cap, true, base, leaf)?;
    let plain = matches!(
        m,
        PortMatch::Operator {
            operator: None | Some(PortOperator::Eq),
            ..
        }
    );
    need(range_cap, !plain, base, leaf)
}

/// Whether two ACEs conflict: the same matches and different actions (RFC 8783 Section 3.1:
/// "a DOTS client could request to drop-list a prefix ... while another DOTS client could
/// request to accept-list that same source prefix").
pub(crate) fn aces_conflict(a: &Ace, b: &Ace) -> bool {
    a.matches == b.matches && a.actions != b.actions
}
