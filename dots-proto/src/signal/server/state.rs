//! Per-client state and the stored mitigation records.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::model::{AttackStatus, ConflictStatus, Lifetime, MitigationStatus, SignalConfig};

use super::config::RateLimit;
use super::hooks::AliasTargets;
use crate::time::Instant;

/// Counters and start time the host's mitigator reports for a mitigation (RFC 9132 Section
/// 4.4.2). `None` leaves a value as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MitigationStats {
    /// `bytes-dropped` (wrapping counter).
    pub bytes_dropped: Option<u64>,
    /// `bps-dropped` (average bytes per second).
    pub bps_dropped: Option<u64>,
    /// `pkts-dropped` (wrapping counter).
    pub pkts_dropped: Option<u64>,
    /// `pps-dropped` (average packets per second).
    pub pps_dropped: Option<u64>,
    /// `mitigation-start` in Unix seconds, when the mitigator knows it better than the core
    /// (which otherwise derives it from `ServerConfig::unix_time_at_epoch`).
    pub mitigation_start: Option<u64>,
}

/// Compact storage of [`MitigationStats`]: values plus a presence mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counters {
    v: [u64; 5],
    present: u8,
}

impl Counters {
    pub(crate) fn get(&self) -> MitigationStats {
        let g = |i: usize| {
            (self.present & (1 << i) != 0).then(|| self.v.get(i).copied().unwrap_or_default())
        };
        MitigationStats {
            bytes_dropped: g(0),
            bps_dropped: g(1),
            pkts_dropped: g(2),
            pps_dropped: g(3),
            mitigation_start: g(4),
        }
    }

    /// Merges a report; returns whether anything changed.
    pub(crate) fn merge(&mut self, s: &MitigationStats) -> bool {
        let before = *self;
        for (i, x) in [
            s.bytes_dropped,
            s.bps_dropped,
            s.pkts_dropped,
            s.pps_dropped,
            s.mitigation_start,
        ]
        .into_iter()
        .enumerate()
        {
            if let (Some(x), Some(slot)) = (x, self.v.get_mut(i)) {
                *slot = x;
                self.present |= 1 << i;
            }
        }
        *self != before
    }
}

/// Whether a status means the mitigation is running (RFC 9132 Table 3: 1–4, and 5 while
/// active-but-terminating).
pub(crate) fn is_active(s: MitigationStatus) -> bool {
    matches!(
        s,
        MitigationStatus::InProgress
            | MitigationStatus::SuccessfullyMitigated
            | MitigationStatus::AttackStopped
            | MitigationStatus::ExceededCapability
            | MitigationStatus::ClientWithdrawn
    )
}

/// One stored mitigation request.
#[derive(Debug, Clone)]
pub(crate) struct Mitigation {
    pub(crate) mid: u32,
    pub(crate) status: MitigationStatus,
    /// `trigger-mitigation`.
    pub(crate) trigger: bool,
    /// A one-mid observation is registered.
    pub(crate) observed: bool,
    /// Queued for a notification.
    pub(crate) notify_pending: bool,
    /// Transmissions of status 3 or 7 left before a preconfigured request turns to 8.
    pub(crate) countdown: u8,
    /// Cross-client conflict flag (`conflict-cause` 1).
    pub(crate) conflict: Option<ConflictStatus>,
    /// The last `attack-status` of an efficacy update.
    pub(crate) attack_status: Option<AttackStatus>,
    /// Granted lifetime.
    pub(crate) granted: Lifetime,
    /// End of the lifetime (`Instant::MAX`: indefinite).
    pub(crate) expires: Instant,
    /// End of the active-but-terminating period (`Instant::MAX` unless status 5).
    pub(crate) terminate_at: Instant,
    /// Seconds of the next active-but-terminating period.
    pub(crate) period: u16,
    /// When the mitigation started (`Instant::MAX`: not started).
    pub(crate) started: Instant,
    pub(crate) counters: Counters,
    /// The canonical request (the scope without `lifetime` and `attack-status`,
    /// `trigger-mitigation` only when false), packed by `encode::pack`.
    pub(crate) request: Box<[u8]>,
    /// Alias targets resolved at creation (indexed with the request's own targets).
    pub(crate) aliases: Option<Box<[AliasTargets]>>,
}

impl Mitigation {
    /// The timer deadline: the earlier of the lifetime end and the terminating end.
    pub(crate) fn deadline(&self) -> Instant {
        self.expires.min(self.terminate_at)
    }

    pub(crate) fn aliases(&self) -> &[AliasTargets] {
        self.aliases.as_deref().unwrap_or(&[])
    }

    /// Remaining lifetime in whole seconds (rounded up), -1 when indefinite.
    pub(crate) fn remaining(&self, now: Instant) -> Lifetime {
        let end = self.deadline();
        if end == Instant::MAX {
            return Lifetime::Indefinite;
        }
        let ms = end.saturating_duration_since(now).as_millis();
        Lifetime::Seconds(u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX))
    }
}

