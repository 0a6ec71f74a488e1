//! Snapshot and restore of the server state (serde), for a host that persists it to fail over
//! to a standby.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::model::{
    AttackStatus, ConflictStatus, Lifetime, MitigationRequest, MitigationStatus, SignalConfig,
};
use serde::{Deserialize, Serialize};

use super::config::ServerConfig;
use super::hooks::{AliasTargets, SignalHooks};
use super::state::{is_active, ClientConfig, Counters, Mitigation, MitigationStats, Owner};
use super::SignalServer;
use crate::time::Instant;

const VERSION: u32 = 1;

/// The persistent state of a [`SignalServer`]: clients with their cuid owners, negotiated
/// session configurations and mitigation requests (status, lifetimes, counters). Serialize it
/// with any serde format.
///
/// Times are stored relative to the `now` of [`SignalServer::snapshot`], so the restored
/// server may run on another clock epoch. Observations, queued events and notifications are
/// not part of it (CoAP observers do not survive a change of server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSnapshot {
    version: u32,
    clients: Vec<ClientSnapshot>,
}

impl ServerSnapshot {
    /// Number of clients.
    #[must_use]
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Number of mitigation requests.
    #[must_use]
    pub fn mitigation_count(&self) -> usize {
        self.clients.iter().map(|c| c.mitigations.len()).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ClientSnapshot {
    cuid: String,
    /// The owning peer's cuid; `None` for gateway-relayed clients.
    owner: Option<String>,
    cdid: Option<String>,
    sid: Option<u32>,
    /// CBOR of the negotiated `signal-config`.
    config: Option<Vec<u8>>,
    mitigations: Vec<MitigationSnapshot>,
    /// RFC 9244 telemetry: setups, `tmid`s, the host's telemetry.
    #[serde(default)]
    telemetry: Option<super::telemetry::TelemetrySnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MitigationSnapshot {
    mid: u32,
    status: u8,
    trigger: bool,
    countdown: u8,
    conflict: Option<u8>,
    attack_status: Option<u8>,
    /// Seconds, -1 for indefinite.
    granted: i64,
    expires_in_ms: Option<u64>,
    terminates_in_ms: Option<u64>,
    period: u16,
    started_ms_ago: Option<u64>,
    stats: [Option<u64>; 5],
    /// Canonical CBOR of the request.
    request: Vec<u8>,
    aliases: Vec<AliasTargets>,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Written by another version of this crate.
    #[error("snapshot version {0} is not supported")]
    Version(u32),
    /// A record does not hold together (bad status, undecodable request, duplicate cuid or
    /// `mid`...).
    #[error("invalid record for client '{cuid}'")]
    Invalid {
        /// The client.
        cuid: String,
    },
}

fn in_ms(t: Instant, now: Instant) -> Option<u64> {
    (t != Instant::MAX)
        .then(|| u64::try_from(t.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX))
}

impl<H: SignalHooks> SignalServer<H> {
    /// The state to persist, with times relative to `now`.
    #[must_use]
    pub fn snapshot(&self, now: Instant) -> ServerSnapshot {
        let now = now.max(self.last_now);
        let clients = self
            .by_cuid
            .values()
            .filter_map(|&s| self.client(s))
            .map(|c| ClientSnapshot {
                cuid: String::from(&*c.cuid),
                owner: match &c.owner {
                    Owner::Peer(p) => Some(String::from(&**p)),
                    Owner::Gateway => None,
                },
                cdid: c.cdid.as_deref().map(String::from),
                sid: c.config.as_ref().map(|x| x.sid),
                config: c.config.as_ref().map(|x| {
                    let mut buf = alloc::vec![0u8; x.config.encoded_len()];
                    let n = x.config.encode_cbor(&mut buf).unwrap_or(0);
                    buf.truncate(n);
                    buf
                }),
                mitigations: c
                    .mitigations
                    .iter()
                    .map(|m| {
                        let st = m.counters.get();
                        MitigationSnapshot {
                            mid: m.mid,
                            status: m.status.value(),
                            trigger: m.trigger,
                            countdown: m.countdown,
                            conflict: m.conflict.map(ConflictStatus::value),
                            attack_status: m.attack_status.map(AttackStatus::value),
                            granted: m.granted.as_i64(),
                            expires_in_ms: in_ms(m.expires, now),
                            terminates_in_ms: in_ms(m.terminate_at, now),
                            period: m.period,
                            started_ms_ago: (m.started != Instant::MAX).then(|| {
                                u64::try_from(now.saturating_duration_since(m.started).as_millis())
                                    .unwrap_or(u64::MAX)
                            }),
                            stats: [
                                st.bytes_dropped,
                                st.bps_dropped,
                                st.pkts_dropped,
                                st.pps_dropped,
                                st.mitigation_start,
                            ],
                            request: super::encode::stored_cbor(m),
                            aliases: m.aliases().to_vec(),
                        }
                    })
                    .collect(),
                telemetry: c.telemetry.as_deref().and_then(|t| t.snapshot()),
            })
            .collect();
        ServerSnapshot {
            version: VERSION,
            clients,
        }
    }

    /// A server restored from a snapshot, at `now` of its own clock. The hooks are told about
    /// no change: the host restores its mitigator's state alongside.
    pub fn restore(
        config: ServerConfig,
        hooks: H,
        snapshot: &ServerSnapshot,
        now: Instant,
    ) -> Result<SignalServer<H>, RestoreError> {
        if snapshot.version != VERSION {
            return Err(RestoreError::Version(snapshot.version));
        }
        let mut s = SignalServer::with_hooks(config, hooks);
        s.last_now = now;
        let after = |ms: Option<u64>| ms.map_or(Instant::MAX, |ms| now + Duration::from_millis(ms));
        // Clients first (owners' session records must exist before activity is counted).
        for c in &snapshot.clients {
            let bad = || RestoreError::Invalid {
                cuid: c.cuid.clone(),
            };
            if s.slot_of(&c.cuid).is_some() || c.cuid.is_empty() {
                return Err(bad());
            }
            let owner = match &c.owner {
                Some(p) => Owner::Peer(Arc::from(p.as_str())),
                None => Owner::Gateway,
            };
            let slot = s.insert_client(now, &c.cuid, owner);
            let config = match (&c.config, c.sid) {
                (Some(b), Some(sid)) => Some(alloc::boxed::Box::new(ClientConfig {
                    sid,
                    config: SignalConfig::decode_cbor(b).map_err(|_| bad())?,
                })),
                (None, None) => None,
                _ => return Err(bad()),
            };
            if let Some(x) = s.client_mut(slot) {
                x.cdid = c.cdid.as_deref().map(alloc::boxed::Box::from);
                x.config = config;
            }
        }
        for c in &snapshot.clients {
            let bad = || RestoreError::Invalid {
                cuid: c.cuid.clone(),
            };
            let slot = s.slot_of(&c.cuid).ok_or_else(bad)?;
            for m in &c.mitigations {
                let status = MitigationStatus::from_value(u64::from(m.status))
                    .filter(|st| *st != MitigationStatus::Terminated)
                    .ok_or_else(bad)?;
                let req = MitigationRequest::decode_cbor(&m.request).map_err(|_| bad())?;
                if s.client(slot).and_then(|x| x.get(m.mid)).is_some() {
                    return Err(bad());
                }
                let mut counters = Counters::default();
                counters.merge(&MitigationStats {
                    bytes_dropped: m.stats[0],
                    bps_dropped: m.stats[1],
                    pkts_dropped: m.stats[2],
                    pps_dropped: m.stats[3],
                    mitigation_start: m.stats[4],
                });
                let rec = Mitigation {
                    mid: m.mid,
                    status,
                    trigger: m.trigger,
                    observed: false,
                    notify_pending: false,
                    countdown: m.countdown,
                    conflict: m
                        .conflict
                        .and_then(|v| ConflictStatus::from_value(u64::from(v))),
                    attack_status: m
                        .attack_status
                        .and_then(|v| AttackStatus::from_value(u64::from(v))),
                    granted: Lifetime::from_i64(m.granted).ok_or_else(bad)?,
                    expires: after(m.expires_in_ms),
                    terminate_at: after(m.terminates_in_ms),
                    period: m.period,
                    started: m.started_ms_ago.map_or(Instant::MAX, |ago| {
                        now.checked_sub(Duration::from_millis(ago))
                            .unwrap_or(Instant::ZERO)
                    }),
                    counters,
                    request: {
                        let mut p = super::encode::Packed::new();
                        super::encode::pack(&req.entry.scope, &mut p).ok_or_else(bad)?;
                        alloc::boxed::Box::from(&p[..])
                    },
                    aliases: (!m.aliases.is_empty()).then(|| m.aliases.clone().into_boxed_slice()),
                };
                s.insert_mitigation(slot, rec, &req.entry.scope);
                if is_active(status) {
                    s.count_active(slot, true);
                }
            }
        }
        // Telemetry once the mitigations are in (its mitigation telemetry refers to them).
        for c in &snapshot.clients {
            let Some(t) = &c.telemetry else { continue };
            let bad = || RestoreError::Invalid {
                cuid: c.cuid.clone(),
            };
            let t = super::telemetry::ClientTelemetry::restore(t).ok_or_else(bad)?;
            let slot = s.slot_of(&c.cuid).ok_or_else(bad)?;
            if let Some(x) = s.client_mut(slot) {
                x.telemetry = Some(alloc::boxed::Box::new(t));
            }
        }
        s.check_invariants().map_err(|_| RestoreError::Invalid {
            cuid: String::new(),
        })?;
        Ok(s)
    }
}
