//! Vendor attack mappings (RFC 9244 Section 8.1.6, module `ietf-dots-mapping`): tables from
//! `{vendor-id, attack-id}` to an attack description, which DOTS agents share over the data
//! channel so that telemetry on the signal channel can omit the descriptions.
//!
//! The module augments `dots-data/dots-client` (the client's tables, read-write), `dots-data`
//! (the server's tables, read-only) and `capabilities` (`vendor-mapping-enabled`). Its nodes
//! are qualified with [`MAPPING_MODULE`] where they sit under a node of
//! `ietf-dots-data-channel` (RFC 7951 Section 4).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::alias::has_duplicate;
use super::types::{key_path, SchemaError};
pub use crate::model::telemetry::is_language_tag;

/// Name of the YANG module of vendor attack mappings (RFC 9244 Section 11.2).
pub const MAPPING_MODULE: &str = "ietf-dots-mapping";

/// The `vendor-mapping` container: one table per vendor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorMapping {
    /// The tables, keyed by `vendor-id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor: Vec<Vendor>,
}

/// One `vendor` list entry: a vendor's attack table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Vendor {
    /// The vendor's IANA Private Enterprise Number (the list key; mandatory).
    pub vendor_id: u32,
    /// The vendor's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// The RFC 5646 language tag of the descriptions (YANG default `en-US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_lang: Option<String>,
    /// When the table was last updated, in seconds since 1970-01-01T00:00:00Z (mandatory;
    /// a YANG `uint64`, hence a JSON string).
    #[serde(with = "u64_required")]
    pub last_updated: u64,
    /// The attacks, keyed by `attack-id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack_mapping: Vec<AttackMapping>,
}

/// One `attack-mapping` list entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AttackMapping {
    /// The vendor's identifier of the attack (the list key; mandatory).
    pub attack_id: u32,
    /// Textual description of the attack (mandatory).
    pub attack_description: String,
}

impl Vendor {
    /// A table with no attacks yet.
    #[must_use]
    pub fn new(vendor_id: u32, last_updated: u64) -> Vendor {
        Vendor {
            vendor_id,
            vendor_name: None,
            description_lang: None,
            last_updated,
            attack_mapping: Vec::new(),
        }
    }

    /// The language of the descriptions, with the YANG default.
    #[must_use]
    pub fn language(&self) -> &str {
        self.description_lang.as_deref().unwrap_or("en-US")
    }

    /// The description of an attack.
    #[must_use]
    pub fn description(&self, attack_id: u32) -> Option<&str> {
        self.attack_mapping
            .iter()
            .find(|a| a.attack_id == attack_id)
            .map(|a| a.attack_description.as_str())
    }

    /// Checks the YANG constraints: unique `attack-id` keys, a well-formed `description-lang`.
    /// Errors carry a path relative to the vendor entry's parent.
    pub fn validate(&self) -> Result<(), SchemaError> {
        let me = key_path("vendor", &self.vendor_id.to_string());
        let ids: Vec<u32> = self.attack_mapping.iter().map(|a| a.attack_id).collect();
        if has_duplicate(&ids) {
            return Err(
                SchemaError::invalid("attack-mapping", "duplicate attack-id key").within(&me),
            );
        }
        if let Some(lang) = &self.description_lang {
            if !is_language_tag(lang) {
                return Err(SchemaError::invalid(
                    "description-lang",
                    alloc::format!("'{lang}' is not an RFC 5646 language tag"),
                )
                .within(&me));
            }
        }
        Ok(())
    }
}

impl VendorMapping {
    /// The table of a vendor.
    #[must_use]
    pub fn vendor(&self, vendor_id: u32) -> Option<&Vendor> {
        self.vendor.iter().find(|v| v.vendor_id == vendor_id)
    }

    /// The description of an attack of a vendor.
    #[must_use]
    pub fn description(&self, vendor_id: u32, attack_id: u32) -> Option<&str> {
        self.vendor(vendor_id)?.description(attack_id)
    }

    /// The number of attack entries over all vendors.
    #[must_use]
    pub fn attack_count(&self) -> usize {
        self.vendor.iter().map(|v| v.attack_mapping.len()).sum()
    }

    /// Checks every entry (see [`Vendor::validate`]) and the uniqueness of `vendor-id`.
    pub fn validate(&self) -> Result<(), SchemaError> {
        let ids: Vec<u32> = self.vendor.iter().map(|v| v.vendor_id).collect();
        if has_duplicate(&ids) {
            return Err(SchemaError::invalid("vendor", "duplicate vendor-id key"));
        }
        self.vendor.iter().try_for_each(Vendor::validate)
    }
}

/// serde for a mandatory YANG `uint64` (a JSON string, RFC 7951 Section 6.1).
mod u64_required {
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

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use serde_json::{json, Value};

    use super::*;
    use crate::data::{Capabilities, DataBody, DecodeErrorKind, DotsClient};

    fn parse(v: &Value) -> Result<DataBody, crate::data::DecodeError> {
        DataBody::from_json(v.to_string().as_bytes())
    }

    /// RFC 9244 Figure 30 (POST to install vendor attack mapping details).
    fn figure30() -> Value {
        json!({"ietf-dots-mapping:vendor-mapping": {"vendor": [{
        "vendor-id": 345, "vendor-name": "mitigator-c", "last-updated": "1629898958",
        "attack-mapping": [
            {"attack-id": 1, "attack-description": "Include a description of this attack"},
            {"attack-id": 2, "attack-description": "Again, include a description of the attack"}
        ]}]}})
    }

