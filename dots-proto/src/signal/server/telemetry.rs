//! RFC 9244 telemetry in the server core: the server's telemetry policy (acceptable ranges,
//! supported unit classes and query types, defaults, quotas), per-client telemetry state, and
//! `/tm-setup` (Section 7): telemetry configuration, total pipe capacity and baselines.
//!
//! `/tm` (Section 8) is in `telemetry_tm`, the Uri-Query filters and observers in
//! `telemetry_query`, bodies in `telemetry_encode`.
//!
//! # `tsid` rules
//!
//! | request | answer |
//! |---|---|
//! | PUT without `tsid`, invalid or unknown member, mixed setup kinds, all pipes at capacity 0 | 4.00 |
//! | PUT with a value outside `max-config-values`/`min-config-values`, an unsupported unit class or `server-originated-telemetry` the server does not offer | 4.22 |
//! | PUT, `tsid` new / already installed | 2.01 / 2.04 |
//! | PUT `current-config` | replaces the configuration installed under any other `tsid` if its `tsid` is higher (Section 7.1.2: "the lower numeric 'tsid' MUST be automatically deleted"); a lower `tsid` than the configuration in place is 4.00, as for `sid` |
//! | PUT pipes / baselines | deletes the client's lower `tsid`s with an overlapping `link-id`+`unit` / target (Sections 7.2.1, 7.3.1); a lower `tsid` overlapping a higher one is 4.09 with `conflict-cause` 5 (pipes) / 1 (baselines), as RFC 9132 answers a lower `mid`; overlapping pipes / baselines of another client of the same DOTS client domain are 4.09 with the same causes (Section 7.5) |
//! | PUT beyond [`TelemetryPolicy::max_setups`] | 5.03 + Max-Age |
//! | GET without `tsid` | 2.05: `max-config-values`, `min-config-values`, `supported-unit-classes`, `supported-query-type` and every installed `tsid` (the default `current-config`, without `tsid`, when none is installed) |
//! | GET with `tsid` | 2.05 with that entry; 4.04 when unknown |
//! | DELETE with / without `tsid` | 2.02 (Section 7.1.4: "even if the 'tsid' ... does not exist"; Section 7.4: without `tsid` everything is reset) |
//!
//! A 2.05 carries Max-Age [`ServerConfig::config_max_age`](super::ServerConfig) (Section 5.4).
//! Observe on `/tm-setup` is declined (the response has no Observe option, RFC 7641 Section
//! 4.1): what it shows changes only with the client's own requests.
//! A pipe entry with `capacity` 0 removes that link (Section 7.2.1): it takes part in the
//! overlap rules but is not stored. A baseline without target applies to the whole DOTS client
//! domain and overlaps only other domain-wide baselines; baselines with the same `id` overlap
//! (Section 7.3: "uniquely identified within the DOTS client domain").

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::ipnet::IpNet;
use dots_codec::model::telemetry::{
    Baseline, Interval, PipeCapacity, Sample, SetupData, Telemetry, TelemetryConfig,
    TelemetrySetup, UnitClass, UnitConfig, MAX_UNIT_CONFIGS,
};
use dots_codec::model::{
    ConflictCause, ConflictInformation, ConflictScope, Decimal2, ScopeTelemetry, Targets,
};
use dots_codec::path::Content;
use dots_codec::query::QuerySet;

use super::event::ServerEvent;
use super::hooks::{AliasTargets, SignalHooks};
use super::index::{NameKind, Net};
use super::mitigate::{newer, Ctx, Fail};
use super::request::{Handled, Request, Response};
use super::state::Owner;
use super::telemetry_query::QueryObserver;
use super::{ClientRef, SignalServer};
use crate::time::Instant;

/// The server's RFC 9244 telemetry policy: what `GET /tm-setup` announces (Section 7.1.1) and
/// what it accepts, the defaults of `current-config`, and per-client quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelemetryPolicy {
    /// `max-config-values`: the highest acceptable values. `server-originated-telemetry`
    /// true announces that the server sends pre-or-ongoing-mitigation telemetry (Section
    /// 7.1.1).
    pub max_config_values: TelemetryConfig,
    /// `min-config-values`: the lowest acceptable values.
    pub min_config_values: TelemetryConfig,
    /// `supported-unit-classes`: the unit classes the server supports, with their default
    /// activation (`unit-status`). Empty: every class.
    pub supported_unit_classes: heapless::Vec<UnitConfig, MAX_UNIT_CONFIGS, u8>,
    /// `supported-query-type`: the Uri-Query filters the server supports on `/tm` and
    /// `/mitigate` (others are answered 4.00, Section 8.3).
    pub supported_query_types: QuerySet,
    /// The `current-config` in force for a client that installed none (percentiles 10, 50
    /// and 90, the YANG defaults; `telemetry-notify-interval`).
    pub defaults: TelemetryConfig,
    /// Telemetry setup entries (`tsid`s) a client may hold.
    pub max_setups: usize,
    /// Pre-or-ongoing-mitigation telemetry entries (`tmid`s) a client may hold (Section 8.3:
    /// "DOTS servers may be instructed to restrict the number of pre-or-ongoing-mitigation
    /// requests per DOTS client domain").
    pub max_telemetry: usize,
}

