//! One peer's session state: identity, transport, the endpoint lent to it, its observations,
//! the messages the session queued for it, and the heartbeat/deadman clock with its exact
//! instants (RFC 9132 Section 4.7).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use dots_codec::coap::{Code, Token};

use super::config::{SessionEndpoint, DEDUP_RECORDS, RECENT_NOTIFICATIONS};
use super::params::Settings;
use crate::coap::Transport;
use crate::signal::server::{ConfigPhase, ObserveTarget};
use crate::time::Instant;

/// An Observe registration of the peer (RFC 7641), for one client's target.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    /// The client observed (the peer's own cuid, or a relayed client's for a gateway).
    pub(crate) cuid: Arc<str>,
    pub(crate) target: ObserveTarget,
    pub(crate) token: Token,
    /// Message IDs of the latest notifications sent for it.
    pub(crate) recent: [Option<u16>; RECENT_NOTIFICATIONS],
}

impl Observation {
    pub(crate) fn remember(&mut self, mid: u16) {
        self.recent.rotate_right(1);
        if let Some(first) = self.recent.first_mut() {
            *first = Some(mid);
        }
    }
}

/// A message the session queued for the peer, written at transmission time.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// The server's heartbeat.
    Heartbeat,
    /// An empty ACK of a CON response to the server's heartbeat.
    EmptyAck(u16),
}

/// A notification waiting for its pacing.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub(crate) token: Token,
    /// The mitigation it reports (`None`: the configuration, a telemetry query): a newer
    /// notification replaces a waiting one only for the same token and `mid`.
    pub(crate) mid: Option<u32>,
    /// 2.05, or the error that ends an observation (4.04 for a removed `/tm` entry).
    pub(crate) code: Code,
    pub(crate) payload: Arc<[u8]>,
}

/// The heartbeat and deadman clock of a peer.
#[derive(Debug, Clone)]
pub(crate) struct Heartbeats {
    /// When anything last arrived from the peer.
    pub(crate) last_rx: Instant,
    /// When the server last sent (queued) a heartbeat, or the session started: the anchor of
    /// the next one.
    pub(crate) last_sent: Instant,
    /// When the client's last heartbeat arrived.
    pub(crate) last_client_hb: Option<Instant>,
    /// The client's last `peer-hb-status`.
    pub(crate) client_receiving: bool,
    /// The token of the server's latest heartbeat (responses to it are the session's).
    pub(crate) token: Option<Token>,
    /// Its message ID (a Reset of it is the session's).
    pub(crate) mid: Option<u16>,
    /// When it was written, until its response arrives (RTT sample).
    pub(crate) sent_at: Option<Instant>,
    /// TCP: since when a heartbeat waits for a reply with nothing received since.
    pub(crate) awaiting: Option<Instant>,
    /// Smoothed RTT (RFC 6298 style, gain 1/8), milliseconds.
    pub(crate) srtt_ms: Option<u32>,
}

impl Heartbeats {
    fn new(now: Instant) -> Heartbeats {
        Heartbeats {
            last_rx: now,
            last_sent: now,
            last_client_hb: None,
            client_receiving: true,
            token: None,
            mid: None,
            sent_at: None,
            awaiting: None,
            srtt_ms: None,
        }
    }

    pub(crate) fn rtt_sample(&mut self, sample: Duration) {
        let s = u32::try_from(sample.as_millis()).unwrap_or(u32::MAX);
        self.srtt_ms = Some(match self.srtt_ms {
            None => s,
            Some(r) => u32::try_from((u64::from(r) * 7 + u64::from(s)) / 8).unwrap_or(u32::MAX),
        });
    }

    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt_ms.map(|m| Duration::from_millis(u64::from(m)))
    }
}

/// Peers sharing a cuid (usually one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerList {
    One(u32),
    Many(Vec<u32>),
}

impl PeerList {
    pub(crate) fn as_slice(&self) -> &[u32] {
        match self {
            PeerList::One(x) => core::slice::from_ref(x),
            PeerList::Many(v) => v,
        }
    }

    pub(crate) fn insert(&mut self, idx: u32) {
        if self.as_slice().contains(&idx) {
            return;
        }
        match self {
            PeerList::One(x) => *self = PeerList::Many(alloc::vec![*x, idx]),
            PeerList::Many(v) => v.push(idx),
        }
    }

