//! Filtering rules (RFC 8783 Section 7): the DOTS profile of RFC 8519 access control lists.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::alias::has_duplicate;
use super::matches::Matches;
use super::types::{
    char_len, key_path, u64_string, AclType, ActivationType, Decimal2, ForwardingAction,
    SchemaError,
};

/// Longest ACL and ACE name (YANG `length "1..64"`).
pub const MAX_ACL_NAME_LEN: usize = 64;

/// One `acl` list entry: an ordered list of ACEs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Acl {
    /// ACL name (the list key, 1 to 64 characters; mandatory).
    pub name: String,
    /// Primary intended type of match criteria.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub acl_type: Option<AclType>,
    /// When the ACL is enforced (`activate-when-mitigating` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_type: Option<ActivationType>,
    /// Remaining lifetime in minutes (read-only, set by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_lifetime: Option<i32>,
    /// The entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aces: Option<Aces>,
}

impl Acl {
    /// An ACL with a name and entries, other leaves absent.
    #[must_use]
    pub fn new(name: impl Into<String>, aces: Vec<Ace>) -> Acl {
        Acl {
            name: name.into(),
            aces: Some(Aces { ace: aces }),
            ..Acl::default()
        }
    }

    /// The activation type in force: the configured one, or the default
    /// `activate-when-mitigating` (RFC 8783 Section 7.2).
    #[must_use]
    pub fn effective_activation_type(&self) -> ActivationType {
        self.activation_type.unwrap_or_default()
    }

    /// The entries (empty when `aces` is absent).
    #[must_use]
    pub fn ace_list(&self) -> &[Ace] {
        self.aces.as_ref().map_or(&[][..], |a| a.ace.as_slice())
    }

    /// Checks the YANG constraints: name lengths, unique ACE names, the `when` conditions of the
    /// `ipv4`/`ipv6` matches against `type` (an absent type allows both) and of `rate-limit`,
    /// and every match range. Errors carry a path relative to the ACL entry.
    pub fn validate(&self) -> Result<(), SchemaError> {
        let me = key_path("acl", &self.name);
        if !(1..=MAX_ACL_NAME_LEN).contains(&char_len(&self.name)) {
            return Err(
                SchemaError::invalid("name", "ACL names are 1 to 64 characters").within(&me),
            );
        }
        let names: Vec<&str> = self.ace_list().iter().map(|a| a.name.as_str()).collect();
        if has_duplicate(&names) {
            return Err(SchemaError::invalid("aces/ace", "duplicate ACE name").within(&me));
        }
        for ace in self.ace_list() {
            ace.validate(self.acl_type)
                .map_err(|e| e.within(&key_path("aces/ace", &ace.name)))
                .map_err(|e| e.within(&me))?;
        }
        Ok(())
    }
}

/// The `acls` container of a DOTS client (also a request/response body member).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acls {
    /// The ACLs, in user order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<Acl>,
}

/// The `aces` container of an ACL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aces {
    /// The entries, in user order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ace: Vec<Ace>,
}

/// One access control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ace {
    /// ACE name (the list key, 1 to 64 characters; mandatory).
    pub name: String,
    /// Match criteria (every packet matches when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Matches>,
    /// Actions (mandatory in configuration; absent in `content=nonconfig` views).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Actions>,
    /// Counters (read-only, filled by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
}

impl Ace {
    /// An entry with matches and actions.
    #[must_use]
    pub fn new(name: impl Into<String>, matches: Matches, actions: Actions) -> Ace {
        Ace {
            name: name.into(),
            matches: Some(matches),
            actions: Some(actions),
            statistics: None,
        }
    }

    /// Checks the entry against the YANG module (see [`Acl::validate`]). `acl_type` is the
    /// enclosing ACL's type.
    pub fn validate(&self, acl_type: Option<AclType>) -> Result<(), SchemaError> {
        if !(1..=MAX_ACL_NAME_LEN).contains(&char_len(&self.name)) {
            return Err(SchemaError::invalid(
                "name",
                "ACE names are 1 to 64 characters",
            ));
        }
        if let Some(m) = &self.matches {
            if let Some(t) = acl_type {
                if m.ipv4().is_some() && !t.allows_ipv4() {
                    return Err(SchemaError::invalid(
                        "matches/ipv4",
                        "an ipv4 match needs an ACL type derived from ipv4-acl-type",
                    ));
                }
                if m.ipv6().is_some() && !t.allows_ipv6() {
                    return Err(SchemaError::invalid(
                        "matches/ipv6",
                        "an ipv6 match needs an ACL type derived from ipv6-acl-type",
                    ));
                }
            }
            m.validate().map_err(|e| e.within("matches"))?;
        }
        if let Some(a) = &self.actions {
            if a.rate_limit.is_some() && a.forwarding != ForwardingAction::Accept {
                return Err(SchemaError::invalid(
                    "actions/rate-limit",
                    "rate-limit is valid only with the accept action",
                ));
            }
        }
        Ok(())
    }
}

/// The `actions` of an ACE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Actions {
    /// What to do with matching packets (mandatory).
    pub forwarding: ForwardingAction,
    /// Rate limit in bytes per second, only with `accept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Decimal2>,
}

impl Actions {
    /// Just a forwarding action.
    #[must_use]
    pub const fn forwarding(forwarding: ForwardingAction) -> Actions {
        Actions {
            forwarding,
            rate_limit: None,
        }
    }
}

/// `acl-counters` of an ACE (RFC 8519): 64-bit counters written as JSON strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Statistics {
    /// Packets that matched the entry.
    #[serde(default, with = "u64_string", skip_serializing_if = "Option::is_none")]
    pub matched_packets: Option<u64>,
    /// Octets that matched the entry.
    #[serde(default, with = "u64_string", skip_serializing_if = "Option::is_none")]
    pub matched_octets: Option<u64>,
}
