//! Stateless validation of decoded bodies (RFC 9132 Sections 4.4.1, 4.4.3, 4.5, 4.6, 4.7;
//! RFC 9133 Section 3.2; RFC 9066 Sections 5.2 and 5.3.1; RFC 9362 Section 3).
//!
//! Every violation is a distinct [`ValidationError`] naming the offending field and carrying the
//! CoAP code a server answers with ([`ValidationError::response_code`]). Checks that need
//! session state (alias ownership, refresh consistency, idle-time ACL control, conflicts) belong
//! to the session layer.

use core::net::IpAddr;

use ipnet::IpNet;

use super::{
    ConfigParams, DecimalParam, IntParam, MitigationRequest, MitigationScope, PortRange,
    RedirectedSignal, Scope, ScopeEntry, SignalConfig, Targets,
};
use crate::coap::Code;

/// Why a prefix is not an acceptable target or source (RFC 9132 Section 4.4.1.1, RFC 9066
/// Section 5.3.1: "MUST NOT include broadcast, loopback, or multicast addresses").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrefixProblem {
    /// Overlaps 127.0.0.0/8 or is ::1/128.
    Loopback,
    /// Overlaps 224.0.0.0/4 or ff00::/8.
    Multicast,
    /// Is or contains 255.255.255.255.
    Broadcast,
}

impl core::fmt::Display for PrefixProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PrefixProblem::Loopback => "loopback",
            PrefixProblem::Multicast => "multicast",
            PrefixProblem::Broadcast => "broadcast",
        })
    }
}

