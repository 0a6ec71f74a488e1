//! `/config` (RFC 9132 Section 4.5) and `/hb` (Section 4.7), and the parameters in force for a
//! session.

use alloc::boxed::Box;
use core::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{ConfigParams, DecimalParam, Heartbeat, IntParam, SignalConfig};

use super::event::{ConfigPhase, ServerEvent};
use super::hooks::SignalHooks;
use super::mitigate::Fail;
use super::request::{Handled, ObserveAction, ObserveTarget, Request, Response};
use super::state::{ClientConfig, Owner};
use super::{CommandError, PeerIdentity, SignalServer};
use crate::time::Instant;

/// The session parameters in force for a peer: the client's negotiated values where it sent
/// some, the server's defaults otherwise, and which set applies now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionParams {
    /// Which set applies (mitigating while any mitigation of the session's clients runs).
    pub phase: ConfigPhase,
    /// The `sid` of the client's configuration, if it negotiated one.
    pub sid: Option<u32>,
    /// `mitigating-config` current values.
    pub mitigating: ConfigParams,
    /// `idle-config` current values.
    pub idle: ConfigParams,
}

impl SessionParams {
    /// The set in force now.
    #[must_use]
    pub fn current(&self) -> &ConfigParams {
        match self.phase {
            ConfigPhase::Idle => &self.idle,
            ConfigPhase::Mitigating => &self.mitigating,
        }
    }

    /// The RFC 9177 / RFC 9362 Q-Block congestion-control values of the set in force, for the
    /// transaction layer.
    #[must_use]
    pub fn qblock(&self) -> QBlockParams {
        QBlockParams::from_config(self.current())
    }
}

/// RFC 9177 Section 7.2's congestion-control parameters for Q-Block transfers (NON), from a
/// negotiated configuration set (RFC 9362 Section 3), with the defaults of RFC 9362 where a
/// parameter is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QBlockParams {
    /// MAX_PAYLOADS (`max-payloads`, default 10).
    pub max_payloads: u16,
    /// NON_MAX_RETRANSMIT (`non-max-retransmit`, default `max-retransmit`).
    pub non_max_retransmit: u16,
    /// NON_TIMEOUT (`non-timeout`, default `ack-timeout`).
    pub non_timeout: Duration,
    /// NON_RECEIVE_TIMEOUT (`non-receive-timeout`, default twice NON_TIMEOUT).
    pub non_receive_timeout: Duration,
    /// NON_PROBING_WAIT (`non-probing-wait`; default as RFC 9177 computes it, with NON_TIMEOUT
    /// as the base value RFC 9362 Implementation Note 1 suggests: NON_TIMEOUT *
    /// ((2 ** NON_MAX_RETRANSMIT) - 1) * ACK_RANDOM_FACTOR + (2 * MAX_LATENCY) + NON_TIMEOUT).
    pub non_probing_wait: Duration,
    /// NON_PARTIAL_TIMEOUT (`non-partial-timeout`; default NON_TIMEOUT *
    /// ((2 ** NON_MAX_RETRANSMIT) - 1) * ACK_RANDOM_FACTOR + (2 * MAX_LATENCY) + NON_TIMEOUT).
    pub non_partial_timeout: Duration,
    /// ACK_RANDOM_FACTOR in hundredths (`ack-random-factor`, default 1.50): NON_TIMEOUT_RANDOM
    /// is drawn between NON_TIMEOUT and NON_TIMEOUT * ACK_RANDOM_FACTOR.
    pub ack_random_factor_hundredths: u16,
}

/// MAX_LATENCY (RFC 7252 Section 4.8.2): 100 s.
const MAX_LATENCY_MS: u128 = 100_000;

fn decimal_ms(p: Option<DecimalParam>) -> Option<u64> {
    p.and_then(|p| p.current_value)
        .and_then(|v| u64::try_from(v.as_millis()).ok())
}

