//! What the signal-channel core asks of its host while handling a request: alias resolution and
//! ACL control (the data channel, RFC 8783 / RFC 9133), domain checks, admission and conflict
//! policy.

use alloc::string::String;
use alloc::vec::Vec;

use dots_codec::ipnet::IpNet;
use dots_codec::model::telemetry::PreOrOngoingMitigation;
use dots_codec::model::{ActivationType, PortRange, Scope, Targets};

use super::config::ConflictDecision;
use crate::data::{ClientRef, DataPolicy, DataServer};
use crate::time::Instant;

/// The targets an alias stands for (RFC 8783 Section 6.1), appended to the request's own
/// targets (RFC 9132 Section 4.4.1.3: "the DOTS server appends the parameter values associated
/// with the 'alias-name'").
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct AliasTargets {
    /// `target-prefix`.
    pub prefixes: Vec<IpNet>,
    /// `target-port-range` as `(lower, upper)` (upper = lower for a single port).
    pub port_ranges: Vec<(u16, u16)>,
    /// `target-protocol`.
    pub protocols: Vec<u8>,
    /// `target-fqdn`.
    pub fqdns: Vec<String>,
    /// `target-uri`.
    pub uris: Vec<String>,
}

impl AliasTargets {
    /// The port ranges in the model's form.
    pub fn port_ranges(&self) -> impl Iterator<Item = PortRange> + '_ {
        self.port_ranges.iter().map(|&(l, u)| {
            if l == u {
                PortRange::single(l)
            } else {
                PortRange::new(l, u)
            }
        })
    }
}

impl From<&dots_codec::data::Alias> for AliasTargets {
    fn from(a: &dots_codec::data::Alias) -> AliasTargets {
        AliasTargets {
            prefixes: a.target_prefix.clone(),
            port_ranges: a
                .target_port_range
                .iter()
                .map(|r| (r.lower_port, r.upper_port.unwrap_or(r.lower_port)))
                .collect(),
            protocols: a.target_protocol.clone(),
            fqdns: a.target_fqdn.clone(),
            uris: a.target_uri.clone(),
        }
    }
}

/// The host's mitigator cannot take the request now: answered 5.03 (Service Unavailable) with
/// Max-Age `retry_after` (RFC 9132 Sections 4.4.1.3 and 4.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unavailable {
    /// Seconds after which the client may retry (the Max-Age option).
    pub retry_after: u32,
}

/// Why an RFC 9133 `acl-list` could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AclFailure {
    /// The client has no ACL of that name: 4.04 (RFC 9133 Section 3.2.1).
    UnknownAcl {
        /// The name.
        name: String,
    },
    /// The filter update failed: 5.03 with Max-Age `retry_after` and a diagnostic payload
    /// listing the failed entries (RFC 9133 Section 3.2.1, Figure 1).
    Failed {
        /// The entries that failed: `acl-name` and the requested `activation-type`.
        failed: Vec<(String, Option<ActivationType>)>,
        /// Seconds after which the client may retry.
        retry_after: u32,
    },
}

/// The host's verdict on the attack sources (`source-prefix`, `source-port-range`,
/// `source-icmp-type-range`) of a mitigation request (RFC 9066 Section 5.3.1), from
/// [`SignalHooks::check_sources`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SourceVerdict {
    /// Nothing against the sources: the request proceeds.
    #[default]
    Clear,
    /// Sources are on the host's accept-list for the targets: 4.09 with `conflict-cause` 2
    /// (`conflict-with-acceptlist`, RFC 9132 Section 4.4.1.3: "source addresses/prefixes in
    /// the accept-listed Access Control Lists (ACLs) are attacking the target") and a
    /// `conflict-scope` naming the ACLs.
    AcceptListed {
        /// The accept-list ACLs concerned: `acl-name` and, when known, `acl-type`.
        acls: Vec<(String, Option<String>)>,
    },
    /// The attack traffic is legitimate: 4.09 with `conflict-cause` 4
    /// (`request-rejected-legitimate-traffic`, RFC 9066 Section 5.3.1).
    Legitimate,
    /// A source prefix is not within the server's domain: 4.00 (RFC 9066 Section 5.3.1: "The
    /// Call Home DOTS server MUST check that the 'source-prefix' is within the scope of the
    /// Call Home DOTS server domain").
    OutsideDomain,
}