/// A body that decoded but violates a rule of the DOTS specifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// None of `target-prefix`, `target-fqdn`, `target-uri`, `alias-name` (RFC 9132 Section
    /// 4.4.1.1).
    #[error("no target: one of target-prefix, target-fqdn, target-uri or alias-name is required")]
    MissingTarget,
    /// `lifetime` is mandatory in a mitigation request (RFC 9132 Section 4.4.1.1).
    #[error("'lifetime' is missing")]
    MissingLifetime,
    /// `lifetime` 0 (RFC 9132 Section 4.4.1.3: 4.00).
    #[error("'lifetime' is 0")]
    ZeroLifetime,
    /// A server-to-client-only member in a client request (`mid`, `status`, counters,
    /// `conflict-information`, `mitigation-start`, `max-value`...).
    #[error("'{field}' is server-to-client only and must not appear in a request")]
    ServerOnlyMember {
        /// The member.
        field: &'static str,
    },
    /// A client-to-server-only member (`attack-status`) in a server message.
    #[error("'{field}' is client-to-server only")]
    ClientOnlyMember {
        /// The member.
        field: &'static str,
    },
    /// `upper-port` below `lower-port` (or `upper-type` below `lower-type`).
    #[error("'{field}' has upper bound {upper} below lower bound {lower}")]
    ReversedRange {
        /// `target-port-range`, `source-port-range` or `source-icmp-type-range`.
        field: &'static str,
        /// The lower bound.
        lower: u16,
        /// The upper bound.
        upper: u16,
    },
    /// A broadcast, loopback or multicast prefix.
    #[error("'{field}' {prefix} is a {problem} prefix")]
    InvalidPrefix {
        /// `target-prefix` or `source-prefix`.
        field: &'static str,
        /// The prefix.
        prefix: IpNet,
        /// What is wrong with it.
        problem: PrefixProblem,
    },
    /// A text member that is empty or not of its YANG type (`inet:domain-name`, `inet:uri`).
    #[error("'{field}' has an invalid value")]
    InvalidText {
        /// The member.
        field: &'static str,
    },
    /// `attack-status` is mandatory in an efficacy update (RFC 9132 Section 4.4.3).
    #[error("'attack-status' is missing from the efficacy update")]
    MissingAttackStatus,
    /// Call-home attributes with `trigger-mitigation` false (RFC 9066 Section 5.3.1).
    #[error("call-home attributes require 'trigger-mitigation' true")]
    CallHomeTriggerFalse,
    /// Call-home attributes without `target-prefix` (RFC 9066 Section 5.3.1).
    #[error("call-home attributes require a 'target-prefix'")]
    CallHomeWithoutTargetPrefix,
    /// A call-home source whose address family matches no `target-prefix`, or ICMP type ranges
    /// with targets of both families (ICMP vs ICMPv6 is undetermined; RFC 9066 Section 5.3.1).
    #[error("'{field}' address family does not match the target-prefix family")]
    AddressFamilyMismatch {
        /// `source-prefix` or `source-icmp-type-range`.
        field: &'static str,
    },
    /// A config PUT without `mitigating-config` and `idle-config` (RFC 9132 Section 4.5.2).
    #[error("the configuration request carries no parameters")]
    MissingConfig,
    /// A configuration parameter container without its current value.
    #[error("'{config}/{parameter}' has no current value")]
    MissingCurrentValue {
        /// `mitigating-config` or `idle-config`.
        config: &'static str,
        /// The parameter.
        parameter: &'static str,
    },
    /// A configuration value outside the server's acceptable range (RFC 9132 Section 4.5.2:
    /// 4.22).
    #[error("'{config}/{parameter}' is outside the acceptable range")]
    UnacceptableValue {
        /// `mitigating-config` or `idle-config`.
        config: &'static str,
        /// The parameter.
        parameter: &'static str,
    },
    /// `max-payloads` differs between `idle-config` and `mitigating-config` (RFC 9362 Section 3).
    #[error("'max-payloads' differs between idle-config and mitigating-config")]
    InconsistentMaxPayloads,
    /// A redirected signal without `alt-server` (or `alt-ch-client` for call home), or with
    /// both (RFC 9132 Section 4.6, RFC 9066 Section 5.2).
    #[error("the redirected signal must carry exactly one of 'alt-server' or 'alt-ch-client'")]
    InvalidRedirect,
    /// Call-home-only members (`ttl`, `alt-ch-client-record`) with a base-channel `alt-server`.
    #[error("'{field}' is call-home only and must not accompany 'alt-server'")]
    CallHomeOnlyMember {
        /// The member.
        field: &'static str,
    },
    /// A telemetry request (RFC 9244 PUT to `/tm-setup` or `/tm`) with other than exactly one
    /// `telemetry` / `pre-or-ongoing-mitigation` entry: one `tsid` or `tmid` names one entry.
    #[error("the request carries {count} '{field}' entries; exactly one is expected")]
    EntryCount {
        /// `telemetry` or `pre-or-ongoing-mitigation`.
        field: &'static str,
        /// Number of entries found.
        count: usize,
    },
    /// A member that carries nothing where RFC 9244 requires content ("at least one configurable
    /// attribute", Section 7.1.2; empty values, Section 5.3).
    #[error("'{field}' carries no attribute")]
    EmptyMember {
        /// The member.
        field: &'static str,
    },
    /// A value outside its YANG range (a percentile outside 0.00..=100.00,
    /// `telemetry-notify-interval` outside 1..=3600, a baseline `id` of 0).
    #[error("'{field}' is outside its range")]
    OutOfRange {
        /// The member.
        field: &'static str,
    },
    /// A value below the one it must not be below (`mid-percentile` below `low-percentile`,
    /// `max-config-values` below `min-config-values`, `end-time` before `start-time`).
    #[error("'{field}' is below '{other}'")]
    ValueBelow {
        /// The member that is too small.
        field: &'static str,
        /// The member it is compared with.
        other: &'static str,
    },
    /// Two entries of a YANG list with the same key.
    #[error("two '{field}' entries have the same key")]
    DuplicateListKey {
        /// The list.
        field: &'static str,
    },
    /// Every `total-pipe-capacity` entry has `capacity` 0 (RFC 9244 Section 7.2.1: 4.00; a
    /// DELETE removes all links).
    #[error("'capacity' is 0 for every link; use DELETE to remove all links")]
    PipeAllZero,
    /// More than one unit of one unit class for a link (RFC 9244 Section 7.2: "only one unit
    /// per unit class is allowed").
    #[error("'{field}' uses more than one unit of one unit class")]
    UnitClassRepeated {
        /// The list.
        field: &'static str,
    },
    /// A `pre-or-ongoing-mitigation` entry without a `target` holding one of `target-prefix`,
    /// `target-fqdn`, `target-uri`, `alias-name` or `mid-list` (RFC 9244 Section 8.1.1).
    #[error("no target: 'target' with one of target-prefix, target-fqdn, target-uri, alias-name or mid-list is required")]
    MissingTelemetryTarget,
    /// A server's `pre-or-ongoing-mitigation` entry with its `target` only (RFC 9244 Section
    /// 8.1.1: the target and one other attribute).
    #[error("the pre-or-ongoing-mitigation entry carries no telemetry besides its target")]
    MissingTelemetryData,
    /// `measurement-sample` not shorter than `measurement-interval` (RFC 9244 Section 11.1).
    #[error("'measurement-sample' is not shorter than 'measurement-interval'")]
    SampleNotBelowInterval,
    /// A member the YANG module does not define where it appears (`unit-config` in
    /// `max-config-values`, `current-g` in a baseline ...).
    #[error("'{field}' is not a member of '{within}'")]
    NotAllowedHere {
        /// The member.
        field: &'static str,
        /// Where it appears.
        within: &'static str,
    },
    /// Telemetry attached to a scope index the body does not have.
    #[error("telemetry attached to scope {scope}, which the body does not have")]
    DanglingTelemetry {
        /// The scope index.
        scope: usize,
    },
}

