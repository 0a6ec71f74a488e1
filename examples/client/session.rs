//! The loop that drives the sans-IO [`SignalClient`] over a real [`Link`] with real time, and
//! the owned form of its events.
//!
//! The loop is the one the client's module documentation writes out: feed what arrives, drain
//! the events, drain the datagrams into the socket, sleep until the next deadline or input,
//! fire the timers. Everything about unreliable links (retransmissions, repeated NON requests,
//! heartbeats, loss) happens inside the session; the loop only moves bytes and time.

use std::fmt;
use std::io::Write;
use std::time::Duration;

use dots::codec::coap::Code;
use dots::codec::model::{Lifetime, MitigationStatus};
use dots::proto::coap::{FailReason, Transport};
use dots::proto::signal::client::{
    ClientConfig, Event, LostReason, Operation, Phase, SignalClient,
};
use dots::proto::time::{Instant, StdClock};

use crate::app::Failure;
use crate::connect::Connected;
use crate::support::transport::{Link, LinkError};
use crate::tap::{Seen, Sent, Tap};

/// The longest the loop sleeps without looking at the command's own deadline.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// What a command wants after something happened.
#[derive(Debug)]
pub(crate) enum Flow {
    /// Keep going.
    Continue,
    /// Stop: success or the reason of the failure.
    Done(Result<(), Failure>),
}

