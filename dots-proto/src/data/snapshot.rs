//! Snapshot and restore of the server state, for hosts that persist it.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use dots_codec::data::{Acl, Alias, Vendor, VendorMapping};
use serde::{Deserialize, Serialize};

use super::config::DataServerConfig;
use super::error::RestoreError;
use super::policy::DataPolicy;
use super::server::DataServer;
use super::state::{should_be_active, AclEntry, AliasEntry, ClientState};
use crate::time::Instant;

const VERSION: u32 = 1;

/// The persistent state of a [`DataServer`]: clients, aliases, ACLs (in the RFC 7951 JSON
/// form of the model), and the remaining lifetimes. Serialize it with any serde format.
///
/// Lifetimes are stored relative to the `now` of [`DataServer::snapshot`], so a restored server
/// may use another clock epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSnapshot {
    version: u32,
    clients: Vec<ClientSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ClientSnapshot {
    cuid: String,
    cdid: Option<String>,
    owner: String,
    mitigating: bool,
    aliases: Vec<Timed<Alias>>,
    acls: Vec<Timed<Acl>>,
    /// Vendor attack mappings (RFC 9244); absent in snapshots written before they existed.
    #[serde(default)]
    vendors: Vec<Vendor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Timed<T> {
    entry: T,
    remaining_ms: u64,
}

fn remaining(expires: Instant, now: Instant) -> u64 {
    u64::try_from(expires.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
}

impl DataSnapshot {
    /// Number of clients in the snapshot.
    #[must_use]
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }
}

impl<P: DataPolicy> DataServer<P> {
    /// The state to persist. Queued events are not part of it.
    #[must_use]
    pub fn snapshot(&self, now: Instant) -> DataSnapshot {
        let now = self.last_now.max(now);
        DataSnapshot {
            version: VERSION,
            clients: self
                .clients
                .values()
                .map(|c| ClientSnapshot {
                    cuid: c.cuid.clone(),
                    cdid: c.cdid.clone(),
                    owner: c.owner.clone(),
                    mitigating: c.mitigating,
                    aliases: c
                        .aliases
                        .iter()
                        .map(|e| Timed {
                            entry: e.alias.clone(),
                            remaining_ms: remaining(e.expires, now),
                        })
                        .collect(),
                    acls: c
                        .acls
                        .iter()
                        .map(|e| Timed {
                            entry: e.acl.clone(),
                            remaining_ms: remaining(e.expires, now),
                        })
                        .collect(),
                    vendors: c.vendors.clone(),
                })
                .collect(),
        }
    }

    /// A server holding the state of `snapshot`, with lifetimes counted from `now`. Every
    /// enforced ACL is announced again with an `AclActivated` event, so that a restarted host
    /// reinstalls it.
    pub fn restore(
        config: DataServerConfig,
        policy: P,
        now: Instant,
        snapshot: DataSnapshot,
    ) -> Result<DataServer<P>, RestoreError> {
        if snapshot.version != VERSION {
            return Err(RestoreError::Version(snapshot.version));
        }
        let mut server = DataServer::with_policy(config, policy);
        server.last_now = now;
        if snapshot.clients.len() > server.config.max_clients {
            return Err(RestoreError::TooManyClients);
        }
        for c in snapshot.clients {
            if server.clients.contains_key(&c.cuid) {
                return Err(RestoreError::Duplicate(c.cuid));
            }
            let mut state = ClientState::new(c.cuid, c.cdid, c.owner);
            state.mitigating = c.mitigating;
            for t in c.aliases {
                t.entry.validate().map_err(RestoreError::Invalid)?;
                if state.alias_index(&t.entry.name).is_some() {
                    return Err(RestoreError::Duplicate(t.entry.name));
                }
                state.aliases.push(AliasEntry {
                    alias: t.entry,
                    expires: now + Duration::from_millis(t.remaining_ms),
                });
            }
            for t in c.acls {
                t.entry.validate().map_err(RestoreError::Invalid)?;
                if state.acl_index(&t.entry.name).is_some() {
                    return Err(RestoreError::Duplicate(t.entry.name));
                }
                let active =
                    should_be_active(t.entry.effective_activation_type(), state.mitigating);
                if active {
                    server
                        .events
                        .transition(&state.cuid, &t.entry.name, false, true, true);
                }
                state.acls.push(AclEntry {
                    acl: t.entry,
                    expires: now + Duration::from_millis(t.remaining_ms),
                    active,
                });
            }
            let vendors = VendorMapping { vendor: c.vendors };
            vendors.validate().map_err(RestoreError::Invalid)?;
            state.vendors = vendors.vendor;
            if let Some(t) = state.next_expiry() {
                server.earliest = server.earliest.min(t);
            }
            server.clients.insert(state.cuid.clone(), state);
        }
        Ok(server)
    }
}