impl Default for TelemetryPolicy {
    /// Percentiles anywhere in 0.00..=100.00, measurement intervals from 5 minutes to a month
    /// and samples from a second to an hour, notifications at most every 1..=3600 s (default
    /// 5 s), server-originated telemetry offered, the three unit classes (packets and bits per
    /// second active by default), every query type; 8 `tsid`s and 16 `tmid`s per client.
    fn default() -> TelemetryPolicy {
        let p = Decimal2::from_hundredths;
        let mut units = heapless::Vec::new();
        for (unit, unit_status) in [
            (UnitClass::PacketPs, true),
            (UnitClass::BitPs, true),
            (UnitClass::BytePs, false),
        ] {
            let _ = units.push(UnitConfig { unit, unit_status });
        }
        TelemetryPolicy {
            max_config_values: TelemetryConfig {
                measurement_interval: Some(Interval::Month),
                measurement_sample: Some(Sample::Hour),
                low_percentile: Some(p(10_000)),
                mid_percentile: Some(p(10_000)),
                high_percentile: Some(p(10_000)),
                server_originated_telemetry: Some(true),
                telemetry_notify_interval: Some(3600),
                ..TelemetryConfig::default()
            },
            min_config_values: TelemetryConfig {
                measurement_interval: Some(Interval::Minutes5),
                measurement_sample: Some(Sample::Second),
                low_percentile: Some(p(0)),
                mid_percentile: Some(p(0)),
                high_percentile: Some(p(0)),
                telemetry_notify_interval: Some(1),
                ..TelemetryConfig::default()
            },
            supported_unit_classes: units,
            supported_query_types: QuerySet::TELEMETRY,
            defaults: TelemetryConfig {
                low_percentile: Some(p(1000)),
                mid_percentile: Some(p(5000)),
                high_percentile: Some(p(9000)),
                telemetry_notify_interval: Some(5),
                ..TelemetryConfig::default()
            },
            max_setups: 8,
            max_telemetry: 16,
        }
    }
}

impl TelemetryPolicy {
    /// The server-to-client members of a `GET /tm-setup` response: the ranges, unit classes
    /// and query types (no `telemetry` entries).
    #[must_use]
    pub fn limits(&self) -> TelemetrySetup {
        let mut s = TelemetrySetup {
            max_config_values: Some(self.max_config_values.clone()),
            min_config_values: Some(self.min_config_values.clone()),
            supported_unit_classes: self.supported_unit_classes.clone(),
            ..TelemetrySetup::default()
        };
        for q in self.supported_query_types.iter() {
            let _ = s.supported_query_type.push(q);
        }
        s
    }

    /// The seconds between two telemetry notifications to a client that configured none.
    fn default_interval(&self) -> u16 {
        self.defaults
            .telemetry_notify_interval
            .or(self.min_config_values.telemetry_notify_interval)
            .unwrap_or(1)
            .max(1)
    }
}

/// The kind of a telemetry setup entry (the `setup-type` choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum SetupKind {
    Config,
    Pipe,
    Baseline,
}

impl SetupKind {
    fn of(d: &SetupData) -> SetupKind {
        match d {
            SetupData::CurrentConfig(_) => SetupKind::Config,
            SetupData::TotalPipeCapacity(_) => SetupKind::Pipe,
            SetupData::Baseline(_) => SetupKind::Baseline,
        }
    }
}

/// An installed telemetry setup (one `tsid`).
#[derive(Debug, Clone)]
pub(crate) struct SetupRec {
    pub(crate) tsid: u32,
    pub(crate) kind: SetupKind,
    /// CBOR of the `telemetry-setup` request body with this one entry (no `tsid`), as stored
    /// (pipes at capacity 0 left out).
    pub(crate) body: Box<[u8]>,
    /// The alias targets of its baselines, resolved at installation.
    pub(crate) aliases: Vec<AliasTargets>,
}

impl SetupRec {
    /// The setup data. The bytes are the server's own encoding.
    pub(crate) fn data(&self) -> Option<SetupData> {
        TelemetrySetup::decode_cbor(&self.body)
            .ok()?
            .telemetry
            .into_iter()
            .next()?
            .setup
    }
}

/// One pre-or-ongoing-mitigation telemetry entry of a client (one `tmid`).
#[derive(Debug, Clone)]
pub(crate) struct TmRec {
    pub(crate) tmid: u32,
    /// CBOR of the client's `telemetry` body (one entry, no `tmid`).
    pub(crate) body: Box<[u8]>,
    /// The alias targets of its target, resolved at creation.
    pub(crate) aliases: Vec<AliasTargets>,
    /// CBOR of the server's telemetry for it (a `telemetry` body, one entry, no `tmid`), when
    /// the host reported some ([`SignalServer::set_attack_telemetry`]).
    pub(crate) server: Option<Box<[u8]>>,
}

