//! Stateless validation of telemetry bodies (RFC 9244 Sections 5.3, 7, 8, 9 and the `must`
//! statements of its YANG module). Every violation is a distinct
//! [`ValidationError`](crate::model::ValidationError) naming the field, answered 4.00, except a
//! configuration value outside the server's range (4.22, [`TelemetrySetup::check_against`]).
//! Checks that need state (`tsid`/`tmid` ordering, overlapping targets, conflicts with other
//! clients, Uri-Path and Uri-Query) belong to the session layer.

use super::{
    AttackDetail, Baseline, ConnectionGauges, EfficacyUpdate, Gauge, PipeCapacity,
    PreOrOngoingMitigation, ScopeTelemetry, SetupData, Talker, TalkerConnections, Telemetry,
    TelemetryConfig, TelemetrySetup, TelemetryTarget, UnitTraffic,
};
use crate::model::validate::{port_ranges, targets, Result};
use crate::model::{Decimal2, MitigationScope, ValidationError};

/// YANG defaults of the percentiles (RFC 9244 Section 11.1), used where a `must` compares a
/// present value with an absent one.
const DEFAULT_PERCENTILES: [Decimal2; 3] = [
    Decimal2::from_hundredths(1000),
    Decimal2::from_hundredths(5000),
    Decimal2::from_hundredths(9000),
];
const HUNDRED: Decimal2 = Decimal2::from_hundredths(10_000);

/// Whether every key of `items` is distinct (lists are short: quadratic is fine).
fn unique<'a, T, K: PartialEq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items.iter().skip(i + 1).all(|b| key(a) != key(b)))
}

fn keys_unique<'a, T, K: PartialEq>(
    field: &'static str,
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Result {
    if unique(items, key) {
        Ok(())
    } else {
        Err(ValidationError::DuplicateListKey { field })
    }
}

/// Whether `s` has the shape of an RFC 5646 language tag (Section 2.1): subtags of 1 to 8
/// ASCII letters and digits joined by `-`, the first of 2 to 8 letters (a language), or `x`/`i`
/// followed by more subtags (private use, grandfathered). This is the structure the
/// `description-lang` pattern of RFC 9244 enforces, without its registry of irregular tags.
#[must_use]
pub fn is_language_tag(s: &str) -> bool {
    let mut subtags = s.split('-');
    let Some(first) = subtags.next() else {
        return false;
    };
    let mut has_more = false;
    for t in subtags {
        if !(1..=8).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        has_more = true;
    }
    if first.eq_ignore_ascii_case("x") || first.eq_ignore_ascii_case("i") {
        return has_more;
    }
    (2..=8).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Which container a [`TelemetryConfig`] is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConfigKind {
    Current,
    Max,
    Min,
}

impl ConfigKind {
    const fn name(self) -> &'static str {
        match self {
            ConfigKind::Current => "current-config",
            ConfigKind::Max => "max-config-values",
            ConfigKind::Min => "min-config-values",
        }
    }
}

fn config(c: &TelemetryConfig, kind: ConfigKind) -> Result {
    let within = kind.name();
    if kind != ConfigKind::Current && !c.unit_config.is_empty() {
        return Err(ValidationError::NotAllowedHere {
            field: "unit-config",
            within,
        });
    }
    if kind == ConfigKind::Min && c.server_originated_telemetry.is_some() {
        return Err(ValidationError::NotAllowedHere {
            field: "server-originated-telemetry",
            within,
        });
    }
    let p = c.percentiles();
    for (field, v) in p {
        if v.is_some_and(|v| v < Decimal2::ZERO || v > HUNDRED) {
            return Err(ValidationError::OutOfRange { field });
        }
    }
    // The YANG `must '. >= ../low-percentile'` (and high over mid) see the defaults of absent
    // leaves in a configuration; the server's range containers are compared as given.
    let value = |i: usize| match (p[i].1, kind) {
        (Some(v), _) => Some(v),
        (None, ConfigKind::Current) => DEFAULT_PERCENTILES.get(i).copied(),
        (None, _) => None,
    };
    for i in 1..3 {
        if let (Some(hi), Some(lo)) = (value(i), value(i - 1)) {
            if hi < lo {
                return Err(ValidationError::ValueBelow {
                    field: p[i].0,
                    other: p[i - 1].0,
                });
            }
        }
    }
    if let (Some(i), Some(s)) = (c.measurement_interval, c.measurement_sample) {
        if s.seconds() >= i.seconds() {
            return Err(ValidationError::SampleNotBelowInterval);
        }
    }
    if c.telemetry_notify_interval
        .is_some_and(|v| !(1..=3600).contains(&v))
    {
        return Err(ValidationError::OutOfRange {
            field: "telemetry-notify-interval",
        });
    }
    keys_unique("unit-config", &c.unit_config, |u| u.unit)
}

