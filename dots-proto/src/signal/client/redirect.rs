//! Redirected signaling (RFC 9132 Section 4.6): 5.03 with a `redirected-signal` body, the
//! TTL, and the five-minute memory of servers used that makes the client ignore ping-pong.

use core::time::Duration;

use core::net::IpAddr;
use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;

use dots_codec::model::{DomainName, RedirectedSignal, MAX_ALT_SERVER_RECORDS};

use super::config::{REDIRECT_MEMORY, RETRY_DELAY};
use super::event::{EvRec, RedirectTtl};
use super::inbound::Reply;
use super::mitigation::Op;
use super::{name_hash, SignalClient};
use crate::time::Instant;

/// Servers remembered for ping-pong detection.
const HISTORY: usize = 8;

/// Where a redirection points (RFC 9132 Figure 25).
#[derive(Clone, Debug, Default)]
pub(crate) struct Target {
    pub(crate) alt_server: DomainName,
    pub(crate) alt_server_record: heapless::Vec<IpAddr, MAX_ALT_SERVER_RECORDS, u8>,
}

/// The redirection state.
#[derive(Clone, Debug)]
pub(crate) struct RedirectState {
    /// The last redirection received (what [`Event::Redirected`](super::Event::Redirected)
    /// borrows).
    pub(crate) last: Option<Target>,
    /// Its target's name hash, TTL and arrival.
    pub(crate) target: Option<(u64, RedirectTtl, Instant)>,
    /// The client is on the alternate server: when to fall back.
    pub(crate) expires_at: Option<Instant>,
    /// Servers used before, with when the client last communicated with them.
    pub(crate) history: heapless::Vec<(u64, Instant), HISTORY>,
}

impl RedirectState {
    pub(crate) const fn new() -> RedirectState {
        RedirectState {
            last: None,
            target: None,
            expires_at: None,
            history: heapless::Vec::new(),
        }
    }

    /// The client stops using server `hash` at `now`.
    pub(crate) fn remember(&mut self, hash: u64, now: Instant) {
        if let Some(e) = self.history.iter_mut().find(|e| e.0 == hash) {
            e.1 = now;
            return;
        }
        if self.history.is_full() {
            if let Some(oldest) = self
                .history
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.1)
                .map(|(i, _)| i)
            {
                self.history.swap_remove(oldest);
            }
        }
        let _ = self.history.push((hash, now));
    }

    /// A new session with server `hash` is up.
    pub(crate) fn connected_to(&mut self, hash: u64, now: Instant) {
        match self.target {
            Some((t, ttl, at)) if t == hash => {
                self.expires_at = match ttl {
                    RedirectTtl::For(d) => Some((at + d).max(now)),
                    RedirectTtl::ThisRequest | RedirectTtl::Infinite => None,
                };
            }
            _ => {
                // Back on a provisioned server (or elsewhere): the redirection is over.
                self.target = None;
                self.expires_at = None;
            }
        }
    }

    fn used_recently(&self, hash: u64, now: Instant) -> bool {
        self.history
            .iter()
            .any(|e| e.0 == hash && now.saturating_duration_since(e.1) < REDIRECT_MEMORY)
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
    /// Handles a 5.03 that carries a `redirected-signal`; false when the reply is not one.
    pub(crate) fn on_redirect(&mut self, now: Instant, reply: &Reply) -> bool {
        if reply.code != Code::SERVICE_UNAVAILABLE || !reply.cbor {
            return false;
        }
        let Ok(sig) = RedirectedSignal::decode_cbor(&self.buf[..reply.len]) else {
            return false;
        };
        if sig.validate().is_err() || sig.alt_server.is_none() {
            self.stats.malformed_bodies += 1;
            return false;
        }
        if self.config.call_home {
            // RFC 9066 Section 5.2.2: "MUST silently discard such a message".
            self.stats.redirects_ignored += 1;
            return true;
        }
        let hash = sig.alt_server.as_deref().map(name_hash).unwrap_or_default();
        if hash == self.server || self.redirect.used_recently(hash, now) {
            // "it MUST ignore the redirection".
            self.stats.redirects_ignored += 1;
            self.push_event(EvRec::RedirectIgnored);
            return true;
        }
        if self.redirect.target.is_some_and(|t| t.0 == hash) {
            // The same redirection again (the host has not moved yet).
            return true;
        }
        let ttl = match reply.max_age {
            // RFC 7252 Section 5.10.5: Max-Age defaults to 60 seconds.
            None => RedirectTtl::For(Duration::from_secs(60)),
            Some(0) => RedirectTtl::ThisRequest,
            Some(u32::MAX) => RedirectTtl::Infinite,
            Some(s) => RedirectTtl::For(Duration::from_secs(u64::from(s))),
        };
        self.redirect.last = Some(Target {
            alt_server: sig.alt_server.unwrap_or_default(),
            alt_server_record: sig.alt_server_record,
        });
        self.redirect.target = Some((hash, ttl, now));
        self.push_event(EvRec::Redirected { ttl });
        true
    }

    /// A redirected request failed here: it is tried again later (on whichever session the
    /// host establishes).
    pub(crate) fn retry_later(&mut self, now: Instant, op: Op) {
        match op {
            Op::Put { mid, .. } | Op::Delete { mid } => {
                if let Some(i) = self.index_of(mid) {
                    self.table[i].in_flight = None;
                    self.table[i].not_before = Some(now + RETRY_DELAY);
                }
            }
            // Done again on the next session (`session_config_start`).
            Op::GetConfig { .. } | Op::PutConfig { .. } | Op::DeleteConfig { .. } => {
                self.cfg.in_flight = false;
            }
            _ => {}
        }
    }

    /// The redirection's TTL: fall back to the provisioned server, "immediately upon expiry
    /// of the TTL, except when a DDoS attack is active".
    pub(crate) fn fire_redirect(&mut self, now: Instant) {
        if self.redirect.expires_at.is_some_and(|t| t <= now) && !self.attack_active() {
            self.redirect.expires_at = None;
            self.redirect.target = None;
            self.push_event(EvRec::RedirectExpired);
        }
    }
}
