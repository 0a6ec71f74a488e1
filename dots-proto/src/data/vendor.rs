//! Vendor attack mappings over the data channel (RFC 9244 Section 8.1.6, module
//! `ietf-dots-mapping`): the tables a client installs under its `dots-client` entry, and the
//! server's own tables under `dots-data`.
//!
//! The nodes exist only when the server announces `vendor-mapping-enabled` in its capabilities
//! (the module's `dots-telemetry` feature); otherwise their paths are unknown (404) and their
//! members in bodies are unknown elements (400).
//!
//! Unlike aliases and filtering rules, the tables have no lifetime: they stay until the client
//! deletes them or de-registers.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use dots_codec::data::{DataBody, ErrorTag, Vendor, VendorMapping};

use super::error::Failure;
use super::handlers::client_path;
use super::http::{encode_key, Response};
use super::policy::DataPolicy;
use super::server::{DataServer, PeerIdentity};
use super::state::ClientState;
use super::target::{Content, DOTS_DATA};

/// The member name of the augment under `dots-client` and `dots-data`.
pub(crate) const MEMBER: &str = "ietf-dots-mapping:vendor-mapping";

fn not_found(vendor_id: u32) -> Failure {
    Failure::not_found(format!(
        "no vendor attack mapping for vendor-id {vendor_id}"
    ))
}

fn none_installed() -> Failure {
    Failure::not_found("no vendor attack mapping is installed")
}

/// The instance path of a client's `vendor-mapping` container.
fn base(cuid: &str) -> String {
    format!("{}/{MEMBER}", client_path(cuid))
}

impl<P: DataPolicy> DataServer<P> {
    /// Whether the `ietf-dots-mapping` nodes exist (RFC 9244 `vendor-mapping-enabled`).
    pub(crate) fn vendor_mapping_enabled(&self) -> bool {
        self.config.capabilities.vendor_mapping_enabled == Some(true)
    }

    /// Refuses a vendor mapping in a body when the feature is off (the member is unknown).
    pub(crate) fn check_vendor_feature(&self, present: bool) -> Result<(), Failure> {
        if present && !self.vendor_mapping_enabled() {
            return Err(Failure::bad(
                ErrorTag::UnknownElement,
                format!("'{MEMBER}' is not supported by this server"),
            ));
        }
        Ok(())
    }

    /// Checks a complete set of tables for a client: quotas first, then keys and schema.
    pub(crate) fn check_vendor_set(&self, cuid: &str, vendors: &[Vendor]) -> Result<(), Failure> {
        self.check_vendor_feature(!vendors.is_empty())?;
        if vendors.len() > self.config.max_vendors {
            return Err(Failure::conflict(
                "too many vendor attack mappings for this DOTS client",
            ));
        }
        let attacks: usize = vendors.iter().map(|v| v.attack_mapping.len()).sum();
        if attacks > self.config.max_attack_mappings {
            return Err(Failure::conflict(
                "too many attack-mapping entries for this DOTS client",
            ));
        }
        let mapping = VendorMapping {
            vendor: vendors.to_vec(),
        };
        mapping
            .validate()
            .map_err(|e| Failure::from_schema(&e, &base(cuid)))
    }

    // ---- GET ------------------------------------------------------------------------------

    /// The server's tables (read-only), or one of them.
    pub(crate) fn get_server_vendors(&self, vendor_id: Option<u32>) -> Result<DataBody, Failure> {
        let all = &self.config.vendor_mapping;
        let vendor = match vendor_id {
            None if all.vendor.is_empty() => return Err(none_installed()),
            None => all.vendor.clone(),
            Some(id) => Vec::from([all.vendor(id).cloned().ok_or_else(|| not_found(id))?]),
        };
        Ok(DataBody::VendorMapping(VendorMapping { vendor }))
    }

    /// A client's tables, or one of them (inside the container, as aliases are returned).
    pub(crate) fn get_client_vendors(
        &self,
        c: &ClientState,
        vendor_id: Option<u32>,
        content: Content,
    ) -> Result<DataBody, Failure> {
        let vendor = match vendor_id {
            None if c.vendors.is_empty() => return Err(none_installed()),
            None => c.vendors.clone(),
            Some(id) => Vec::from([find(c, id)?.clone()]),
        };
        // Every node of the tables is configuration: nothing is left for content=nonconfig.
        let vendor = if content == Content::Nonconfig {
            Vec::new()
        } else {
            vendor
        };
        Ok(DataBody::VendorMapping(VendorMapping { vendor }))
    }

    // ---- edits ---------------------------------------------------------------------------

