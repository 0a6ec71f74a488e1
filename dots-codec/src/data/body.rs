//! Data-channel resources above the list entries: `dots-client`, `dots-data`, and the
//! module-qualified top-level members of request and response bodies.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::acl::{Ace, Aces, Acl, Acls};
use super::alias::{Alias, Aliases};
use super::capabilities::Capabilities;
use super::vendor::{Vendor, VendorMapping};
use super::DecodeError;

/// One `dots-client` list entry (RFC 8783 Section 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DotsClient {
    /// Client unique identifier (the list key; mandatory).
    pub cuid: String,
    /// Client domain identifier, inserted by a server-domain DOTS gateway only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdid: Option<String>,
    /// The client's aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Aliases>,
    /// The client's filtering rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acls: Option<Acls>,
    /// The client's vendor attack mappings (RFC 9244 Section 8.1.6).
    #[serde(
        default,
        rename = "ietf-dots-mapping:vendor-mapping",
        skip_serializing_if = "Option::is_none"
    )]
    pub vendor_mapping: Option<VendorMapping>,
}

impl DotsClient {
    /// A registration entry: just the cuid.
    #[must_use]
    pub fn new(cuid: impl Into<String>) -> DotsClient {
        DotsClient {
            cuid: cuid.into(),
            ..DotsClient::default()
        }
    }
}

/// The `dots-data` container.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DotsData {
    /// DOTS clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dots_client: Vec<DotsClient>,
    /// Server capabilities (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// The server's vendor attack mappings (read-only; RFC 9244 Section 8.1.6).
    #[serde(
        default,
        rename = "ietf-dots-mapping:vendor-mapping",
        skip_serializing_if = "Option::is_none"
    )]
    pub vendor_mapping: Option<VendorMapping>,
}

/// A data-channel request or response body: a JSON object with exactly one module-qualified
/// member (RFC 7951 Section 4), which names the data node it carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "BodyWire")]
pub enum DataBody {
    /// `ietf-dots-data-channel:dots-data`.
    DotsData(DotsData),
    /// `ietf-dots-data-channel:dots-client` (a list: registration bodies hold one entry).
    DotsClient(Vec<DotsClient>),
    /// `ietf-dots-data-channel:aliases`.
    Aliases(Aliases),
    /// `ietf-dots-data-channel:alias`.
    Alias(Vec<Alias>),
    /// `ietf-dots-data-channel:acls`.
    Acls(Acls),
    /// `ietf-dots-data-channel:acl`.
    Acl(Vec<Acl>),
    /// `ietf-dots-data-channel:aces`.
    Aces(Aces),
    /// `ietf-dots-data-channel:ace`.
    Ace(Vec<Ace>),
    /// `ietf-dots-data-channel:capabilities`.
    Capabilities(Capabilities),
    /// `ietf-dots-mapping:vendor-mapping` (RFC 9244 Section 8.1.6).
    VendorMapping(VendorMapping),
    /// `ietf-dots-mapping:vendor`.
    Vendor(Vec<Vendor>),
}

macro_rules! body_wire {
    ($( $field:ident : $ty:ty => $member:literal, $variant:ident ),+ $(,)?) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct BodyWire {
            $( #[serde(default, rename = $member)] $field: Option<$ty>, )+
        }

        #[derive(Serialize)]
        struct BodyRef<'a> {
            $(
                #[serde(rename = $member, skip_serializing_if = "Option::is_none")]
                $field: Option<&'a $ty>,
            )+
        }

        impl TryFrom<BodyWire> for DataBody {
            type Error = BodyShapeError;

            fn try_from(w: BodyWire) -> Result<DataBody, BodyShapeError> {
                let mut found: Option<DataBody> = None;
                $(
                    if let Some(v) = w.$field {
                        if found.is_some() {
                            return Err(BodyShapeError::TooMany);
                        }
                        found = Some(DataBody::$variant(v));
                    }
                )+
                found.ok_or(BodyShapeError::Empty)
            }
        }

        impl DataBody {
            /// The module-qualified member name of this body.
            #[must_use]
            pub const fn member(&self) -> &'static str {
                match self { $( DataBody::$variant(_) => $member, )+ }
            }
        }

        impl Serialize for DataBody {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut r = BodyRef { $( $field: None, )+ };
                match self { $( DataBody::$variant(v) => r.$field = Some(v), )+ }
                r.serialize(s)
            }
        }
    };
}

body_wire! {
    dots_data: DotsData => "ietf-dots-data-channel:dots-data", DotsData,
    dots_client: Vec<DotsClient> => "ietf-dots-data-channel:dots-client", DotsClient,
    aliases: Aliases => "ietf-dots-data-channel:aliases", Aliases,
    alias: Vec<Alias> => "ietf-dots-data-channel:alias", Alias,
    acls: Acls => "ietf-dots-data-channel:acls", Acls,
    acl: Vec<Acl> => "ietf-dots-data-channel:acl", Acl,
    aces: Aces => "ietf-dots-data-channel:aces", Aces,
    ace: Vec<Ace> => "ietf-dots-data-channel:ace", Ace,
    capabilities: Capabilities => "ietf-dots-data-channel:capabilities", Capabilities,
    vendor_mapping: VendorMapping => "ietf-dots-mapping:vendor-mapping", VendorMapping,
    vendor: Vec<Vendor> => "ietf-dots-mapping:vendor", Vendor,
}

/// Why a body object does not hold exactly one member.
#[derive(Debug)]
enum BodyShapeError {
    Empty,
    TooMany,
}

impl fmt::Display for BodyShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyShapeError::Empty => f.write_str("missing field `ietf-dots-data-channel:*`"),
            BodyShapeError::TooMany => {
                f.write_str("invalid value: a body holds exactly one top-level data node")
            }
        }
    }
}

impl DataBody {
    /// Parses a body (strict RFC 7951: unknown members are errors).
    pub fn from_json(body: &[u8]) -> Result<DataBody, DecodeError> {
        super::from_json(body)
    }

    /// The JSON text of the body.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        super::to_json(self)
    }
}
