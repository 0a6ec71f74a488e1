//! The commands: what each asks the session, and which event or answer ends it.
//!
//! One run is one short session: the requests a command issues go out, the command waits for
//! their outcome (or the `--timeout`), prints it, and the process exits. A mitigation request
//! stays active at the server for its lifetime after the process ends. `mid`s and `sid`s must
//! increase across runs (RFC 9132 Sections 4.4.1 and 4.5.2): by default they are the seconds
//! since 2024-01-01 (see [`default_identifier`](crate::cli::default_identifier)).
//!
//! `withdraw` and `efficacy` act on a mitigation requested by an earlier run, which this run's
//! session does not hold. [`SignalClient`] only acts on requests in its own table, and its one
//! way to take in requests from elsewhere is
//! [`mirror_mitigations`](SignalClient::mirror_mitigations) (made for parallel sessions,
//! RFC 9132 Section 4.7): [`adopt`] puts the request in a scratch session and mirrors it over.

use std::time::Duration;

use dots::codec::coap::Code;
use dots::codec::ipnet::IpNet;
use dots::codec::model::{
    AttackStatus, ConfigParams, IntParam, Lifetime, Scope, SignalConfig, SignalMessage,
};
use dots::proto::signal::client::{ClientConfig, Operation, SignalClient};
use dots::proto::time::Instant;

use crate::app::Failure;
use crate::session::{code_name, fail, lost, operation_name, Command, Flow, Note, Session};
use crate::tap::{Body, Seen, Sent};

fn done_err(msg: impl Into<String>) -> Flow {
    Flow::Done(Err(Failure::new(msg)))
}

fn with_diag(code: Code, diagnostic: &str) -> String {
    if diagnostic.is_empty() {
        code_name(code)
    } else {
        format!("{}: {diagnostic}", code_name(code))
    }
}

/// What ends every command the same way.
fn common(note: &Note) -> Flow {
    match note {
        Note::Lost { reason } => done_err(format!("session lost: {}", lost(*reason))),
        Note::CuidCollision { .. } => done_err(
            "the server says another client uses our cuid (4.09, conflict-cause 3): use \
             other credentials",
        ),
        _ => Flow::Continue,
    }
}

/// The waiting time of one answer, from `now`.
fn deadline(s: &Session<'_>) -> Instant {
    s.now() + s.timeout
}

/// Puts the mitigation request `mid` (made by an earlier run) into the session: as being
/// withdrawn (the session sends the DELETE), or as requested (the session refreshes it with
/// `scope`, which must be the one the server holds).
pub(crate) fn adopt(
    s: &mut Session<'_>,
    mid: u32,
    scope: &Scope,
    withdraw: bool,
) -> Result<(), Failure> {
    let now = s.now();
    let mut config = ClientConfig::udp();
    config.fetch_config = false;
    config.auto_observe = false;
    config.first_mid = mid;
    let err = |e| {
        Failure::new(format!(
            "cannot take mitigation {mid} into the session: {e}"
        ))
    };
    let mut scratch: Box<SignalClient> =
        Box::new(SignalClient::new(now, s.client.cuid(), "scratch", config, 0).map_err(err)?);
    scratch.request_mitigation(now, scope).map_err(err)?;
    if withdraw {
        scratch.withdraw_mitigation(now, mid).map_err(err)?;
    }
    if s.client.mirror_mitigations(now, &scratch) != 1 {
        return Err(Failure::new(format!(
            "cannot take mitigation {mid} into the session: its table is full"
        )));
    }
    Ok(())
}

/// A scope for a request that is only withdrawn: a DELETE carries no body, so its targets
/// never leave this process (TEST-NET-1, RFC 5737).
fn placeholder_scope() -> Scope {
    let mut s = Scope::new();
    let net: IpNet = IpNet::V4(
        dots::codec::ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(192, 0, 2, 0), 24)
            .unwrap_or_default(),
    );
    let _ = s.targets.push_prefix(net);
    s.lifetime = Some(Lifetime::Seconds(3600));
    s
}

// ---- mitigate ---------------------------------------------------------------------------------

/// `mitigate`: PUT the scope, wait for 2.01/2.04 or the refusal.
pub(crate) struct Mitigate {
    scope: Scope,
    mid: Option<u32>,
    until: Option<Instant>,
}

impl Mitigate {
    pub(crate) fn new(scope: Scope) -> Mitigate {
        Mitigate {
            scope,
            mid: None,
            until: None,
        }
    }
}