/// The telemetry the host reported for a mitigation (mitigation status, Section 9.2).
#[derive(Debug, Clone)]
pub(crate) struct ScopeRec {
    pub(crate) mid: u32,
    /// CBOR of an efficacy-update-shaped body whose only scope carries the telemetry.
    pub(crate) body: Box<[u8]>,
}

impl ScopeRec {
    pub(crate) fn telemetry(&self) -> Option<ScopeTelemetry> {
        dots_codec::model::EfficacyUpdate::decode_cbor(&self.body)
            .ok()
            .map(|u| u.telemetry)
    }
}

/// A client's telemetry state.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientTelemetry {
    /// By `tsid`.
    pub(crate) setups: Vec<SetupRec>,
    /// By `tmid`.
    pub(crate) tms: Vec<TmRec>,
    /// By `mid`.
    pub(crate) scope: Vec<ScopeRec>,
    /// `/tm` observations and filtered `/mitigate` observations.
    pub(crate) observers: Vec<QueryObserver>,
    pub(crate) next_observer: u32,
    /// `server-originated-telemetry` of the installed configuration.
    pub(crate) server_originated: bool,
    /// `telemetry-notify-interval` of the installed configuration.
    pub(crate) notify_interval: Option<u16>,
    /// No `/tm` notification before this instant (Section 8: at most one per
    /// `telemetry-notify-interval`).
    pub(crate) next_notify: Instant,
    /// The entry of this client in the server's pacing queue.
    pub(crate) scheduled: Option<Instant>,
}

impl ClientTelemetry {
    pub(crate) fn is_empty(&self) -> bool {
        self.setups.is_empty()
            && self.tms.is_empty()
            && self.scope.is_empty()
            && self.observers.is_empty()
            && self.scheduled.is_none()
    }

    pub(crate) fn setup_index(&self, tsid: u32) -> Result<usize, usize> {
        self.setups.binary_search_by_key(&tsid, |s| s.tsid)
    }

    pub(crate) fn tm_index(&self, tmid: u32) -> Result<usize, usize> {
        self.tms.binary_search_by_key(&tmid, |t| t.tmid)
    }

    pub(crate) fn scope_telemetry(&self, mid: u32) -> Option<&ScopeRec> {
        self.scope
            .binary_search_by_key(&mid, |s| s.mid)
            .ok()
            .and_then(|i| self.scope.get(i))
    }

    /// Recomputes the cached configuration flags from the installed configuration.
    pub(crate) fn refresh_config(&mut self) {
        let c = self
            .setups
            .iter()
            .find(|s| s.kind == SetupKind::Config)
            .and_then(SetupRec::data);
        match c {
            Some(SetupData::CurrentConfig(c)) => {
                self.server_originated = c.server_originated_telemetry == Some(true);
                self.notify_interval = c.telemetry_notify_interval;
            }
            _ => {
                self.server_originated = false;
                self.notify_interval = None;
            }
        }
    }
}

/// Server-wide telemetry state: the `/tm` notification pacing queue and notifications that end
/// observations.
#[derive(Debug, Default)]
pub(crate) struct ServerTelemetry {
    /// `(earliest instant, client slot)` of clients with `/tm` notifications pending.
    pub(crate) due: alloc::collections::BTreeSet<(Instant, u32)>,
    /// Observations ended (their `tmid` deleted): a 4.04 notification each (RFC 7641 Section
    /// 3.2), sent without pacing.
    pub(crate) ended: alloc::collections::VecDeque<(Arc<str>, u32)>,
}

/// Whether two prefixes overlap.
pub(crate) fn prefixes_overlap(a: &IpNet, b: &IpNet) -> bool {
    Net::from_ipnet(a).overlaps(&Net::from_ipnet(b))
}

/// Whether two target sets (with their alias targets) overlap: a common address or prefix, or
/// the same FQDN, URI or alias name (RFC 9132 Section 4.4.1.3, RFC 9244 Section 7.3.1).
pub(crate) fn targets_overlap(
    a: (&Targets, &[AliasTargets]),
    b: (&Targets, &[AliasTargets]),
) -> bool {
    let pa =
        a.0.prefixes
            .iter()
            .chain(a.1.iter().flat_map(|x| x.prefixes.iter()));
    let pb: Vec<&IpNet> =
        b.0.prefixes
            .iter()
            .chain(b.1.iter().flat_map(|x| x.prefixes.iter()))
            .collect();
    for p in pa {
        if pb.iter().any(|q| prefixes_overlap(p, q)) {
            return true;
        }
    }
    let names = |t: (&Targets, &[AliasTargets])| -> Vec<(NameKind, Vec<u8>)> {
        let mut v = Vec::new();
        let mut buf = [0u8; 256];
        let mut push = |k: NameKind, n: &str| {
            let l = super::index::normalize(k, n, &mut buf);
            v.push((k, buf.get(..l).map(<[u8]>::to_vec).unwrap_or_default()));
        };
        for f in t.0.fqdns() {
            push(NameKind::Fqdn, f);
        }
        for u in t.0.uris() {
            push(NameKind::Uri, u);
        }
        for n in t.0.alias_names() {
            push(NameKind::Alias, n);
        }
        for x in t.1 {
            for f in &x.fqdns {
                push(NameKind::Fqdn, f);
            }
            for u in &x.uris {
                push(NameKind::Uri, u);
            }
        }
        v
    };
    let nb = names(b);
    names(a).iter().any(|n| nb.contains(n))
}

