//! Response and notification bodies, written into caller buffers without allocation.

use alloc::string::String;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{
    ActivationType, ConflictCause, ConflictInformation, Lifetime, MitigationRequest, Scope,
    ScopeEntry,
};
use dots_codec::path::Content;

use super::hooks::SignalHooks;
use super::request::{Handled, Response};
use super::state::{is_active, Mitigation};
use super::{SignalServer, MIN_RESPONSE_BUFFER};
use crate::time::Instant;

/// `{1: {2: [` — the `mitigation-scope` / `scope` wrapper of a one-entry body, as the codec
/// writes it (definite lengths, keys ascending): map(1), key 1, map(1), key 2, array(1).
const ONE_ENTRY_PREFIX: [u8; 5] = [0xa1, 0x01, 0xa1, 0x02, 0x81];

/// The stored request of a record. The bytes are the server's own encoding, so decoding does
/// not fail; should it ever, an empty request stands in.
pub(crate) fn stored_request(m: &Mitigation) -> MitigationRequest {
    MitigationRequest::decode_cbor(&m.request).unwrap_or_default()
}

/// The `scope` entry of a record as a GET response or notification shows it.
fn entry_for<H: SignalHooks>(
    s: &SignalServer<H>,
    now: Instant,
    m: &Mitigation,
    content: Content,
) -> MitigationRequest {
    let mut r = stored_request(m);
    let e = &mut r.entry;
    e.mid = Some(m.mid);
    if content == Content::NonConfig {
        e.scope = Scope::new();
    }
    e.scope.lifetime = Some(m.remaining(now));
    if content != Content::Config {
        e.status = Some(m.status);
        let stats = m.counters.get();
        if is_active(m.status) && m.started != Instant::MAX {
            // RFC 9132 Section 4.4.2: mandatory while active, never with status 8.
            e.mitigation_start = stats.mitigation_start.or_else(|| {
                s.config
                    .unix_time_at_epoch
                    .map(|t| t.saturating_add(m.started.as_millis() / 1000))
            });
        }
        e.bytes_dropped = stats.bytes_dropped;
        e.bps_dropped = stats.bps_dropped;
        e.pkts_dropped = stats.pkts_dropped;
        e.pps_dropped = stats.pps_dropped;
        e.conflict_information = m.conflict.map(|st| ConflictInformation {
            conflict_status: Some(st),
            conflict_cause: Some(ConflictCause::OverlappingTargets),
            ..ConflictInformation::default()
        });
    }
    r
}

fn array_header(n: usize, out: &mut [u8]) -> usize {
    let mut h = [0u8; 9];
    let len = if n < 24 {
        h[0] = 0x80 | n as u8;
        1
    } else if let Ok(v) = u8::try_from(n) {
        h[0] = 0x98;
        h[1] = v;
        2
    } else if let Ok(v) = u16::try_from(n) {
        h[0] = 0x99;
        h[1..3].copy_from_slice(&v.to_be_bytes());
        3
    } else {
        let v = u32::try_from(n).unwrap_or(u32::MAX);
        h[0] = 0x9a;
        h[1..5].copy_from_slice(&v.to_be_bytes());
        5
    };
    if let Some(dst) = out.get_mut(..len) {
        dst.copy_from_slice(&h[..len]);
    }
    len
}

