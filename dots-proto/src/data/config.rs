//! Configuration of the data-channel server.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use dots_codec::data::{Capabilities, VendorMapping};

/// The least lifetime of aliases and filtering rules (RFC 8783 Sections 6.1 and 7.2: "MUST
/// maintain ... for at least 10080 minutes (1 week)").
pub const MIN_LIFETIME: Duration = Duration::from_secs(10080 * 60);

/// Configuration of a [`DataServer`](super::DataServer).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataServerConfig {
    /// The RESTCONF API root path, without a trailing slash (RFC 8040 Section 3.1). Default
    /// `/restconf`.
    pub restconf_root: String,
    /// Lifetime of aliases and ACLs after their creation or last refresh. Values below
    /// [`MIN_LIFETIME`] are raised to it.
    pub lifetime: Duration,
    /// The filtering capabilities announced, and enforced on every ACL (RFC 8783 Section 7.1).
    /// Default: [`Capabilities::all`] (every field the module has); set it to what the
    /// host's filtering engine enforces, e.g. [`Capabilities::rfc8783_mandatory`].
    pub capabilities: Capabilities,
    /// The server's own vendor attack mappings, which clients read at
    /// `dots-data/ietf-dots-mapping:vendor-mapping` when the capabilities announce
    /// `vendor-mapping-enabled` (RFC 9244 Section 8.1.6). Empty by default.
    pub vendor_mapping: VendorMapping,
    /// This agent's own names and addresses as they would appear in a `Via` header; a request
    /// whose `Via` names one of them is answered `508 Loop Detected` (RFC 8783 Section 3.4).
    /// Empty (no check) by default.
    pub via_names: Vec<String>,
    /// When true (the default), a peer that is not a trusted gateway may only act on the cuid
    /// of its own credentials (RFC 9132 Section 4.4.1.1).
    pub bind_cuid_to_identity: bool,
    /// When true, requests relayed by a trusted gateway must carry (at registration) and refer
    /// to (afterwards) a cdid; otherwise `403 access-denied` (RFC 8783 Sections 6.1 and 7.2).
    pub require_cdid_from_gateways: bool,
    /// Reject an ACL whose ACE has the same matches as an ACE of another client of the same
    /// domain but another action (RFC 8783 Section 7.2: 409 absent any local policy). Default
    /// true.
    pub reject_conflicting_acls: bool,
    /// Registered DOTS clients at most.
    pub max_clients: usize,
    /// Vendor attack mapping tables per client (409 beyond).
    pub max_vendors: usize,
    /// `attack-mapping` entries per client, over all its tables (409 beyond).
    pub max_attack_mappings: usize,
    /// Largest request body accepted (413 beyond).
    pub max_body_len: usize,
    /// Events kept for [`poll_event`](super::DataServer::poll_event); the oldest are dropped
    /// (and counted) beyond.
    pub max_events: usize,
    /// Longest cuid or cdid accepted, in bytes.
    pub max_id_len: usize,
}

impl Default for DataServerConfig {
    fn default() -> DataServerConfig {
        DataServerConfig {
            restconf_root: String::from("/restconf"),
            lifetime: MIN_LIFETIME,
            capabilities: Capabilities::all(),
            vendor_mapping: VendorMapping::default(),
            via_names: Vec::new(),
            bind_cuid_to_identity: true,
            require_cdid_from_gateways: false,
            reject_conflicting_acls: true,
            max_clients: 10_000,
            max_vendors: 16,
            max_attack_mappings: 4096,
            max_body_len: 256 * 1024,
            max_events: 4096,
            max_id_len: 255,
        }
    }
}