/// Decisions and side effects the core leaves to the host. Every method has a default, so a
/// host implements only what it supports; [`NoHooks`] takes every default.
///
/// The core calls these while it handles a request, *before* it changes any state, except
/// [`apply_acl_list`](SignalHooks::apply_acl_list), which it calls last (after every other
/// check has passed), and [`mitigation_started`](SignalHooks::mitigation_started) /
/// [`mitigation_ended`](SignalHooks::mitigation_ended), called when a client's first mitigation
/// becomes active and when its last one stops.
pub trait SignalHooks {
    /// Resolves an `alias-name` of `client` (RFC 9132 Section 4.4.1.3). `None`: the client did
    /// not create it, and the request is answered 4.00. Default: no aliases.
    fn resolve_alias(&mut self, client: ClientRef<'_>, name: &str) -> Option<AliasTargets> {
        let _ = (client, name);
        None
    }

    /// Whether the targets (the request's and its aliases') lie within the client's domain
    /// (RFC 9132 Section 4.4.1.1: "MUST validate that target prefixes are within the scope of
    /// the DOTS client domain"). `false` is answered 4.00. Default: everything allowed.
    fn targets_allowed(
        &mut self,
        client: ClientRef<'_>,
        targets: &Targets,
        aliases: &[AliasTargets],
    ) -> bool {
        let _ = (client, targets, aliases);
        true
    }

    /// Admission of a new mitigation request or an efficacy update, e.g. when the mitigator is
    /// near capacity (RFC 9132 Section 4.4.1.3). Default: admitted.
    fn admit(&mut self, client: ClientRef<'_>, mid: u32, scope: &Scope) -> Result<(), Unavailable> {
        let _ = (client, mid, scope);
        Ok(())
    }

    /// The request of `requester` overlaps an active mitigation of another client, `holder`.
    /// `default` is [`ServerConfig::cross_client_conflict`](super::ServerConfig).
    fn cross_client_conflict(
        &mut self,
        requester: ClientRef<'_>,
        holder: ClientRef<'_>,
        default: ConflictDecision,
    ) -> ConflictDecision {
        let _ = (requester, holder);
        default
    }

    /// Applies the RFC 9133 `acl-list` of `scope` (entries via [`Scope::acl_list`]) for
    /// `client`: set each ACL's activation type, enforce it and refresh its lifetime, all or
    /// nothing. Default: no ACL exists ([`AclFailure::UnknownAcl`]).
    fn apply_acl_list(
        &mut self,
        now: Instant,
        client: ClientRef<'_>,
        scope: &Scope,
    ) -> Result<(), AclFailure> {
        let _ = (now, client);
        Err(AclFailure::UnknownAcl {
            name: scope
                .acl_list()
                .next()
                .map(|a| String::from(a.name))
                .unwrap_or_default(),
        })
    }

    /// Checks the attack sources of a mitigation request that carries RFC 9066 call-home
    /// attributes (`scope.call_home`, at least one `source-prefix`), after the request
    /// validated: the accept-list conflict, legitimate traffic, the domain check. Default:
    /// [`SourceVerdict::Clear`].
    fn check_sources(&mut self, client: ClientRef<'_>, scope: &Scope) -> SourceVerdict {
        let _ = (client, scope);
        SourceVerdict::Clear
    }

    /// Whether two DOTS clients belong to the same DOTS client domain, for the RFC 9244
    /// Section 7.5 conflicts between their pipe and baseline setups. Default: both have the
    /// same `cdid` (supplied by a trusted gateway).
    fn same_client_domain(&mut self, a: ClientRef<'_>, b: ClientRef<'_>) -> bool {
        a.cdid.is_some() && a.cdid == b.cdid
    }