fn baselines_overlap(a: (&Baseline, &[AliasTargets]), b: (&Baseline, &[AliasTargets])) -> bool {
    let wide = |x: &Baseline| x.targets.is_empty();
    a.0.id == b.0.id
        || (wide(a.0) && wide(b.0))
        || targets_overlap((&a.0.targets, a.1), (&b.0.targets, b.1))
}

fn pipes_overlap(a: &[PipeCapacity], b: &[PipeCapacity]) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| x.link_id == y.link_id && x.unit == y.unit))
}

/// The common targets of two baselines, for `conflict-scope`.
fn common_baseline_targets(a: &Targets, b: &Targets) -> Targets {
    let mut t = Targets::new();
    for p in &a.prefixes {
        for q in &b.prefixes {
            if prefixes_overlap(p, q) {
                let more = if p.prefix_len() >= q.prefix_len() {
                    *p
                } else {
                    *q
                };
                if !t.prefixes.contains(&more) {
                    let _ = t.push_prefix(more);
                }
            }
        }
    }
    for f in a
        .fqdns()
        .filter(|f| b.fqdns().any(|g| g.eq_ignore_ascii_case(f)))
    {
        let _ = t.push_fqdn(f);
    }
    for u in a.uris().filter(|u| b.uris().any(|v| v == *u)) {
        let _ = t.push_uri(u);
    }
    for n in a.alias_names().filter(|n| b.alias_names().any(|m| m == *n)) {
        let _ = t.push_alias_name(n);
    }
    t
}

/// What a new setup collides with.
struct SetupPlan {
    /// The client's setups it deletes (lower `tsid`s, overlapping).
    replace: Vec<u32>,
    /// Whether its `tsid` is already installed.
    exists: bool,
}

impl<H: SignalHooks> SignalServer<H> {
    /// The telemetry policy, or 4.04 when the server does not support telemetry.
    pub(crate) fn tm_policy(&self) -> Result<&TelemetryPolicy, Fail> {
        self.config.telemetry.as_ref().ok_or(Fail::diag(
            Code::NOT_FOUND,
            "DOTS telemetry (RFC 9244) is not supported",
        ))
    }

    /// The client's telemetry state.
    pub(crate) fn tm_state(&self, slot: Option<u32>) -> Option<&ClientTelemetry> {
        slot.and_then(|s| self.client(s))
            .and_then(|c| c.telemetry.as_deref())
    }

    pub(crate) fn tm_state_mut(&mut self, slot: u32) -> Option<&mut ClientTelemetry> {
        self.client_mut(slot)
            .map(|c| &mut **c.telemetry.get_or_insert_with(Box::default))
    }

    /// Drops an empty telemetry record, then the client if it holds nothing.
    pub(crate) fn tm_tidy(&mut self, slot: u32) {
        if let Some(c) = self.client_mut(slot) {
            if c.telemetry
                .as_deref()
                .is_some_and(ClientTelemetry::is_empty)
            {
                c.telemetry = None;
            }
        }
        self.drop_if_empty(slot);
    }

    /// The `telemetry-notify-interval` in force for a client, in seconds.
    pub(crate) fn tm_interval(&self, slot: u32) -> u16 {
        let own = self.tm_state(Some(slot)).and_then(|t| t.notify_interval);
        match (own, self.config.telemetry.as_ref()) {
            (Some(v), _) => v.max(1),
            (None, Some(p)) => p.default_interval(),
            (None, None) => 1,
        }
    }

    /// Whether the client asked for server-originated telemetry (Section 9.2: telemetry goes
    /// into mitigation status only then).
    pub(crate) fn tm_server_originated(&self, slot: u32) -> bool {
        self.config.telemetry.is_some()
            && self
                .tm_state(Some(slot))
                .is_some_and(|t| t.server_originated)
    }

    /// Resolves the alias names of `targets` for the client: 4.00 for an alias it did not
    /// create.
    pub(crate) fn resolve_aliases(
        &mut self,
        client: ClientRef<'_>,
        targets: &Targets,
    ) -> Result<Vec<AliasTargets>, Fail> {
        let mut aliases = Vec::new();
        for name in targets.alias_names() {
            match self.hooks.resolve_alias(client, name) {
                Some(a) => aliases.push(a),
                None => {
                    return Err(Fail::Text(
                        Code::BAD_REQUEST,
                        alloc::format!("alias '{name}' was not created by this DOTS client"),
                    ))
                }
            }
        }
        if !self.hooks.targets_allowed(client, targets, &aliases) {
            return Err(Fail::diag(
                Code::BAD_REQUEST,
                "a target is outside the DOTS client's domain",
            ));
        }
        Ok(aliases)
    }