/// Writes `{1: {2: [entries]}}` for `records` into `out`; `Err(needed)` when it does not fit.
/// One entry at a time goes through a stack buffer: no allocation, whatever the count, unless
/// an entry carries RFC 9244 telemetry (the host's, for the records of client `slot`, shown
/// with non-configuration data).
pub(crate) fn write_entries<'m, H: SignalHooks>(
    s: &SignalServer<H>,
    now: Instant,
    records: impl Iterator<Item = &'m Mitigation> + Clone,
    slot: Option<u32>,
    content: Content,
    out: &mut [u8],
) -> Result<usize, usize> {
    let n = records.clone().count();
    let mut pos = 0usize;
    let mut fits = true;
    let mut head = [0u8; 9];
    head[..4].copy_from_slice(&[0xa1, 0x01, 0xa1, 0x02]);
    let hl = 4 + array_header(n, &mut head[4..]);
    match out.get_mut(..hl) {
        Some(dst) => dst.copy_from_slice(&head[..hl]),
        None => fits = false,
    }
    pos += hl;
    let mut scratch = [0u8; MIN_RESPONSE_BUFFER];
    let mut big = alloc::vec::Vec::new();
    for m in records {
        let req = entry_for(s, now, m, content);
        let tm = slot
            .filter(|_| content != Content::Config)
            .and_then(|slot| s.scope_telemetry_of(slot, m.mid));
        let bytes: &[u8] = match &tm {
            None => {
                let len = req.encode_cbor(&mut scratch).unwrap_or(0);
                scratch.get(..len).unwrap_or_default()
            }
            Some(t) => {
                let one = core::iter::once((&req.entry, Some(t)));
                big.resize(
                    dots_codec::cbor::encoded_scopes_with_telemetry_len(one.clone()),
                    0,
                );
                let len =
                    dots_codec::cbor::encode_scopes_with_telemetry(one, &mut big).unwrap_or(0);
                big.get(..len).unwrap_or_default()
            }
        };
        let body = match bytes {
            b if b.starts_with(&ONE_ENTRY_PREFIX) => &b[ONE_ENTRY_PREFIX.len()..],
            _ => &[][..],
        };
        if fits {
            match out.get_mut(pos..pos + body.len()) {
                Some(dst) => dst.copy_from_slice(body),
                None => fits = false,
            }
        }
        pos += body.len();
    }
    if fits {
        Ok(pos)
    } else {
        Err(pos)
    }
}

fn write_one(entry: ScopeEntry, out: &mut [u8]) -> usize {
    MitigationRequest { entry }.encode_cbor(out).unwrap_or(0)
}

/// 2.01/2.04 to a PUT: `{mid, lifetime}` (RFC 9132 Figure 10), with `conflict-information`
/// when it conflicts with another client's mitigation.
pub(crate) fn lifetime_response(
    code: Code,
    mid: u32,
    lifetime: Lifetime,
    conflict: Option<ConflictInformation>,
    out: &mut [u8],
) -> Handled {
    let mut e = ScopeEntry {
        mid: Some(mid),
        conflict_information: conflict,
        ..ScopeEntry::default()
    };
    e.scope.lifetime = Some(lifetime);
    Handled::Respond(Response::cbor(code, write_one(e, out)))
}

/// 4.09 with `conflict-information`.
pub(crate) fn conflict_response(
    code: Code,
    info: ConflictInformation,
    mid: Option<u32>,
    out: &mut [u8],
) -> Handled {
    let e = ScopeEntry {
        mid,
        conflict_information: Some(info),
        ..ScopeEntry::default()
    };
    Handled::Respond(Response::cbor(code, write_one(e, out)))
}

/// `conflict-cause` 3 only (RFC 9132 Figure 11: "'conflict-status', 'conflict-scope', and
/// 'retry-timer' MUST NOT be returned").
pub(crate) fn cuid_collision() -> ConflictInformation {
    ConflictInformation {
        conflict_cause: Some(ConflictCause::CuidCollision),
        ..ConflictInformation::default()
    }
}

/// 5.03 for a failed `acl-list` (RFC 9133 Section 3.2.1, Figure 1): `{mid, acl-list}`.
pub(crate) fn acl_failure(
    mid: u32,
    failed: &[(String, Option<ActivationType>)],
    retry_after: u32,
    out: &mut [u8],
) -> Handled {
    let mut e = ScopeEntry {
        mid: Some(mid),
        ..ScopeEntry::default()
    };
    for (name, t) in failed {
        if e.scope.push_acl(name, *t).is_err() {
            break;
        }
    }
    let mut r = Response::cbor(Code::SERVICE_UNAVAILABLE, write_one(e, out));
    r.max_age = Some(retry_after);
    Handled::Respond(r)
}