/// A command driven by the loop.
pub(crate) trait Command {
    /// Issues the first request(s).
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure>;
    /// An event of the session.
    fn on_event(&mut self, s: &mut Session<'_>, note: &Note) -> Flow;
    /// A complete message from the server (a response with its whole body, or a request).
    fn on_seen(&mut self, _s: &mut Session<'_>, _seen: &Seen) -> Flow {
        Flow::Continue
    }
    /// A request the session sent.
    fn on_sent(&mut self, _s: &mut Session<'_>, _sent: &Sent) {}
    /// Called on every turn of the loop: time-based decisions.
    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow;
    /// When [`on_tick`](Self::on_tick) needs to run next, if at a given time.
    fn deadline(&self) -> Option<Instant>;
}

/// An event of the session, owned (the session's events borrow it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Note {
    /// `MitigationAccepted`.
    Accepted {
        mid: u32,
        code: Code,
        lifetime: Option<Lifetime>,
    },
    /// `MitigationStatus`.
    Status {
        mid: u32,
        status: Option<MitigationStatus>,
        lifetime: Option<Lifetime>,
        notification: bool,
    },
    /// `Conflict`.
    Conflict { mid: u32, information: String },
    /// `CuidCollision`.
    CuidCollision { mid: u32 },
    /// `MitigationRejected`.
    Rejected {
        mid: u32,
        code: Code,
        retry_after: Option<Duration>,
        acl_failure: bool,
        diagnostic: String,
    },
    /// `EfficacyUpdated`.
    EfficacyUpdated { mid: u32 },
    /// `MitigationWithdrawn`.
    Withdrawn { mid: u32 },
    /// `MitigationEnded`.
    Ended { mid: u32 },
    /// `PhaseChanged`.
    PhaseChanged {
        phase: Phase,
        heartbeat_interval: Duration,
        missing_hb_allowed: u16,
    },
    /// `ConfigApplied`.
    ConfigApplied { sid: Option<u32>, code: Code },
    /// `ConfigRejected`.
    ConfigRejected {
        sid: Option<u32>,
        code: Code,
        diagnostic: String,
    },
    /// `SessionDegraded`.
    Degraded { missed: u16 },
    /// `SessionRecovered`.
    Recovered,
    /// `SessionLost`.
    Lost { reason: LostReason },
    /// `Response`.
    Response {
        operation: Operation,
        code: Code,
        diagnostic: String,
    },
    /// `RequestFailed`.
    Failed {
        operation: Operation,
        reason: FailReason,
    },
    /// `ObservationEnded`.
    ObservationEnded { operation: Operation },
    /// Anything else, described.
    Other(String),
}

/// `2.01 Created`.
pub(crate) fn code_name(code: Code) -> String {
    match code.name() {
        Some(n) => format!("{code} {n}"),
        None => code.to_string(),
    }
}

fn lifetime(l: Option<Lifetime>) -> String {
    match l {
        Some(Lifetime::Seconds(s)) => format!(", lifetime {s} s"),
        Some(Lifetime::Indefinite) => ", lifetime indefinite".to_owned(),
        None => String::new(),
    }
}

fn diag(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(": {d}")
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Accepted {
                mid,
                code,
                lifetime: l,
            } => write!(
                f,
                "mitigation {mid} accepted ({}{})",
                code_name(*code),
                lifetime(*l)
            ),
            Note::Status {
                mid,
                status,
                lifetime: l,
                notification,
            } => {
                let status = status.map_or("unknown".to_owned(), |s| s.name().to_owned());
                let via = if *notification { " (notification)" } else { "" };
                write!(f, "mitigation {mid} status {status}{}{via}", lifetime(*l))
            }
            Note::Conflict { mid, information } => {
                write!(f, "mitigation {mid} conflicts: {information}")
            }
            Note::CuidCollision { mid } => write!(
                f,
                "mitigation {mid}: the cuid is used by another client (4.09 conflict-cause 3)"
            ),
            Note::Rejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diagnostic,
            } => {
                write!(
                    f,
                    "mitigation {mid} refused ({}){}",
                    code_name(*code),
                    diag(diagnostic)
                )?;
                if let Some(r) = retry_after {
                    write!(f, "; retry after {} s", r.as_secs())?;
                }
                if *acl_failure {
                    write!(f, "; the ACLs failed, sent again without them")?;
                }
                Ok(())
            }
            Note::EfficacyUpdated { mid } => {
                write!(f, "mitigation {mid}: efficacy update accepted")
            }
            Note::Withdrawn { mid } => write!(f, "mitigation {mid} withdrawn (2.02 Deleted)"),
            Note::Ended { mid } => write!(f, "mitigation {mid} ended"),
            Note::PhaseChanged {
                phase,
                heartbeat_interval,
                missing_hb_allowed,
            } => write!(
                f,
                "{} configuration in force: heartbeat-interval {} s, missing-hb-allowed \
                 {missing_hb_allowed}",
                match phase {
                    Phase::Idle => "idle",
                    Phase::Mitigating => "mitigating",
                },
                heartbeat_interval.as_secs()
            ),
            Note::ConfigApplied { sid, code } => {
                write!(f, "configuration applied ({}", code_name(*code))?;
                match sid {
                    Some(s) => write!(f, ", sid {s})"),
                    None => write!(f, ")"),
                }
            }
            Note::ConfigRejected {
                sid,
                code,
                diagnostic,
            } => {
                write!(f, "configuration refused ({}", code_name(*code))?;
                if let Some(s) = sid {
                    write!(f, ", sid {s}")?;
                }
                write!(f, "){}", diag(diagnostic))
            }
            Note::Degraded { missed } => write!(
                f,
                "{missed} heartbeats unanswered during an attack: the session is degraded"
            ),
            Note::Recovered => write!(f, "the server answers again"),
            Note::Lost { reason } => write!(f, "session lost: {}", lost(*reason)),
            Note::Response {
                operation,
                code,
                diagnostic,
            } => write!(
                f,
                "{} answered {}{}",
                operation_name(*operation),
                code_name(*code),
                diag(diagnostic)
            ),
            Note::Failed { operation, reason } => write!(
                f,
                "{} got no answer ({})",
                operation_name(*operation),
                fail(*reason)
            ),
            Note::ObservationEnded { operation } => {
                write!(f, "observation ended ({})", operation_name(*operation))
            }
            Note::Other(s) => write!(f, "{s}"),
        }
    }
}

pub(crate) fn lost(r: LostReason) -> &'static str {
    match r {
        LostReason::Heartbeat => "heartbeats unanswered",
        LostReason::ConnectionClosed => "the connection was closed",
        LostReason::Closed => "closed",
        _ => "lost",
    }
}

pub(crate) fn fail(r: FailReason) -> &'static str {
    match r {
        FailReason::TimedOut => "timed out",
        FailReason::Reset => "reset by the server",
        FailReason::BodyTooLarge => "body too large",
        FailReason::BodyIncomplete => "body incomplete",
        FailReason::BodyBusy => "another body in transfer",
        FailReason::ConnectionClosed => "connection closed",
        _ => "failed",
    }
}

