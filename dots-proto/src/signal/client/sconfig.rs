//! Session configuration (RFC 9132 Section 4.5, RFC 9362): discovery, negotiation within the
//! server's ranges, deletion, freshness.

use core::time::Duration;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::SignalConfig;

use super::config::{pick_config, SessionParameters, DEFAULT_CONFIG_REFRESH, RETRY_DELAY};
use super::event::{CommandError, EvRec};
use super::inbound::Reply;
use super::mitigation::Op;
use super::{wire, Link, SignalClient};
use crate::coap::Request;
use crate::time::Instant;

/// What the client knows and wants of the session configuration.
#[derive(Clone, Debug)]
pub(crate) struct ConfigState {
    pub(crate) next_sid: u64,
    /// The `sid` installed at the server.
    pub(crate) sid: Option<u32>,
    /// What the host wants (current values), clamped into the server's ranges when sent.
    pub(crate) desired: Option<SignalConfig>,
    /// The server's configuration with its ranges (last GET `/config`).
    pub(crate) server: Option<SignalConfig>,
    pub(crate) want_get: bool,
    pub(crate) want_put: bool,
    pub(crate) want_delete: Option<Option<u32>>,
    /// A freshness GET (with the `sid`) is due.
    pub(crate) want_refresh: bool,
    /// The host asked to observe the configuration.
    pub(crate) observe: bool,
    pub(crate) observing: bool,
    pub(crate) refresh_at: Option<Instant>,
    pub(crate) retry_at: Option<Instant>,
    /// A 4.22 was answered by fetching the ranges and trying once more.
    pub(crate) retried: bool,
    pub(crate) in_flight: bool,
}

impl ConfigState {
    pub(crate) fn new(first_sid: u32) -> ConfigState {
        ConfigState {
            next_sid: u64::from(first_sid),
            sid: None,
            desired: None,
            server: None,
            want_get: false,
            want_put: false,
            want_delete: None,
            want_refresh: false,
            observe: false,
            observing: false,
            refresh_at: None,
            retry_at: None,
            retried: false,
            in_flight: false,
        }
    }
}

