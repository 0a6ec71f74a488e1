//! CBOR of `signal-config` bodies (RFC 9132 Section 4.5, RFC 9362).

use minicbor::encode::{Error, Write};
use minicbor::{Decoder, Encoder};

use super::read::{self, Result};
use super::signal::top_level;
use super::write::{count, decimal, key};
use crate::keys as k;
use crate::model::{ConfigParams, DecimalParam, IntParam, SignalConfig};

type EResult<W> = core::result::Result<(), Error<<W as Write>::Error>>;

const PARAM_KEYS: &[u64] = &[
    k::HEARTBEAT_INTERVAL,
    k::MISSING_HB_ALLOWED,
    k::MAX_RETRANSMIT,
    k::ACK_TIMEOUT,
    k::ACK_RANDOM_FACTOR,
    k::PROBING_RATE,
    k::MAX_PAYLOADS,
    k::NON_MAX_RETRANSMIT,
    k::NON_TIMEOUT,
    k::NON_RECEIVE_TIMEOUT,
    k::NON_PROBING_WAIT,
    k::NON_PARTIAL_TIMEOUT,
];

fn int_param(dec: &mut Decoder<'_>, within: u64, depth: usize) -> Result<IntParam> {
    let mut p = IntParam::default();
    read::map(
        dec,
        within,
        depth,
        &[k::MAX_VALUE, k::MIN_VALUE, k::CURRENT_VALUE],
        |dec, key, _| {
            let v = Some(read::uint::<u16>(dec, key)?);
            match key {
                k::MAX_VALUE => p.max_value = v,
                k::MIN_VALUE => p.min_value = v,
                _ => p.current_value = v,
            }
            Ok(())
        },
    )?;
    Ok(p)
}

fn decimal_param(dec: &mut Decoder<'_>, within: u64, depth: usize) -> Result<DecimalParam> {
    let mut p = DecimalParam::default();
    read::map(
        dec,
        within,
        depth,
        &[
            k::MAX_VALUE_DECIMAL,
            k::MIN_VALUE_DECIMAL,
            k::CURRENT_VALUE_DECIMAL,
        ],
        |dec, key, depth| {
            let v = Some(read::decimal(dec, key, depth)?);
            match key {
                k::MAX_VALUE_DECIMAL => p.max_value = v,
                k::MIN_VALUE_DECIMAL => p.min_value = v,
                _ => p.current_value = v,
            }
            Ok(())
        },
    )?;
    Ok(p)
}

fn params(dec: &mut Decoder<'_>, within: u64, depth: usize) -> Result<ConfigParams> {
    let mut c = ConfigParams::default();
    read::map(dec, within, depth, PARAM_KEYS, |dec, key, depth| {
        match key {
            k::HEARTBEAT_INTERVAL => c.heartbeat_interval = Some(int_param(dec, key, depth)?),
            k::MISSING_HB_ALLOWED => c.missing_hb_allowed = Some(int_param(dec, key, depth)?),
            k::MAX_RETRANSMIT => c.max_retransmit = Some(int_param(dec, key, depth)?),
            k::PROBING_RATE => c.probing_rate = Some(int_param(dec, key, depth)?),
            k::MAX_PAYLOADS => c.max_payloads = Some(int_param(dec, key, depth)?),
            k::NON_MAX_RETRANSMIT => c.non_max_retransmit = Some(int_param(dec, key, depth)?),
            k::ACK_TIMEOUT => c.ack_timeout = Some(decimal_param(dec, key, depth)?),
            k::ACK_RANDOM_FACTOR => c.ack_random_factor = Some(decimal_param(dec, key, depth)?),
            k::NON_TIMEOUT => c.non_timeout = Some(decimal_param(dec, key, depth)?),
            k::NON_RECEIVE_TIMEOUT => c.non_receive_timeout = Some(decimal_param(dec, key, depth)?),
            k::NON_PROBING_WAIT => c.non_probing_wait = Some(decimal_param(dec, key, depth)?),
            _ => c.non_partial_timeout = Some(decimal_param(dec, key, depth)?),
        }
        Ok(())
    })?;
    Ok(c)
}

pub(super) fn signal_config_body(dec: &mut Decoder<'_>, depth: usize) -> Result<SignalConfig> {
    let mut sc = SignalConfig::default();
    read::map(
        dec,
        k::SIGNAL_CONFIG,
        depth,
        &[k::SID, k::MITIGATING_CONFIG, k::IDLE_CONFIG],
        |dec, key, depth| {
            match key {
                k::SID => sc.sid = Some(read::uint(dec, key)?),
                k::MITIGATING_CONFIG => sc.mitigating_config = Some(params(dec, key, depth)?),
                _ => sc.idle_config = Some(params(dec, key, depth)?),
            }
            Ok(())
        },
    )?;
    Ok(sc)
}