impl QBlockParams {
    /// The values of one configuration set.
    #[must_use]
    pub fn from_config(c: &ConfigParams) -> QBlockParams {
        let int = |p: Option<IntParam>| p.and_then(|p| p.current_value);
        let max_retransmit = int(c.max_retransmit).unwrap_or(3);
        let nmr = int(c.non_max_retransmit).unwrap_or(max_retransmit);
        let nt = decimal_ms(c.non_timeout)
            .or(decimal_ms(c.ack_timeout))
            .unwrap_or(2000);
        let arf = c
            .ack_random_factor
            .and_then(|p| p.current_value)
            .and_then(|v| u16::try_from(v.hundredths()).ok())
            .unwrap_or(150);
        // NON_TIMEOUT * ((2 ** NON_MAX_RETRANSMIT) - 1) * ACK_RANDOM_FACTOR
        //   + (2 * MAX_LATENCY) + NON_TIMEOUT, in ms.
        let backoff = (1u128 << u32::from(nmr.min(64))).saturating_sub(1);
        let derived = u128::from(nt)
            .saturating_mul(backoff)
            .saturating_mul(u128::from(arf))
            / 100
            + 2 * MAX_LATENCY_MS
            + u128::from(nt);
        let derived = u64::try_from(derived).unwrap_or(u64::MAX);
        QBlockParams {
            max_payloads: int(c.max_payloads).unwrap_or(10),
            non_max_retransmit: nmr,
            non_timeout: Duration::from_millis(nt),
            non_receive_timeout: Duration::from_millis(
                decimal_ms(c.non_receive_timeout).unwrap_or(nt.saturating_mul(2)),
            ),
            non_probing_wait: Duration::from_millis(
                decimal_ms(c.non_probing_wait).unwrap_or(derived),
            ),
            non_partial_timeout: Duration::from_millis(
                decimal_ms(c.non_partial_timeout).unwrap_or(derived),
            ),
            ack_random_factor_hundredths: arf,
        }
    }
}

fn int(d: Option<IntParam>, c: Option<IntParam>, ranges: bool) -> Option<IntParam> {
    let current = c.and_then(|c| c.current_value).or(d?.current_value);
    let d = d?;
    Some(IntParam {
        max_value: d.max_value.filter(|_| ranges),
        min_value: d.min_value.filter(|_| ranges),
        current_value: current,
    })
}

fn dec(d: Option<DecimalParam>, c: Option<DecimalParam>, ranges: bool) -> Option<DecimalParam> {
    let current = c.and_then(|c| c.current_value).or(d?.current_value);
    let d = d?;
    Some(DecimalParam {
        max_value: d.max_value.filter(|_| ranges),
        min_value: d.min_value.filter(|_| ranges),
        current_value: current,
    })
}

/// The server's parameters with the client's current values laid over them. A parameter the
/// server does not define is not negotiated (the client's value for it was accepted without a
/// range and is kept).
fn merge(d: Option<&ConfigParams>, c: Option<&ConfigParams>, ranges: bool) -> ConfigParams {
    let d = d.copied().unwrap_or_default();
    let c = c.copied().unwrap_or_default();
    let i = |x: Option<IntParam>, y: Option<IntParam>| int(x.or(y.map(strip_int)), y, ranges);
    let m =
        |x: Option<DecimalParam>, y: Option<DecimalParam>| dec(x.or(y.map(strip_dec)), y, ranges);
    ConfigParams {
        heartbeat_interval: i(d.heartbeat_interval, c.heartbeat_interval),
        missing_hb_allowed: i(d.missing_hb_allowed, c.missing_hb_allowed),
        probing_rate: i(d.probing_rate, c.probing_rate),
        max_retransmit: i(d.max_retransmit, c.max_retransmit),
        ack_timeout: m(d.ack_timeout, c.ack_timeout),
        ack_random_factor: m(d.ack_random_factor, c.ack_random_factor),
        max_payloads: i(d.max_payloads, c.max_payloads),
        non_max_retransmit: i(d.non_max_retransmit, c.non_max_retransmit),
        non_timeout: m(d.non_timeout, c.non_timeout),
        non_receive_timeout: m(d.non_receive_timeout, c.non_receive_timeout),
        non_probing_wait: m(d.non_probing_wait, c.non_probing_wait),
        non_partial_timeout: m(d.non_partial_timeout, c.non_partial_timeout),
    }
}