impl<
        const MITIGATIONS: usize,
        const OUT: usize,
        const IN: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > SignalClient<MITIGATIONS, OUT, IN, MSG, BODY, INBOX>
{
    /// The defaults the negotiated values are laid over.
    fn base_parameters(&self) -> SessionParameters {
        SessionParameters {
            transmission: self.config.endpoint.params,
            ..SessionParameters::DEFAULT
        }
    }

    /// A new session: the configuration is fetched, or installed again under a new `sid`.
    pub(crate) fn session_config_start(&mut self, _now: Instant) {
        let c = &mut self.cfg;
        c.in_flight = false;
        c.retry_at = None;
        c.refresh_at = None;
        c.retried = false;
        c.want_refresh = false;
        c.observing = false;
        if c.desired.is_some() {
            c.want_put = true;
            c.want_get = c.server.is_none() || c.observe;
        } else {
            c.want_get = self.config.fetch_config || c.observe;
        }
    }

    /// Fetches the server's configuration (GET `/config`, CON, RFC 9132 Section 4.5.1): its
    /// current values and acceptable ranges, applied and kept in
    /// [`server_config`](Self::server_config). With `observe`, configuration changes are
    /// notified (Section 4.5.3).
    ///
    /// # Errors
    /// [`CommandError::SessionLost`].
    pub fn get_config(&mut self, now: Instant, observe: bool) -> Result<(), CommandError> {
        let now = self.clock(now);
        if self.link != Link::Connected {
            return Err(CommandError::SessionLost);
        }
        self.cfg.want_get = true;
        self.cfg.observe |= observe;
        self.after_command(now);
        Ok(())
    }

    /// Negotiates the session configuration (PUT `/config/sid=S`, CON, RFC 9132 Section
    /// 4.5.2): `desired`'s current values, clamped into the server's ranges (fetched first
    /// when not known yet), under a new, higher `sid`. Over TCP only `heartbeat-interval` and
    /// `probing-rate` go. On 4.22 the client fetches the ranges and tries once more. The
    /// values are applied once the server accepts them, and installed again on every new
    /// session.
    ///
    /// # Errors
    /// [`CommandError::Invalid`] when `desired` has no parameter or a parameter without its
    /// current value.
    pub fn negotiate_config(
        &mut self,
        now: Instant,
        desired: &SignalConfig,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let d = SignalConfig {
            sid: None,
            mitigating_config: desired.mitigating_config.map(|p| strip_ranges(&p)),
            idle_config: desired.idle_config.map(|p| strip_ranges(&p)),
        };
        d.validate_request()?;
        self.cfg.desired = Some(d);
        self.cfg.want_put = true;
        self.cfg.retried = false;
        if self.cfg.server.is_none() {
            self.cfg.want_get = true;
        }
        self.after_command(now);
        Ok(())
    }

    /// Deletes the client's configuration (DELETE `/config[/sid=S]`, RFC 9132 Section 4.5.4):
    /// the server's defaults apply again (and are fetched). Without an installed `sid` the
    /// DELETE carries none (the bootstrap case of Section 4.5.4).
    ///
    /// # Errors
    /// [`CommandError::SessionLost`].
    pub fn delete_config(&mut self, now: Instant) -> Result<(), CommandError> {
        let now = self.clock(now);
        if self.link != Link::Connected {
            return Err(CommandError::SessionLost);
        }
        self.cfg.want_delete = Some(self.cfg.sid);
        self.cfg.desired = None;
        self.cfg.want_put = false;
        self.after_command(now);
        Ok(())
    }

    /// Sends the configuration request that is due, one at a time.
    pub(crate) fn pump_config(&mut self, now: Instant) {
        if self.cfg.in_flight || self.cfg.retry_at.is_some_and(|t| t > now) {
            return;
        }
        self.cfg.retry_at = None;
        let result = if let Some(sid) = self.cfg.want_delete {
            self.send_config(now, Code::DELETE, sid, false)
                .map(|()| self.cfg.want_delete = None)
        } else if self.cfg.want_get {
            let observe = self.cfg.observe && !self.cfg.observing;
            self.send_config(now, Code::GET, None, observe)
                .map(|()| self.cfg.want_get = false)
        } else if self.cfg.want_put {
            let Ok(sid) = u32::try_from(self.cfg.next_sid) else {
                self.cfg.want_put = false;
                return;
            };
            self.send_config(now, Code::PUT, Some(sid), false)
                .map(|()| {
                    self.cfg.want_put = false;
                    self.cfg.next_sid += 1;
                })
        } else if self.cfg.want_refresh {
            let sid = self.cfg.sid;
            self.send_config(now, Code::GET, sid, false)
                .map(|()| self.cfg.want_refresh = false)
        } else {
            return;
        };
        match result {
            Ok(()) => self.cfg.in_flight = true,
            Err(CommandError::TooLarge { .. }) => {
                self.cfg.want_put = false;
            }
            Err(_) => self.cfg.retry_at = Some(now + RETRY_DELAY),
        }
    }

    fn send_config(
        &mut self,
        now: Instant,
        code: Code,
        sid: Option<u32>,
        observe: bool,
    ) -> Result<(), CommandError> {
        let mut o = wire::config_path(sid).map_err(crate::coap::CommandError::from)?;
        let (op, n) = match code {
            Code::PUT => {
                let sid = sid.unwrap_or_default();
                let body = self.put_body();
                let n = body
                    .encode_cbor(&mut self.buf)
                    .map_err(|_| CommandError::TooLarge {
                        needed: body.encoded_len(),
                        limit: BODY,
                    })?;
                wire::cbor(&mut o).map_err(crate::coap::CommandError::from)?;
                (Op::PutConfig { sid }, n)
            }
            Code::DELETE => (Op::DeleteConfig { sid }, 0),
            _ => (Op::GetConfig { sid }, 0),
        };
        if self.link != Link::Connected {
            return Err(CommandError::SessionLost);
        }
        if self.pending.is_full() {
            self.stats.queue_full += 1;
            return Err(CommandError::Endpoint(crate::coap::CommandError::QueueFull));
        }
        // Configuration requests are Confirmable (RFC 9132 Section 4.5).
        let mut req = Request::con(code)
            .options(o.as_options())
            .payload(&self.buf[..n]);
        if observe {
            req = req.observe();
        }
        let id = self.ep.request(now, req)?;
        let _ = self.pending.push(super::Pending {
            id,
            op,
            observing: false,
        });
        Ok(())
    }

    /// The PUT body: the host's wishes within the server's ranges.
    fn put_body(&self) -> SignalConfig {
        let desired = self.cfg.desired.unwrap_or_default();
        pick_config(&desired, self.cfg.server.as_ref(), self.is_tcp())
    }

    /// The configuration's freshness timer (RFC 9132 Section 4.5.3): "MUST issue a GET
    /// request with a 'sid' Uri-Path parameter ... before the expiry", not while an attack is
    /// active.
    pub(crate) fn fire_config(&mut self, now: Instant) {
        if self.cfg.refresh_at.is_some_and(|t| t <= now) && !self.attack_active() {
            self.cfg.refresh_at = None;
            self.cfg.want_refresh = true;
        }
    }

    /// When to fetch the configuration again after a response carrying `max_age`.
    fn schedule_refresh(&mut self, now: Instant, max_age: Option<u32>) {
        self.cfg.refresh_at = match max_age {
            None => Some(now + DEFAULT_CONFIG_REFRESH),
            // Max-Age 0 is "NOT RECOMMENDED": nothing is cached, nothing to refresh.
            Some(0) => None,
            // 2^32-1: an infinite lifetime.
            Some(u32::MAX) => None,
            Some(s) => {
                let age = Duration::from_secs(u64::from(s));
                let lead = self.config.config_refresh_lead.min(age / 2);
                Some(now + (age - lead))
            }
        };
    }

    /// Sets the parameters in force from a configuration representation.
    fn apply_config(&mut self, now: Instant, c: &SignalConfig) {
        let old = self.parameters().heartbeat_interval;
        let base = self.base_parameters();
        self.idle = c.idle_config.map_or(base, |p| base.with(&p));
        self.mitigating = c.mitigating_config.map_or(base, |p| base.with(&p));
        self.apply_parameters(now, old);
    }

    pub(crate) fn on_config_reply(&mut self, now: Instant, op: Op, reply: Reply) {
        if !reply.notification {
            self.cfg.in_flight = false;
        }
        match op {
            Op::GetConfig { sid } => {
                if reply.code == Code::CONTENT {
                    let Ok(c) = SignalConfig::decode_cbor(&self.buf[..reply.len]) else {
                        self.stats.malformed_bodies += 1;
                        return;
                    };
                    if reply.notification || sid.is_none() {
                        self.cfg.server = Some(c);
                    }
                    if sid.is_none() && self.cfg.observe && !reply.notification {
                        self.cfg.observing = self.pending.iter().any(|p| p.observing && p.op == op);
                    }
                    self.apply_config(now, &c);
                    self.schedule_refresh(now, reply.max_age);
                    self.push_event(EvRec::ConfigApplied {
                        sid: sid.or(self.cfg.sid),
                        code: reply.code,
                    });
                } else {
                    if sid.is_some() && reply.code == Code::NOT_FOUND {
                        // The server no longer has our configuration: install it again.
                        self.cfg.sid = None;
                        if self.cfg.desired.is_some() {
                            self.cfg.want_put = true;
                        } else {
                            self.cfg.want_get = true;
                        }
                    }
                    let diag = self.stash_diag(&reply);
                    self.push_event(EvRec::ConfigRejected {
                        sid,
                        code: reply.code,
                        diag,
                    });
                }
            }
            Op::PutConfig { sid } => {
                if reply.code == Code::CREATED || reply.code == Code::CHANGED {
                    self.cfg.sid = Some(sid);
                    let sent = self.put_body();
                    let mut c = self.cfg.server.unwrap_or_default();
                    overlay(&mut c, &sent);
                    self.apply_config(now, &c);
                    self.schedule_refresh(now, reply.max_age);
                    self.push_event(EvRec::ConfigApplied {
                        sid: Some(sid),
                        code: reply.code,
                    });
                } else {
                    if reply.code == Code::UNPROCESSABLE_ENTITY && !self.cfg.retried {
                        // "SHOULD retrieve the maximum and minimum attribute values acceptable
                        // to the DOTS server"; "may retry".
                        self.cfg.retried = true;
                        self.cfg.want_get = true;
                        self.cfg.want_put = true;
                    }
                    let diag = self.stash_diag(&reply);
                    self.push_event(EvRec::ConfigRejected {
                        sid: Some(sid),
                        code: reply.code,
                        diag,
                    });
                }
            }
            Op::DeleteConfig { sid } => {
                if reply.code == Code::DELETED {
                    self.cfg.sid = None;
                    let base = self.base_parameters();
                    let old = self.parameters().heartbeat_interval;
                    self.idle = base;
                    self.mitigating = base;
                    self.apply_parameters(now, old);
                    self.cfg.want_get = self.config.fetch_config || self.cfg.observe;
                    self.cfg.refresh_at = None;
                    self.push_event(EvRec::ConfigApplied {
                        sid: None,
                        code: reply.code,
                    });
                } else {
                    let diag = self.stash_diag(&reply);
                    self.push_event(EvRec::ConfigRejected {
                        sid,
                        code: reply.code,
                        diag,
                    });
                }
            }
            _ => {}
        }
    }

    pub(crate) fn on_config_failed(&mut self, now: Instant, op: Op) {
        self.cfg.in_flight = false;
        self.cfg.retry_at = Some(now + RETRY_DELAY);
        match op {
            Op::GetConfig { sid: Some(_) } => self.cfg.want_refresh = true,
            Op::GetConfig { sid: None } => self.cfg.want_get = true,
            Op::PutConfig { .. } => self.cfg.want_put = self.cfg.desired.is_some(),
            Op::DeleteConfig { sid } => self.cfg.want_delete = Some(sid),
            _ => {}
        }
    }
}

