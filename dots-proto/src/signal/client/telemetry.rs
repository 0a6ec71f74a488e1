//! RFC 9244 telemetry commands (`/tm-setup`, `/tm`) and the RFC 9066 Call Home redirection.

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{RedirectedSignal, Telemetry, TelemetrySetup};

use super::config::MID_ROLLOVER;
use super::event::{CommandError, EvRec};
use super::inbound::Reply;
use super::mitigation::Op;
use super::{wire, SignalClient};
use crate::coap::Request;
use crate::time::Instant;

/// How a request goes.
#[derive(Clone, Copy)]
enum Kind {
    Con(Code),
    Non(Code),
    Observe,
}

/// Allocates from an identifier counter (`tsid`, `tmid`) with the `mid` rollover rule (RFC
/// 9244 Sections 7.1.2 and 8.2: "The procedure specified in Section 4.4.1 of [RFC9132] for
/// 'mid' rollover MUST also be followed").
fn alloc(counter: &mut u64, attack: bool) -> Result<u32, CommandError> {
    if *counter > u64::from(MID_ROLLOVER) && !attack {
        *counter = 0;
    }
    let v = u32::try_from(*counter).map_err(|_| CommandError::IdentifiersExhausted)?;
    *counter += 1;
    Ok(v)
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
    /// Encodes `body` and sends it as a request on `op`'s resource.
    #[allow(clippy::too_many_arguments)]
    fn send_body<B: CborBody>(
        &mut self,
        now: Instant,
        op: Op,
        kind: Kind,
        operation: &str,
        id_name: &str,
        id: Option<u32>,
        body: Option<&B>,
        query: &[&str],
    ) -> Result<(), CommandError> {
        if query.len() > super::MAX_QUERY_ARGS {
            return Err(CommandError::TooLarge {
                needed: query.len(),
                limit: super::MAX_QUERY_ARGS,
            });
        }
        let mut o = wire::client_path(operation, &self.cuid, id_name, id)
            .map_err(crate::coap::CommandError::from)?;
        wire::query(&mut o, query).map_err(crate::coap::CommandError::from)?;
        let n = match body {
            Some(b) => {
                wire::cbor(&mut o).map_err(crate::coap::CommandError::from)?;
                b.encode_cbor(&mut self.buf)
                    .map_err(|_| CommandError::TooLarge {
                        needed: b.encoded_len(),
                        limit: BODY,
                    })?
            }
            None => 0,
        };
        if self.link != super::Link::Connected {
            return Err(CommandError::SessionLost);
        }
        if self.pending.is_full() {
            return Err(CommandError::Endpoint(crate::coap::CommandError::QueueFull));
        }
        let mut req = match kind {
            Kind::Con(code) => Request::con(code),
            Kind::Non(code) => Request::non(code),
            Kind::Observe => Request::non(Code::GET).observe(),
        }
        .options(o.as_options())
        .payload(&self.buf[..n]);
        if self.config.q_block {
            req = req.q_block();
        }
        let rid = self.ep.request(now, req)?;
        let _ = self.pending.push(super::Pending {
            id: rid,
            op,
            observing: false,
        });
        self.after_command(now);
        Ok(())
    }

    /// Conveys telemetry setup (PUT `/tm-setup/cuid=C/tsid=T`, CON, RFC 9244 Section 7):
    /// telemetry configuration, pipe capacity or baseline (one kind per request). Returns
    /// the new `tsid` (increasing, with the `mid` rollover rule).
    ///
    /// # Errors
    /// [`CommandError::Invalid`] (RFC 9244 request rules), [`CommandError::TooLarge`],
    /// [`CommandError::SessionLost`], [`CommandError::Endpoint`],
    /// [`CommandError::IdentifiersExhausted`].
    pub fn put_telemetry_setup(
        &mut self,
        now: Instant,
        setup: &TelemetrySetup,
    ) -> Result<u32, CommandError> {
        let now = self.clock(now);
        setup.validate_request()?;
        let mut counter = self.next_tsid;
        let tsid = alloc(&mut counter, self.attack_active())?;
        let op = Op::TmSetup {
            code: Code::PUT,
            tsid: Some(tsid),
        };
        self.send_body(
            now,
            op,
            Kind::Con(Code::PUT),
            "tm-setup",
            "tsid",
            Some(tsid),
            Some(setup),
            &[],
        )?;
        self.next_tsid = counter;
        Ok(tsid)
    }

    /// Retrieves the telemetry setup (GET `/tm-setup/cuid=C[/tsid=T]`, RFC 9244 Sections
    /// 7.1.1 and 7.1.3): the server's ranges and every installed setup, or one.
    ///
    /// # Errors
    /// As [`put_telemetry_setup`](Self::put_telemetry_setup).
    pub fn get_telemetry_setup(
        &mut self,
        now: Instant,
        tsid: Option<u32>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let op = Op::TmSetup {
            code: Code::GET,
            tsid,
        };
        self.send_body::<TelemetrySetup>(
            now,
            op,
            Kind::Con(Code::GET),
            "tm-setup",
            "tsid",
            tsid,
            None,
            &[],
        )
    }

    /// Deletes one telemetry setup, or every one when `tsid` is `None` (DELETE
    /// `/tm-setup/cuid=C[/tsid=T]`, RFC 9244 Sections 7.1.4 and 7.4).
    ///
    /// # Errors
    /// As [`put_telemetry_setup`](Self::put_telemetry_setup).
    pub fn delete_telemetry_setup(
        &mut self,
        now: Instant,
        tsid: Option<u32>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let op = Op::TmSetup {
            code: Code::DELETE,
            tsid,
        };
        self.send_body::<TelemetrySetup>(
            now,
            op,
            Kind::Con(Code::DELETE),
            "tm-setup",
            "tsid",
            tsid,
            None,
            &[],
        )
    }

    /// Sends pre-or-ongoing-mitigation telemetry, or asks for the server's with a target alone
    /// (PUT `/tm/cuid=C/tmid=T`, NON, RFC 9244 Sections 8.2 and 8.3). Returns the new `tmid`.
    ///
    /// # Errors
    /// As [`put_telemetry_setup`](Self::put_telemetry_setup).
    pub fn put_telemetry(
        &mut self,
        now: Instant,
        telemetry: &Telemetry,
    ) -> Result<u32, CommandError> {
        let now = self.clock(now);
        telemetry.validate_request()?;
        let mut counter = self.next_tmid;
        let tmid = alloc(&mut counter, self.attack_active())?;
        let op = Op::Tm {
            code: Code::PUT,
            tmid: Some(tmid),
        };
        self.send_body(
            now,
            op,
            Kind::Non(Code::PUT),
            "tm",
            "tmid",
            Some(tmid),
            Some(telemetry),
            &[],
        )?;
        self.next_tmid = counter;
        Ok(tmid)
    }

    /// Retrieves pre-or-ongoing-mitigation telemetry (GET `/tm/cuid=C[/tmid=T]`, NON, RFC
    /// 9244 Section 8.3), with Observe to receive the server's notifications, and Uri-Query
    /// filters (`target-prefix=`, `target-port=`, `target-protocol=`, `target-fqdn=`,
    /// `target-uri=`, `alias-name=`, `mid=`, `source-prefix=`, `source-port=`,
    /// `source-icmp-type=`, `c=`; several values comma-separated in one argument).
    ///
    /// # Errors
    /// As [`put_telemetry_setup`](Self::put_telemetry_setup).
    pub fn get_telemetry(
        &mut self,
        now: Instant,
        tmid: Option<u32>,
        observe: bool,
        query: &[&str],
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let op = Op::Tm {
            code: Code::GET,
            tmid,
        };
        let kind = if observe {
            Kind::Observe
        } else {
            Kind::Non(Code::GET)
        };
        self.send_body::<Telemetry>(now, op, kind, "tm", "tmid", tmid, None, query)
    }

    /// Ends an observation of `/tm` (GET with Observe = 1).
    ///
    /// # Errors
    /// [`CommandError::NotFound`] when there is no such observation.
    pub fn stop_observing_telemetry(
        &mut self,
        now: Instant,
        tmid: Option<u32>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let p = self
            .pending
            .iter()
            .find(|p| {
                p.observing && matches!(p.op, Op::Tm { code: Code::GET, tmid: t } if t == tmid)
            })
            .copied()
            .ok_or(CommandError::NotFound)?;
        self.ep.deregister(now, p.id)?;
        self.after_command(now);
        Ok(())
    }

    /// Deletes pre-or-ongoing-mitigation telemetry: one `tmid`, or every one when `None`
    /// (DELETE `/tm/cuid=C[/tmid=T]`, RFC 9244 Section 8.2, Figures 37 and 38).
    ///
    /// # Errors
    /// As [`put_telemetry_setup`](Self::put_telemetry_setup).
    pub fn delete_telemetry(
        &mut self,
        now: Instant,
        tmid: Option<u32>,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        let op = Op::Tm {
            code: Code::DELETE,
            tmid,
        };
        self.send_body::<Telemetry>(
            now,
            op,
            Kind::Non(Code::DELETE),
            "tm",
            "tmid",
            tmid,
            None,
            &[],
        )
    }

    /// A Call Home DOTS client redirects its Call Home DOTS server to another client (NON PUT
    /// `/.well-known/dots/redirect/cuid=C` with `alt-ch-client`, RFC 9066 Section 5.2.2 and
    /// Figure 9, which carries the `cuid` like every DOTS signal request). The answer
    /// is an [`Event::Response`](super::Event::Response) (2.01, then the server closes this
    /// connection).
    ///
    /// # Errors
    /// [`CommandError::Invalid`] unless `redirect` is a valid call-home redirection (with
    /// `alt-ch-client`), and as [`put_telemetry_setup`](Self::put_telemetry_setup).
    pub fn redirect_call_home(
        &mut self,
        now: Instant,
        redirect: &RedirectedSignal,
    ) -> Result<(), CommandError> {
        let now = self.clock(now);
        redirect.validate()?;
        if redirect.alt_ch_client.is_none() {
            return Err(CommandError::Invalid(
                dots_codec::model::ValidationError::InvalidRedirect,
            ));
        }
        // RFC 9066 Figure 9: `/redirect/cuid=C` (the figure adds a `mid`, which names nothing
        // here; servers take the `cuid` form).
        let mut o = wire::client_path("redirect", &self.cuid, "mid", None)
            .map_err(crate::coap::CommandError::from)?;
        wire::cbor(&mut o).map_err(crate::coap::CommandError::from)?;
        let n = redirect
            .encode_cbor(&mut self.buf)
            .map_err(|_| CommandError::TooLarge {
                needed: redirect.encoded_len(),
                limit: BODY,
            })?;
        if self.link != super::Link::Connected {
            return Err(CommandError::SessionLost);
        }
        if self.pending.is_full() {
            return Err(CommandError::Endpoint(crate::coap::CommandError::QueueFull));
        }
        let req = Request::non(Code::PUT)
            .options(o.as_options())
            .payload(&self.buf[..n]);
        let id = self.ep.request(now, req)?;
        let _ = self.pending.push(super::Pending {
            id,
            op: Op::CallHome,
            observing: false,
        });
        self.after_command(now);
        Ok(())
    }

    pub(crate) fn on_telemetry_reply(&mut self, _now: Instant, op: Op, reply: Reply) {
        let body = self.stash_reply(&reply);
        let operation = op.operation();
        let code = reply.code;
        match op {
            Op::TmSetup { .. } => self.push_event(EvRec::TelemetrySetup {
                operation,
                code,
                body,
            }),
            Op::Tm { .. } => self.push_event(EvRec::Telemetry {
                operation,
                code,
                body,
                notification: reply.notification,
            }),
            _ => {
                let diag = if reply.cbor {
                    super::Span::default()
                } else {
                    body
                };
                self.push_event(EvRec::Response {
                    operation,
                    code,
                    diag,
                });
            }
        }
    }
}