    /// Creates the client record if needed, recording a gateway's `cdid`.
    pub(crate) fn tm_client(&mut self, now: Instant, ctx: &Ctx<'_, '_>) -> Result<u32, Fail> {
        let slot = match ctx.slot {
            Some(s) => s,
            None => {
                self.room_for_client()?;
                let owner = if ctx.peer.trusted_gateway {
                    Owner::Gateway
                } else {
                    Owner::Peer(Arc::from(ctx.peer.cuid))
                };
                self.insert_client(now, ctx.cuid, owner)
            }
        };
        if let (Some(cdid), Some(c)) = (ctx.cdid, self.client_mut(slot)) {
            if c.cdid.as_deref() != Some(cdid) {
                c.cdid = Some(Box::from(cdid));
            }
        }
        Ok(slot)
    }

    // ---- /tm-setup -------------------------------------------------------------------------

    /// PUT `/tm-setup/cuid=C/tsid=T` (RFC 9244 Sections 7.1.2, 7.2.1, 7.3.1).
    pub(crate) fn put_setup(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        tsid: Option<u32>,
        req: &Request<'_>,
    ) -> Result<Handled, Fail> {
        let tsid = tsid.ok_or(Fail::diag(
            Code::BAD_REQUEST,
            "the 'tsid' Uri-Path parameter is missing",
        ))?;
        let body = TelemetrySetup::decode_cbor(req.payload).map_err(Fail::Decode)?;
        body.validate_request().map_err(Fail::Invalid)?;
        let policy = self.tm_policy()?;
        body.check_against(&policy.limits())
            .map_err(Fail::Invalid)?;
        let max_setups = policy.max_setups;
        let data = body
            .telemetry
            .first()
            .and_then(|e| e.setup.clone())
            .ok_or(Fail::Internal)?;
        let kind = SetupKind::of(&data);
        let cref = ClientRef {
            cuid: ctx.cuid,
            cdid: ctx.cdid,
        };
        // Alias targets of the baselines, and the domain check of their targets.
        let mut aliases = Vec::new();
        if let SetupData::Baseline(list) = &data {
            for b in list {
                aliases.extend(self.resolve_aliases(cref, &b.targets)?);
            }
        }
        let plan = self.plan_setup(ctx.slot, tsid, &data, &aliases)?;
        self.domain_conflicts(ctx, &data, &aliases)?;
        let held = self.tm_state(ctx.slot).map_or(0, |t| {
            t.setups.len() - plan.replace.len() - usize::from(plan.exists)
        });
        if held + 1 > max_setups {
            return Err(Fail::Unavailable(self.config.retry_after));
        }
        // The stored form: pipes at capacity 0 are removed links (Section 7.2.1).
        let mut stored = body;
        if let Some(SetupData::TotalPipeCapacity(p)) =
            stored.telemetry.get_mut(0).and_then(|e| e.setup.as_mut())
        {
            p.retain(|l| l.capacity != 0);
        }
        let mut buf = alloc::vec![0u8; stored.encoded_len()];
        let n = stored.encode_cbor(&mut buf).map_err(|_| Fail::Internal)?;
        buf.truncate(n);
        let stored_data = stored
            .telemetry
            .first()
            .and_then(|e| e.setup.clone())
            .ok_or(Fail::Internal)?;
        // ---- commit ----
        let slot = self.tm_client(now, ctx)?;
        let cuid = self.cuid_arc(slot);
        let mut removed = Vec::new();
        if let Some(t) = self.tm_state_mut(slot) {
            t.setups.retain(|s| {
                let gone = plan.replace.contains(&s.tsid);
                if gone {
                    removed.push(s.tsid);
                }
                !gone
            });
            let rec = SetupRec {
                tsid,
                kind,
                body: buf.into_boxed_slice(),
                aliases,
            };
            match t.setup_index(tsid) {
                Ok(i) => {
                    if let Some(s) = t.setups.get_mut(i) {
                        *s = rec;
                    }
                }
                Err(i) => {
                    t.setups.reserve_exact(1);
                    t.setups.insert(i, rec);
                }
            }
            t.refresh_config();
        }
        for old in removed {
            self.push_event(ServerEvent::TelemetrySetupRemoved {
                cuid: cuid.clone(),
                tsid: old,
                replaced_by: Some(tsid),
            });
        }
        self.push_event(ServerEvent::TelemetrySetupInstalled {
            cuid,
            tsid,
            setup: Box::new(stored_data),
        });
        self.tm_config_changed(now, slot);
        Ok(Handled::Respond(Response::new(if plan.exists {
            Code::CHANGED
        } else {
            Code::CREATED
        })))
    }

