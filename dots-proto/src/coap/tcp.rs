//! CoAP over TCP/TLS (RFC 8323): the stream, CSM, Ping/Pong, Release and Abort.

use dots_codec::coap::{
    signal::{self, SignalError},
    Code, Frame, Message, OptionNumber, Signal, StreamDecoder, Token,
};

use super::endpoint::{Control, EvKind, OutState};
use super::event::{CommandError, FailReason, ObserveEnd};
use super::timer::Global;
use super::wire;
use crate::time::Instant;

/// Connection state of CoAP over TCP/TLS.
#[derive(Clone, Debug)]
pub(crate) struct TcpState<const MSG: usize> {
    pub(crate) decoder: StreamDecoder<MSG>,
    pub(crate) csm_sent: bool,
    pub(crate) peer_csm: bool,
    pub(crate) peer_max_message_size: u32,
    pub(crate) peer_block_wise: bool,
    /// The peer sent a Release, or we did: no new requests.
    pub(crate) released: bool,
    /// Aborted (either side): nothing more is sent or read.
    pub(crate) closed: bool,
    pub(crate) closed_by_us_sent: bool,
    pub(crate) ping: Option<Token>,
    pub(crate) ping_counter: u32,
}

impl<const MSG: usize> TcpState<MSG> {
    pub(crate) const fn new() -> Self {
        TcpState {
            decoder: StreamDecoder::new(),
            csm_sent: false,
            peer_csm: false,
            peer_max_message_size: signal::BASE_MAX_MESSAGE_SIZE,
            peer_block_wise: false,
            released: false,
            closed: false,
            closed_by_us_sent: false,
            ping: None,
            ping_counter: 0,
        }
    }
}

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > super::Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// Reads bytes of the TCP/TLS stream, in pieces of any size (RFC 8323 §3.2). A malformed
    /// frame, a first message other than a CSM, or an invalid signalling message aborts the
    /// connection (RFC 8323 §5.6): [`Event::Aborted`](super::Event::Aborted) follows and the
    /// Abort is the last thing [`poll_transmit`](Self::poll_transmit) returns. On a UDP
    /// endpoint the bytes are ignored.
    pub fn handle_stream_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let now = self.advance(now);
        if !self.is_tcp() || self.tcp.closed {
            return;
        }
        let mut decoder = core::mem::replace(&mut self.tcp.decoder, StreamDecoder::new());
        let mut rest = bytes;
        loop {
            match decoder.decode(rest) {
                Err(_) => {
                    self.stats.malformed += 1;
                    self.abort_connection(None, "malformed frame");
                    break;
                }
                Ok(decoded) => {
                    rest = rest.get(decoded.consumed..).unwrap_or(&[]);
                    match decoded.frame {
                        Some(frame) => {
                            self.on_frame(now, &frame);
                            if self.tcp.closed {
                                break;
                            }
                        }
                        None => break,
                    }
                }
            }
        }
        self.tcp.decoder = decoder;
        self.pump_queue(now);
    }

    fn on_frame(&mut self, now: Instant, frame: &Frame<'_>) {
        self.stats.received += 1;
        self.heard_from_peer(now);
        self.arm_keepalive(now);
        let code = frame.code();
        if !self.tcp.peer_csm && code != Code::CSM {
            // RFC 8323 §5.3: the CSM is the first message on the connection.
            self.abort_connection(None, "CSM expected first");
            return;
        }
        if code.is_signaling() {
            self.on_signal(now, frame);
            return;
        }
        if code.is_empty() {
            return; // a keep-alive (RFC 8323 §3.4)
        }
        let mut udp = heapless::Vec::<u8, MSG>::new();
        if wire::tcp_to_udp(frame, &mut udp).is_err() {
            self.abort_connection(None, "frame too large");
            return;
        }
        match Message::parse(&udp) {
            Ok(msg) => self.dispatch(now, &msg),
            Err(_) => {
                self.stats.malformed += 1;
                self.abort_connection(None, "malformed message");
            }
        }
    }

    fn on_signal(&mut self, now: Instant, frame: &Frame<'_>) {
        let signal = match frame.signal() {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                self.stats.malformed += 1;
                let bad = match (frame.code(), e) {
                    (Code::CSM, SignalError::UnrecognizedCriticalOption(n)) => Some(n),
                    (Code::CSM, SignalError::Option(o)) => Some(o.number),
                    _ => None,
                };
                self.abort_connection(bad, "bad signalling message");
                return;
            }
        };
        match signal {
            Signal::Csm {
                max_message_size,
                block_wise_transfer,
            } => {
                self.tcp.peer_csm = true;
                if let Some(m) = max_message_size {
                    self.tcp.peer_max_message_size = m;
                }
                self.tcp.peer_block_wise = block_wise_transfer;
                self.push_event(EvKind::Csm {
                    max_message_size: self.tcp.peer_max_message_size,
                    block_wise_transfer,
                });
            }
            Signal::Ping { .. } => {
                // Custody (RFC 8323 §5.4.1) is optional: the Pong goes at once, without it.
                self.queue_control(Control::Pong(frame.token()));
            }
            Signal::Pong { .. } => {
                if self.tcp.ping == Some(frame.token()) {
                    self.tcp.ping = None;
                    self.push_event(EvKind::Pong {
                        token: frame.token(),
                    });
                    self.arm_keepalive(now);
                } else {
                    self.stats.unmatched += 1;
                }
            }
            Signal::Release(release) => {
                self.tcp.released = true;
                let kind = EvKind::Released {
                    hold_off: release.hold_off,
                };
                match release.alternative_addresses().next() {
                    Some(Ok(address)) => {
                        self.push_event_with(kind, address.as_bytes());
                    }
                    _ => {
                        self.push_event(kind);
                    }
                }
                self.fail_queued(FailReason::ConnectionClosed);
            }
            Signal::Abort { .. } => {
                self.tcp.closed = true;
                let diag = frame.payload();
                let diag = if core::str::from_utf8(diag).is_ok() {
                    diag
                } else {
                    &[]
                };
                self.push_event_with(
                    EvKind::Aborted {
                        by_peer: true,
                        diagnostic: "",
                    },
                    diag,
                );
                self.close_all();
            }
            _ => {}
        }
    }

    fn fail_queued(&mut self, reason: FailReason) {
        for i in 0..OUT {
            if self.out[i].state == OutState::Queued {
                self.fail_slot(i, reason);
            }
        }
    }

    fn close_all(&mut self) {
        for i in 0..OUT {
            if self.out[i].state != OutState::Free {
                self.fail_slot(i, FailReason::ConnectionClosed);
            }
        }
        let ids: heapless::Vec<u32, OBS> = self
            .observers
            .iter()
            .filter(|o| o.id != 0)
            .map(|o| o.id)
            .collect();
        for id in ids {
            self.remove_observer(id, ObserveEnd::ConnectionClosed);
        }
        for r in 0..IN {
            self.free_record(r);
        }
        self.tx.active = false;
        for g in [
            Global::Keepalive,
            Global::TxBody,
            Global::RxBody,
            Global::Pacing,
        ] {
            self.timers.set_global(g, None);
        }
    }

    /// Aborts for a protocol violation (RFC 8323 §5.6).
    pub(crate) fn abort_connection(
        &mut self,
        bad_csm_option: Option<OptionNumber>,
        diag: &'static str,
    ) {
        if self.tcp.closed {
            return;
        }
        self.control.clear();
        self.queue_control(Control::Abort(bad_csm_option, diag));
        self.tcp.closed = true;
        self.push_event(EvKind::Aborted {
            by_peer: false,
            diagnostic: diag,
        });
        self.close_all();
    }

    fn arm_keepalive(&mut self, now: Instant) {
        if let Some(k) = self.config.keepalive {
            if self.is_tcp() && !self.tcp.closed && self.tcp.ping.is_none() {
                self.timers.set_global(Global::Keepalive, Some(now + k));
            }
        }
    }

    pub(crate) fn on_keepalive_timer(&mut self, now: Instant) {
        if !self.is_tcp() || self.tcp.closed {
            return;
        }
        if self.tcp.ping.take().is_some() {
            self.push_event(EvKind::PingTimedOut);
            self.arm_keepalive(now);
            return;
        }
        if let Some(k) = self.config.keepalive {
            self.send_ping();
            self.timers.set_global(Global::Keepalive, Some(now + k));
        }
    }

    fn send_ping(&mut self) -> Token {
        self.tcp.ping_counter = self.tcp.ping_counter.wrapping_add(1);
        let token = Token::new(&self.tcp.ping_counter.to_be_bytes()).unwrap_or_default();
        self.tcp.ping = Some(token);
        self.queue_control(Control::Ping(token));
        token
    }

    /// TCP/TLS: sends a Ping (RFC 8323 §5.4); [`Event::Pong`](super::Event::Pong) reports the
    /// answer. With [`Config::keepalive`](super::Config) set, a missing Pong is reported as
    /// [`Event::PingTimedOut`](super::Event::PingTimedOut) after that time.
    ///
    /// # Errors
    /// [`CommandError::WrongTransport`] over UDP; [`CommandError::Closed`] after an Abort.
    pub fn ping(&mut self, now: Instant) -> Result<Token, CommandError> {
        let now = self.advance(now);
        if !self.is_tcp() {
            return Err(CommandError::WrongTransport);
        }
        if self.tcp.closed {
            return Err(CommandError::Closed);
        }
        let token = self.send_ping();
        if let Some(k) = self.config.keepalive {
            self.timers.set_global(Global::Keepalive, Some(now + k));
        }
        Ok(token)
    }

    /// TCP/TLS: asks the peer to close the connection (Release, RFC 8323 §5.5). No new
    /// requests are accepted afterwards; requests in flight may still complete.
    ///
    /// # Errors
    /// [`CommandError::WrongTransport`] over UDP; [`CommandError::Closed`] after an Abort.
    pub fn release(&mut self, now: Instant, hold_off: Option<u32>) -> Result<(), CommandError> {
        let _ = self.advance(now);
        if !self.is_tcp() {
            return Err(CommandError::WrongTransport);
        }
        if self.tcp.closed {
            return Err(CommandError::Closed);
        }
        self.tcp.released = true;
        self.queue_control(Control::Release(hold_off.map(|h| h.min(0x00ff_ffff))));
        self.fail_queued(FailReason::ConnectionClosed);
        Ok(())
    }

    /// TCP/TLS: aborts the connection (RFC 8323 §5.6): the Abort is the last message
    /// [`poll_transmit`](Self::poll_transmit) returns; every exchange fails.
    ///
    /// # Errors
    /// [`CommandError::WrongTransport`] over UDP.
    pub fn abort(&mut self, now: Instant, diagnostic: &'static str) -> Result<(), CommandError> {
        let _ = self.advance(now);
        if !self.is_tcp() {
            return Err(CommandError::WrongTransport);
        }
        self.abort_connection(None, diagnostic);
        Ok(())
    }

    /// TCP/TLS: the peer's Max-Message-Size (1152 until its CSM says otherwise).
    #[must_use]
    pub fn peer_max_message_size(&self) -> u32 {
        self.tcp.peer_max_message_size
    }

    /// TCP/TLS: the connection was aborted (by either side); the caller closes it.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.is_tcp() && self.tcp.closed
    }
}
