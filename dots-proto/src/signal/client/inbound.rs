//! What arrives from the endpoint: responses and notifications matched to the request they
//! answer, the server's own requests (heartbeats), failures and the end of the connection.

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat, OptionNumber};
use dots_codec::model::Heartbeat;

use super::event::{EvRec, LostReason};
use super::mitigation::Op;
use super::{Link, SignalClient};
use crate::coap::{Event as CoapEvent, FailReason, InboundId, RequestId, Response};
use crate::time::Instant;

/// A received response or notification, its payload copied into the client's body buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reply {
    pub(crate) code: Code,
    pub(crate) len: usize,
    /// The payload did not fit the body buffer (only possible with unusual capacities).
    pub(crate) truncated: bool,
    pub(crate) max_age: Option<u32>,
    pub(crate) cbor: bool,
    pub(crate) notification: bool,
}

/// One endpoint event, owned.
#[derive(Clone, Copy, Debug)]
enum Inbound {
    Response {
        id: RequestId,
        reply: Reply,
        observing: bool,
    },
    Request {
        id: InboundId,
        code: Code,
        heartbeat: bool,
        len: usize,
    },
    Failed {
        id: RequestId,
        reason: FailReason,
    },
    ObserveEnded {
        id: RequestId,
    },
    Closed,
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
    /// Handles every event the endpoint has.
    pub(crate) fn drain(&mut self, now: Instant) {
        // Bounded: the endpoint's queue is.
        while self.link == Link::Connected {
            let item = {
                let Some(ev) = self.ep.poll_event() else {
                    break;
                };
                let mut copy = |payload: &[u8]| {
                    let n = payload.len().min(BODY);
                    self.buf[..n].copy_from_slice(&payload[..n]);
                    (n, n < payload.len())
                };
                match ev {
                    CoapEvent::Response {
                        request,
                        response,
                        observe,
                    } => {
                        let (len, truncated) = copy(response.payload);
                        Some(Inbound::Response {
                            id: request,
                            reply: Reply {
                                code: response.code,
                                len,
                                truncated,
                                max_age: response.options.max_age().ok().flatten(),
                                cbor: response.options.content_format().ok().flatten()
                                    == Some(ContentFormat::DOTS_CBOR),
                                notification: false,
                            },
                            observing: observe.is_some(),
                        })
                    }
                    CoapEvent::Notification {
                        request, response, ..
                    } => {
                        let (len, truncated) = copy(response.payload);
                        Some(Inbound::Response {
                            id: request,
                            reply: Reply {
                                code: response.code,
                                len,
                                truncated,
                                max_age: response.options.max_age().ok().flatten(),
                                cbor: response.options.content_format().ok().flatten()
                                    == Some(ContentFormat::DOTS_CBOR),
                                notification: true,
                            },
                            observing: true,
                        })
                    }
                    CoapEvent::Request { id, request, .. } => {
                        let heartbeat = request.options.uri_path_is(&[".well-known", "dots", "hb"])
                            && request.options.values(OptionNumber::URI_QUERY).count() == 0;
                        let (len, _) = copy(request.payload);
                        Some(Inbound::Request {
                            id,
                            code: request.code,
                            heartbeat,
                            len,
                        })
                    }
                    CoapEvent::RequestFailed { request, reason } => Some(Inbound::Failed {
                        id: request,
                        reason,
                    }),
                    CoapEvent::ObserveCancelled { request, .. } => {
                        Some(Inbound::ObserveEnded { id: request })
                    }
                    CoapEvent::Released { .. } | CoapEvent::Aborted { .. } => Some(Inbound::Closed),
                    _ => None,
                }
            };
            match item {
                Some(Inbound::Response {
                    id,
                    reply,
                    observing,
                }) => {
                    // The server heard one of our requests (its deadman restarted). A
                    // notification answers a request sent long ago: it says nothing of
                    // whether the server hears us now.
                    if !reply.notification {
                        let silent = self.answers_were_silent(now);
                        self.live.last_answer = Some(now);
                        if silent {
                            self.renew_observe_all(now);
                        }
                    }
                    self.on_reply(now, id, reply, observing)
                }
                Some(Inbound::Request {
                    id,
                    code,
                    heartbeat,
                    len,
                }) => self.on_server_request(now, id, code, heartbeat, len),
                Some(Inbound::Failed { id, reason }) => self.on_failed(now, id, reason),
                Some(Inbound::ObserveEnded { id }) => self.on_observe_ended(now, id),
                Some(Inbound::Closed) => self.lose(now, LostReason::ConnectionClosed),
                None => {}
            }
        }
    }

    fn pending_index(&self, id: RequestId) -> Option<usize> {
        self.pending.iter().position(|p| p.id == id)
    }

    fn on_reply(&mut self, now: Instant, id: RequestId, reply: Reply, observing: bool) {
        let Some(i) = self.pending_index(id) else {
            return;
        };
        let op = self.pending[i].op;
        let was_observing = self.pending[i].observing;
        if observing && reply.code.is_success() {
            self.pending[i].observing = true;
        } else if !reply.notification {
            // The exchange is over (a deregistration's response ends the observation too).
            self.pending.swap_remove(i);
            if was_observing {
                self.observation_ended(now, op);
            }
        }
        if reply.notification {
            self.stats.notifications += 1;
        }
        // Any response proves the server is there (RFC 9132 Section 4.7).
        self.live.missed = 0;
        if reply.truncated {
            self.stats.malformed_bodies += 1;
        }
        self.handle_reply(now, op, reply);
    }