/// `GET /mitigate mid=5`.
pub(crate) fn operation_name(o: Operation) -> String {
    match o {
        Operation::PutMitigation { mid } => format!("mitigation request {mid}"),
        Operation::EfficacyUpdate { mid } => format!("efficacy update of {mid}"),
        Operation::GetMitigations { mid: Some(mid) } => format!("status request of {mid}"),
        Operation::GetMitigations { mid: None } => "status request".to_owned(),
        Operation::DeleteMitigation { mid } => format!("withdrawal of {mid}"),
        Operation::GetConfig { .. } => "configuration request".to_owned(),
        Operation::PutConfig { sid } => format!("configuration {sid}"),
        Operation::DeleteConfig { .. } => "configuration deletion".to_owned(),
        Operation::Heartbeat => "heartbeat".to_owned(),
        other => format!("{other:?}"),
    }
}

impl Note {
    fn of(e: &Event<'_>) -> Note {
        match *e {
            Event::MitigationAccepted {
                mid,
                code,
                lifetime,
                ..
            } => Note::Accepted {
                mid,
                code,
                lifetime,
            },
            Event::MitigationStatus {
                mid,
                status,
                lifetime,
                notification,
                ..
            } => Note::Status {
                mid,
                status,
                lifetime,
                notification,
            },
            Event::Conflict { mid, information } => Note::Conflict {
                mid,
                information: format!(
                    "conflict-status {:?}, conflict-cause {:?}, retry-timer {:?}",
                    information.conflict_status,
                    information.conflict_cause,
                    information.retry_timer
                ),
            },
            Event::CuidCollision { mid } => Note::CuidCollision { mid },
            Event::MitigationRejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diagnostic,
            } => Note::Rejected {
                mid,
                code,
                retry_after,
                acl_failure,
                diagnostic: diagnostic.to_owned(),
            },
            Event::EfficacyUpdated { mid } => Note::EfficacyUpdated { mid },
            Event::MitigationWithdrawn { mid } => Note::Withdrawn { mid },
            Event::MitigationEnded { mid } => Note::Ended { mid },
            Event::PhaseChanged { phase, parameters } => Note::PhaseChanged {
                phase,
                heartbeat_interval: parameters.heartbeat_interval,
                missing_hb_allowed: parameters.missing_hb_allowed,
            },
            Event::ConfigApplied { sid, code } => Note::ConfigApplied { sid, code },
            Event::ConfigRejected {
                sid,
                code,
                diagnostic,
            } => Note::ConfigRejected {
                sid,
                code,
                diagnostic: diagnostic.to_owned(),
            },
            Event::SessionDegraded { missed_heartbeats } => Note::Degraded {
                missed: missed_heartbeats,
            },
            Event::SessionRecovered => Note::Recovered,
            Event::SessionLost { reason } => Note::Lost { reason },
            Event::Response {
                operation,
                code,
                diagnostic,
            } => Note::Response {
                operation,
                code,
                diagnostic: diagnostic.to_owned(),
            },
            Event::RequestFailed { operation, reason } => Note::Failed { operation, reason },
            Event::ObservationEnded { operation } => Note::ObservationEnded { operation },
            Event::Redirected {
                alt_server, ttl, ..
            } => Note::Other(format!(
                "redirected to {alt_server} ({ttl:?}); this client does not follow redirections"
            )),
            ref other => Note::Other(format!("{other:?}")),
        }
    }
}

/// A session over a link, with its clock, tap and output.
pub(crate) struct Session<'o> {
    link: Box<dyn Link>,
    /// The DOTS client session.
    pub(crate) client: Box<SignalClient>,
    clock: StdClock,
    tap: Tap,
    out: &'o mut dyn Write,
    verbose: bool,
    /// Print heartbeat traffic (the `heartbeat` command prints its own lines).
    pub(crate) quiet_heartbeats: bool,
    buf: Vec<u8>,
    /// How long to wait for an answer.
    pub(crate) timeout: Duration,
}

/// A random seed for message IDs and tokens (from the standard library's per-process keys).
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

