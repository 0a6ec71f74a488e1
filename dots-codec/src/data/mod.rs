//! The DOTS data channel model (RFC 8783) and its RFC 7951 JSON encoding.
//!
//! The data channel is RESTCONF (RFC 8040) with JSON bodies. This module holds the data nodes of
//! the `ietf-dots-data-channel` YANG module — DOTS clients, aliases, filtering rules (the DOTS
//! profile of RFC 8519 ACLs), capabilities — and the `ietf-restconf:errors` body, with serde
//! implementations that follow RFC 7951:
//!
//! - top-level members are module-qualified (`"ietf-dots-data-channel:aliases"`), nested ones are
//!   not; every struct rejects unknown members (strict parsing);
//! - 8/16/32-bit integers are JSON numbers, 64-bit counters and `decimal64` are strings,
//!   `bits` are space-separated names, `binary` is base64;
//! - identities of `ietf-access-control-list` are written module-qualified
//!   (`"ietf-access-control-list:drop"`, RFC 7951 Section 6.8); the unqualified form printed in
//!   RFC 8783's examples is accepted on input.
//!
//! Parsing checks JSON types and the YANG `choice` cases; the remaining YANG constraints (ranges,
//! `must`, `when`, unique keys) are checked by the `validate` methods, which report a
//! [`SchemaError`]. DOTS-specific rules (targets, capabilities, activation) belong to the server
//! in `dots-proto`.
//!
//! ```
//! use dots_codec::data::{DataBody, ForwardingAction};
//!
//! let body = br#"{"ietf-dots-data-channel:acls": {"acl": [{
//!     "name": "sample-ipv4-acl", "type": "ipv4-acl-type",
//!     "aces": {"ace": [{"name": "rule1",
//!         "matches": {"ipv4": {"destination-ipv4-network": "198.51.100.0/24"}},
//!         "actions": {"forwarding": "drop"}}]}}]}}"#;
//! let DataBody::Acls(acls) = DataBody::from_json(body).unwrap() else { unreachable!() };
//! let ace = &acls.acl[0].ace_list()[0];
//! assert_eq!(ace.actions.unwrap().forwarding, ForwardingAction::Drop);
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

mod acl;
mod alias;
mod body;
mod capabilities;
mod mapping;
mod matches;
mod restconf;
mod types;

#[cfg(test)]
mod tests;

pub use acl::{Ace, Aces, Acl, Acls, Actions, Statistics, MAX_ACL_NAME_LEN};
pub use alias::{Alias, Aliases};
pub use body::{DataBody, DotsClient, DotsData};
pub use capabilities::{
    Capabilities, IcmpCapabilities, Ipv4Capabilities, Ipv6Capabilities, TcpCapabilities,
    UdpCapabilities,
};
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};
pub use mapping::{AttackMapping, Vendor, VendorMapping, VendorMappingBody, MAPPING_MODULE};
pub use matches::{
    FlagsBitmask, Fragment, IcmpMatch, Ipv4Match, Ipv6Match, L3Match, L4Match, Matches, PortMatch,
    TcpMatch, UdpMatch,
};
pub use restconf::{ErrorTag, ErrorType, RestconfError, RestconfErrors};
pub use types::{
    is_domain_name, is_uri, AclType, ActivationType, AddressFamily, Binary, BitmaskOperator,
    Decimal2, ForwardingAction, FragmentType, Ipv4Flags, PortOperator, PortRange, SchemaError,
    SchemaErrorKind, TcpFlags, ACL_MODULE,
};

/// Name of the YANG module (RFC 8783 Section 4.3), the prefix of top-level JSON members.
pub const MODULE: &str = "ietf-dots-data-channel";

/// The RESTCONF media type for JSON bodies (RFC 8040 Section 11.3).
pub const MEDIA_TYPE: &str = "application/yang-data+json";

/// Why a JSON body could not be decoded; [`DecodeError::kind`] selects the RESTCONF
/// `error-tag` a server answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct DecodeError {
    /// The class of error.
    pub kind: DecodeErrorKind,
    /// The parser's message (with line and column for JSON errors).
    pub message: String,
}

/// The class of a [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not JSON, truncated, or a member repeated (`malformed-message`).
    Malformed,
    /// A member the schema does not define (`unknown-element`).
    UnknownMember,
    /// A mandatory member is absent (`missing-attribute`).
    MissingMember,
    /// A value of the wrong type or outside its type (`invalid-value`).
    InvalidValue,
}

impl DecodeErrorKind {
    /// The RESTCONF `error-tag` for this class.
    #[must_use]
    pub const fn error_tag(self) -> ErrorTag {
        match self {
            DecodeErrorKind::Malformed => ErrorTag::MalformedMessage,
            DecodeErrorKind::UnknownMember => ErrorTag::UnknownElement,
            DecodeErrorKind::MissingMember => ErrorTag::MissingAttribute,
            DecodeErrorKind::InvalidValue => ErrorTag::InvalidValue,
        }
    }
}

impl DecodeError {
    pub(crate) fn invalid(message: &str) -> DecodeError {
        DecodeError {
            kind: DecodeErrorKind::InvalidValue,
            message: message.to_string(),
        }
    }

    fn from_serde(e: &serde_json::Error) -> DecodeError {
        use serde_json::error::Category;
        let message = e.to_string();
        let kind = match e.classify() {
            Category::Io | Category::Syntax | Category::Eof => DecodeErrorKind::Malformed,
            Category::Data => {
                // serde's derive reports these classes with fixed message prefixes; the
                // conversions in this module use the same prefixes.
                if message.starts_with("unknown field") {
                    DecodeErrorKind::UnknownMember
                } else if message.starts_with("missing field") {
                    DecodeErrorKind::MissingMember
                } else if message.starts_with("duplicate field") {
                    DecodeErrorKind::Malformed
                } else {
                    DecodeErrorKind::InvalidValue
                }
            }
        };
        DecodeError { kind, message }
    }
}

/// Parses a JSON body into `T`, classifying errors.
pub fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|e| DecodeError::from_serde(&e))
}

/// Serializes `value` to JSON text.
///
/// Every type of this module serializes infallibly (string keys, no non-finite floats).
#[must_use]
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error_tag().as_str())
    }
}