impl Command for Mitigate {
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure> {
        let now = s.now();
        let mid = s
            .client
            .request_mitigation(now, &self.scope)
            .map_err(|e| Failure::new(format!("cannot request mitigation: {e}")))?;
        let line = format!("requesting mitigation {mid} (cuid {})", s.client.cuid());
        s.say(line);
        self.mid = Some(mid);
        self.until = Some(deadline(s));
        Ok(())
    }

    fn on_event(&mut self, _s: &mut Session<'_>, note: &Note) -> Flow {
        let mine = |m: &u32| Some(*m) == self.mid;
        match note {
            Note::Accepted { mid, .. } if mine(mid) => Flow::Done(Ok(())),
            Note::Rejected {
                acl_failure: true, ..
            } => Flow::Continue,
            Note::Rejected {
                mid,
                code,
                diagnostic,
                ..
            } if mine(mid) => done_err(format!(
                "mitigation {mid} refused: {}",
                with_diag(*code, diagnostic)
            )),
            Note::Conflict { mid, information } if mine(mid) => done_err(format!(
                "mitigation {mid} refused: 4.09 Conflict ({information})"
            )),
            Note::Response {
                operation: Operation::PutMitigation { mid },
                code,
                diagnostic,
            } if mine(mid) => done_err(format!(
                "mitigation {mid}: {}",
                with_diag(*code, diagnostic)
            )),
            other => common(other),
        }
    }

    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow {
        if self.until.is_some_and(|t| s.now() >= t) {
            return done_err(format!(
                "no answer to mitigation request {} within {} s",
                self.mid.unwrap_or_default(),
                s.timeout.as_secs()
            ));
        }
        Flow::Continue
    }

    fn deadline(&self) -> Option<Instant> {
        self.until
    }
}

// ---- status -----------------------------------------------------------------------------------

/// `status [MID] [--observe [S]]`: GET, print, optionally follow the notifications.
pub(crate) struct Status {
    mid: Option<u32>,
    observe: Option<Option<Duration>>,
    answered: bool,
    until: Option<Instant>,
    deregistering: bool,
}

impl Status {
    pub(crate) fn new(mid: Option<u32>, observe: Option<Option<u64>>) -> Status {
        Status {
            mid,
            observe: observe.map(|o| o.map(Duration::from_secs)),
            answered: false,
            until: None,
            deregistering: false,
        }
    }

    fn answered(&mut self, s: &Session<'_>) {
        if self.answered {
            return;
        }
        self.answered = true;
        self.until = match self.observe {
            None => Some(s.now()),
            Some(None) => None,
            Some(Some(d)) => Some(s.now() + d),
        };
    }
}

impl Command for Status {
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure> {
        let now = s.now();
        s.client
            .get_mitigations(now, self.mid, self.observe.is_some(), &[])
            .map_err(|e| Failure::new(format!("cannot ask for the status: {e}")))?;
        self.until = Some(deadline(s));
        Ok(())
    }

    fn on_event(&mut self, s: &mut Session<'_>, note: &Note) -> Flow {
        match note {
            Note::Status { .. } => {
                self.answered(s);
                Flow::Continue
            }
            Note::Response {
                operation: Operation::GetMitigations { .. },
                code,
                diagnostic,
            } if !self.deregistering => done_err(format!(
                "status request answered {}",
                with_diag(*code, diagnostic)
            )),
            Note::Failed {
                operation: Operation::GetMitigations { .. },
                reason,
            } if !self.deregistering => {
                done_err(format!("status request got no answer ({})", fail(*reason)))
            }
            Note::ObservationEnded { .. } if self.deregistering => Flow::Done(Ok(())),
            other => common(other),
        }
    }

    fn on_seen(&mut self, s: &mut Session<'_>, seen: &Seen) -> Flow {
        // A 2.05 the session could not turn into status events still answers the request.
        if !seen.request && seen.code == Code::CONTENT && seen.path.contains("/mitigate") {
            self.answered(s);
        }
        if self.deregistering && !seen.request && seen.path.contains("/mitigate") {
            return Flow::Done(Ok(()));
        }
        Flow::Continue
    }

    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow {
        let now = s.now();
        if self.until.is_none_or(|t| now < t) {
            return Flow::Continue;
        }
        if !self.answered {
            return done_err(format!(
                "no answer to the status request within {} s",
                s.timeout.as_secs()
            ));
        }
        if self.observe.is_none() || self.deregistering {
            return Flow::Done(Ok(()));
        }
        // The observation is over: deregister (RFC 9132 Section 4.4.2.1) and wait a little.
        self.deregistering = true;
        self.until = Some(now + Duration::from_secs(3).min(s.timeout));
        if s.client.stop_observing(now, self.mid).is_err() {
            return Flow::Done(Ok(()));
        }
        s.say("deregistering the observation");
        Flow::Continue
    }