    /// Removes `idx`; `true` when the list is empty afterwards.
    pub(crate) fn remove(&mut self, idx: u32) -> bool {
        match self {
            PeerList::One(x) => *x == idx,
            PeerList::Many(v) => {
                v.retain(|&x| x != idx);
                match v.as_slice() {
                    [] => true,
                    [one] => {
                        *self = PeerList::One(*one);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

/// One peer (a (D)TLS session, or a plain-CoAP address in the lab).
#[derive(Debug)]
pub(crate) struct Peer<P> {
    pub(crate) key: P,
    pub(crate) cuid: Arc<str>,
    pub(crate) gateway: bool,
    pub(crate) transport: Transport,
    /// The transport failed: nothing is sent, the deadman runs on.
    pub(crate) detached: bool,
    pub(crate) endpoint: Option<Box<SessionEndpoint>>,
    /// Message-ID and Observe sequences while no endpoint is held.
    pub(crate) next_mid: u16,
    pub(crate) obs_seq: u32,
    pub(crate) phase: ConfigPhase,
    pub(crate) settings: Settings,
    pub(crate) hb: Heartbeats,
    /// Recent NON request message IDs and until when they count as duplicates.
    pub(crate) dedup: [Option<(u16, Instant)>; DEDUP_RECORDS],
    pub(crate) observations: Vec<Observation>,
    pub(crate) out: VecDeque<Outgoing>,
    pub(crate) notes: VecDeque<Note>,
    /// The earliest time of the next notification (pacing).
    pub(crate) next_note_at: Instant,
    /// The next periodic status of observed mitigations.
    pub(crate) status_at: Option<Instant>,
    /// The deadline registered in the session's timer set.
    pub(crate) deadline: Option<Instant>,
    /// In the session's queue of peers with something to send.
    pub(crate) queued: bool,
}

impl<P> Peer<P> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        key: P,
        cuid: Arc<str>,
        gateway: bool,
        transport: Transport,
        now: Instant,
        next_mid: u16,
        obs_seq: u32,
        phase: ConfigPhase,
        settings: Settings,
    ) -> Peer<P> {
        Peer {
            key,
            cuid,
            gateway,
            transport,
            detached: false,
            endpoint: None,
            next_mid,
            obs_seq: obs_seq & 0x00ff_ffff,
            phase,
            settings,
            hb: Heartbeats::new(now),
            dedup: [None; DEDUP_RECORDS],
            observations: Vec::new(),
            out: VecDeque::new(),
            notes: VecDeque::new(),
            next_note_at: Instant::ZERO,
            status_at: None,
            deadline: None,
            queued: false,
        }
    }

    /// The server's next heartbeat: `heartbeat-interval` after the previous one (or the start of
    /// the session). `None` when heartbeats are disabled or the transport failed.
    pub(crate) fn next_heartbeat(&self) -> Option<Instant> {
        if self.detached {
            return None;
        }
        let i = self.settings.interval_ms()?;
        Some(Instant::from_millis(
            self.hb.last_sent.as_millis().saturating_add(i),
        ))
    }

    /// When the session counts as lost (RFC 9132 Section 4.7):
    /// - UDP/DTLS (and a failed transport): no traffic at all for `missing-hb-allowed` ×
    ///   `heartbeat-interval` after the last datagram;
    /// - TCP/TLS: a heartbeat of the server unanswered for `heartbeat-interval` with nothing
    ///   else received since it was sent ("the sender of a DOTS heartbeat message has to allow
    ///   up to 'heartbeat-interval' seconds when waiting for a heartbeat reply";
    ///   `missing-hb-allowed` is negotiated only for unreliable transports, Section 4.5).
    ///
    /// `None` when heartbeats are disabled (`heartbeat-interval` 0): no deadman.
    pub(crate) fn lost_at(&self) -> Option<Instant> {
        // Milliseconds (the interval is whole seconds): no 128-bit Duration arithmetic on the
        // hot path.
        let interval = self.settings.interval_ms()?;
        if self.transport == Transport::Tcp && !self.detached {
            return self
                .hb
                .awaiting
                .map(|t| Instant::from_millis(t.as_millis().saturating_add(interval)));
        }
        let window = interval.saturating_mul(u64::from(self.settings.missing));
        Some(Instant::from_millis(
            self.hb.last_rx.as_millis().saturating_add(window),
        ))
    }

    /// Whether the client's heartbeats reached us in the last 2 × `heartbeat-interval`: the
    /// `peer-hb-status` of the server's heartbeat (RFC 9132 Section 4.7).
    pub(crate) fn peer_hb_status(&self, now: Instant) -> bool {
        match (self.hb.last_client_hb, self.settings.interval) {
            (Some(t), Some(i)) => now.saturating_duration_since(t) <= i.saturating_mul(2),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Whether a NON request with this message ID arrived recently; records it otherwise.
    pub(crate) fn is_duplicate(&mut self, mid: u16, now: Instant, lifetime: Duration) -> bool {
        if self
            .dedup
            .iter()
            .flatten()
            .any(|&(m, until)| m == mid && until > now)
        {
            return true;
        }
        // Replace an expired entry, else the one expiring first.
        let slot = self
            .dedup
            .iter()
            .position(|d| d.is_none_or(|(_, until)| until <= now))
            .or_else(|| {
                self.dedup
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, d)| d.map(|(_, u)| u))
                    .map(|(i, _)| i)
            });
        if let Some(d) = slot.and_then(|i| self.dedup.get_mut(i)) {
            *d = Some((mid, now + lifetime));
        }
        false
    }

    /// Whether the session has something of its own to send now.
    pub(crate) fn has_crafted(&self, now: Instant) -> bool {
        !self.detached
            && (!self.out.is_empty() || (!self.notes.is_empty() && self.note_allowed(now)))
    }

    pub(crate) fn note_allowed(&self, now: Instant) -> bool {
        self.transport == Transport::Tcp || now >= self.next_note_at
    }

    /// The earliest instant after `now` the session must act for this peer (a paced
    /// notification already allowed waits for `poll_transmit`, not for a timer).
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let notes = (!self.notes.is_empty()
            && !self.detached
            && self.transport == Transport::Udp
            && self.next_note_at > now)
            .then_some(self.next_note_at);
        [
            self.next_heartbeat(),
            self.lost_at(),
            self.endpoint.as_ref().and_then(|e| e.poll_timeout()),
            notes,
            self.status_at.filter(|_| !self.detached),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next message ID of the peer's sequence (from its endpoint when it holds one).
    pub(crate) fn take_mid(&mut self) -> u16 {
        match self.endpoint.as_mut() {
            Some(ep) => {
                let mid = ep.next_message_id();
                ep.set_next_message_id(mid.wrapping_add(1));
                mid
            }
            None => {
                let mid = self.next_mid;
                self.next_mid = mid.wrapping_add(1);
                mid
            }
        }
    }

    /// The next Observe sequence number (24 bits) of the peer.
    pub(crate) fn take_observe_sequence(&mut self) -> u32 {
        match self.endpoint.as_mut() {
            Some(ep) => {
                let seq = (ep.observe_sequence() + 1) & 0x00ff_ffff;
                ep.set_observe_sequence(seq);
                seq
            }
            None => {
                self.obs_seq = (self.obs_seq + 1) & 0x00ff_ffff;
                self.obs_seq
            }
        }
    }

    /// The observation registered with this token, if any.
    pub(crate) fn observation(&self, token: Token) -> Option<usize> {
        self.observations.iter().position(|o| o.token == token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coap::TransmissionParameters;

    fn peer(transport: Transport, interval: u64, missing: u16) -> Peer<u8> {
        Peer::new(
            1,
            Arc::from("c"),
            false,
            transport,
            Instant::from_secs(100),
            0,
            0,
            ConfigPhase::Idle,
            Settings {
                params: TransmissionParameters::DOTS,
                interval: (interval > 0).then(|| Duration::from_secs(interval)),
                missing,
            },
        )
    }

    #[test]
    fn deadman_instants() {
        let mut p = peer(Transport::Udp, 30, 15);
        assert_eq!(p.lost_at(), Some(Instant::from_secs(100 + 450)));
        assert_eq!(p.next_heartbeat(), Some(Instant::from_secs(130)));
        p.hb.last_rx = Instant::from_millis(200_500);
        assert_eq!(p.lost_at(), Some(Instant::from_millis(650_500)));
        let mut t = peer(Transport::Tcp, 30, 15);
        assert_eq!(t.lost_at(), None, "TCP: only an unanswered heartbeat");
        t.hb.awaiting = Some(Instant::from_secs(130));
        assert_eq!(t.lost_at(), Some(Instant::from_secs(160)));
        t.detached = true;
        assert_eq!(t.lost_at(), Some(Instant::from_secs(550)));
        assert_eq!(t.next_heartbeat(), None);
        let off = peer(Transport::Udp, 0, 15);
        assert_eq!((off.lost_at(), off.next_heartbeat()), (None, None));
    }

    #[test]
    fn duplicates_and_hb_status() {
        let mut p = peer(Transport::Udp, 30, 3);
        let now = Instant::from_secs(100);
        let life = Duration::from_secs(10);
        assert!(!p.is_duplicate(5, now, life));
        assert!(p.is_duplicate(5, now + Duration::from_secs(9), life));
        assert!(!p.is_duplicate(5, now + Duration::from_secs(10), life));
        for m in 10..20 {
            assert!(!p.is_duplicate(m, now, life));
        }
        assert!(!p.peer_hb_status(now));
        p.hb.last_client_hb = Some(now);
        assert!(p.peer_hb_status(now + Duration::from_secs(60)));
        assert!(!p.peer_hb_status(now + Duration::from_millis(60_001)));
        p.hb.rtt_sample(Duration::from_millis(80));
        p.hb.rtt_sample(Duration::from_millis(160));
        assert_eq!(p.hb.srtt(), Some(Duration::from_millis(90)));
    }

    #[test]
    fn peer_lists() {
        let mut l = PeerList::One(3);
        l.insert(3);
        assert_eq!(l.as_slice(), [3]);
        l.insert(4);
        assert_eq!(l.as_slice(), [3, 4]);
        assert!(!l.remove(3));
        assert_eq!(l, PeerList::One(4));
        assert!(l.remove(4));
    }
}