fn pipes(p: &[PipeCapacity]) -> Result {
    const FIELD: &str = "total-pipe-capacity";
    if p.iter().any(|l| l.link_id.is_empty()) {
        return Err(ValidationError::InvalidText { field: "link-id" });
    }
    keys_unique(FIELD, p, |l| (l.link_id.as_str(), l.unit))?;
    if !unique(p, |l| (l.link_id.as_str(), l.unit.class())) {
        return Err(ValidationError::UnitClassRepeated { field: FIELD });
    }
    if !p.is_empty() && p.iter().all(|l| l.capacity == 0) {
        return Err(ValidationError::PipeAllZero);
    }
    Ok(())
}

fn normal(field: &'static str, g: impl Iterator<Item = super::Gauges>) -> Result {
    for g in g {
        if g.get(Gauge::Current).is_some() {
            return Err(ValidationError::NotAllowedHere {
                field: "current-g",
                within: field,
            });
        }
    }
    Ok(())
}

fn baseline(b: &Baseline) -> Result {
    if b.id == 0 {
        return Err(ValidationError::OutOfRange { field: "id" });
    }
    targets(&b.targets)?;
    keys_unique("total-traffic-normal", &b.total_traffic_normal, |t| t.unit)?;
    normal(
        "total-traffic-normal",
        b.total_traffic_normal.iter().map(|t| t.gauges),
    )?;
    keys_unique(
        "total-traffic-normal-per-protocol",
        &b.total_traffic_normal_per_protocol,
        |t| (t.unit, t.protocol),
    )?;
    normal(
        "total-traffic-normal-per-protocol",
        b.total_traffic_normal_per_protocol.iter().map(|t| t.gauges),
    )?;
    keys_unique(
        "total-traffic-normal-per-port",
        &b.total_traffic_normal_per_port,
        |t| (t.unit, t.port),
    )?;
    normal(
        "total-traffic-normal-per-port",
        b.total_traffic_normal_per_port.iter().map(|t| t.gauges),
    )?;
    keys_unique(
        "total-connection-capacity",
        &b.total_connection_capacity,
        |c| c.protocol,
    )?;
    keys_unique(
        "total-connection-capacity-per-port",
        &b.total_connection_capacity_per_port,
        |c| (c.protocol, c.port),
    )
}

fn setup_data(d: &SetupData) -> Result {
    match d {
        SetupData::CurrentConfig(c) => config(c, ConfigKind::Current),
        SetupData::TotalPipeCapacity(p) => pipes(p),
        SetupData::Baseline(b) => {
            keys_unique("baseline", b, |b| b.id)?;
            b.iter().try_for_each(baseline)
        }
    }
}