impl ValidationError {
    /// The CoAP response code a server answers with: 4.22 for unacceptable configuration values,
    /// 4.00 for everything else.
    pub fn response_code(&self) -> Code {
        match self {
            ValidationError::UnacceptableValue { .. } => Code::UNPROCESSABLE_ENTITY,
            _ => Code::BAD_REQUEST,
        }
    }

    /// The name of the offending field (YANG name).
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::MissingTarget => "target-prefix",
            ValidationError::MissingLifetime | ValidationError::ZeroLifetime => "lifetime",
            ValidationError::ServerOnlyMember { field }
            | ValidationError::ClientOnlyMember { field }
            | ValidationError::ReversedRange { field, .. }
            | ValidationError::InvalidPrefix { field, .. }
            | ValidationError::InvalidText { field }
            | ValidationError::AddressFamilyMismatch { field }
            | ValidationError::CallHomeOnlyMember { field } => field,
            ValidationError::MissingAttackStatus => "attack-status",
            ValidationError::CallHomeTriggerFalse => "trigger-mitigation",
            ValidationError::CallHomeWithoutTargetPrefix => "target-prefix",
            ValidationError::MissingConfig => "signal-config",
            ValidationError::MissingCurrentValue { parameter, .. }
            | ValidationError::UnacceptableValue { parameter, .. } => parameter,
            ValidationError::InconsistentMaxPayloads => "max-payloads",
            ValidationError::InvalidRedirect => "alt-server",
            ValidationError::EntryCount { field, .. }
            | ValidationError::EmptyMember { field }
            | ValidationError::OutOfRange { field }
            | ValidationError::ValueBelow { field, .. }
            | ValidationError::DuplicateListKey { field }
            | ValidationError::UnitClassRepeated { field }
            | ValidationError::NotAllowedHere { field, .. } => field,
            ValidationError::PipeAllZero => "capacity",
            ValidationError::MissingTelemetryTarget => "target",
            ValidationError::MissingTelemetryData => "pre-or-ongoing-mitigation",
            ValidationError::SampleNotBelowInterval => "measurement-sample",
            ValidationError::DanglingTelemetry { .. } => "scope",
        }
    }
}

pub(crate) type Result = core::result::Result<(), ValidationError>;

/// Whether `a/la` and `b/lb` share addresses: their first `min(la, lb)` bits agree.
fn overlaps(a: u128, la: u8, b: u128, lb: u8, bits: u8) -> bool {
    let l = u32::from(la.min(lb));
    if l == 0 {
        return true;
    }
    let shift = u32::from(bits) - l;
    (a >> shift) == (b >> shift)
}