impl<'o> Session<'o> {
    /// A session over `conn`; `tune` adjusts the client configuration (identifiers, fetching
    /// the configuration ...).
    pub(crate) fn new(
        conn: Connected,
        tune: impl FnOnce(&mut ClientConfig),
        timeout: Duration,
        verbose: bool,
        out: &'o mut dyn Write,
    ) -> Result<Session<'o>, Failure> {
        let transport = conn.link.transport();
        let mut config = match transport {
            Transport::Udp => ClientConfig::udp(),
            Transport::Tcp => ClientConfig::tcp(),
        };
        config.auto_observe = false;
        config.fetch_config = false;
        tune(&mut config);
        let clock = StdClock::new();
        let client = SignalClient::new(clock.now(), &conn.cuid, &conn.server, config, seed())
            .map_err(|e| Failure::new(format!("cannot start the session: {e}")))?;
        Ok(Session {
            link: conn.link,
            client: Box::new(client),
            clock,
            tap: Tap::new(transport == Transport::Tcp),
            out,
            verbose,
            quiet_heartbeats: true,
            buf: vec![0u8; 2048],
            timeout,
        })
    }

    /// The current time.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// One line of output.
    pub(crate) fn say(&mut self, line: impl fmt::Display) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// Runs `cmd` until it is done.
    pub(crate) fn run(&mut self, cmd: &mut dyn Command) -> Result<(), Failure> {
        cmd.start(self)?;
        let result = self.turns(cmd);
        // What the last step queued (a deregistration, an acknowledgement) still goes out.
        let _ = self.flush(None);
        result
    }

    fn turns(&mut self, cmd: &mut dyn Command) -> Result<(), Failure> {
        loop {
            self.flush(Some(cmd))?;
            // Events (the command may issue requests in answer: they go out next turn).
            let mut notes = Vec::new();
            while let Some(e) = self.client.poll_event() {
                notes.push(Note::of(&e));
            }
            if !notes.is_empty() {
                for n in &notes {
                    self.say(format_args!("event: {n}"));
                    if let Flow::Done(r) = cmd.on_event(self, n) {
                        return r;
                    }
                }
                continue;
            }
            // Time-based decisions, once the events of the last input are in.
            if let Flow::Done(r) = cmd.on_tick(self) {
                return r;
            }
            self.flush(Some(cmd))?;
            let now = self.now();
            let wake = [self.client.poll_timeout(), cmd.deadline()]
                .into_iter()
                .flatten()
                .min();
            let wait = wake
                .map_or(MAX_SLEEP, |t| t.saturating_duration_since(now))
                .min(MAX_SLEEP);
            match self.link.recv(wait) {
                Ok(Some(bytes)) => {
                    let now = self.now();
                    let (lines, seen) = self.tap.incoming(&bytes);
                    match self.link.transport() {
                        Transport::Udp => self.client.handle_datagram(now, &bytes),
                        Transport::Tcp => self.client.handle_stream_bytes(now, &bytes),
                    }
                    if self.verbose {
                        for l in lines {
                            self.say(l);
                        }
                    }
                    for s in &seen {
                        self.print_seen(s);
                        if let Flow::Done(r) = cmd.on_seen(self, s) {
                            return r;
                        }
                    }
                }
                Ok(None) => {}
                Err(LinkError::Closed) => {
                    self.client.close(self.now());
                    return Err(Failure::new("the server closed the connection"));
                }
                Err(e) => return Err(Failure::new(format!("connection failed: {e}"))),
            }
            self.client.handle_timeout(self.now());
        }
    }

    /// Sends what the session has queued.
    fn flush(&mut self, mut cmd: Option<&mut dyn Command>) -> Result<(), Failure> {
        loop {
            let now = self.now();
            let t = match self.client.poll_transmit(now, &mut self.buf) {
                Ok(Some(t)) => t,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.buf.resize(e.needed.max(self.buf.len() * 2), 0);
                    continue;
                }
            };
            let bytes = self.buf.get(..t.len).unwrap_or_default().to_vec();
            self.link
                .send(&bytes)
                .map_err(|e| Failure::new(format!("cannot send: {e}")))?;
            let (lines, sent) = self.tap.outgoing(&bytes);
            if self.verbose {
                for l in lines {
                    self.say(l);
                }
            }
            if let Some(cmd) = cmd.as_deref_mut() {
                for s in &sent {
                    cmd.on_sent(self, s);
                }
            }
        }
    }

    /// Prints a response (code, what it answers, body as JSON) or a request of the server.
    fn print_seen(&mut self, s: &Seen) {
        if s.is_heartbeat() && self.quiet_heartbeats && !self.verbose {
            return;
        }
        let head = if s.request {
            format!(
                "server request: {} {}",
                s.method.name().unwrap_or("?"),
                s.path
            )
        } else {
            format!(
                "{}: {} (to {} {})",
                if s.notification {
                    "notification"
                } else {
                    "response"
                },
                code_name(s.code),
                s.method.name().unwrap_or("?"),
                s.path
            )
        };
        self.say(head);
        if let Some(body) = s.body.render() {
            self.say(body);
        }
    }
}