impl TelemetrySetup {
    /// Validates a client's PUT to `/tm-setup` (RFC 9244 Section 7): exactly one `telemetry`
    /// entry, no `tsid` (it is in the Uri-Path) and no server-to-client member, one non-empty
    /// kind of setup data, and the rules of that kind (percentile ranges and order, sample
    /// shorter than interval, pipe links not all zero and one unit per class, baseline ids,
    /// targets and unique list keys).
    pub fn validate_request(&self) -> Result {
        if let Some(field) = self.first_server_only_member() {
            return Err(ValidationError::ServerOnlyMember { field });
        }
        let [entry] = self.telemetry.as_slice() else {
            return Err(ValidationError::EntryCount {
                field: "telemetry",
                count: self.telemetry.len(),
            });
        };
        if entry.tsid.is_some() {
            return Err(ValidationError::ServerOnlyMember { field: "tsid" });
        }
        match &entry.setup {
            None => Err(ValidationError::EmptyMember { field: "telemetry" }),
            Some(d) if d.is_empty() => Err(ValidationError::EmptyMember { field: d.name() }),
            Some(d) => setup_data(d),
        }
    }

    /// Validates a server's body (GET response): the ranges (`max-config-values` not below
    /// `min-config-values`), the members each container may hold, unique list keys, and the
    /// rules of every setup entry.
    pub fn validate_response(&self) -> Result {
        if let Some(c) = &self.max_config_values {
            config(c, ConfigKind::Max)?;
        }
        if let Some(c) = &self.min_config_values {
            config(c, ConfigKind::Min)?;
        }
        if let (Some(max), Some(min)) = (&self.max_config_values, &self.min_config_values) {
            let below = max
                .percentiles()
                .iter()
                .zip(min.percentiles())
                .any(|((_, a), (_, b))| matches!((a, b), (Some(a), Some(b)) if *a < b))
                || matches!((max.telemetry_notify_interval, min.telemetry_notify_interval),
                    (Some(a), Some(b)) if a < b)
                || matches!((max.measurement_interval, min.measurement_interval),
                    (Some(a), Some(b)) if a < b)
                || matches!((max.measurement_sample, min.measurement_sample),
                    (Some(a), Some(b)) if a < b);
            if below {
                return Err(ValidationError::ValueBelow {
                    field: "max-config-values",
                    other: "min-config-values",
                });
            }
        }
        keys_unique("unit-config", &self.supported_unit_classes, |u| u.unit)?;
        keys_unique("supported-query-type", &self.supported_query_type, |q| *q)?;
        for e in &self.telemetry {
            if let Some(d) = &e.setup {
                setup_data(d)?;
            }
        }
        Ok(())
    }

    /// Checks the `current-config` of this (client) request against the ranges a server
    /// announces in `limits` (its GET response, RFC 9244 Section 7.1.1): a percentile,
    /// interval, sample or notification interval outside `min-config-values` ..=
    /// `max-config-values`, `server-originated-telemetry` the server does not offer, or a unit
    /// class it does not support is [`ValidationError::UnacceptableValue`] (4.22).
    pub fn check_against(&self, limits: &TelemetrySetup) -> Result {
        const CONFIG: &str = "current-config";
        let bad = |parameter| ValidationError::UnacceptableValue {
            config: CONFIG,
            parameter,
        };
        for e in &self.telemetry {
            let Some(SetupData::CurrentConfig(c)) = &e.setup else {
                continue;
            };
            let max = limits.max_config_values.as_ref();
            let min = limits.min_config_values.as_ref();
            for (i, (parameter, v)) in c.percentiles().into_iter().enumerate() {
                let Some(v) = v else { continue };
                let hi = max.and_then(|m| m.percentiles().get(i).and_then(|p| p.1));
                let lo = min.and_then(|m| m.percentiles().get(i).and_then(|p| p.1));
                if hi.is_some_and(|h| v > h) || lo.is_some_and(|l| v < l) {
                    return Err(bad(parameter));
                }
            }
            if let Some(v) = c.measurement_interval {
                if max
                    .and_then(|m| m.measurement_interval)
                    .is_some_and(|m| v > m)
                    || min
                        .and_then(|m| m.measurement_interval)
                        .is_some_and(|m| v < m)
                {
                    return Err(bad("measurement-interval"));
                }
            }
            if let Some(v) = c.measurement_sample {
                if max
                    .and_then(|m| m.measurement_sample)
                    .is_some_and(|m| v > m)
                    || min
                        .and_then(|m| m.measurement_sample)
                        .is_some_and(|m| v < m)
                {
                    return Err(bad("measurement-sample"));
                }
            }
            if let Some(v) = c.telemetry_notify_interval {
                if max
                    .and_then(|m| m.telemetry_notify_interval)
                    .is_some_and(|m| v > m)
                    || min
                        .and_then(|m| m.telemetry_notify_interval)
                        .is_some_and(|m| v < m)
                {
                    return Err(bad("telemetry-notify-interval"));
                }
            }
            // Absent in the server's max-config-values means 'false' (Section 7.1.1).
            if c.server_originated_telemetry == Some(true)
                && max.and_then(|m| m.server_originated_telemetry) != Some(true)
            {
                return Err(bad("server-originated-telemetry"));
            }
            if c.unit_config.iter().any(|u| {
                u.unit_status
                    && !limits
                        .supported_unit_classes
                        .iter()
                        .any(|s| s.unit == u.unit)
            }) && !limits.supported_unit_classes.is_empty()
            {
                return Err(bad("unit-config"));
            }
        }
        Ok(())
    }
}