/// Checks a prefix against RFC 9132 Section 4.4.1.1 (and RFC 9066 Section 5.3.1): it must not
/// overlap loopback, multicast or limited-broadcast space. A prefix covering such space (e.g.
/// `0.0.0.0/0`) is rejected too.
pub fn check_prefix(prefix: &IpNet) -> core::result::Result<(), PrefixProblem> {
    match prefix {
        IpNet::V4(n) => {
            let (a, l) = (u128::from(u32::from(n.addr())), n.prefix_len());
            let hit = |b: u32, lb: u8| overlaps(a, l, u128::from(b), lb, 32);
            if hit(0x7f00_0000, 8) {
                Err(PrefixProblem::Loopback)
            } else if hit(0xe000_0000, 4) {
                Err(PrefixProblem::Multicast)
            } else if hit(0xffff_ffff, 32) {
                Err(PrefixProblem::Broadcast)
            } else {
                Ok(())
            }
        }
        IpNet::V6(n) => {
            let (a, l) = (u128::from(n.addr()), n.prefix_len());
            if overlaps(a, l, 1, 128, 128) {
                Err(PrefixProblem::Loopback)
            } else if overlaps(a, l, 0xff << 120, 8, 128) {
                Err(PrefixProblem::Multicast)
            } else {
                Ok(())
            }
        }
    }
}

pub(crate) fn prefixes(field: &'static str, list: &[IpNet]) -> Result {
    for p in list {
        check_prefix(p).map_err(|problem| ValidationError::InvalidPrefix {
            field,
            prefix: *p,
            problem,
        })?;
    }
    Ok(())
}

pub(crate) fn port_ranges(field: &'static str, list: &[PortRange]) -> Result {
    for r in list {
        if let Some(upper) = r.upper {
            if upper < r.lower {
                return Err(ValidationError::ReversedRange {
                    field,
                    lower: r.lower,
                    upper,
                });
            }
        }
    }
    Ok(())
}

/// `inet:domain-name` (RFC 6991): 1–253 characters (a trailing dot allowed), labels of 1–63
/// letters, digits, `-` or `_`.
pub(crate) fn is_domain_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `inet:uri` (RFC 3986): a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), `:`, and no
/// whitespace.
fn is_uri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut b = scheme.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !s
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

pub(crate) fn targets(t: &Targets) -> Result {
    prefixes("target-prefix", &t.prefixes)?;
    port_ranges("target-port-range", &t.port_ranges)?;
    if !t.fqdns().all(is_domain_name) {
        return Err(ValidationError::InvalidText {
            field: "target-fqdn",
        });
    }
    if !t.uris().all(is_uri) {
        return Err(ValidationError::InvalidText {
            field: "target-uri",
        });
    }
    if t.alias_names().any(str::is_empty) {
        return Err(ValidationError::InvalidText {
            field: "alias-name",
        });
    }
    Ok(())
}

fn call_home(s: &Scope) -> Result {
    let ch = &s.call_home;
    if ch.is_empty() {
        return Ok(());
    }
    if s.trigger_mitigation == Some(false) {
        return Err(ValidationError::CallHomeTriggerFalse);
    }
    let t = &s.targets.prefixes;
    if t.is_empty() {
        return Err(ValidationError::CallHomeWithoutTargetPrefix);
    }
    prefixes("source-prefix", &ch.source_prefixes)?;
    let has_v4 = t.iter().any(|p| matches!(p, IpNet::V4(_)));
    let has_v6 = t.iter().any(|p| matches!(p, IpNet::V6(_)));
    for p in &ch.source_prefixes {
        let ok = match p {
            IpNet::V4(_) => has_v4,
            IpNet::V6(_) => has_v6,
        };
        if !ok {
            return Err(ValidationError::AddressFamilyMismatch {
                field: "source-prefix",
            });
        }
    }
    port_ranges("source-port-range", &ch.source_port_ranges)?;
    for r in &ch.source_icmp_type_ranges {
        if let Some(upper) = r.upper {
            if upper < r.lower {
                return Err(ValidationError::ReversedRange {
                    field: "source-icmp-type-range",
                    lower: r.lower.into(),
                    upper: upper.into(),
                });
            }
        }
    }
    if !ch.source_icmp_type_ranges.is_empty() && has_v4 && has_v6 {
        return Err(ValidationError::AddressFamilyMismatch {
            field: "source-icmp-type-range",
        });
    }
    Ok(())
}

