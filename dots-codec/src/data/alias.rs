//! Aliases (RFC 8783 Section 6): named sets of targets a DOTS client refers to in mitigation
//! requests.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::types::{key_path, PortRange, SchemaError};

/// One `alias` list entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Alias {
    /// Alias name (the list key; mandatory).
    pub name: String,
    /// Target prefixes (no broadcast, loopback or multicast: checked by the server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_prefix: Vec<IpNet>,
    /// Target port ranges (list keyed by `lower-port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_port_range: Vec<PortRange>,
    /// Target protocol numbers (any protocol when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_protocol: Vec<u8>,
    /// Target FQDNs (`inet:domain-name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_fqdn: Vec<String>,
    /// Target URIs (`inet:uri`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_uri: Vec<String>,
    /// Remaining lifetime in minutes (read-only, set by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_lifetime: Option<i32>,
}

impl Alias {
    /// An alias with only a name; add targets with the public fields.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Alias {
        Alias {
            name: name.into(),
            ..Alias::default()
        }
    }

    /// Whether at least one of `target-prefix`, `target-fqdn` and `target-uri` is present, as
    /// RFC 8783 Section 6.1 requires in POST and PUT requests.
    #[must_use]
    pub fn has_target(&self) -> bool {
        !(self.target_prefix.is_empty()
            && self.target_fqdn.is_empty()
            && self.target_uri.is_empty())
    }

    /// The number of target entries of every kind.
    #[must_use]
    pub fn target_count(&self) -> usize {
        self.target_prefix.len()
            + self.target_port_range.len()
            + self.target_protocol.len()
            + self.target_fqdn.len()
            + self.target_uri.len()
    }

    /// Checks the YANG constraints: port range bounds, unique list keys and leaf-list values,
    /// domain-name syntax. Errors carry a path relative to the alias entry.
    pub fn validate(&self) -> Result<(), SchemaError> {
        let me = key_path("alias", &self.name);
        for r in &self.target_port_range {
            r.validate()
                .map_err(|e| e.within(&key_path("target-port-range", &r.lower_port.to_string())))
                .map_err(|e| e.within(&me))?;
        }
        let lowers: Vec<u16> = self
            .target_port_range
            .iter()
            .map(|r| r.lower_port)
            .collect();
        if has_duplicate(&lowers) {
            return Err(
                SchemaError::invalid("target-port-range", "duplicate lower-port key").within(&me),
            );
        }
        if has_duplicate(&self.target_prefix) {
            return Err(SchemaError::invalid("target-prefix", "duplicate prefix").within(&me));
        }
        if has_duplicate(&self.target_protocol) {
            return Err(SchemaError::invalid("target-protocol", "duplicate protocol").within(&me));
        }
        if has_duplicate(&self.target_fqdn) {
            return Err(SchemaError::invalid("target-fqdn", "duplicate FQDN").within(&me));
        }
        if has_duplicate(&self.target_uri) {
            return Err(SchemaError::invalid("target-uri", "duplicate URI").within(&me));
        }
        if let Some(bad) = self.target_fqdn.iter().find(|f| !super::is_domain_name(f)) {
            return Err(SchemaError::invalid(
                "target-fqdn",
                alloc::format!("'{bad}' is not a domain name"),
            )
            .within(&me));
        }
        if let Some(bad) = self.target_uri.iter().find(|u| !super::is_uri(u)) {
            return Err(
                SchemaError::invalid("target-uri", alloc::format!("'{bad}' is not a URI"))
                    .within(&me),
            );
        }
        Ok(())
    }
}

/// Whether a slice holds the same value twice (quadratic; lists are bounded by the server).
pub(crate) fn has_duplicate<T: PartialEq>(v: &[T]) -> bool {
    v.iter()
        .enumerate()
        .any(|(i, a)| v.get(..i).is_some_and(|head| head.contains(a)))
}

/// The `aliases` container of a DOTS client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aliases {
    /// The alias entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alias: Vec<Alias>,
}
