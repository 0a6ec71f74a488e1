//! CBOR of the top-level body, heartbeats and redirected signals.

use core::net::IpAddr;
use core::str::FromStr;

use minicbor::encode::{Error, Write};
use minicbor::{Decoder, Encoder};

use super::read::{self, Result};
use super::write::count;
use super::{config, scope, telemetry, DecodeError};
use crate::keys as k;
use crate::model::{
    CapacityError, DomainName, Heartbeat, RedirectedSignal, SignalMessage, MAX_ALT_SERVER_RECORDS,
    MAX_TEXT_LEN,
};

type EResult<W> = core::result::Result<(), Error<<W as Write>::Error>>;

/// Top-level keys of the `message-type` choice (RFC 9132) and RFC 9244's telemetry messages.
const MESSAGE_KEYS: &[u64] = &[
    k::MITIGATION_SCOPE,
    k::SIGNAL_CONFIG,
    k::REDIRECTED_SIGNAL,
    k::HEARTBEAT,
    k::TELEMETRY_SETUP,
    k::TELEMETRY_MESSAGE,
];

/// The top-level map: exactly one `message-type` member. `f` decodes the value of the member
/// whose key is `want` (any message when `want` is `None`).
fn message<T>(
    dec: &mut Decoder<'_>,
    want: Option<u64>,
    f: impl FnOnce(&mut Decoder<'_>, u64, usize) -> Result<T>,
) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    let mut n = 0u64;
    read::map(dec, 0, 0, MESSAGE_KEYS, |dec, key, depth| {
        n += 1;
        if n > 1 {
            return Err(DecodeError::MessageCount { count: n });
        }
        if want.is_some_and(|w| w != key) {
            return Err(DecodeError::UnexpectedMessage { key });
        }
        match f.take() {
            Some(f) => out = Some(f(dec, key, depth)?),
            None => return Err(DecodeError::MessageCount { count: n }),
        }
        Ok(())
    })?;
    out.ok_or(DecodeError::MessageCount { count: 0 })
}

