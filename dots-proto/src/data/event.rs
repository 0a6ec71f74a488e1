//! Events for the host: registrations, and the life of filtering rules for its filtering
//! engine.

use alloc::string::String;

/// Something the host should act on. ACL contents are read with
/// [`DataServer::acl`](super::DataServer::acl) when handling `AclActivated`/`AclUpdated`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataEvent {
    /// A DOTS client registered.
    ClientRegistered {
        /// Its cuid.
        cuid: String,
    },
    /// A DOTS client de-registered; its aliases and ACLs are gone (each ACL also has an
    /// `AclDeleted` event before this one).
    ClientDeregistered {
        /// Its cuid.
        cuid: String,
    },
    /// Install the ACL in the filtering engine.
    AclActivated {
        /// Owner.
        cuid: String,
        /// ACL name.
        acl: String,
    },
    /// An active ACL changed: reinstall it.
    AclUpdated {
        /// Owner.
        cuid: String,
        /// ACL name.
        acl: String,
    },
    /// Uninstall the ACL; it stays configured.
    AclDeactivated {
        /// Owner.
        cuid: String,
        /// ACL name.
        acl: String,
    },
    /// The client deleted the ACL (uninstall it if `was_active`).
    AclDeleted {
        /// Owner.
        cuid: String,
        /// ACL name.
        acl: String,
        /// Whether it was installed.
        was_active: bool,
    },
    /// The ACL was not refreshed within its lifetime and is gone (uninstall it if
    /// `was_active`).
    AclExpired {
        /// Owner.
        cuid: String,
        /// ACL name.
        acl: String,
        /// Whether it was installed.
        was_active: bool,
    },
    /// The client deleted an alias.
    AliasDeleted {
        /// Owner.
        cuid: String,
        /// Alias name.
        alias: String,
    },
    /// An alias was not refreshed within its lifetime and is gone.
    AliasExpired {
        /// Owner.
        cuid: String,
        /// Alias name.
        alias: String,
    },
}