fn strip_int(p: IntParam) -> IntParam {
    IntParam::current(p.current_value.unwrap_or_default())
}

fn strip_dec(p: DecimalParam) -> DecimalParam {
    DecimalParam {
        current_value: p.current_value,
        ..DecimalParam::default()
    }
}

/// The RFC 9362 parameters: optional, their defaults derive from others (RFC 9362 Section 3),
/// so the server may give a range without a current value.
const DERIVED: [&str; 6] = [
    "max-payloads",
    "non-max-retransmit",
    "non-timeout",
    "non-receive-timeout",
    "non-probing-wait",
    "non-partial-timeout",
];

/// Whether server defaults are consistent: every current value within its own range (RFC 9362
/// parameters may have none), and one `max-payloads` for both phases (RFC 9362 Section 3).
fn valid_defaults(c: &SignalConfig) -> bool {
    let phases_ok = [c.mitigating_config.as_ref(), c.idle_config.as_ref()]
        .into_iter()
        .flatten()
        .all(|p| {
            p.int_params().iter().all(|(name, x)| {
                x.is_none_or(|x| {
                    let v = x.current_value.unwrap_or(0);
                    (x.current_value.is_some() || DERIVED.contains(name))
                        && x.current_value.is_none_or(|_| {
                            x.min_value.is_none_or(|m| v >= m) && x.max_value.is_none_or(|m| v <= m)
                        })
                        && x.min_value.zip(x.max_value).is_none_or(|(a, b)| a <= b)
                })
            }) && p.decimal_params().iter().all(|(name, x)| {
                x.is_none_or(|x| {
                    let in_range = |v| {
                        x.min_value.is_none_or(|m| v >= m) && x.max_value.is_none_or(|m| v <= m)
                    };
                    match x.current_value {
                        Some(v) => in_range(v),
                        None => DERIVED.contains(name),
                    }
                })
            })
        });
    let mp = |p: Option<&ConfigParams>| p.and_then(|p| p.max_payloads?.current_value);
    let same_max_payloads = match (mp(c.mitigating_config.as_ref()), mp(c.idle_config.as_ref())) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    phases_ok && same_max_payloads
}

/// RFC 9362 Section 3: "If the attribute is only provided as part of 'idle-config' (or
/// 'mitigating-config'), then the other definition ... MUST be updated to the same value."
fn mirror_max_payloads(c: &mut SignalConfig) {
    let mp = |p: &Option<ConfigParams>| p.as_ref().and_then(|p| p.max_payloads);
    match (mp(&c.mitigating_config), mp(&c.idle_config)) {
        (Some(v), None) => {
            c.idle_config
                .get_or_insert_with(Default::default)
                .max_payloads = Some(v)
        }
        (None, Some(v)) => {
            c.mitigating_config
                .get_or_insert_with(Default::default)
                .max_payloads = Some(v)
        }
        _ => {}
    }
}

impl<H: SignalHooks> SignalServer<H> {
    /// The configuration representation for a client (`None`: the server defaults).
    fn config_view(&self, client: Option<&ClientConfig>, ranges: bool) -> SignalConfig {
        let d = &self.config.session;
        let c = client.map(|c| &c.config);
        SignalConfig {
            sid: None,
            mitigating_config: Some(merge(
                d.mitigating_config.as_ref(),
                c.and_then(|c| c.mitigating_config.as_ref()),
                ranges,
            )),
            idle_config: Some(merge(
                d.idle_config.as_ref(),
                c.and_then(|c| c.idle_config.as_ref()),
                ranges,
            )),
        }
    }

    /// Writes the configuration body of a client into `out`.
    pub(crate) fn write_config(&self, slot: u32, out: &mut [u8]) -> usize {
        let cfg = self.client(slot).and_then(|c| c.config.as_deref());
        self.config_view(cfg, true).encode_cbor(out).unwrap_or(0)
    }