fn acl_list(s: &Scope) -> Result {
    if s.acl_list().any(|a| a.name.is_empty()) {
        return Err(ValidationError::InvalidText { field: "acl-name" });
    }
    Ok(())
}

fn client_entry(e: &ScopeEntry) -> Result {
    if let Some(field) = e.first_server_only_member() {
        return Err(ValidationError::ServerOnlyMember { field });
    }
    let s = &e.scope;
    if !s.targets.has_target() {
        return Err(ValidationError::MissingTarget);
    }
    targets(&s.targets)?;
    acl_list(s)?;
    call_home(s)
}

impl MitigationRequest {
    /// Validates a mitigation request (PUT, RFC 9132 Section 4.4.1): no server-only members, a
    /// target, a non-zero `lifetime`, ordered ranges, no broadcast/loopback/multicast prefix,
    /// well-formed names, and the RFC 9066 call-home rules.
    pub fn validate(&self) -> Result {
        client_entry(&self.entry)?;
        match self.entry.scope.lifetime {
            None => Err(ValidationError::MissingLifetime),
            Some(super::Lifetime::Seconds(0)) => Err(ValidationError::ZeroLifetime),
            Some(_) => Ok(()),
        }
    }

    /// Validates an efficacy update (PUT with If-Match, RFC 9132 Section 4.4.3): as
    /// [`validate`](Self::validate) but `lifetime` may be absent and `attack-status` is
    /// mandatory.
    pub fn validate_efficacy_update(&self) -> Result {
        client_entry(&self.entry)?;
        if self.entry.scope.lifetime == Some(super::Lifetime::Seconds(0)) {
            return Err(ValidationError::ZeroLifetime);
        }
        if self.entry.scope.attack_status.is_none() {
            return Err(ValidationError::MissingAttackStatus);
        }
        Ok(())
    }
}

impl MitigationScope {
    /// Validates a server-to-client `mitigation-scope` body (GET response, notification):
    /// no `attack-status`, ordered ranges, and RFC 9244 telemetry attached to existing scopes
    /// only, each valid.
    pub fn validate_response(&self) -> Result {
        for e in &self.scopes {
            if e.scope.attack_status.is_some() {
                return Err(ValidationError::ClientOnlyMember {
                    field: "attack-status",
                });
            }
            port_ranges("target-port-range", &e.scope.targets.port_ranges)?;
        }
        self.validate_telemetry()
    }
}

const CONFIGS: [&str; 2] = ["mitigating-config", "idle-config"];