    #[test]
    fn rfc9244_figure30_decodes_and_round_trips() {
        let DataBody::VendorMapping(m) = parse(&figure30()).unwrap() else {
            panic!("not a vendor-mapping body");
        };
        assert_eq!(m.vendor.len(), 1);
        let v = &m.vendor[0];
        assert_eq!(v.vendor_id, 345);
        assert_eq!(v.vendor_name.as_deref(), Some("mitigator-c"));
        assert_eq!(v.last_updated, 1_629_898_958);
        assert_eq!(v.language(), "en-US");
        assert_eq!(
            m.description(345, 2),
            Some("Again, include a description of the attack")
        );
        assert_eq!(m.description(345, 3), None);
        assert_eq!(m.description(346, 1), None);
        assert_eq!(m.attack_count(), 2);
        m.validate().unwrap();
        let body = DataBody::VendorMapping(m);
        let out: Value = serde_json::from_slice(&body.to_json()).unwrap();
        assert_eq!(out, figure30());
    }

    /// RFC 9244 Figure 34: the server's vendors only (`attack-mapping` printed empty).
    #[test]
    fn rfc9244_figure34_decodes() {
        let v = json!({"ietf-dots-mapping:vendor-mapping": {"vendor": [{
            "vendor-id": 32473, "vendor-name": "mitigator-s", "last-updated": "1629898758",
            "attack-mapping": []}]}});
        let DataBody::VendorMapping(m) = parse(&v).unwrap() else {
            panic!("not a vendor-mapping body");
        };
        assert_eq!(m.vendor[0].vendor_id, 32473);
        assert!(m.vendor[0].attack_mapping.is_empty());
    }

    #[test]
    fn augments_are_module_qualified() {
        let mut client = DotsClient::new("c");
        client.vendor_mapping = Some(VendorMapping {
            vendor: vec![Vendor::new(7, 0)],
        });
        let text = DataBody::DotsClient(vec![client.clone()]).to_json();
        let v: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            v["ietf-dots-data-channel:dots-client"][0]["ietf-dots-mapping:vendor-mapping"]
                ["vendor"][0]["last-updated"],
            json!("0")
        );
        assert_eq!(
            DataBody::from_json(&text).unwrap(),
            DataBody::DotsClient(vec![client])
        );
        // Unqualified, the augment is an unknown member of dots-client.
        let bad = json!({"ietf-dots-data-channel:dots-client": [{"cuid": "c",
            "vendor-mapping": {}}]});
        assert_eq!(
            parse(&bad).unwrap_err().kind,
            DecodeErrorKind::UnknownMember
        );

        let caps: Value =
            serde_json::from_slice(&DataBody::Capabilities(Capabilities::all()).to_json()).unwrap();
        assert_eq!(
            caps["ietf-dots-data-channel:capabilities"]["ietf-dots-mapping:vendor-mapping-enabled"],
            json!(true)
        );
        assert_eq!(
            Capabilities::rfc8783_mandatory().vendor_mapping_enabled,
            None
        );
    }

    #[test]
    fn decode_errors() {
        use DecodeErrorKind::*;
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = figure30();
            f(&mut v["ietf-dots-mapping:vendor-mapping"]["vendor"][0]);
            parse(&v).map(|_| ()).map_err(|e| e.kind)
        };
        // RFC 9244 Section 8.1.6: 'last-updated' is mandatory (missing-attribute).
        let missing = with(&|v| {
            v.as_object_mut().unwrap().remove("last-updated");
        });
        assert_eq!(missing, Err(MissingMember));
        assert_eq!(
            with(&|v| v["attack-mapping"][0].as_object_mut().unwrap().clear()),
            Err(MissingMember)
        );
        assert_eq!(
            with(&|v| v["last-updated"] = json!(1629898958)),
            Err(InvalidValue)
        );
        assert_eq!(
            with(&|v| v["last-updated"] = json!("01")),
            Err(InvalidValue)
        );
        assert_eq!(
            with(&|v| v["last-updated"] = json!("18446744073709551616")),
            Err(InvalidValue)
        );
        assert_eq!(with(&|v| v["vendor-id"] = json!(-1)), Err(InvalidValue));
        assert_eq!(
            with(&|v| v["vendor-id"] = json!(4294967296_u64)),
            Err(InvalidValue)
        );
        assert_eq!(with(&|v| v["colour"] = json!("red")), Err(UnknownMember));
        assert_eq!(
            with(&|v| v["last-updated"] = json!("18446744073709551615")),
            Ok(())
        );
    }

    #[test]
    fn schema_constraints() {
        let mut m = VendorMapping {
            vendor: vec![Vendor::new(1, 5), Vendor::new(2, 5)],
        };
        m.validate().unwrap();
        m.vendor[1].vendor_id = 1;
        assert_eq!(m.validate().unwrap_err().path, "vendor");
        m.vendor[1].vendor_id = 2;
        let attack = |id: u32| AttackMapping {
            attack_id: id,
            attack_description: "d".to_string(),
        };
        m.vendor[1].attack_mapping = vec![attack(1), attack(1)];
        assert_eq!(m.validate().unwrap_err().path, "vendor=2/attack-mapping");
        m.vendor[1].attack_mapping = vec![attack(1), attack(2)];
        m.vendor[1].description_lang = Some("en_US".to_string());
        assert_eq!(m.validate().unwrap_err().path, "vendor=2/description-lang");
        m.vendor[1].description_lang = Some("de-CH-1901".to_string());
        m.validate().unwrap();
    }
}