    fn phase_of(&self, peer: &PeerIdentity<'_>) -> ConfigPhase {
        let own = self
            .slot_of(peer.cuid)
            .and_then(|s| self.client(s))
            .is_some_and(|c| c.session_active > 0);
        if own || (peer.trusted_gateway && self.gateway_active > 0) {
            ConfigPhase::Mitigating
        } else {
            ConfigPhase::Idle
        }
    }

    /// The session parameters in force for a peer, to apply to its transaction layer and
    /// heartbeats (RFC 9132 Section 4.5: switch sets "as a function of the mitigation
    /// activity"). Re-read it on [`ServerEvent::SessionConfigChanged`].
    #[must_use]
    pub fn session_params(&self, peer: &PeerIdentity<'_>) -> SessionParams {
        let cfg = self
            .slot_of(peer.cuid)
            .and_then(|s| self.client(s))
            .and_then(|c| c.config.as_deref());
        let view = self.config_view(cfg, false);
        SessionParams {
            phase: self.phase_of(peer),
            sid: cfg.map(|c| c.sid),
            mitigating: view.mitigating_config.unwrap_or_default(),
            idle: view.idle_config.unwrap_or_default(),
        }
    }

    /// Replaces the server's session defaults and ranges. Every client's parameters are
    /// recomputed: each client with state gets a [`ServerEvent::SessionConfigChanged`] and its
    /// configuration observers a notification.
    pub fn set_session_defaults(&mut self, session: SignalConfig) -> Result<(), CommandError> {
        if !valid_defaults(&session) {
            return Err(CommandError::InvalidDefaults);
        }
        self.config.session = session;
        let slots: alloc::vec::Vec<u32> = self.by_cuid.values().copied().collect();
        for slot in slots {
            let Some(c) = self.client(slot) else { continue };
            let cuid = c.cuid.clone();
            let phase = if c.session_active > 0 {
                ConfigPhase::Mitigating
            } else {
                ConfigPhase::Idle
            };
            self.push_event(ServerEvent::SessionConfigChanged { cuid, phase });
            self.queue_config_notify(slot);
        }
        Ok(())
    }

    fn config_changed(&mut self, slot: u32, peer: &PeerIdentity<'_>) {
        let phase = self.phase_of(peer);
        self.push_event(ServerEvent::SessionConfigChanged {
            cuid: self.cuid_arc(slot),
            phase,
        });
        self.queue_config_notify(slot);
    }

    /// PUT `/config/sid=S` (RFC 9132 Section 4.5.2).
    pub(crate) fn put_config(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        slot: Option<u32>,
        sid: Option<u32>,
        req: &Request<'_>,
    ) -> Result<Handled, Fail> {
        let sid = sid.ok_or(Fail::diag(
            Code::BAD_REQUEST,
            "the 'sid' Uri-Path parameter is missing",
        ))?;
        let body = SignalConfig::decode_cbor(req.payload).map_err(Fail::Decode)?;
        if body.sid.is_some_and(|s| s != sid) {
            return Err(Fail::diag(
                Code::BAD_REQUEST,
                "'sid' in the body differs from the Uri-Path",
            ));
        }
        body.validate_request().map_err(Fail::Invalid)?;
        body.check_against(&self.config.session)
            .map_err(Fail::Invalid)?;
        let current = slot
            .and_then(|s| self.client(s))
            .and_then(|c| c.config.as_ref())
            .map(|c| c.sid);
        let code = match current {
            // "'sid' values MUST increase monotonically"; Section 7.2: lower replayed values
            // are rejected.
            Some(c) if sid < c => {
                return Err(Fail::diag(
                    Code::BAD_REQUEST,
                    "'sid' is lower than the configuration in place",
                ))
            }
            Some(c) if sid == c => Code::CHANGED,
            _ => Code::CREATED,
        };
        let slot = match slot {
            Some(s) => s,
            None => {
                self.room_for_client()?;
                self.insert_client(
                    now,
                    peer.cuid,
                    Owner::Peer(alloc::sync::Arc::from(peer.cuid)),
                )
            }
        };
        let mut config = SignalConfig { sid: None, ..body };
        mirror_max_payloads(&mut config);
        if let Some(c) = self.client_mut(slot) {
            c.config = Some(Box::new(ClientConfig { sid, config }));
        }
        self.config_changed(slot, peer);
        Ok(Handled::Respond(Response::new(code)))
    }