    fn deadline(&self) -> Option<Instant> {
        self.until
    }
}

// ---- withdraw ---------------------------------------------------------------------------------

/// `withdraw MID`: DELETE, wait for 2.02.
pub(crate) struct Withdraw {
    mid: u32,
    until: Option<Instant>,
}

impl Withdraw {
    pub(crate) fn new(mid: u32) -> Withdraw {
        Withdraw { mid, until: None }
    }
}

impl Command for Withdraw {
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure> {
        adopt(s, self.mid, &placeholder_scope(), true)?;
        s.say(format_args!("withdrawing mitigation {}", self.mid));
        self.until = Some(deadline(s));
        Ok(())
    }

    fn on_event(&mut self, _s: &mut Session<'_>, note: &Note) -> Flow {
        match note {
            Note::Withdrawn { mid } if *mid == self.mid => Flow::Done(Ok(())),
            Note::Response {
                operation: Operation::DeleteMitigation { mid },
                code,
                diagnostic,
            } if *mid == self.mid => done_err(format!(
                "withdrawal of {mid} answered {}",
                with_diag(*code, diagnostic)
            )),
            other => common(other),
        }
    }

    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow {
        if self.until.is_some_and(|t| s.now() >= t) {
            return done_err(format!(
                "no answer to the withdrawal of {} within {} s",
                self.mid,
                s.timeout.as_secs()
            ));
        }
        Flow::Continue
    }

    fn deadline(&self) -> Option<Instant> {
        self.until
    }
}

// ---- config -----------------------------------------------------------------------------------

/// What `config` does.
pub(crate) enum ConfigOp {
    /// GET.
    Get,
    /// PUT (negotiated within the server's ranges).
    Put(Box<SignalConfig>),
    /// DELETE.
    Delete,
}

/// `config [get|put|delete]`.
pub(crate) struct Config {
    op: ConfigOp,
    until: Option<Instant>,
    /// A 4.22 came: the session fetches the ranges and tries once more.
    retried: bool,
}

impl Config {
    pub(crate) fn new(op: ConfigOp) -> Config {
        Config {
            op,
            until: None,
            retried: false,
        }
    }
}

impl Command for Config {
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure> {
        let now = s.now();
        let r = match &self.op {
            ConfigOp::Get => s.client.get_config(now, false),
            ConfigOp::Put(c) => s.client.negotiate_config(now, c),
            ConfigOp::Delete => s.client.delete_config(now),
        };
        r.map_err(|e| Failure::new(format!("cannot send the configuration request: {e}")))?;
        self.until = Some(deadline(s));
        Ok(())
    }

    fn on_event(&mut self, s: &mut Session<'_>, note: &Note) -> Flow {
        match (&self.op, note) {
            (ConfigOp::Get, Note::ConfigApplied { code, .. }) if *code == Code::CONTENT => {
                Flow::Done(Ok(()))
            }
            (
                ConfigOp::Put(_),
                Note::ConfigApplied {
                    sid: Some(sid),
                    code,
                },
            ) if *code == Code::CREATED || *code == Code::CHANGED => {
                let p = s.client.parameters();
                let line = format!(
                    "configuration {sid} in force: heartbeat-interval {} s, missing-hb-allowed {}",
                    p.heartbeat_interval.as_secs(),
                    p.missing_hb_allowed
                );
                s.say(line);
                Flow::Done(Ok(()))
            }
            (ConfigOp::Delete, Note::ConfigApplied { code, .. }) if *code == Code::DELETED => {
                Flow::Done(Ok(()))
            }
            // After a 4.22 the session fetches the ranges and tries once more, clamped.
            (ConfigOp::Put(_), Note::ConfigRejected { code, .. })
                if *code == Code::UNPROCESSABLE_ENTITY && !self.retried =>
            {
                self.retried = true;
                Flow::Continue
            }
            (
                _,
                Note::ConfigRejected {
                    code, diagnostic, ..
                },
            ) => done_err(format!(
                "the configuration request was answered {}",
                with_diag(*code, diagnostic)
            )),
            (
                _,
                Note::Response {
                    operation:
                        op @ (Operation::GetConfig { .. }
                        | Operation::PutConfig { .. }
                        | Operation::DeleteConfig { .. }),
                    code,
                    diagnostic,
                },
            ) => done_err(format!(
                "{} answered {}",
                operation_name(*op),
                with_diag(*code, diagnostic)
            )),
            (_, other) => common(other),
        }
    }

    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow {
        if self.until.is_some_and(|t| s.now() >= t) {
            return done_err(format!(
                "no answer to the configuration request within {} s",
                s.timeout.as_secs()
            ));
        }
        Flow::Continue
    }