pub(super) fn top_level<T>(
    dec: &mut Decoder<'_>,
    want: u64,
    f: impl FnOnce(&mut Decoder<'_>, usize) -> Result<T>,
) -> Result<T> {
    message(dec, Some(want), |dec, _, depth| f(dec, depth))
}

pub(super) fn decode_message(dec: &mut Decoder<'_>) -> Result<SignalMessage> {
    message(dec, None, |dec, key, depth| match key {
        k::MITIGATION_SCOPE => {
            let mut m = crate::model::MitigationScope::default();
            scope::mitigation_scope_body(dec, depth, &mut m)?;
            Ok(SignalMessage::MitigationScope(m))
        }
        k::SIGNAL_CONFIG => Ok(SignalMessage::SignalConfig(config::signal_config_body(
            dec, depth,
        )?)),
        k::REDIRECTED_SIGNAL => Ok(SignalMessage::RedirectedSignal(redirect_body(dec, depth)?)),
        k::HEARTBEAT => Ok(SignalMessage::Heartbeat(heartbeat_body(dec, depth)?)),
        k::TELEMETRY_SETUP => {
            let mut s = crate::model::TelemetrySetup::default();
            telemetry::telemetry_setup_body(dec, depth, &mut s)?;
            Ok(SignalMessage::TelemetrySetup(s))
        }
        k::TELEMETRY_MESSAGE => {
            let mut t = crate::model::Telemetry::default();
            telemetry::telemetry_body(dec, depth, &mut t)?;
            Ok(SignalMessage::Telemetry(t))
        }
        _ => Err(DecodeError::UnexpectedMessage { key }),
    })
}

fn heartbeat_body(dec: &mut Decoder<'_>, depth: usize) -> Result<Heartbeat> {
    let mut status = None;
    read::map(
        dec,
        k::HEARTBEAT,
        depth,
        &[k::PEER_HB_STATUS],
        |dec, key, _| {
            status = Some(read::boolean(dec, key)?);
            Ok(())
        },
    )?;
    let peer_hb_status = status.ok_or(DecodeError::MissingMember {
        key: k::PEER_HB_STATUS,
    })?;
    Ok(Heartbeat { peer_hb_status })
}

pub(super) fn decode_heartbeat(dec: &mut Decoder<'_>) -> Result<Heartbeat> {
    top_level(dec, k::HEARTBEAT, heartbeat_body)
}

fn domain(dec: &mut Decoder<'_>, key: u64) -> Result<DomainName> {
    read::text(dec, key, |s| {
        DomainName::try_from(s).map_err(|_| DecodeError::Capacity {
            key,
            error: CapacityError::TextTooLong {
                limit: MAX_TEXT_LEN,
            },
        })
    })
}

fn addresses(
    dec: &mut Decoder<'_>,
    key: u64,
    depth: usize,
    out: &mut heapless::Vec<IpAddr, MAX_ALT_SERVER_RECORDS, u8>,
) -> Result<()> {
    read::array(dec, key, depth, |dec, _, _| {
        let a = read::text(dec, key, |s| {
            IpAddr::from_str(s).map_err(|_| DecodeError::InvalidValue { key })
        })?;
        out.push(a).map_err(|_| DecodeError::Capacity {
            key,
            error: CapacityError::TooManyItems {
                limit: MAX_ALT_SERVER_RECORDS,
            },
        })
    })
}

fn redirect_body(dec: &mut Decoder<'_>, depth: usize) -> Result<RedirectedSignal> {
    let mut r = RedirectedSignal::default();
    read::map(
        dec,
        k::REDIRECTED_SIGNAL,
        depth,
        &[
            k::ALT_SERVER,
            k::ALT_SERVER_RECORD,
            k::ALT_CH_CLIENT,
            k::ALT_CH_CLIENT_RECORD,
            k::TTL,
        ],
        |dec, key, depth| {
            match key {
                k::ALT_SERVER => r.alt_server = Some(domain(dec, key)?),
                k::ALT_CH_CLIENT => r.alt_ch_client = Some(domain(dec, key)?),
                k::ALT_SERVER_RECORD => addresses(dec, key, depth, &mut r.alt_server_record)?,
                k::ALT_CH_CLIENT_RECORD => addresses(dec, key, depth, &mut r.alt_ch_client_record)?,
                _ => r.ttl = Some(read::uint(dec, key)?),
            }
            Ok(())
        },
    )?;
    Ok(r)
}

pub(super) fn decode_redirected_signal(dec: &mut Decoder<'_>) -> Result<RedirectedSignal> {
    top_level(dec, k::REDIRECTED_SIGNAL, redirect_body)
}

pub(super) fn encode_heartbeat<W: Write>(e: &mut Encoder<W>, h: &Heartbeat) -> EResult<W> {
    e.map(1)?.u64(k::HEARTBEAT)?.map(1)?;
    e.u64(k::PEER_HB_STATUS)?.bool(h.peer_hb_status)?;
    Ok(())
}

fn addr_list<W: Write>(e: &mut Encoder<W>, kk: u64, a: &[IpAddr]) -> EResult<W> {
    e.u64(kk)?.array(a.len() as u64)?;
    for addr in a {
        e.str(super::write::AddrText::ip(*addr).as_str())?;
    }
    Ok(())
}

pub(super) fn encode_redirected_signal<W: Write>(
    e: &mut Encoder<W>,
    r: &RedirectedSignal,
) -> EResult<W> {
    e.map(1)?.u64(k::REDIRECTED_SIGNAL)?;
    e.map(count(&[
        r.alt_server.is_some(),
        !r.alt_server_record.is_empty(),
        r.alt_ch_client.is_some(),
        !r.alt_ch_client_record.is_empty(),
        r.ttl.is_some(),
    ]))?;
    if let Some(s) = &r.alt_server {
        e.u64(k::ALT_SERVER)?.str(s)?;
    }
    if !r.alt_server_record.is_empty() {
        addr_list(e, k::ALT_SERVER_RECORD, &r.alt_server_record)?;
    }
    if let Some(s) = &r.alt_ch_client {
        e.u64(k::ALT_CH_CLIENT)?.str(s)?;
    }
    if !r.alt_ch_client_record.is_empty() {
        addr_list(e, k::ALT_CH_CLIENT_RECORD, &r.alt_ch_client_record)?;
    }
    if let Some(t) = r.ttl {
        e.u64(k::TTL)?.u32(t)?;
    }
    Ok(())
}

pub(super) fn encode_message<W: Write>(e: &mut Encoder<W>, m: &SignalMessage) -> EResult<W> {
    match m {
        SignalMessage::MitigationScope(s) => scope::encode_mitigation_scope(e, s),
        SignalMessage::SignalConfig(c) => config::encode_signal_config(e, c),
        SignalMessage::RedirectedSignal(r) => encode_redirected_signal(e, r),
        SignalMessage::Heartbeat(h) => encode_heartbeat(e, h),
        SignalMessage::TelemetrySetup(s) => telemetry::encode_telemetry_setup(e, s),
        SignalMessage::Telemetry(t) => telemetry::encode_telemetry(e, t),
    }
}
