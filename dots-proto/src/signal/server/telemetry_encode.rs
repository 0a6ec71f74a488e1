//! RFC 9244 response and notification bodies of any length, written into caller buffers: the
//! model's bodies hold a few entries (`MAX_TELEMETRY_SETUPS`, `MAX_PRE_OR_ONGOING`), a server
//! lists every `tsid` and `tmid` of a client. Each entry is encoded alone by the codec and its
//! list wrapper stripped; the wrapper is written once with the full count.

use alloc::vec::Vec;

use dots_codec::cbor::CborBody;
use dots_codec::model::telemetry::{
    PreOrOngoingMitigation, SetupData, Telemetry, TelemetryConfig, TelemetrySetup,
};

use super::telemetry::SetupRec;

/// CBOR key of `tsid` (RFC 9244 Table 4).
const TSID: u64 = 128;
/// CBOR key of the `telemetry` list of a `telemetry-setup` body.
const TELEMETRY: u64 = 129;
/// CBOR key of `pre-or-ongoing-mitigation`.
const PRE_OR_ONGOING: u64 = 138;
/// CBOR key of `ietf-dots-telemetry:telemetry-setup`.
const TELEMETRY_SETUP: u64 = 203;
/// CBOR key of `ietf-dots-telemetry:telemetry`.
const TELEMETRY_MESSAGE: u64 = 208;

/// A CBOR head at `pos`: major type, argument, length in bytes.
fn head(b: &[u8], pos: usize) -> Option<(u8, u64, usize)> {
    let ib = *b.get(pos)?;
    let (major, info) = (ib >> 5, ib & 0x1f);
    let n = match info {
        0..=23 => return Some((major, u64::from(info), 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return None,
    };
    let bytes = b.get(pos + 1..pos + 1 + n)?;
    let arg = bytes.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x));
    Some((major, arg, 1 + n))
}