    fn deadline(&self) -> Option<Instant> {
        self.until
    }
}

// ---- efficacy ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EfficacyStep {
    /// GET the mitigation to learn its scope.
    Fetching,
    /// The session refreshes it (the request it holds now).
    Refreshing,
    /// The efficacy update is on its way.
    Updating,
}

/// `efficacy MID --attack-status S`: GET the scope, take it into the session (a refresh),
/// then PUT the efficacy update with If-Match (RFC 9132 Section 4.4.3).
pub(crate) struct Efficacy {
    mid: u32,
    status: AttackStatus,
    step: EfficacyStep,
    until: Option<Instant>,
}

impl Efficacy {
    pub(crate) fn new(mid: u32, status: AttackStatus) -> Efficacy {
        Efficacy {
            mid,
            status,
            step: EfficacyStep::Fetching,
            until: None,
        }
    }
}

impl Command for Efficacy {
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure> {
        let now = s.now();
        s.client
            .get_mitigations(now, Some(self.mid), false, &[])
            .map_err(|e| Failure::new(format!("cannot ask for mitigation {}: {e}", self.mid)))?;
        self.until = Some(deadline(s));
        Ok(())
    }

    fn on_seen(&mut self, s: &mut Session<'_>, seen: &Seen) -> Flow {
        if self.step != EfficacyStep::Fetching || seen.request || seen.method != Code::GET {
            return Flow::Continue;
        }
        if seen.code != Code::CONTENT {
            return done_err(format!(
                "mitigation {} cannot be read: {}",
                self.mid,
                code_name(seen.code)
            ));
        }
        let Body::Dots(msg) = &seen.body else {
            return done_err(format!("mitigation {}: the answer has no status", self.mid));
        };
        let SignalMessage::MitigationScope(ms) = msg.as_ref() else {
            return done_err(format!("mitigation {}: the answer has no scope", self.mid));
        };
        let Some(entry) = ms.scopes.iter().find(|e| e.mid == Some(self.mid)) else {
            return done_err(format!("mitigation {} is not in the answer", self.mid));
        };
        let mut scope = entry.scope.clone();
        scope.attack_status = None;
        if let Err(e) = adopt(s, self.mid, &scope, false) {
            return Flow::Done(Err(e));
        }
        self.step = EfficacyStep::Refreshing;
        self.until = Some(deadline(s));
        Flow::Continue
    }

    fn on_event(&mut self, s: &mut Session<'_>, note: &Note) -> Flow {
        match note {
            Note::Accepted { mid, .. }
                if *mid == self.mid && self.step == EfficacyStep::Refreshing =>
            {
                let now = s.now();
                if let Err(e) = s.client.efficacy_update(now, self.mid, self.status, None) {
                    return done_err(format!("cannot send the efficacy update: {e}"));
                }
                s.say(format_args!(
                    "sending the efficacy update of {}: attack-status {}",
                    self.mid, self.status
                ));
                self.step = EfficacyStep::Updating;
                self.until = Some(deadline(s));
                Flow::Continue
            }
            Note::EfficacyUpdated { mid } if *mid == self.mid => Flow::Done(Ok(())),
            Note::Rejected {
                mid,
                code,
                diagnostic,
                ..
            } if *mid == self.mid => done_err(format!(
                "mitigation {mid}: {}",
                with_diag(*code, diagnostic)
            )),
            Note::Conflict { mid, information } if *mid == self.mid => done_err(format!(
                "mitigation {mid} refused: 4.09 Conflict ({information})"
            )),
            Note::Failed {
                operation: Operation::EfficacyUpdate { mid },
                reason,
            } if *mid == self.mid => done_err(format!(
                "the efficacy update of {mid} got no answer ({})",
                fail(*reason)
            )),
            Note::Response {
                operation: Operation::GetMitigations { .. },
                code,
                diagnostic,
            } if self.step == EfficacyStep::Fetching => done_err(format!(
                "mitigation {} cannot be read: {}",
                self.mid,
                with_diag(*code, diagnostic)
            )),
            other => common(other),
        }
    }

    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow {
        if self.until.is_some_and(|t| s.now() >= t) {
            return done_err(format!(
                "no answer within {} s ({})",
                s.timeout.as_secs(),
                match self.step {
                    EfficacyStep::Fetching => "reading the mitigation",
                    EfficacyStep::Refreshing => "refreshing the mitigation",
                    EfficacyStep::Updating => "the efficacy update",
                }
            ));
        }
        Flow::Continue
    }