/// Who may act on a cuid (RFC 9132 Section 4.4.1.1: a cuid in use by another client is a 4.09
/// collision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A peer talking directly, by the cuid of its credentials.
    Peer(Arc<str>),
    /// Relayed by trusted server-domain gateways (any of them; RFC 9132 Section 4.4.1.2: cdid
    /// values supplied by distinct gateways are equivalent).
    Gateway,
}

/// A token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// Tokens in thousandths.
    milli: u64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn full(limit: Option<RateLimit>, now: Instant) -> Bucket {
        Bucket {
            milli: limit.map_or(0, |l| u64::from(l.burst) * 1000),
            last: now,
        }
    }

    fn refill(&mut self, limit: RateLimit, now: Instant) {
        let ms = now.saturating_duration_since(self.last).as_millis();
        let add = u64::try_from(ms)
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(limit.per_second));
        self.milli = self
            .milli
            .saturating_add(add)
            .min(u64::from(limit.burst) * 1000);
        self.last = self.last.max(now);
    }

    /// Takes one token, or says in how many seconds one will be back.
    pub(crate) fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), u32> {
        self.refill(limit, now);
        if self.milli >= 1000 {
            self.milli -= 1000;
            return Ok(());
        }
        if limit.per_second == 0 {
            return Err(u32::MAX);
        }
        let missing = 1000 - self.milli;
        let ms = missing.div_ceil(u64::from(limit.per_second));
        Err(u32::try_from(ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX))
    }
}

/// A client's negotiated session configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientConfig {
    pub(crate) sid: u32,
    /// Current values only, as the client sent them.
    pub(crate) config: SignalConfig,
}

/// One DOTS client (a cuid) at the server.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) cuid: Arc<str>,
    pub(crate) owner: Owner,
    /// The last cdid a trusted gateway supplied.
    pub(crate) cdid: Option<Box<str>>,
    /// Sorted by `mid`.
    pub(crate) mitigations: Vec<Mitigation>,
    /// The `mid`s of `mitigations`, in the same order: a search reads one cache line instead
    /// of a record per step.
    pub(crate) mids: Vec<u32>,
    /// Own mitigations running.
    pub(crate) active: u32,
    /// Mitigations running of every client whose session is this one (owner is this peer).
    pub(crate) session_active: u32,
    pub(crate) config: Option<Box<ClientConfig>>,
    pub(crate) observe_all: bool,
    pub(crate) observe_config: bool,
    pub(crate) config_notify_pending: bool,
    /// Observe registrations (all targets).
    pub(crate) observers: u32,
    pub(crate) bucket: Bucket,
    /// RFC 9244 telemetry (setups, `tmid`s, query observers).
    pub(crate) telemetry: Option<Box<super::telemetry::ClientTelemetry>>,
}

impl Client {
    pub(crate) fn new(cuid: Arc<str>, owner: Owner, bucket: Bucket) -> Client {
        Client {
            cuid,
            owner,
            cdid: None,
            mitigations: Vec::new(),
            mids: Vec::new(),
            active: 0,
            session_active: 0,
            config: None,
            observe_all: false,
            observe_config: false,
            config_notify_pending: false,
            observers: 0,
            bucket,
            telemetry: None,
        }
    }

    pub(crate) fn find(&self, mid: u32) -> Option<usize> {
        self.mids.binary_search(&mid).ok()
    }

    pub(crate) fn get(&self, mid: u32) -> Option<&Mitigation> {
        self.find(mid).and_then(|i| self.mitigations.get(i))
    }

    pub(crate) fn get_mut(&mut self, mid: u32) -> Option<&mut Mitigation> {
        self.find(mid)
            .and_then(move |i| self.mitigations.get_mut(i))
    }

    /// Whether the record holds nothing worth keeping.
    pub(crate) fn is_empty(&self) -> bool {
        self.mitigations.is_empty()
            && self.config.is_none()
            && self.observers == 0
            && self.session_active == 0
            && self.telemetry.is_none()
    }
}

/// The client slots by cuid: a hash map (one hash and one comparison per request instead of a
/// walk through an ordered tree of strings). Iteration is in cuid order, as before.
#[derive(Debug, Clone, Default)]
pub(crate) struct CuidMap(hashbrown::HashMap<Arc<str>, u32>);

impl CuidMap {
    pub(crate) fn new() -> CuidMap {
        CuidMap::default()
    }

    pub(crate) fn get(&self, cuid: &str) -> Option<&u32> {
        self.0.get(cuid)
    }

    pub(crate) fn insert(&mut self, cuid: Arc<str>, slot: u32) -> Option<u32> {
        self.0.insert(cuid, slot)
    }

    pub(crate) fn remove<Q>(&mut self, cuid: &Q) -> Option<u32>
    where
        Q: ?Sized + core::hash::Hash + Eq,
        Arc<str>: core::borrow::Borrow<Q>,
    {
        self.0.remove(cuid)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    fn sorted(&self) -> Vec<(&Arc<str>, &u32)> {
        let mut v: Vec<_> = self.0.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// The cuids, ascending.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Arc<str>> + '_ {
        self.sorted().into_iter().map(|(k, _)| k)
    }

    /// The slots, in cuid order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &u32> + '_ {
        self.sorted().into_iter().map(|(_, v)| v)
    }
}
