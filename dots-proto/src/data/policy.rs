//! Host policy: which targets a DOTS client may name, how much it may install, and which
//! clients share a domain.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use dots_codec::data::IpNet;

/// The DOTS client a policy question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRef<'a> {
    /// Its cuid.
    pub cuid: &'a str,
    /// Its cdid, when a trusted server-domain gateway supplied one (RFC 8783 Section 3.3).
    pub cdid: Option<&'a str>,
}

/// Capacity limits for one DOTS client (RFC 8783 Section 10: "Applying resources quota per DOTS
/// client and/or per DOTS client domain").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Aliases per client.
    pub max_aliases: usize,
    /// ACLs per client.
    pub max_acls: usize,
    /// ACEs per client, over all its ACLs.
    pub max_aces: usize,
    /// Target entries (prefixes, port ranges, protocols, FQDNs, URIs) per alias.
    pub max_targets_per_alias: usize,
    /// Longest alias name, in bytes (ACL and ACE names are limited to 64 characters by the
    /// module).
    pub max_alias_name_len: usize,
}

impl Default for Limits {
    /// 64 aliases, 64 ACLs, 256 ACEs, 64 targets per alias, 255-byte alias names.
    fn default() -> Limits {
        Limits {
            max_aliases: 64,
            max_acls: 64,
            max_aces: 256,
            max_targets_per_alias: 64,
            max_alias_name_len: 255,
        }
    }
}

/// Decisions the DOTS server leaves to the host. Every method has a permissive default, except
/// that the defaults do no domain check: a deployment must say which prefixes belong to which
/// client (RFC 8783 Sections 6.1 and 10: "DOTS servers MUST verify that requesting DOTS clients
/// are entitled to enforce filtering rules on a given IP prefix").
///
/// A refusal from `prefix_allowed`, `fqdn_allowed` or `uri_allowed` is answered with
/// `403 Forbidden` / `access-denied`.
pub trait DataPolicy {
    /// Whether the client may register (e.g. a per-domain client quota).
    fn may_register(&self, client: ClientRef<'_>) -> bool {
        let _ = client;
        true
    }

    /// Whether `prefix` (an alias target or an ACL destination) is within the client's domain.
    fn prefix_allowed(&self, client: ClientRef<'_>, prefix: &IpNet) -> bool {
        let _ = (client, prefix);
        true
    }

    /// Whether an alias may name `fqdn`. Resolving the name and checking its addresses, as RFC
    /// 8783 Section 6.1 asks, is the host's business here.
    fn fqdn_allowed(&self, client: ClientRef<'_>, fqdn: &str) -> bool {
        let _ = (client, fqdn);
        true
    }

    /// Whether an alias may name `uri` (same checks as for FQDNs).
    fn uri_allowed(&self, client: ClientRef<'_>, uri: &str) -> bool {
        let _ = (client, uri);
        true
    }

    /// The client's capacity limits.
    fn limits(&self, client: ClientRef<'_>) -> Limits {
        let _ = client;
        Limits::default()
    }

    /// Whether two clients belong to the same domain, for the conflict check of RFC 8783
    /// Section 7.2. Default: both have the same cdid.
    fn same_domain(&self, a: ClientRef<'_>, b: ClientRef<'_>) -> bool {
        a.cdid.is_some() && a.cdid == b.cdid
    }
}

/// The permissive policy: every target allowed, default limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllowAll;

impl DataPolicy for AllowAll {}

/// A table-driven policy: each client domain (keyed by cdid when present, else by cuid) owns a
/// list of prefixes and of DNS suffixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticPolicy {
    /// Prefixes each domain may name (a target must lie within one of them).
    pub prefixes: BTreeMap<String, Vec<IpNet>>,
    /// DNS suffixes each domain may name in `target-fqdn` and in the host of `target-uri`.
    pub dns_suffixes: BTreeMap<String, Vec<String>>,
    /// Limits for every client.
    pub limits: Limits,
    /// Whether clients without an entry may register.
    pub allow_unknown_clients: bool,
}

impl StaticPolicy {
    fn key<'a>(client: &ClientRef<'a>) -> &'a str {
        client.cdid.unwrap_or(client.cuid)
    }

    fn name_allowed(&self, client: ClientRef<'_>, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.dns_suffixes
            .get(StaticPolicy::key(&client))
            .is_some_and(|suffixes| {
                suffixes.iter().any(|s| {
                    let s = s.trim_end_matches('.').to_ascii_lowercase();
                    name == s || name.ends_with(&alloc::format!(".{s}"))
                })
            })
    }
}

impl DataPolicy for StaticPolicy {
    fn may_register(&self, client: ClientRef<'_>) -> bool {
        let key = StaticPolicy::key(&client);
        self.allow_unknown_clients
            || self.prefixes.contains_key(key)
            || self.dns_suffixes.contains_key(key)
    }

    fn prefix_allowed(&self, client: ClientRef<'_>, prefix: &IpNet) -> bool {
        self.prefixes
            .get(StaticPolicy::key(&client))
            .is_some_and(|own| own.iter().any(|p| p.contains(prefix)))
    }

    fn fqdn_allowed(&self, client: ClientRef<'_>, fqdn: &str) -> bool {
        self.name_allowed(client, fqdn)
    }

    fn uri_allowed(&self, client: ClientRef<'_>, uri: &str) -> bool {
        let Some(host) = uri_host(uri) else {
            return false;
        };
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(addr) = literal.parse::<core::net::IpAddr>() {
            return self.prefix_allowed(client, &IpNet::from(addr));
        }
        self.name_allowed(client, host)
    }

    fn limits(&self, _client: ClientRef<'_>) -> Limits {
        self.limits
    }
}

/// The host of a URI's authority (`scheme://[userinfo@]host[:port]/...`).
fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(hostport.split(':').next().unwrap_or(hostport))
}