    fn deadline(&self) -> Option<Instant> {
        self.until
    }
}

// ---- heartbeat --------------------------------------------------------------------------------

/// `heartbeat [--for S]`: runs the session, printing the heartbeats both ways.
pub(crate) struct Heartbeat {
    duration: Option<Duration>,
    interval: Option<u16>,
    until: Option<Instant>,
    sent: u64,
    answered: u64,
    from_server: u64,
}

impl Heartbeat {
    pub(crate) fn new(duration: Option<u64>, interval: Option<u16>) -> Heartbeat {
        Heartbeat {
            duration: duration.map(Duration::from_secs),
            interval,
            until: None,
            sent: 0,
            answered: 0,
            from_server: 0,
        }
    }

    fn summary(&self, s: &Session<'_>) -> String {
        let st = s.client.stats();
        format!(
            "heartbeats: {} sent, {} answered, {} unanswered, {} from the server",
            self.sent, self.answered, st.heartbeats_missed, self.from_server
        )
    }
}

impl Command for Heartbeat {
    fn start(&mut self, s: &mut Session<'_>) -> Result<(), Failure> {
        s.quiet_heartbeats = false;
        let now = s.now();
        if let Some(hb) = self.interval {
            let p = ConfigParams {
                heartbeat_interval: Some(IntParam::current(hb)),
                ..ConfigParams::default()
            };
            let c = SignalConfig {
                sid: None,
                mitigating_config: Some(p),
                idle_config: Some(p),
            };
            s.client
                .negotiate_config(now, &c)
                .map_err(|e| Failure::new(format!("cannot negotiate the interval: {e}")))?;
        }
        self.until = self.duration.map(|d| now + d);
        let p = s.client.parameters();
        let line = format!(
            "running the session: heartbeat-interval {} s, missing-hb-allowed {}",
            p.heartbeat_interval.as_secs(),
            p.missing_hb_allowed
        );
        s.say(line);
        Ok(())
    }

    fn on_sent(&mut self, s: &mut Session<'_>, sent: &Sent) {
        if sent.method == Code::PUT && sent.path.ends_with("/hb") {
            self.sent += 1;
            let at = s.now();
            s.say(format_args!("heartbeat {} sent at {at}", self.sent));
        }
    }

    fn on_seen(&mut self, s: &mut Session<'_>, seen: &Seen) -> Flow {
        if !seen.is_heartbeat() {
            return Flow::Continue;
        }
        if seen.request {
            self.from_server += 1;
        } else if seen.code.is_success() {
            self.answered += 1;
            s.say(format_args!(
                "heartbeat answered ({}), {} unanswered in a row",
                code_name(seen.code),
                s.client.missed_heartbeats()
            ));
        }
        Flow::Continue
    }

    fn on_event(&mut self, s: &mut Session<'_>, note: &Note) -> Flow {
        match note {
            Note::Lost { reason } => {
                let summary = self.summary(s);
                s.say(summary);
                done_err(format!("session lost: {}", lost(*reason)))
            }
            Note::ConfigApplied { .. } | Note::PhaseChanged { .. } => {
                let p = s.client.parameters();
                let line = format!(
                    "heartbeat-interval {} s, missing-hb-allowed {}",
                    p.heartbeat_interval.as_secs(),
                    p.missing_hb_allowed
                );
                s.say(line);
                Flow::Continue
            }
            Note::ConfigRejected {
                code, diagnostic, ..
            } if self.interval.is_some() && *code != Code::UNPROCESSABLE_ENTITY => {
                done_err(format!(
                    "the heartbeat interval was refused: {}",
                    with_diag(*code, diagnostic)
                ))
            }
            other => common(other),
        }
    }

    fn on_tick(&mut self, s: &mut Session<'_>) -> Flow {
        if self.until.is_some_and(|t| s.now() >= t) {
            let summary = self.summary(s);
            s.say(summary);
            if self.sent > 0 && self.answered == 0 {
                return done_err("no heartbeat was answered");
            }
            return Flow::Done(Ok(()));
        }
        Flow::Continue
    }

    fn deadline(&self) -> Option<Instant> {
        self.until
    }
}