    /// DELETE `/config[/sid=S]` (RFC 9132 Section 4.5.4): back to the defaults, 2.02.
    pub(crate) fn delete_config(
        &mut self,
        peer: &PeerIdentity<'_>,
        slot: Option<u32>,
        sid: Option<u32>,
    ) -> Result<Handled, Fail> {
        if let Some(slot) = slot {
            let matches = self
                .client(slot)
                .and_then(|c| c.config.as_ref())
                .is_some_and(|c| sid.is_none_or(|s| s == c.sid));
            if matches {
                if let Some(c) = self.client_mut(slot) {
                    c.config = None;
                }
                self.config_changed(slot, peer);
                self.drop_if_empty(slot);
            }
        }
        Ok(Handled::Respond(Response::new(Code::DELETED)))
    }

    /// GET `/config[/sid=S]` (RFC 9132 Section 4.5.1, 4.5.3), with Observe.
    pub(crate) fn get_config(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        slot: Option<u32>,
        sid: Option<u32>,
        observe: Option<u32>,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let cfg = slot
            .and_then(|s| self.client(s))
            .and_then(|c| c.config.as_deref());
        if let Some(sid) = sid {
            // Section 9: "4.04 ... requesting a 'mid' or 'sid' that is not valid".
            if cfg.is_none_or(|c| c.sid != sid) {
                return Err(Fail::diag(
                    Code::NOT_FOUND,
                    "no configuration with this 'sid'",
                ));
            }
        }
        let len = self
            .config_view(cfg, true)
            .encode_cbor(out)
            .map_err(|_| Fail::Internal)?;
        let mut r = Response::cbor(Code::CONTENT, len);
        r.max_age = self.config.config_max_age;
        r.observe = match observe {
            Some(0) => {
                let slot = match slot {
                    Some(s) => Some(s),
                    None if self.room_for_client().is_ok() => Some(self.insert_client(
                        now,
                        peer.cuid,
                        Owner::Peer(alloc::sync::Arc::from(peer.cuid)),
                    )),
                    None => None,
                };
                Some(match slot {
                    Some(s) => self.register_observer(s, ObserveTarget::Config),
                    None => ObserveAction::Refused {
                        cuid: alloc::sync::Arc::from(peer.cuid),
                        target: ObserveTarget::Config,
                    },
                })
            }
            Some(1) => Some(ObserveAction::Deregister {
                cuid: alloc::sync::Arc::from(peer.cuid),
                target: ObserveTarget::Config,
            }),
            _ => None,
        };
        Ok(Handled::Respond(r))
    }

    /// PUT `/hb` (RFC 9132 Section 4.7): 2.04 with the peer's `peer-hb-status` handed to the
    /// session.
    pub(crate) fn heartbeat(&mut self, req: &Request<'_>) -> Result<Handled, Fail> {
        let hb = Heartbeat::decode_cbor(req.payload).map_err(Fail::Decode)?;
        let mut r = Response::new(Code::CHANGED);
        r.heartbeat = Some(hb);
        Ok(Handled::Respond(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_merge_keeps_ranges() {
        let d = super::super::default_session_config();
        assert!(valid_defaults(&d));
        let mut bad = d;
        if let Some(m) = bad.idle_config.as_mut() {
            m.heartbeat_interval = Some(IntParam::range(15, 240, 1000));
        }
        assert!(!valid_defaults(&bad));
        let client = ConfigParams {
            heartbeat_interval: Some(IntParam::current(60)),
            ..ConfigParams::default()
        };
        let m = merge(d.idle_config.as_ref(), Some(&client), true);
        assert_eq!(m.heartbeat_interval, Some(IntParam::range(15, 240, 60)));
        assert_eq!(m.missing_hb_allowed, Some(IntParam::range(3, 20, 15)));
        let m = merge(d.idle_config.as_ref(), Some(&client), false);
        assert_eq!(m.heartbeat_interval, Some(IntParam::current(60)));
    }
}