pub(super) fn decode_signal_config(dec: &mut Decoder<'_>) -> Result<SignalConfig> {
    top_level(dec, k::SIGNAL_CONFIG, signal_config_body)
}

fn encode_int<W: Write>(e: &mut Encoder<W>, kk: u64, p: &IntParam) -> EResult<W> {
    key(e, kk)?;
    e.map(count(&[
        p.max_value.is_some(),
        p.min_value.is_some(),
        p.current_value.is_some(),
    ]))?;
    for (kk, v) in [
        (k::MAX_VALUE, p.max_value),
        (k::MIN_VALUE, p.min_value),
        (k::CURRENT_VALUE, p.current_value),
    ] {
        if let Some(v) = v {
            e.u64(kk)?.u16(v)?;
        }
    }
    Ok(())
}

fn encode_decimal<W: Write>(e: &mut Encoder<W>, kk: u64, p: &DecimalParam) -> EResult<W> {
    key(e, kk)?;
    e.map(count(&[
        p.max_value.is_some(),
        p.min_value.is_some(),
        p.current_value.is_some(),
    ]))?;
    for (kk, v) in [
        (k::MAX_VALUE_DECIMAL, p.max_value),
        (k::MIN_VALUE_DECIMAL, p.min_value),
        (k::CURRENT_VALUE_DECIMAL, p.current_value),
    ] {
        if let Some(v) = v {
            key(e, kk)?;
            decimal(e, v)?;
        }
    }
    Ok(())
}

fn encode_params<W: Write>(e: &mut Encoder<W>, kk: u64, c: &ConfigParams) -> EResult<W> {
    key(e, kk)?;
    let ints = c.int_params().iter().filter(|(_, p)| p.is_some()).count();
    let decs = c
        .decimal_params()
        .iter()
        .filter(|(_, p)| p.is_some())
        .count();
    e.map((ints + decs) as u64)?;
    // Ascending key order: 33, 37, 38, 39, 40, 50, 32776..=32781.
    if let Some(p) = &c.heartbeat_interval {
        encode_int(e, k::HEARTBEAT_INTERVAL, p)?;
    }
    if let Some(p) = &c.missing_hb_allowed {
        encode_int(e, k::MISSING_HB_ALLOWED, p)?;
    }
    if let Some(p) = &c.max_retransmit {
        encode_int(e, k::MAX_RETRANSMIT, p)?;
    }
    if let Some(p) = &c.ack_timeout {
        encode_decimal(e, k::ACK_TIMEOUT, p)?;
    }
    if let Some(p) = &c.ack_random_factor {
        encode_decimal(e, k::ACK_RANDOM_FACTOR, p)?;
    }
    if let Some(p) = &c.probing_rate {
        encode_int(e, k::PROBING_RATE, p)?;
    }
    if let Some(p) = &c.max_payloads {
        encode_int(e, k::MAX_PAYLOADS, p)?;
    }
    if let Some(p) = &c.non_max_retransmit {
        encode_int(e, k::NON_MAX_RETRANSMIT, p)?;
    }
    for (kk, p) in [
        (k::NON_TIMEOUT, &c.non_timeout),
        (k::NON_RECEIVE_TIMEOUT, &c.non_receive_timeout),
        (k::NON_PROBING_WAIT, &c.non_probing_wait),
        (k::NON_PARTIAL_TIMEOUT, &c.non_partial_timeout),
    ] {
        if let Some(p) = p {
            encode_decimal(e, kk, p)?;
        }
    }
    Ok(())
}

pub(super) fn encode_signal_config_body<W: Write>(
    e: &mut Encoder<W>,
    sc: &SignalConfig,
) -> EResult<W> {
    e.map(count(&[
        sc.sid.is_some(),
        sc.mitigating_config.is_some(),
        sc.idle_config.is_some(),
    ]))?;
    if let Some(sid) = sc.sid {
        e.u64(k::SID)?.u32(sid)?;
    }
    if let Some(c) = &sc.mitigating_config {
        encode_params(e, k::MITIGATING_CONFIG, c)?;
    }
    if let Some(c) = &sc.idle_config {
        encode_params(e, k::IDLE_CONFIG, c)?;
    }
    Ok(())
}

pub(super) fn encode_signal_config<W: Write>(e: &mut Encoder<W>, sc: &SignalConfig) -> EResult<W> {
    e.map(1)?.u64(k::SIGNAL_CONFIG)?;
    encode_signal_config_body(e, sc)
}