fn unit_traffic(field: &'static str, t: &[UnitTraffic]) -> Result {
    keys_unique(field, t, |t| t.unit)
}

fn talker<C>(t: &Talker<C>, connections: impl FnOnce(&C) -> Result) -> Result {
    port_ranges("source-port-range", &t.source_port_range)?;
    for r in &t.source_icmp_type_range {
        if let Some(upper) = r.upper {
            if upper < r.lower {
                return Err(ValidationError::ReversedRange {
                    field: "source-icmp-type-range",
                    lower: r.lower.into(),
                    upper: upper.into(),
                });
            }
        }
    }
    keys_unique("source-port-range", &t.source_port_range, |r| r.lower)?;
    keys_unique("source-icmp-type-range", &t.source_icmp_type_range, |r| {
        r.lower
    })?;
    unit_traffic("total-attack-traffic", &t.total_attack_traffic)?;
    connections(&t.total_attack_connection)
}

fn attack_details<C>(
    details: &[AttackDetail<C>],
    connections: impl Fn(&C) -> Result + Copy,
) -> Result {
    keys_unique("attack-detail", details, |d| (d.vendor_id, d.attack_id))?;
    for d in details {
        if d.description_lang
            .as_deref()
            .is_some_and(|l| !is_language_tag(l))
        {
            return Err(ValidationError::InvalidText {
                field: "description-lang",
            });
        }
        if d.attack_description.as_deref().is_some_and(str::is_empty) {
            return Err(ValidationError::InvalidText {
                field: "attack-description",
            });
        }
        if let (Some(start), Some(end)) = (d.start_time, d.end_time) {
            if end < start {
                return Err(ValidationError::ValueBelow {
                    field: "end-time",
                    other: "start-time",
                });
            }
        }
        keys_unique("talker", &d.top_talker, |t| t.source_prefix)?;
        for t in &d.top_talker {
            talker(t, connections)?;
        }
    }
    Ok(())
}

fn talker_connections(c: &TalkerConnections) -> Result {
    keys_unique("total-attack-connection-protocol", c, |c| c.protocol)
}

fn aggregate_connections(_: &ConnectionGauges) -> Result {
    Ok(())
}

fn telemetry_target(t: &TelemetryTarget) -> Result {
    if !t.has_target() {
        return Err(ValidationError::MissingTelemetryTarget);
    }
    targets(&t.targets)
}

fn entry(e: &PreOrOngoingMitigation) -> Result {
    telemetry_target(&e.target)?;
    unit_traffic("total-traffic", &e.total_traffic)?;
    unit_traffic("total-attack-traffic", &e.total_attack_traffic)?;
    keys_unique("total-traffic-protocol", &e.total_traffic_protocol, |t| {
        (t.unit, t.protocol)
    })?;
    keys_unique("total-traffic-port", &e.total_traffic_port, |t| {
        (t.unit, t.port)
    })?;
    keys_unique(
        "total-attack-traffic-protocol",
        &e.total_attack_traffic_protocol,
        |t| (t.unit, t.protocol),
    )?;
    keys_unique(
        "total-attack-traffic-port",
        &e.total_attack_traffic_port,
        |t| (t.unit, t.port),
    )?;
    keys_unique(
        "total-attack-connection-protocol",
        &e.total_attack_connection_protocol,
        |c| c.protocol,
    )?;
    keys_unique(
        "total-attack-connection-port",
        &e.total_attack_connection_port,
        |c| (c.protocol, c.port),
    )?;
    attack_details(&e.attack_detail, talker_connections)
}