    /// POST: adds tables; an existing `vendor-id` is a conflict (RFC 8040 Section 4.4.1).
    pub(crate) fn create_vendors(
        &mut self,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        new: Vec<Vendor>,
    ) -> Result<Response, Failure> {
        self.check_vendor_feature(true)?;
        let c = self.owned_client(peer, cuid)?;
        let Some(first) = new.first().map(|v| v.vendor_id) else {
            return Err(Failure::missing("no vendor in the request"));
        };
        if let Some(dup) = new.iter().find(|v| index(c, v.vendor_id).is_some()) {
            return Err(Failure::conflict(format!(
                "a vendor attack mapping for vendor-id {} already exists",
                dup.vendor_id
            )));
        }
        let mut all = c.vendors.clone();
        all.extend(new);
        self.check_vendor_set(cuid, &all)?;
        self.commit_vendors(cuid, all);
        let mut r = Response::status(201);
        r.location = Some(self.vendor_location(cuid, first));
        Ok(r)
    }

    /// PUT of the container: replaces every table. Returns whether it was created.
    pub(crate) fn put_vendors(
        &mut self,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        vendors: Vec<Vendor>,
    ) -> Result<bool, Failure> {
        self.check_vendor_feature(true)?;
        let c = self.owned_client(peer, cuid)?;
        let created = c.vendors.is_empty() && !vendors.is_empty();
        self.check_vendor_set(cuid, &vendors)?;
        self.commit_vendors(cuid, vendors);
        Ok(created)
    }

    /// PUT of one table. Returns whether it was created.
    pub(crate) fn put_vendor(
        &mut self,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        vendor_id: u32,
        vendor: Vendor,
    ) -> Result<bool, Failure> {
        self.check_vendor_feature(true)?;
        if vendor.vendor_id != vendor_id {
            // RFC 8040 Section 4.5: the key in the body must equal the key in the URI.
            return Err(Failure::invalid(
                "the list key in the body differs from the one in the request URI",
            ));
        }
        let c = self.owned_client(peer, cuid)?;
        let mut all = c.vendors.clone();
        let created = match index(c, vendor_id).and_then(|i| all.get_mut(i)) {
            Some(slot) => {
                *slot = vendor;
                false
            }
            None => {
                all.push(vendor);
                true
            }
        };
        self.check_vendor_set(cuid, &all)?;
        self.commit_vendors(cuid, all);
        Ok(created)
    }

    /// DELETE of the container (`None`) or of one table.
    pub(crate) fn delete_vendors(
        &mut self,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        vendor_id: Option<u32>,
    ) -> Result<(), Failure> {
        let c = self.owned_client(peer, cuid)?;
        let mut all = c.vendors.clone();
        match vendor_id {
            None if all.is_empty() => return Err(none_installed()),
            None => all.clear(),
            Some(id) => {
                let i = index(c, id).ok_or_else(|| not_found(id))?;
                all.remove(i);
            }
        }
        self.commit_vendors(cuid, all);
        Ok(())
    }

    pub(crate) fn commit_vendors(&mut self, cuid: &str, vendors: Vec<Vendor>) {
        if let Some(c) = self.clients.get_mut(cuid) {
            c.vendors = vendors;
        }
    }

    fn vendor_location(&self, cuid: &str, vendor_id: u32) -> String {
        format!(
            "{}/data{DOTS_DATA}/dots-client={}/{MEMBER}/vendor={vendor_id}",
            self.config.restconf_root,
            encode_key(cuid)
        )
    }

    // ---- host API --------------------------------------------------------------------------

    /// The vendor attack mappings a client installed (RFC 9244 Section 8.1.6), to read the
    /// `attack-description` of the `vendor-id`/`attack-id` pairs in its telemetry.
    #[must_use]
    pub fn vendor_mapping(&self, cuid: &str) -> Option<VendorMapping> {
        let c = self.clients.get(cuid)?;
        Some(VendorMapping {
            vendor: c.vendors.clone(),
        })
    }

    /// The description of an attack in the tables a client installed.
    #[must_use]
    pub fn attack_description(&self, cuid: &str, vendor_id: u32, attack_id: u32) -> Option<&str> {
        let c = self.clients.get(cuid)?;
        c.vendors
            .iter()
            .find(|v| v.vendor_id == vendor_id)?
            .description(attack_id)
    }
}

fn index(c: &ClientState, vendor_id: u32) -> Option<usize> {
    c.vendors.iter().position(|v| v.vendor_id == vendor_id)
}

fn find(c: &ClientState, vendor_id: u32) -> Result<&Vendor, Failure> {
    c.vendors
        .iter()
        .find(|v| v.vendor_id == vendor_id)
        .ok_or_else(|| not_found(vendor_id))
}