    /// The client's own setups a new one overrides, or why it is refused.
    fn plan_setup(
        &self,
        slot: Option<u32>,
        tsid: u32,
        data: &SetupData,
        aliases: &[AliasTargets],
    ) -> Result<SetupPlan, Fail> {
        let mut plan = SetupPlan {
            replace: Vec::new(),
            exists: false,
        };
        let Some(t) = self.tm_state(slot) else {
            return Ok(plan);
        };
        for s in &t.setups {
            if s.tsid == tsid {
                plan.exists = true;
                continue;
            }
            if s.kind != SetupKind::of(data) {
                continue;
            }
            let old = s.data();
            let overlap = match (data, &old) {
                (SetupData::CurrentConfig(_), _) => true,
                (SetupData::TotalPipeCapacity(a), Some(SetupData::TotalPipeCapacity(b))) => {
                    pipes_overlap(a, b)
                }
                (SetupData::Baseline(a), Some(SetupData::Baseline(b))) => a.iter().any(|x| {
                    b.iter()
                        .any(|y| baselines_overlap((x, aliases), (y, &s.aliases)))
                }),
                _ => false,
            };
            if !overlap {
                continue;
            }
            if newer(tsid, s.tsid) {
                plan.replace.push(s.tsid);
                continue;
            }
            return Err(match (data, old) {
                (SetupData::CurrentConfig(_), _) => Fail::diag(
                    Code::BAD_REQUEST,
                    "'tsid' is lower than the telemetry configuration in place",
                ),
                (SetupData::Baseline(a), Some(SetupData::Baseline(b))) => {
                    Fail::Conflict(Box::new(baseline_conflict(a, &b)))
                }
                _ => Fail::Conflict(Box::new(pipe_conflict())),
            });
        }
        Ok(plan)
    }

    /// RFC 9244 Section 7.5: pipes or baselines overlapping those of another client of the
    /// same DOTS client domain.
    fn domain_conflicts(
        &mut self,
        ctx: &Ctx<'_, '_>,
        data: &SetupData,
        aliases: &[AliasTargets],
    ) -> Result<(), Fail> {
        if matches!(data, SetupData::CurrentConfig(_)) {
            return Ok(());
        }
        let me = ClientRef {
            cuid: ctx.cuid,
            cdid: ctx.cdid.or_else(|| {
                ctx.slot
                    .and_then(|s| self.client(s))
                    .and_then(|c| c.cdid.as_deref())
            }),
        };
        let my_cdid = me.cdid.map(alloc::string::String::from);
        let me = ClientRef {
            cuid: ctx.cuid,
            cdid: my_cdid.as_deref(),
        };
        // Candidates: other clients with an overlapping setup of the same kind.
        let mut hits: Vec<(Arc<str>, Option<Box<str>>, Fail)> = Vec::new();
        for (i, c) in self.clients.iter().enumerate() {
            let Some(c) = c else { continue };
            if Some(i as u32) == ctx.slot {
                continue;
            }
            let Some(t) = c.telemetry.as_deref() else {
                continue;
            };
            for s in &t.setups {
                let fail = match (data, s.data()) {
                    (SetupData::TotalPipeCapacity(a), Some(SetupData::TotalPipeCapacity(b)))
                        if pipes_overlap(a, &b) =>
                    {
                        pipe_conflict()
                    }
                    (SetupData::Baseline(a), Some(SetupData::Baseline(b)))
                        if a.iter().any(|x| {
                            b.iter()
                                .any(|y| baselines_overlap((x, aliases), (y, &s.aliases)))
                        }) =>
                    {
                        let mut info = baseline_conflict(a, &b);
                        if let Some(cs) = info.conflict_scope.as_mut() {
                            // The other client's tsid is not disclosed.
                            cs.mid = None;
                        }
                        info
                    }
                    _ => continue,
                };
                hits.push((
                    c.cuid.clone(),
                    c.cdid.clone(),
                    Fail::Conflict(Box::new(fail)),
                ));
                break;
            }
        }
        for (cuid, cdid, fail) in hits {
            let other = ClientRef {
                cuid: &cuid,
                cdid: cdid.as_deref(),
            };
            if self.hooks.same_client_domain(me, other) {
                return Err(fail);
            }
        }
        Ok(())
    }

    /// A change of a client's telemetry configuration: its `/tm` observers see the new
    /// interval and `server-originated-telemetry` from now on.
    fn tm_config_changed(&mut self, now: Instant, slot: u32) {
        let enabled = self.tm_server_originated(slot);
        if !enabled {
            self.tm_unschedule(slot);
            if let Some(t) = self.tm_state_mut(slot) {
                for o in &mut t.observers {
                    o.dirty = false;
                }
            }
        } else {
            // Telemetry the host reported while it was disabled goes out now.
            let pending = self
                .tm_state(Some(slot))
                .is_some_and(|t| t.observers.iter().any(|o| o.dirty));
            if pending {
                self.tm_schedule(now, slot);
            }
        }
    }