/// Only the current values (a client PUT carries no ranges).
fn strip_ranges(p: &dots_codec::model::ConfigParams) -> dots_codec::model::ConfigParams {
    use dots_codec::model::{DecimalParam, IntParam};
    let i = |x: Option<IntParam>| x.and_then(|x| x.current_value).map(IntParam::current);
    let d = |x: Option<DecimalParam>| x.and_then(|x| x.current_value).map(DecimalParam::current);
    dots_codec::model::ConfigParams {
        heartbeat_interval: i(p.heartbeat_interval),
        missing_hb_allowed: i(p.missing_hb_allowed),
        probing_rate: i(p.probing_rate),
        max_retransmit: i(p.max_retransmit),
        ack_timeout: d(p.ack_timeout),
        ack_random_factor: d(p.ack_random_factor),
        max_payloads: i(p.max_payloads),
        non_max_retransmit: i(p.non_max_retransmit),
        non_timeout: d(p.non_timeout),
        non_receive_timeout: d(p.non_receive_timeout),
        non_probing_wait: d(p.non_probing_wait),
        non_partial_timeout: d(p.non_partial_timeout),
    }
}

/// Lays the current values of `sent` over `c`.
fn overlay(c: &mut SignalConfig, sent: &SignalConfig) {
    use dots_codec::model::ConfigParams;
    fn one(base: &mut Option<ConfigParams>, top: Option<&ConfigParams>) {
        let Some(top) = top else { return };
        let b = base.get_or_insert_with(ConfigParams::default);
        macro_rules! lay {
            ($($f:ident),*) => {$(
                if let Some(v) = top.$f.and_then(|x| x.current_value) {
                    let mut x = b.$f.unwrap_or_default();
                    x.current_value = Some(v);
                    b.$f = Some(x);
                }
            )*};
        }
        lay!(
            heartbeat_interval,
            missing_hb_allowed,
            probing_rate,
            max_retransmit,
            ack_timeout,
            ack_random_factor,
            max_payloads,
            non_max_retransmit,
            non_timeout,
            non_receive_timeout,
            non_probing_wait,
            non_partial_timeout
        );
    }
    one(&mut c.mitigating_config, sent.mitigating_config.as_ref());
    one(&mut c.idle_config, sent.idle_config.as_ref());
}