impl Telemetry {
    /// Validates a client's PUT to `/tm` (RFC 9244 Section 8.2): exactly one
    /// `pre-or-ongoing-mitigation` entry, no `tmid` (it is in the Uri-Path), a `target` with
    /// at least one of `target-prefix`, `target-fqdn`, `target-uri`, `alias-name` or
    /// `mid-list`, well-formed targets, unique list keys and consistent attack details. A
    /// target alone is valid: it asks for telemetry from the server (Section 8.3).
    pub fn validate_request(&self) -> Result {
        let [e] = self.pre_or_ongoing_mitigation.as_slice() else {
            return Err(ValidationError::EntryCount {
                field: "pre-or-ongoing-mitigation",
                count: self.pre_or_ongoing_mitigation.len(),
            });
        };
        if e.tmid.is_some() {
            return Err(ValidationError::ServerOnlyMember { field: "tmid" });
        }
        entry(e)
    }

    /// Validates a server's body (GET response, notification): every entry with a target and
    /// at least one other attribute (RFC 9244 Section 8.1.1), and the rules of
    /// [`validate_request`](Self::validate_request) for each.
    pub fn validate_response(&self) -> Result {
        for e in &self.pre_or_ongoing_mitigation {
            entry(e)?;
            if !e.has_telemetry() {
                return Err(ValidationError::MissingTelemetryData);
            }
        }
        Ok(())
    }
}

impl ScopeTelemetry {
    /// Validates the telemetry of a scope: unique list keys and consistent attack details.
    pub fn validate(&self) -> Result {
        unit_traffic("total-traffic", &self.total_traffic)?;
        unit_traffic("total-attack-traffic", &self.total_attack_traffic)?;
        attack_details(&self.attack_detail, aggregate_connections)
    }

    /// Validates the telemetry of a client's efficacy update (RFC 9244 Section 9.1): as
    /// [`validate`](Self::validate), without the server-to-client `total-traffic` and
    /// `total-attack-connection`.
    pub fn validate_efficacy_update(&self) -> Result {
        if let Some(field) = self.first_server_only_member() {
            return Err(ValidationError::ServerOnlyMember { field });
        }
        self.validate()
    }
}

impl EfficacyUpdate {
    /// Validates an efficacy update with telemetry: the rules of
    /// [`MitigationRequest::validate_efficacy_update`](crate::model::MitigationRequest::validate_efficacy_update)
    /// and of [`ScopeTelemetry::validate_efficacy_update`].
    pub fn validate(&self) -> Result {
        self.request.validate_efficacy_update()?;
        self.telemetry.validate_efficacy_update()
    }
}

impl MitigationScope {
    /// Validates the telemetry attached to the scopes of a server-to-client body: attached to
    /// existing scopes only, each valid ([`ScopeTelemetry::validate`]).
    pub(crate) fn validate_telemetry(&self) -> Result {
        for (i, t) in self.telemetry.iter() {
            if i >= self.scopes.len() {
                return Err(ValidationError::DanglingTelemetry { scope: i });
            }
            t.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_language_tag;

    #[test]
    fn language_tags() {
        for ok in [
            "en-US",
            "en",
            "zh-Hant-TW",
            "fr-CA",
            "x-private",
            "de-DE-1996",
            "de-CH-1901",
            "i-klingon",
            "sgn-BE-FR",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "-en",
            "en-",
            "en--US",
            "e n",
            "123",
            "abcdefghi",
            "en_US",
            "e",
            "x",
            "en-abcdefghi",
            "é",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