    /// GET `/tm-setup/cuid=C[/tsid=T]` (Sections 7.1.1, 7.1.3).
    pub(crate) fn get_setup(
        &mut self,
        ctx: &Ctx<'_, '_>,
        tsid: Option<u32>,
        content: Content,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let policy = self.tm_policy()?;
        let state = self.tm_state(ctx.slot);
        let len = match tsid {
            Some(tsid) => {
                let rec = state
                    .and_then(|t| t.setup_index(tsid).ok().and_then(|i| t.setups.get(i)))
                    .ok_or(Fail::diag(
                        Code::NOT_FOUND,
                        "no telemetry setup with this 'tsid'",
                    ))?;
                let with_entries = content != Content::NonConfig;
                super::telemetry_encode::write_setups(
                    None,
                    with_entries.then_some(rec).into_iter(),
                    None,
                    out,
                )
            }
            None => {
                let recs: Vec<&SetupRec> = if content == Content::NonConfig {
                    Vec::new()
                } else {
                    state.map(|t| t.setups.iter().collect()).unwrap_or_default()
                };
                let default = (content != Content::NonConfig
                    && !recs.iter().any(|r| r.kind == SetupKind::Config))
                .then(|| policy.defaults.clone());
                let limits = (content != Content::Config).then(|| policy.limits());
                super::telemetry_encode::write_setups(
                    limits.as_ref(),
                    recs.into_iter(),
                    default,
                    out,
                )
            }
        }
        .map_err(Fail::TooSmall)?;
        let mut r = Response::cbor(Code::CONTENT, len);
        // Section 5.4: freshness as for the session configuration (RFC 9132 Section 4.5.3).
        r.max_age = self.config.config_max_age;
        Ok(Handled::Respond(r))
    }

    /// DELETE `/tm-setup/cuid=C[/tsid=T]` (Sections 7.1.4, 7.4): 2.02 always.
    pub(crate) fn delete_setup(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_, '_>,
        tsid: Option<u32>,
    ) -> Result<Handled, Fail> {
        if let Some(slot) = ctx.slot {
            let cuid = self.cuid_arc(slot);
            let mut removed = Vec::new();
            if let Some(t) = self
                .client_mut(slot)
                .and_then(|c| c.telemetry.as_deref_mut())
            {
                t.setups.retain(|s| {
                    let gone = tsid.is_none_or(|x| x == s.tsid);
                    if gone {
                        removed.push(s.tsid);
                    }
                    !gone
                });
                t.refresh_config();
            }
            if !removed.is_empty() {
                for tsid in removed {
                    self.push_event(ServerEvent::TelemetrySetupRemoved {
                        cuid: cuid.clone(),
                        tsid,
                        replaced_by: None,
                    });
                }
                self.tm_config_changed(now, slot);
                self.tm_tidy(slot);
            }
        }
        Ok(Handled::Respond(Response::new(Code::DELETED)))
    }
}

fn pipe_conflict() -> ConflictInformation {
    ConflictInformation {
        conflict_cause: Some(ConflictCause::OverlappingPipes),
        ..ConflictInformation::default()
    }
}

fn baseline_conflict(a: &[Baseline], b: &[Baseline]) -> ConflictInformation {
    let mut targets = Targets::new();
    for x in a {
        for y in b {
            let c = common_baseline_targets(&x.targets, &y.targets);
            for p in c.prefixes.iter().copied() {
                if !targets.prefixes.contains(&p) {
                    let _ = targets.push_prefix(p);
                }
            }
            for f in c.fqdns() {
                let _ = targets.push_fqdn(f);
            }
            for u in c.uris() {
                let _ = targets.push_uri(u);
            }
            for n in c.alias_names() {
                let _ = targets.push_alias_name(n);
            }
        }
    }
    ConflictInformation {
        conflict_cause: Some(ConflictCause::OverlappingTargets),
        conflict_scope: Some(ConflictScope { targets, mid: None }),
        ..ConflictInformation::default()
    }
}