impl SignalConfig {
    fn phases(&self) -> [(&'static str, Option<&ConfigParams>); 2] {
        [
            (CONFIGS[0], self.mitigating_config.as_ref()),
            (CONFIGS[1], self.idle_config.as_ref()),
        ]
    }

    /// Validates a client's configuration PUT (RFC 9132 Section 4.5.2, RFC 9362 Section 3):
    /// at least one phase, every parameter with its current value and without the
    /// server-to-client `max-value`/`min-value`, and one `max-payloads` for both phases.
    pub fn validate_request(&self) -> Result {
        if self
            .phases()
            .iter()
            .all(|(_, p)| p.is_none_or(|p| p.is_empty()))
        {
            return Err(ValidationError::MissingConfig);
        }
        for (config, params) in self.phases() {
            let Some(params) = params else { continue };
            for (parameter, p) in params.int_params() {
                let Some(p) = p else { continue };
                if p.max_value.is_some() || p.min_value.is_some() {
                    return Err(ValidationError::ServerOnlyMember {
                        field: if p.max_value.is_some() {
                            "max-value"
                        } else {
                            "min-value"
                        },
                    });
                }
                if p.current_value.is_none() {
                    return Err(ValidationError::MissingCurrentValue { config, parameter });
                }
            }
            for (parameter, p) in params.decimal_params() {
                let Some(p) = p else { continue };
                if p.max_value.is_some() || p.min_value.is_some() {
                    return Err(ValidationError::ServerOnlyMember {
                        field: if p.max_value.is_some() {
                            "max-value-decimal"
                        } else {
                            "min-value-decimal"
                        },
                    });
                }
                if p.current_value.is_none() {
                    return Err(ValidationError::MissingCurrentValue { config, parameter });
                }
            }
        }
        let mp = |c: Option<&ConfigParams>| c.and_then(|c| c.max_payloads?.current_value);
        if let (Some(a), Some(b)) = (
            mp(self.mitigating_config.as_ref()),
            mp(self.idle_config.as_ref()),
        ) {
            if a != b {
                return Err(ValidationError::InconsistentMaxPayloads);
            }
        }
        Ok(())
    }

    /// Checks every current value of this (client) configuration against the acceptable
    /// `min-value`..=`max-value` ranges of `limits` (the server's configuration, as in RFC 9132
    /// Figure 20). A value outside is [`ValidationError::UnacceptableValue`] (4.22). A
    /// `heartbeat-interval` of 0 (heartbeats disabled) is always acceptable.
    pub fn check_against(&self, limits: &SignalConfig) -> Result {
        for ((config, mine), (_, theirs)) in self.phases().into_iter().zip(limits.phases()) {
            let (Some(mine), Some(theirs)) = (mine, theirs) else {
                continue;
            };
            for ((parameter, p), (_, l)) in mine.int_params().into_iter().zip(theirs.int_params()) {
                if let (
                    Some(IntParam {
                        current_value: Some(v),
                        ..
                    }),
                    Some(l),
                ) = (p, l)
                {
                    // '0' disables heartbeats (RFC 9132 Section 4.5.2): always acceptable.
                    if parameter == "heartbeat-interval" && *v == 0 {
                        continue;
                    }
                    if l.min_value.is_some_and(|m| *v < m) || l.max_value.is_some_and(|m| *v > m) {
                        return Err(ValidationError::UnacceptableValue { config, parameter });
                    }
                }
            }
            for ((parameter, p), (_, l)) in mine
                .decimal_params()
                .into_iter()
                .zip(theirs.decimal_params())
            {
                if let (
                    Some(DecimalParam {
                        current_value: Some(v),
                        ..
                    }),
                    Some(l),
                ) = (p, l)
                {
                    if l.min_value.is_some_and(|m| *v < m) || l.max_value.is_some_and(|m| *v > m) {
                        return Err(ValidationError::UnacceptableValue { config, parameter });
                    }
                }
            }
        }
        Ok(())
    }
}

impl RedirectedSignal {
    /// Validates a redirected signal: exactly one of `alt-server` (RFC 9132 Section 4.6) or
    /// `alt-ch-client` (RFC 9066 Section 5.2), well-formed names, and call-home-only members
    /// only with `alt-ch-client`.
    pub fn validate(&self) -> Result {
        match (&self.alt_server, &self.alt_ch_client) {
            (Some(s), None) => {
                if !is_domain_name(s) {
                    return Err(ValidationError::InvalidText {
                        field: "alt-server",
                    });
                }
                if !self.alt_ch_client_record.is_empty() {
                    return Err(ValidationError::CallHomeOnlyMember {
                        field: "alt-ch-client-record",
                    });
                }
                if self.ttl.is_some() {
                    return Err(ValidationError::CallHomeOnlyMember { field: "ttl" });
                }
                Ok(())
            }
            (None, Some(c)) => {
                if !is_domain_name(c) {
                    return Err(ValidationError::InvalidText {
                        field: "alt-ch-client",
                    });
                }
                if !self.alt_server_record.is_empty() {
                    return Err(ValidationError::InvalidRedirect);
                }
                Ok(())
            }
            _ => Err(ValidationError::InvalidRedirect),
        }
    }

    /// The addresses to use for the alternate peer, whichever case this is.
    pub fn records(&self) -> &[IpAddr] {
        if self.alt_ch_client.is_some() {
            &self.alt_ch_client_record
        } else {
            &self.alt_server_record
        }
    }
}