/// Appends a CBOR head.
fn put_head(major: u8, arg: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if let Ok(v) = u8::try_from(arg) {
        out.extend_from_slice(&[m | 24, v]);
    } else if let Ok(v) = u16::try_from(arg) {
        out.push(m | 25);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(arg) {
        out.push(m | 26);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// The single item of a `{K: {L: [item]}}` body, and the members after `{K: {` (for a body
/// whose inner map has other members after the list).
fn list_item(b: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    for want in [5u8, 0, 5, 0, 4] {
        let (major, _, n) = head(b, pos)?;
        if major != want {
            return None;
        }
        pos += n;
    }
    b.get(pos..)
}

/// The members of the inner map of a `{K: {members}}` body, and their count.
fn inner_members(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut pos = 0;
    let (m, _, n) = head(b, pos)?;
    pos += n;
    let (k, _, n) = head(b, pos)?;
    pos += n;
    let (inner, count, n) = head(b, pos)?;
    if (m, k, inner) != (5, 0, 5) {
        return None;
    }
    Some((count, b.get(pos + n..)?))
}

/// Copies `body` into `out`, or says how long it is.
fn emit(body: &[u8], out: &mut [u8]) -> Result<usize, usize> {
    match out.get_mut(..body.len()) {
        Some(dst) => {
            dst.copy_from_slice(body);
            Ok(body.len())
        }
        None => Err(body.len()),
    }
}

fn encode<T: CborBody>(v: &T) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; v.encoded_len()];
    let n = v.encode_cbor(&mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Writes a `telemetry-setup` body: the server-only members of `limits`, an entry per record
/// (with its `tsid`), and a `current-config` entry without `tsid` for `default`.
pub(crate) fn write_setups<'r>(
    limits: Option<&TelemetrySetup>,
    recs: impl Iterator<Item = &'r SetupRec>,
    default: Option<TelemetryConfig>,
    out: &mut [u8],
) -> Result<usize, usize> {
    let mut entries: Vec<Vec<u8>> = Vec::new();
    for r in recs {
        let Some(item) = list_item(&r.body) else {
            continue;
        };
        // The stored entry is `{setup member}`; `tsid` (key 128) sorts first.
        let Some((5, count, n)) = head(item, 0) else {
            continue;
        };
        let mut e = Vec::with_capacity(item.len() + 6);
        put_head(5, count + 1, &mut e);
        put_head(0, TSID, &mut e);
        put_head(0, u64::from(r.tsid), &mut e);
        e.extend_from_slice(item.get(n..).unwrap_or_default());
        entries.push(e);
    }
    if let Some(d) = default {
        let b = encode(&TelemetrySetup::request(SetupData::CurrentConfig(d)));
        if let Some(item) = list_item(&b) {
            entries.push(item.to_vec());
        }
    }
    let tail = limits.map(encode);
    let (extra, members) = match tail.as_deref().and_then(inner_members) {
        Some((n, m)) => (n, m),
        None => (0, &[][..]),
    };
    let mut body = Vec::new();
    put_head(5, 1, &mut body);
    put_head(0, TELEMETRY_SETUP, &mut body);
    put_head(5, extra + u64::from(!entries.is_empty()), &mut body);
    if !entries.is_empty() {
        put_head(0, TELEMETRY, &mut body);
        put_head(4, entries.len() as u64, &mut body);
        for e in &entries {
            body.extend_from_slice(e);
        }
    }
    body.extend_from_slice(members);
    emit(&body, out)
}

/// Writes a `telemetry` body with these `pre-or-ongoing-mitigation` entries.
pub(crate) fn write_telemetry(
    entries: &[PreOrOngoingMitigation],
    out: &mut [u8],
) -> Result<usize, usize> {
    let mut body = Vec::new();
    put_head(5, 1, &mut body);
    put_head(0, TELEMETRY_MESSAGE, &mut body);
    if entries.is_empty() {
        put_head(5, 0, &mut body);
        return emit(&body, out);
    }
    put_head(5, 1, &mut body);
    put_head(0, PRE_OR_ONGOING, &mut body);
    put_head(4, entries.len() as u64, &mut body);
    for e in entries {
        let b = encode(&Telemetry::new(e.clone()));
        if let Some(item) = list_item(&b) {
            body.extend_from_slice(item);
        }
    }
    emit(&body, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dots_codec::model::telemetry::{PipeCapacity, TelemetrySetupEntry, Unit};

    fn rec(tsid: u32, data: SetupData) -> SetupRec {
        SetupRec {
            tsid,
            kind: super::super::telemetry::SetupKind::Pipe,
            body: encode(&TelemetrySetup::request(data)).into_boxed_slice(),
            aliases: Vec::new(),
        }
    }

    #[test]
    fn setups_agree_with_the_codec() {
        let mut pipes = heapless::Vec::new();
        let _ = pipes.push(PipeCapacity {
            link_id: "link1".try_into().unwrap(),
            capacity: 500,
            unit: Unit::MegabitPs,
        });
        let a = rec(126, SetupData::TotalPipeCapacity(pipes));
        let b = rec(
            300,
            SetupData::CurrentConfig(TelemetryConfig {
                telemetry_notify_interval: Some(9),
                ..TelemetryConfig::default()
            }),
        );
        let limits = super::super::TelemetryPolicy::default().limits();
        let default = TelemetryConfig::default();
        let mut out = [0u8; 2048];
        let n = write_setups(
            Some(&limits),
            [&a, &b].into_iter(),
            Some(default.clone()),
            &mut out,
        )
        .unwrap();
        let mut want = limits.clone();
        for (r, tsid) in [(&a, 126), (&b, 300)] {
            let mut e: TelemetrySetupEntry =
                TelemetrySetup::decode_cbor(&r.body).unwrap().telemetry[0].clone();
            e.tsid = Some(tsid);
            want.telemetry.push(e).unwrap();
        }
        want.telemetry
            .push(TelemetrySetupEntry::new(SetupData::CurrentConfig(default)))
            .unwrap();
        let got = TelemetrySetup::decode_cbor(&out[..n]).unwrap();
        assert_eq!(got, want);
        // Byte for byte what the codec writes.
        assert_eq!(&out[..n], &encode(&want)[..]);
        // Too small: the size needed.
        assert_eq!(
            write_setups(Some(&limits), [&a].into_iter(), None, &mut out[..3]),
            Err(encode(&{
                let mut w = limits.clone();
                w.telemetry = want.telemetry.iter().take(1).cloned().collect();
                w
            })
            .len())
        );
        // Nothing at all.
        let n = write_setups(None, core::iter::empty(), None, &mut out).unwrap();
        assert_eq!(
            TelemetrySetup::decode_cbor(&out[..n]).unwrap(),
            TelemetrySetup::default()
        );
    }

    #[test]
    fn telemetry_agrees_with_the_codec() {
        let mut e = PreOrOngoingMitigation {
            tmid: Some(567),
            ..PreOrOngoingMitigation::default()
        };
        e.target
            .targets
            .push_prefix("2001:db8::1/128".parse().unwrap())
            .unwrap();
        let mut f = e.clone();
        f.tmid = Some(568);
        let g = {
            let mut g = e.clone();
            g.tmid = Some(569);
            g
        };
        let mut out = [0u8; 1024];
        let n = write_telemetry(&[e.clone(), f.clone(), g], &mut out).unwrap();
        // Three entries: more than the model holds; the first two decode as the codec's.
        assert!(Telemetry::decode_cbor(&out[..n]).is_err());
        let n = write_telemetry(&[e.clone(), f.clone()], &mut out).unwrap();
        let mut want = Telemetry::new(e);
        want.pre_or_ongoing_mitigation.push(f).unwrap();
        assert_eq!(&out[..n], &encode(&want)[..]);
        let n = write_telemetry(&[], &mut out).unwrap();
        assert_eq!(
            Telemetry::decode_cbor(&out[..n]).unwrap(),
            Telemetry::default()
        );
    }

    #[test]
    fn heads() {
        for v in [
            0u64,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_head(4, v, &mut b);
            assert_eq!(head(&b, 0), Some((4, v, b.len())));
        }
        assert_eq!(head(&[0x1c], 0), None);
        assert_eq!(head(&[0x19, 0x01], 0), None);
        assert_eq!(list_item(&[0xa1, 0x01]), None);
    }
}