    /// Admission of pre-or-ongoing-mitigation telemetry from a client (PUT `/tm`, RFC 9244
    /// Section 8.2): `Err` is answered 5.03 with Max-Age ("The 5.03 (Service Unavailable)
    /// Response Code is returned if the DOTS server has erred. The 5.03 Response Code uses the
    /// Max-Age Option to indicate the number of seconds after which to retry"). Default:
    /// admitted.
    fn admit_telemetry(
        &mut self,
        client: ClientRef<'_>,
        tmid: u32,
        telemetry: &PreOrOngoingMitigation,
    ) -> Result<(), Unavailable> {
        let _ = (client, tmid, telemetry);
        Ok(())
    }

    /// The client's first mitigation became active: activate its `activate-when-mitigating`
    /// ACLs (RFC 8783 Section 7.2).
    fn mitigation_started(&mut self, now: Instant, client: ClientRef<'_>) {
        let _ = (now, client);
    }

    /// The client's last active mitigation stopped: deactivate those ACLs again.
    fn mitigation_ended(&mut self, now: Instant, client: ClientRef<'_>) {
        let _ = (now, client);
    }
}

/// Hooks that take every default: no aliases, no ACLs, everything admitted and allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoHooks;

impl SignalHooks for NoHooks {}

/// The data-channel server is the natural host of the signal channel's data-channel tie-in:
/// aliases come from its alias table, ACLs are controlled through
/// [`DataServer::set_activation_types`], `activate-when-mitigating` ACLs follow
/// [`DataServer::mitigation_started`] / [`DataServer::mitigation_ended`], and the domain check
/// is its [`DataPolicy`].
impl<P: DataPolicy> SignalHooks for DataServer<P> {
    fn resolve_alias(&mut self, client: ClientRef<'_>, name: &str) -> Option<AliasTargets> {
        self.alias(client.cuid, name).map(AliasTargets::from)
    }

    fn targets_allowed(
        &mut self,
        client: ClientRef<'_>,
        targets: &Targets,
        aliases: &[AliasTargets],
    ) -> bool {
        let p = self.policy();
        targets.prefixes.iter().all(|n| p.prefix_allowed(client, n))
            && targets.fqdns().all(|f| p.fqdn_allowed(client, f))
            && targets.uris().all(|u| p.uri_allowed(client, u))
            && aliases.iter().all(|a| {
                a.prefixes.iter().all(|n| p.prefix_allowed(client, n))
                    && a.fqdns.iter().all(|f| p.fqdn_allowed(client, f))
                    && a.uris.iter().all(|u| p.uri_allowed(client, u))
            })
    }

    fn apply_acl_list(
        &mut self,
        now: Instant,
        client: ClientRef<'_>,
        scope: &Scope,
    ) -> Result<(), AclFailure> {
        let list: Vec<crate::data::AclControl<'_>> = scope
            .acl_list()
            .map(|a| crate::data::AclControl {
                acl_name: a.name,
                activation_type: a.activation_type.map(|t| match t {
                    ActivationType::ActivateWhenMitigating => {
                        dots_codec::data::ActivationType::ActivateWhenMitigating
                    }
                    ActivationType::Immediate => dots_codec::data::ActivationType::Immediate,
                    ActivationType::Deactivate => dots_codec::data::ActivationType::Deactivate,
                }),
            })
            .collect();
        match self.set_activation_types(now, client.cuid, &list) {
            Ok(()) => Ok(()),
            Err(crate::data::ControlError::UnknownAcl { name }) => {
                Err(AclFailure::UnknownAcl { name })
            }
            Err(_) => Err(AclFailure::UnknownAcl {
                name: list
                    .first()
                    .map(|a| String::from(a.acl_name))
                    .unwrap_or_default(),
            }),
        }
    }

    fn mitigation_started(&mut self, now: Instant, client: ClientRef<'_>) {
        // A client without data-channel registration has no ACL to activate.
        let _ = DataServer::mitigation_started(self, now, client.cuid);
    }

    fn mitigation_ended(&mut self, now: Instant, client: ClientRef<'_>) {
        let _ = DataServer::mitigation_ended(self, now, client.cuid);
    }
}
