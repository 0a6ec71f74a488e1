//! RFC 9244 vendor attack mapping (`ietf-dots-mapping`, Sections 8.1.6 and 11.2): which attack
//! each `{vendor-id, attack-id}` of a telemetry `attack-detail` stands for, exchanged over the
//! data channel so that signal-channel messages can leave `attack-description` out.
//!
//! The module augments `dots-client` (a client's mappings, read-write) and `dots-data` (the
//! server's, read-only) with the same `vendor-mapping` container; its JSON member is
//! module-qualified: `"ietf-dots-mapping:vendor-mapping"`.
//!
//! ```
//! use dots_codec::data::VendorMappingBody;
//!
//! // RFC 9244 Figure 34.
//! let body = br#"{"ietf-dots-mapping:vendor-mapping": {"vendor": [{"vendor-id": 32473,
//!     "vendor-name": "mitigator-s", "last-updated": "1629898758", "attack-mapping": []}]}}"#;
//! let m = VendorMappingBody::from_json(body).unwrap();
//! m.vendor_mapping.validate().unwrap();
//! assert_eq!(m.vendor_mapping.vendor[0].last_updated, 1_629_898_758);
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::types::{key_path, SchemaError};
use super::DecodeError;

/// Name of the YANG module, the prefix of its JSON members.
pub const MAPPING_MODULE: &str = "ietf-dots-mapping";

/// The `vendor-mapping` container.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorMapping {
    /// The vendors (list keyed by `vendor-id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor: Vec<Vendor>,
}

/// One `vendor` entry: a vendor's attack identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Vendor {
    /// `vendor-id` (the list key; the vendor's IANA Private Enterprise Number).
    pub vendor_id: u32,
    /// `vendor-name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// `description-lang`: the language of the descriptions (RFC 5646; default `en-US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_lang: Option<String>,
    /// `last-updated` (mandatory): seconds since the epoch of the last change.
    #[serde(with = "u64_text")]
    pub last_updated: u64,
    /// `attack-mapping` (keyed by `attack-id`). Always written, as an empty array when there is
    /// none (RFC 9244 Figure 34 shows a `depth=3` response that way).
    #[serde(default)]
    pub attack_mapping: Vec<AttackMapping>,
}

/// One `attack-mapping` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AttackMapping {
    /// `attack-id` (the list key).
    pub attack_id: u32,
    /// `attack-description` (mandatory).
    pub attack_description: String,
}

impl VendorMapping {
    /// Checks the YANG constraints parsing does not: unique `vendor-id` and `attack-id` keys,
    /// and the `description-lang` language-tag pattern (RFC 5646, checked loosely: subtags of 1
    /// to 8 letters or digits).
    pub fn validate(&self) -> Result<(), SchemaError> {
        for (i, v) in self.vendor.iter().enumerate() {
            let me = key_path("vendor", &v.vendor_id.to_string());
            if self.vendor[..i].iter().any(|o| o.vendor_id == v.vendor_id) {
                return Err(SchemaError::invalid(me, "duplicate vendor-id"));
            }
            if v.description_lang
                .as_deref()
                .is_some_and(|l| !crate::model::telemetry::is_language_tag(l))
            {
                return Err(SchemaError::invalid(
                    me + "/description-lang",
                    "not a language tag",
                ));
            }
            for (j, a) in v.attack_mapping.iter().enumerate() {
                if v.attack_mapping[..j]
                    .iter()
                    .any(|o| o.attack_id == a.attack_id)
                {
                    return Err(SchemaError::invalid(
                        me + "/" + &key_path("attack-mapping", &a.attack_id.to_string()),
                        "duplicate attack-id",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The description of `attack_id` of vendor `vendor_id`, if mapped.
    #[must_use]
    pub fn describe(&self, vendor_id: u32, attack_id: u32) -> Option<&str> {
        self.vendor
            .iter()
            .find(|v| v.vendor_id == vendor_id)?
            .attack_mapping
            .iter()
            .find(|a| a.attack_id == attack_id)
            .map(|a| a.attack_description.as_str())
    }
}

/// A request or response body holding the mapping:
/// `{"ietf-dots-mapping:vendor-mapping": {...}}` (RFC 9244 Figures 30 and 34).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorMappingBody {
    /// The mapping.
    #[serde(rename = "ietf-dots-mapping:vendor-mapping")]
    pub vendor_mapping: VendorMapping,
}

impl VendorMappingBody {
    /// Parses a body (strict RFC 7951: unknown members are errors; a missing mandatory member
    /// is [`DecodeErrorKind::MissingMember`](super::DecodeErrorKind::MissingMember), answered
    /// `400` with error-tag `missing-attribute`).
    pub fn from_json(body: &[u8]) -> Result<VendorMappingBody, DecodeError> {
        super::from_json(body)
    }

    /// The JSON text of the body.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        super::to_json(self)
    }
}

/// A mandatory YANG uint64 as a JSON string (RFC 7951 Section 6.1).
mod u64_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a uint64 as a decimal string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                if v.is_empty()
                    || !v.bytes().all(|b| b.is_ascii_digit())
                    || (v.len() > 1 && v.starts_with('0'))
                {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                v.parse::<u64>()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}