/// The persistent telemetry state of a client (setups, `tmid`s, the host's telemetry):
/// observations and pacing are not kept, as everywhere in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct TelemetrySnapshot {
    setups: Vec<SetupSnapshot>,
    tms: Vec<TmSnapshot>,
    scope: Vec<(u32, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct SetupSnapshot {
    tsid: u32,
    kind: SetupKind,
    body: Vec<u8>,
    aliases: Vec<AliasTargets>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct TmSnapshot {
    tmid: u32,
    body: Vec<u8>,
    aliases: Vec<AliasTargets>,
    server: Option<Vec<u8>>,
}

impl ClientTelemetry {
    /// What a snapshot keeps, if anything.
    pub(crate) fn snapshot(&self) -> Option<TelemetrySnapshot> {
        let s = TelemetrySnapshot {
            setups: self
                .setups
                .iter()
                .map(|s| SetupSnapshot {
                    tsid: s.tsid,
                    kind: s.kind,
                    body: s.body.to_vec(),
                    aliases: s.aliases.clone(),
                })
                .collect(),
            tms: self
                .tms
                .iter()
                .map(|t| TmSnapshot {
                    tmid: t.tmid,
                    body: t.body.to_vec(),
                    aliases: t.aliases.clone(),
                    server: t.server.as_deref().map(<[u8]>::to_vec),
                })
                .collect(),
            scope: self
                .scope
                .iter()
                .map(|s| (s.mid, s.body.to_vec()))
                .collect(),
        };
        (!(s.setups.is_empty() && s.tms.is_empty() && s.scope.is_empty())).then_some(s)
    }

    /// The state of a snapshot; `None` when a record does not decode or is out of order.
    pub(crate) fn restore(s: &TelemetrySnapshot) -> Option<ClientTelemetry> {
        let mut t = ClientTelemetry::default();
        for x in &s.setups {
            let rec = SetupRec {
                tsid: x.tsid,
                kind: x.kind,
                body: x.body.clone().into_boxed_slice(),
                aliases: x.aliases.clone(),
            };
            if rec.data().map(|d| SetupKind::of(&d)) != Some(x.kind)
                || t.setups.last().is_some_and(|l| l.tsid >= x.tsid)
            {
                return None;
            }
            t.setups.push(rec);
        }
        for x in &s.tms {
            let ok = Telemetry::decode_cbor(&x.body).is_ok()
                && x.server
                    .as_deref()
                    .is_none_or(|b| Telemetry::decode_cbor(b).is_ok());
            if !ok || t.tms.last().is_some_and(|l| l.tmid >= x.tmid) {
                return None;
            }
            t.tms.push(TmRec {
                tmid: x.tmid,
                body: x.body.clone().into_boxed_slice(),
                aliases: x.aliases.clone(),
                server: x.server.clone().map(Vec::into_boxed_slice),
            });
        }
        for (mid, body) in &s.scope {
            let rec = ScopeRec {
                mid: *mid,
                body: body.clone().into_boxed_slice(),
            };
            if rec.telemetry().is_none() || t.scope.last().is_some_and(|l| l.mid >= *mid) {
                return None;
            }
            t.scope.push(rec);
        }
        t.refresh_config();
        Some(t)
    }
}

/// The telemetry invariants (see [`SignalServer::check_invariants`]): sorted records within
/// the quotas, observations bound to existing `mid`s / `tmid`s, pacing queue and flags in
/// step, no empty record kept.
pub(crate) fn check_invariants<H: SignalHooks>(
    s: &SignalServer<H>,
) -> Result<(), alloc::string::String> {
    use alloc::format;
    for (slot, c) in s.clients.iter().enumerate() {
        let Some(c) = c else { continue };
        let Some(t) = c.telemetry.as_deref() else {
            continue;
        };
        let slot = slot as u32;
        let who = &c.cuid;
        if t.is_empty() {
            return Err(format!("{who}: empty telemetry record kept"));
        }
        if t.setups.windows(2).any(|w| w[0].tsid >= w[1].tsid)
            || t.tms.windows(2).any(|w| w[0].tmid >= w[1].tmid)
            || t.scope.windows(2).any(|w| w[0].mid >= w[1].mid)
        {
            return Err(format!("{who}: telemetry records not sorted"));
        }
        if let Some(p) = s.config.telemetry.as_ref() {
            if t.setups.len() > p.max_setups || t.tms.len() > p.max_telemetry {
                return Err(format!("{who}: telemetry quota exceeded"));
            }
        }
        if t.setups
            .iter()
            .filter(|x| x.kind == SetupKind::Config)
            .count()
            > 1
        {
            return Err(format!("{who}: two telemetry configurations"));
        }
        if let Some(x) = t.scope.iter().find(|x| c.get(x.mid).is_none()) {
            return Err(format!("{who}: telemetry of unknown mid {}", x.mid));
        }
        let mut ids: Vec<u32> = t.observers.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("{who}: observer ids repeated"));
        }
        for o in &t.observers {
            let bound = match o.resource {
                super::telemetry_query::Resource::Mitigation(Some(m)) => c.get(m).is_some(),
                super::telemetry_query::Resource::Telemetry(Some(x)) => t.tm_index(x).is_ok(),
                _ => true,
            };
            if !bound {
                return Err(format!("{who}: observation {} of a removed item", o.id));
            }
        }
        if t.observers.iter().any(|o| o.dirty) && t.scheduled.is_none() {
            return Err(format!(
                "{who}: telemetry notification pending but not scheduled"
            ));
        }
        if let Some(at) = t.scheduled {
            if !s.tm.due.contains(&(at, slot)) {
                return Err(format!("{who}: scheduled but not queued"));
            }
        }
    }
    for &(at, slot) in &s.tm.due {
        let ok = s
            .client(slot)
            .and_then(|c| c.telemetry.as_deref())
            .is_some_and(|t| t.scheduled == Some(at));
        if !ok {
            return Err(format!("stale telemetry pacing entry for slot {slot}"));
        }
    }
    Ok(())
}