    fn handle_reply(&mut self, now: Instant, op: Op, reply: Reply) {
        // A redirection can answer any request, or come as a notification (RFC 9132 Section
        // 4.6).
        if reply.code == Code::SERVICE_UNAVAILABLE && self.on_redirect(now, &reply) {
            self.retry_later(now, op);
            return;
        }
        match op {
            Op::Heartbeat => self.on_heartbeat_reply(now, reply),
            Op::Put { .. }
            | Op::Efficacy { .. }
            | Op::Get { .. }
            | Op::Delete { .. }
            | Op::Retire { .. } => self.on_mitigation_reply(now, op, reply),
            Op::GetConfig { .. } | Op::PutConfig { .. } | Op::DeleteConfig { .. } => {
                self.on_config_reply(now, op, reply);
            }
            Op::TmSetup { .. } | Op::Tm { .. } | Op::CallHome => {
                self.on_telemetry_reply(now, op, reply);
            }
        }
    }

    fn on_failed(&mut self, now: Instant, id: RequestId, reason: FailReason) {
        let Some(i) = self.pending_index(id) else {
            return;
        };
        let p = self.pending.swap_remove(i);
        if p.observing {
            self.observation_ended(now, p.op);
            return;
        }
        match p.op {
            // Counted when the next heartbeat is due.
            Op::Heartbeat => {}
            Op::Put { .. } | Op::Delete { .. } | Op::Retire { .. } | Op::Get { .. } => {
                self.on_mitigation_failed(now, p.op, reason);
            }
            Op::GetConfig { .. } | Op::PutConfig { .. } | Op::DeleteConfig { .. } => {
                self.on_config_failed(now, p.op);
                self.push_event(EvRec::Failed {
                    operation: p.op.operation(),
                    reason,
                });
            }
            _ => self.push_event(EvRec::Failed {
                operation: p.op.operation(),
                reason,
            }),
        }
    }

    fn on_observe_ended(&mut self, now: Instant, id: RequestId) {
        if let Some(i) = self.pending_index(id) {
            let p = self.pending.swap_remove(i);
            self.observation_ended(now, p.op);
        }
    }

    fn observation_ended(&mut self, now: Instant, op: Op) {
        if matches!(op, Op::Get { mid: None, .. }) && self.observe_all != super::ObserveAll::Off {
            // Registered again at the next occasion, if there is something to observe.
            self.observe_all = super::ObserveAll::Off;
            self.want_observe_all(now);
        }
        if let Op::GetConfig { .. } = op {
            self.cfg.observing = false;
        }
        self.push_event(EvRec::ObservationEnded {
            operation: op.operation(),
        });
    }

    /// A request of the server: heartbeats are answered 2.04 (RFC 9132 Section 4.7, Figure
    /// 28); nothing else is served by a DOTS client.
    fn on_server_request(
        &mut self,
        now: Instant,
        id: InboundId,
        code: Code,
        heartbeat: bool,
        len: usize,
    ) {
        let answer = if heartbeat && code == Code::PUT {
            match Heartbeat::decode_cbor(&self.buf[..len]) {
                Ok(hb) => {
                    self.stats.server_heartbeats += 1;
                    self.live.last_server_hb = Some(now);
                    self.live.server_sees_us = Some(hb.peer_hb_status);
                    Code::CHANGED
                }
                Err(_) => Code::BAD_REQUEST,
            }
        } else {
            self.stats.unexpected_requests += 1;
            if heartbeat {
                Code::METHOD_NOT_ALLOWED
            } else {
                Code::NOT_FOUND
            }
        };
        let _ = self
            .ep
            .respond(now, id, Response::new(answer).without_observe());
    }

    /// Traffic from the server arrived: a degraded session (RFC 9132 Section 4.7) recovers,
    /// and the server, whose deadman may have ended the session on its side meanwhile, may
    /// hold none of the client's observations: the observation of all mitigations is
    /// registered again.
    pub(crate) fn heard_from_server(&mut self, now: Instant) {
        if self.live.degraded {
            self.live.degraded = false;
            self.live.missed = 0;
            self.push_event(EvRec::Recovered);
            self.renew_observe_all(now);
        }
    }

    /// Whether no answer to one of our requests came for long enough that the server's
    /// deadman may have ended the session on its side (`missing-hb-allowed` heartbeat
    /// intervals without traffic from us, one interval of slack for the client's later
    /// count). The server's deadman counts from the last datagram *it* received from us: a
    /// server heartbeat or a notification received says nothing of whether ours got
    /// through, an answer does. Checked when an answer arrives, so that the observation
    /// registered again at once goes over a link known to work both ways.
    fn answers_were_silent(&self, now: Instant) -> bool {
        let p = *self.parameters();
        let window = p
            .heartbeat_interval
            .saturating_mul(u32::from(p.missing_hb_allowed.saturating_sub(1).max(1)));
        let since = self.live.last_answer.unwrap_or(self.live.started);
        !window.is_zero() && since.saturating_add(window) <= now
    }

    /// Copies a diagnostic or body of the reply into the event storage.
    pub(crate) fn stash_reply(&mut self, reply: &Reply) -> super::Span {
        let len = reply.len.min(BODY);
        super::stash_into(
            &mut self.inbox,
            &self.events,
            &mut self.stats,
            &self.buf[..len],
        )
    }

    /// Copies a diagnostic payload (UTF-8 text only) into the event storage.
    pub(crate) fn stash_diag(&mut self, reply: &Reply) -> super::Span {
        if reply.cbor || core::str::from_utf8(&self.buf[..reply.len.min(BODY)]).is_err() {
            return super::Span::default();
        }
        self.stash_reply(reply)
    }
}
