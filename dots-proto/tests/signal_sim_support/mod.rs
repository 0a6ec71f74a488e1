//! A seeded, reproducible simulation of many DOTS clients ([`SignalClient`]) against one
//! multi-peer [`ServerSession`], over lossy links, on a virtual clock.
//!
//! Everything is an entry of one time-ordered queue: datagrams in flight (each link loses,
//! duplicates, delays and so reorders them, all drawn from the seeded [`Rng`]), the clients'
//! and the server's timers (`poll_timeout`), the clients' random commands and the host's
//! mitigator. The clock jumps from one entry to the next. After every entry the invariants of
//! what it touched are checked (see [`Sim::check_client`]); a failure panics with the seed and
//! the step.
#![allow(dead_code, unreachable_pub)]

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Duration;

use dots_codec::coap::Code;
use dots_codec::model::{AttackStatus, Lifetime, MitigationStatus, Scope};
use dots_proto::coap::Transport;
use dots_proto::data::PeerIdentity;
use dots_proto::rng::Rng;
use dots_proto::signal::client::{ClientConfig, Event, SignalClient};
use dots_proto::signal::server::{
    MitigationStats, ObserveTarget, ServerConfig, ServerEvent, SignalServer, TerminationReason,
};
use dots_proto::signal::session::{ServerSession, SessionConfig, SessionEvent};
use dots_proto::time::Instant;

/// The client used in the simulation: 8 mitigations, 8 outgoing requests, 2 KiB bodies
/// (a client holds at most a few small scopes here).
pub type SimClient = SignalClient<8, 8, 2, 1152, 2048, 1024>;

/// The server's name as the clients know it.
pub const SERVER_NAME: &str = "dots.example";

/// Per-client mitigation quota of the server in the simulation (small, so that it is hit).
pub const MAX_MITIGATIONS: usize = 5;

/// What one run does.
#[derive(Clone, Debug)]
pub struct Params {
    pub seed: u64,
    pub clients: usize,
    /// Virtual time with traffic.
    pub duration: Duration,
    /// Then this long with healed links and no commands, before the final checks.
    pub quiet: Duration,
    /// Mean time between two commands of one client.
    pub action_every: Duration,
    /// Loss and duplication probabilities, in per mille, of the worst links (each client draws
    /// its own up to these).
    pub max_loss_permille: u64,
    pub max_dup_permille: u64,
    /// Full server consistency check (`check_invariants`) every this many steps.
    pub full_check_every: u64,
    /// The session-configuration `heartbeat-interval` the server offers (seconds).
    pub heartbeat_interval: u16,
    /// Clients, in per mille, whose link goes down once for 5 to 45 minutes.
    pub outage_permille: u64,
}

impl Params {
    pub fn new(seed: u64, clients: usize, hours: f64) -> Params {
        Params {
            seed,
            clients,
            duration: Duration::from_secs_f64(hours * 3600.0),
            quiet: Duration::from_secs(600),
            action_every: Duration::from_secs(900),
            max_loss_permille: 150,
            max_dup_permille: 30,
            full_check_every: 20_000,
            heartbeat_interval: 180,
            outage_permille: 30,
        }
    }
}

/// Figures of a run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: u64,
    pub datagrams: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub commands: u64,
    pub command_errors: u64,
    pub requests: u64,
    pub accepted: u64,
    pub replaced: u64,
    pub expired: u64,
    pub expired_while_held: u64,
    pub withdrawn_by_client: u64,
    pub withdrawn_by_host: u64,
    pub status_sets: u64,
    pub cross_client_conflicts: u64,
    pub sessions_lost: u64,
    pub peers_lost: u64,
    pub observed_checked: u64,
    /// Connected clients holding active mitigations that the server no longer lets them
    /// observe at the end (their observation ended with a lost session).
    pub unobserved_at_end: u64,
    pub full_checks: u64,
}

/// An IPv6 prefix as (network, length), for overlap computations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net(u128, u8);

impl Net {
    fn mask(len: u8) -> u128 {
        if len == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(len))
        }
    }

    pub fn overlaps(self, o: Net) -> bool {
        let m = Net::mask(self.1.min(o.1));
        self.0 & m == o.0 & m
    }

    fn prefix(self) -> String {
        format!("{}/{}", std::net::Ipv6Addr::from(self.0), self.1)
    }
}

/// The simulation's knowledge of one (client, mid).
#[derive(Clone, Debug, Default)]
struct MidModel {
    target: Option<Net>,
    /// The server reported its creation and not yet its end.
    alive: bool,
    /// The client got 2.01/2.04 for it while it was alive.
    acked: bool,
    /// Ends reported for it.
    ended: u32,
    /// The client's DELETE reached the server (`MitigationWithdrawn`).
    client_withdrew: bool,
    /// The host withdrew it (status 7).
    host_withdrew: bool,
    /// The last status the client's events reported.
    client_status: Option<MitigationStatus>,
    /// The last server event about it.
    last_event: Option<Instant>,
}

struct Client {
    c: Box<SimClient>,
    cuid: String,
    /// The server-side peer key of the current transport session.
    key: u64,
    generation: u64,
    timer: Option<Instant>,
    loss: u64,
    dup: u64,
    delay_ms: (u64, u64),
    mids: BTreeMap<u32, MidModel>,
    reconnect_pending: bool,
    /// Both directions drop everything in this window.
    outage: Option<(Instant, Instant)>,
}

#[derive(Clone, Debug)]
enum Ev {
    ToServer { key: u64, bytes: Vec<u8> },
    ToClient { key: u64, bytes: Vec<u8> },
    ClientTimer(usize),
    ServerTimer,
    Action(usize),
    Mitigator { client: usize, mid: u32 },
    Reconnect(usize),
}

struct Entry {
    at: Instant,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Entry) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Entry) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Entry) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap.
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// The simulation.
pub struct Sim {
    p: Params,
    rng: Rng,
    server: ServerSession<u64>,
    server_timer: Option<Instant>,
    clients: Vec<Client>,
    queue: BinaryHeap<Entry>,
    seq: u64,
    now: Instant,
    start: Instant,
    /// Commands and the mitigator stop, links heal.
    quiet_from: Instant,
    healed: bool,
    buf: Vec<u8>,
    touched: Vec<usize>,
    /// A client whose datagrams and events are printed (`DOTS_SIM_TRACE_CLIENT`), from
    /// `trace_from` on (`DOTS_SIM_TRACE_FROM_MS` virtual milliseconds after the start; the quiet
    /// period by default).
    trace: Option<usize>,
    trace_from: Instant,
    trace_end: bool,
    pub report: Report,
}

fn is_active(s: MitigationStatus) -> bool {
    matches!(
        s,
        MitigationStatus::InProgress
            | MitigationStatus::SuccessfullyMitigated
            | MitigationStatus::AttackStopped
            | MitigationStatus::ExceededCapability
            | MitigationStatus::ClientWithdrawn
    )
}

fn client_of_key(key: u64) -> usize {
    (key & 0xffff_ffff) as usize
}

fn client_of_cuid(cuid: &str) -> usize {
    cuid.strip_prefix("sim-")
        .and_then(|s| s.parse().ok())
        .expect("a simulation cuid")
}

/// Owned summary of a client event.
enum CEv {
    Accepted { mid: u32, code: Code },
    Status { mid: u32, status: MitigationStatus },
    Lost,
    Other,
}

impl Sim {
    pub fn new(p: Params) -> Sim {
        let mut rng = Rng::from_seed(p.seed);
        let mut config = ServerConfig::default();
        config.quotas.rate = None;
        config.quotas.max_mitigations = MAX_MITIGATIONS;
        for set in [
            config.session.idle_config.as_mut(),
            config.session.mitigating_config.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(hb) = set.heartbeat_interval.as_mut() {
                hb.current_value = Some(p.heartbeat_interval);
            }
        }
        let server = ServerSession::new(
            SessionConfig::default(),
            SignalServer::new(config),
            rng.next_u64(),
        );
        let start = Instant::from_secs(1_000);
        let mut clients = Vec::with_capacity(p.clients);
        for i in 0..p.clients {
            let cuid = format!("sim-{i}");
            let c = Box::new(
                SimClient::new(
                    start,
                    &cuid,
                    SERVER_NAME,
                    ClientConfig::udp(),
                    rng.next_u64(),
                )
                .unwrap(),
            );
            let loss = rng.below(p.max_loss_permille + 1);
            let dup = rng.below(p.max_dup_permille + 1);
            let base = rng.in_range(5, 150);
            let jitter = rng.in_range(1, 300);
            let outage = (rng.below(1000) < p.outage_permille).then(|| {
                let from = start + Duration::from_secs(rng.in_range(60, 2400));
                let to =
                    (from + Duration::from_secs(rng.in_range(300, 2700))).min(start + p.duration);
                (from, to)
            });
            clients.push(Client {
                c,
                cuid,
                key: i as u64,
                generation: 0,
                timer: None,
                loss,
                dup,
                delay_ms: (base, jitter),
                mids: BTreeMap::new(),
                reconnect_pending: false,
                outage,
            });
        }
        let quiet_from = start + p.duration;
        let mut sim = Sim {
            p,
            rng,
            server,
            server_timer: None,
            clients,
            queue: BinaryHeap::new(),
            seq: 0,
            now: start,
            start,
            quiet_from,
            healed: false,
            buf: vec![0; 2048],
            touched: Vec::new(),
            trace: env_u64("DOTS_SIM_TRACE_CLIENT").map(|n| n as usize),
            trace_from: env_u64("DOTS_SIM_TRACE_FROM_MS")
                .map_or(quiet_from, |ms| start + Duration::from_millis(ms)),
            trace_end: std::env::var("DOTS_SIM_TRACE_END").is_ok(),
            report: Report::default(),
        };
        for i in 0..sim.clients.len() {
            // The clients start within the first minute.
            let at = start + Duration::from_millis(sim.rng.below(60_000));
            sim.push(at, Ev::Action(i));
            sim.touched.push(i);
        }
        sim.settle();
        sim
    }

    fn push(&mut self, at: Instant, ev: Ev) {
        self.seq += 1;
        self.queue.push(Entry {
            at,
            seq: self.seq,
            ev,
        });
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "simulation invariant violated: {what}\n  seed {} step {} at {} ms (virtual)\n  \
             reproduce: DOTS_SIM_SEED={} DOTS_SIM_CLIENTS={} cargo test -p dots-proto --test signal_sim",
            self.p.seed,
            self.report.steps,
            self.now.as_millis(),
            self.p.seed,
            self.p.clients
        );
    }

    /// Runs the traffic period and the quiet period, then the final checks.
    pub fn run(mut self) -> Report {
        let end = self.quiet_from + self.p.quiet;
        while let Some(e) = self.queue.peek() {
            if e.at > end {
                break;
            }
            let e = self.queue.pop().unwrap();
            if e.at < self.now {
                self.fail("an entry before now");
            }
            self.now = e.at;
            if !self.healed && self.now >= self.quiet_from {
                self.healed = true;
                for c in &mut self.clients {
                    c.loss = 0;
                    c.dup = 0;
                }
            }
            self.report.steps += 1;
            self.step(e.ev);
            self.settle();
            if self.report.steps.is_multiple_of(self.p.full_check_every) {
                self.full_check();
            }
        }
        self.now = end;
        self.full_check();
        self.final_checks();
        self.report
    }

    fn step(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::ToServer { key, bytes } => {
                let i = client_of_key(key);
                let cuid = self.clients[i].cuid.clone();
                let id = PeerIdentity {
                    cuid: &cuid,
                    trusted_gateway: false,
                };
                self.trace_datagram(i, key, "<-", &bytes);
                self.server.handle_datagram(now, key, &id, &bytes);
                self.touched.push(i);
            }
            Ev::ToClient { key, bytes } => {
                let i = client_of_key(key);
                self.trace_datagram(i, key, "->", &bytes);
                if self.clients[i].key == key {
                    self.clients[i].c.handle_datagram(now, &bytes);
                    self.touched.push(i);
                }
            }
            Ev::ClientTimer(i) => {
                if self.clients[i].timer.is_some_and(|t| t <= now) {
                    self.clients[i].timer = None;
                    self.clients[i].c.handle_timeout(now);
                    self.touched.push(i);
                }
            }
            Ev::ServerTimer => {
                if self.server_timer.is_some_and(|t| t <= now) {
                    self.server_timer = None;
                    self.server.handle_timeout(now);
                }
            }
            Ev::Action(i) => {
                if now < self.quiet_from {
                    self.action(i);
                    let mean = self.p.action_every.as_millis() as u64;
                    let next = now + Duration::from_millis(self.rng.in_range(1, 2 * mean));
                    self.push(next, Ev::Action(i));
                }
                self.touched.push(i);
            }
            Ev::Mitigator { client, mid } => {
                if now < self.quiet_from {
                    self.mitigator(client, mid);
                }
                self.touched.push(client);
            }
            Ev::Reconnect(i) => {
                let c = &mut self.clients[i];
                c.reconnect_pending = false;
                if !c.c.is_connected() {
                    c.generation += 1;
                    c.key = (c.generation << 32) | i as u64;
                    c.c.reconnected(now, SERVER_NAME, Transport::Udp);
                }
                self.touched.push(i);
            }
        }
    }

    fn tracing(&self, i: usize) -> bool {
        self.trace == Some(i) && self.now >= self.trace_from
    }

    /// Prints a datagram delivered to (`->`) or from (`<-`) the traced client.
    fn trace_datagram(&self, i: usize, key: u64, dir: &str, bytes: &[u8]) {
        if !self.tracing(i) {
            return;
        }
        if let Ok(m) = dots_codec::coap::Message::parse(bytes) {
            let path: Vec<&str> = m.options().uri_path().filter_map(Result::ok).collect();
            eprintln!(
                "{} ms {dir} client {i} (key {key:x}, now {:x}): {:?} {} /{} tok {:?} obs {:?} {} bytes",
                self.now.as_millis(),
                self.clients[i].key,
                m.ty(),
                m.code(),
                path.join("/"),
                m.token(),
                m.options().observe(),
                m.payload().len()
            );
        }
    }

    /// One random command of client `i`.
    fn action(&mut self, i: usize) {
        let now = self.now;
        self.report.commands += 1;
        let roll = self.rng.below(100);
        let held: Vec<u32> = self.clients[i].c.mitigations().map(|m| m.mid()).collect();
        let pick = |rng: &mut Rng, v: &[u32]| -> Option<u32> {
            (!v.is_empty()).then(|| v[rng.below(v.len() as u64) as usize])
        };
        let ok = match roll {
            0..=39 => {
                let net = self.target(i);
                let scope = scope_of(net, self.lifetime());
                self.report.requests += 1;
                match self.clients[i].c.request_mitigation(now, &scope) {
                    Ok(mid) => {
                        self.clients[i].mids.entry(mid).or_default().target = Some(net);
                        true
                    }
                    Err(_) => false,
                }
            }
            40..=44 => match pick(&mut self.rng, &held) {
                Some(old) => {
                    let net = self.target(i);
                    let scope = scope_of(net, self.lifetime());
                    self.report.requests += 1;
                    match self.clients[i].c.update_mitigation(now, old, &scope) {
                        Ok(mid) => {
                            self.clients[i].mids.entry(mid).or_default().target = Some(net);
                            true
                        }
                        Err(_) => false,
                    }
                }
                None => false,
            },
            45..=64 => match pick(&mut self.rng, &held) {
                Some(mid) => self.clients[i].c.withdraw_mitigation(now, mid).is_ok(),
                None => false,
            },
            65..=79 => match pick(&mut self.rng, &held) {
                Some(mid) => {
                    let st = if self.rng.below(2) == 0 {
                        AttackStatus::UnderAttack
                    } else {
                        AttackStatus::SuccessfullyMitigated
                    };
                    self.clients[i]
                        .c
                        .efficacy_update(now, mid, st, None)
                        .is_ok()
                }
                None => false,
            },
            80..=89 => {
                let one = pick(&mut self.rng, &held).filter(|_| self.rng.below(2) == 0);
                let observe = self.rng.below(4) != 0;
                self.clients[i]
                    .c
                    .get_mitigations(now, one, observe, &[])
                    .is_ok()
            }
            90..=92 => {
                let one = pick(&mut self.rng, &held).filter(|_| self.rng.below(2) == 0);
                self.clients[i].c.stop_observing(now, one).is_ok()
            }
            93..=96 => {
                let hb = self.rng.in_range(120, 240) as u16;
                let missing = self.rng.in_range(5, 15) as u16;
                self.clients[i]
                    .c
                    .negotiate_config(now, &desired(hb, missing))
                    .is_ok()
            }
            _ => match pick(&mut self.rng, &held) {
                Some(mid) => self.clients[i].c.refresh_mitigation(now, mid, None).is_ok(),
                None => false,
            },
        };
        if !ok {
            self.report.command_errors += 1;
        }
    }

    /// A target for client `i`: its own space (same-client overlaps) or a small shared one
    /// (cross-client overlaps).
    fn target(&mut self, i: usize) -> Net {
        let r = self.rng.below(10);
        let own = (0x2001_0db8_u128 << 96) | ((0x1000 + i as u128) << 80);
        let shared = |j: u128| (0x2001_0db8_u128 << 96) | (j << 80);
        match r {
            0..=2 => Net(own, 48),
            3..=5 => Net(own | (self.rng.below(4) as u128) << 72, 56),
            6..=8 => Net(shared(self.rng.below(32) as u128), 48),
            _ => Net(shared(self.rng.below(32) as u128 & !1), 47),
        }
    }

    fn lifetime(&mut self) -> u32 {
        [300, 900, 3600][self.rng.below(3) as usize]
    }

    /// The host's mitigator moves a mitigation through its statuses.
    fn mitigator(&mut self, i: usize, mid: u32) {
        let now = self.now;
        let cuid = self.clients[i].cuid.clone();
        let Some(info) = self.server.server().mitigation(&cuid, mid) else {
            return;
        };
        if !matches!(
            info.status,
            MitigationStatus::InProgress
                | MitigationStatus::SuccessfullyMitigated
                | MitigationStatus::AttackStopped
                | MitigationStatus::ExceededCapability
        ) {
            return;
        }
        let roll = self.rng.below(100);
        let status = match roll {
            0..=4 => Some(MitigationStatus::Withdrawn),
            5..=19 => None,
            20..=69 => Some(MitigationStatus::SuccessfullyMitigated),
            70..=79 => Some(MitigationStatus::InProgress),
            80..=89 => Some(MitigationStatus::AttackStopped),
            _ => Some(MitigationStatus::ExceededCapability),
        };
        let mut stats = MitigationStats::default();
        if self.rng.below(2) == 0 {
            stats.bytes_dropped = Some(self.rng.below(1 << 40));
            stats.pkts_dropped = Some(self.rng.below(1 << 30));
        }
        if status == Some(MitigationStatus::Withdrawn) {
            self.clients[i].mids.entry(mid).or_default().host_withdrew = true;
        }
        match self
            .server
            .set_mitigation_status(now, &cuid, mid, status, stats)
        {
            Ok(()) => self.report.status_sets += 1,
            Err(e) => self.fail(&format!("set_mitigation_status({cuid}, {mid}): {e:?}")),
        }
        if status != Some(MitigationStatus::Withdrawn) && self.rng.below(10) < 7 {
            let at = now + Duration::from_millis(self.rng.in_range(30_000, 600_000));
            self.push(at, Ev::Mitigator { client: i, mid });
        }
    }

    /// After an entry: everything the touched parties send, their events, their timers, and
    /// the invariants of what was touched.
    fn settle(&mut self) {
        loop {
            let mut progress = false;
            let touched = std::mem::take(&mut self.touched);
            let mut checked = Vec::with_capacity(touched.len());
            for i in touched {
                progress |= self.drain_client(i);
                checked.push(i);
            }
            progress |= self.drain_server();
            for i in checked {
                self.check_client(i);
            }
            if !progress && self.touched.is_empty() {
                break;
            }
        }
        self.check_server_timer();
    }

    fn link_send(&mut self, i: usize, to_server: bool, bytes: Vec<u8>) {
        self.report.datagrams += 1;
        let c = &self.clients[i];
        let (loss, dup, (base, jitter), key) = (c.loss, c.dup, c.delay_ms, c.key);
        let down = c
            .outage
            .is_some_and(|(from, to)| self.now >= from && self.now < to);
        if self.rng.below(1000) < loss || down {
            self.report.lost += 1;
            return;
        }
        let copies = if self.rng.below(1000) < dup {
            self.report.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let d = base + self.rng.below(jitter);
            let at = self.now + Duration::from_millis(d);
            let bytes = bytes.clone();
            let ev = if to_server {
                Ev::ToServer { key, bytes }
            } else {
                Ev::ToClient { key, bytes }
            };
            self.push(at, ev);
        }
    }

    /// Sends what client `i` has, takes its events, re-arms its timer. `true` when anything
    /// happened.
    fn drain_client(&mut self, i: usize) -> bool {
        let now = self.now;
        let mut progress = false;
        loop {
            let t = match self.clients[i].c.poll_transmit(now, &mut self.buf) {
                Ok(t) => t,
                Err(e) => self.fail(&format!("client {i}: buffer too small: {e:?}")),
            };
            let Some(t) = t else { break };
            let bytes = self.buf[..t.len].to_vec();
            self.link_send(i, true, bytes);
            progress = true;
        }
        let mut evs = Vec::new();
        let tracing = self.tracing(i);
        while let Some(e) = self.clients[i].c.poll_event() {
            if tracing {
                eprintln!("{} ms client {i} event {e:?}", now.as_millis());
            }
            evs.push(match e {
                Event::MitigationAccepted { mid, code, .. } => CEv::Accepted { mid, code },
                Event::MitigationStatus {
                    mid,
                    status: Some(status),
                    ..
                } => CEv::Status { mid, status },
                Event::SessionLost { .. } => CEv::Lost,
                _ => CEv::Other,
            });
        }
        for e in evs {
            progress = true;
            match e {
                CEv::Accepted { mid, code } => {
                    if code != Code::CREATED && code != Code::CHANGED {
                        self.fail(&format!("client {i}: accepted {mid} with {code}"));
                    }
                    self.report.accepted += 1;
                    let m = self.clients[i].mids.entry(mid).or_default();
                    if m.alive {
                        m.acked = true;
                    } else if m.ended == 0 {
                        self.fail(&format!(
                            "client {i} got {code} for mid {mid} the server never created"
                        ));
                    }
                }
                CEv::Status { mid, status } => {
                    self.clients[i].mids.entry(mid).or_default().client_status = Some(status);
                }
                CEv::Lost => {
                    self.report.sessions_lost += 1;
                    if !self.clients[i].reconnect_pending {
                        self.clients[i].reconnect_pending = true;
                        let at = self.clients[i]
                            .c
                            .reconnect_allowed_at()
                            .unwrap_or(now)
                            .max(now)
                            + Duration::from_millis(self.rng.in_range(100, 5_000));
                        self.push(at, Ev::Reconnect(i));
                    }
                }
                CEv::Other => {}
            }
        }
        let c = &self.clients[i];
        if let Some(t) = c.c.poll_timeout() {
            if t < now {
                self.fail(&format!("client {i}: timer {t} in the past"));
            }
            if c.timer.is_none_or(|s| t < s) {
                self.clients[i].timer = Some(t);
                self.push(t, Ev::ClientTimer(i));
            }
        }
        progress
    }

    /// Sends what the server has, takes its events. `true` when anything happened.
    fn drain_server(&mut self) -> bool {
        let now = self.now;
        let mut progress = false;
        loop {
            let t = match self.server.poll_transmit(now, &mut self.buf) {
                Ok(t) => t,
                Err(e) => {
                    let n = e.needed;
                    if n > 65_536 {
                        self.fail(&format!("server datagram of {n} bytes"));
                    }
                    self.buf.resize(n, 0);
                    continue;
                }
            };
            let Some(t) = t else { break };
            let i = client_of_key(t.peer);
            if self.clients[i].key == t.peer {
                let bytes = self.buf[..t.len].to_vec();
                self.link_send(i, false, bytes);
            }
            progress = true;
        }
        while let Some(e) = self.server.poll_event() {
            progress = true;
            self.server_event(e);
        }
        progress
    }

    fn server_event(&mut self, e: SessionEvent<u64>) {
        let now = self.now;
        if let Ok(t) = std::env::var("DOTS_SIM_TRACE") {
            if format!("{e:?}").contains(&format!("\"{t}\"")) {
                eprintln!("{} ms: {e:?}", now.as_millis());
            }
        }
        match e {
            SessionEvent::Server(ServerEvent::MitigationRequested {
                cuid,
                mid,
                trigger_mitigation,
                ..
            }) => {
                let i = client_of_cuid(&cuid);
                if !trigger_mitigation {
                    self.fail(&format!("{cuid}/{mid}: a preconfigured request appeared"));
                }
                let m = self.clients[i].mids.entry(mid).or_default();
                if m.alive {
                    self.fail(&format!("{cuid}/{mid}: created twice"));
                }
                m.alive = true;
                m.last_event = Some(now);
                m.client_withdrew = false;
                m.host_withdrew = false;
                if now < self.quiet_from {
                    let at = now + Duration::from_millis(self.rng.in_range(500, 30_000));
                    self.push(at, Ev::Mitigator { client: i, mid });
                }
                self.touched.push(i);
            }
            SessionEvent::Server(ServerEvent::MitigationWithdrawn { cuid, mid, .. }) => {
                let i = client_of_cuid(&cuid);
                self.report.withdrawn_by_client += 1;
                let m = self.clients[i].mids.entry(mid).or_default();
                if !m.alive {
                    self.fail(&format!("{cuid}/{mid}: withdrawn but not alive"));
                }
                m.client_withdrew = true;
                m.last_event = Some(now);
                self.touched.push(i);
            }
            SessionEvent::Server(ServerEvent::MitigationTerminated {
                cuid, mid, reason, ..
            }) => {
                let i = client_of_cuid(&cuid);
                let m = self.clients[i].mids.get(&mid).cloned().unwrap_or_default();
                if !m.alive {
                    self.fail(&format!(
                        "{cuid}/{mid}: terminated ({reason:?}) but not alive"
                    ));
                }
                match reason {
                    TerminationReason::Replaced { by } => {
                        self.report.replaced += 1;
                        // A request with a higher `mid` and an overlapping scope, or the same
                        // `mid` with a new scope.
                        let other = self.clients[i].mids.get(&by).and_then(|m| m.target);
                        let ok = by == mid
                            || by > mid
                                && match (m.target, other) {
                                    (Some(a), Some(b)) => a.overlaps(b),
                                    _ => false,
                                };
                        if !ok {
                            self.fail(&format!(
                                "{cuid}/{mid} replaced by {by}, which does not overlap it or is older"
                            ));
                        }
                        self.end(i, mid);
                    }
                    TerminationReason::WithdrawalElapsed if m.client_withdrew => self.end(i, mid),
                    // Status 7: the record stays (until its lifetime ends or the client
                    // deletes it).
                    TerminationReason::ServerWithdrawn if m.host_withdrew => {
                        self.report.withdrawn_by_host += 1;
                        if let Some(m) = self.clients[i].mids.get_mut(&mid) {
                            m.last_event = Some(now);
                        }
                        self.touched.push(i);
                    }
                    // The client's DELETE of a request the host had withdrawn.
                    TerminationReason::Deleted if m.host_withdrew => self.end(i, mid),
                    other => self.fail(&format!("{cuid}/{mid}: unexpected end {other:?}")),
                }
            }
            SessionEvent::Server(ServerEvent::MitigationExpired { cuid, mid, .. }) => {
                let i = client_of_cuid(&cuid);
                self.report.expired += 1;
                if self.clients[i].mids.get(&mid).is_none_or(|m| !m.alive) {
                    self.fail(&format!("{cuid}/{mid}: expired but not alive"));
                }
                let held = self.clients[i].c.mitigation(mid).is_some_and(|m| {
                    m.state() == dots_proto::signal::client::MitigationState::Active
                });
                if held {
                    self.report.expired_while_held += 1;
                }
                self.end(i, mid);
            }
            SessionEvent::Server(ServerEvent::CrossClientConflict { .. }) => {
                self.report.cross_client_conflicts += 1;
            }
            SessionEvent::Server(ServerEvent::TriggeredBySignalLoss { cuid, mid, .. }) => {
                self.fail(&format!("{cuid}/{mid}: triggered by signal loss"));
            }
            SessionEvent::PeerLost { peer, .. } => {
                self.report.peers_lost += 1;
                self.touched.push(client_of_key(peer));
            }
            _ => {}
        }
    }

    fn end(&mut self, i: usize, mid: u32) {
        let m = self.clients[i].mids.entry(mid).or_default();
        m.alive = false;
        m.acked = false;
        m.ended += 1;
        self.touched.push(i);
    }

    fn check_server_timer(&mut self) {
        if let Some(t) = self.server.poll_timeout() {
            if t < self.now {
                self.fail(&format!("server timer {t} in the past"));
            }
            if self.server_timer.is_none_or(|s| t < s) {
                self.server_timer = Some(t);
                self.push(t, Ev::ServerTimer);
            }
        }
    }

    /// The invariants of one client and its state in the server.
    pub fn check_client(&self, i: usize) {
        let c = &self.clients[i];
        let core = self.server.server();
        let mids: Vec<u32> = core.mids(&c.cuid).collect();
        if mids.len() > MAX_MITIGATIONS {
            self.fail(&format!("{}: {} mitigations stored", c.cuid, mids.len()));
        }
        let mut active: Vec<(u32, Net)> = Vec::new();
        for &mid in &mids {
            let Some(info) = core.mitigation(&c.cuid, mid) else {
                self.fail(&format!("{}/{mid}: listed but not found", c.cuid));
            };
            let m = c.mids.get(&mid);
            if !m.is_some_and(|m| m.alive) {
                self.fail(&format!(
                    "{}/{mid}: stored without a MitigationRequested event",
                    c.cuid
                ));
            }
            if is_active(info.status) {
                let Some(net) = m.and_then(|m| m.target) else {
                    self.fail(&format!("{}/{mid}: stored, never requested", c.cuid));
                };
                if let Some((o, _)) = active.iter().find(|(_, n)| n.overlaps(net)) {
                    self.fail(&format!(
                        "{}: active mitigations {o} and {mid} overlap",
                        c.cuid
                    ));
                }
                active.push((mid, net));
            }
        }
        for (mid, m) in &c.mids {
            if m.alive && !mids.contains(mid) {
                self.fail(&format!(
                    "{}/{mid}: gone from the server without an event",
                    c.cuid
                ));
            }
            if m.acked && !m.alive {
                self.fail(&format!("{}/{mid}: acknowledged, then gone", c.cuid));
            }
        }
        let observations = core.observations(&c.cuid).count();
        if observations > core.config().quotas.max_observers {
            self.fail(&format!("{}: {observations} observations", c.cuid));
        }
        if let Some(t) = c.c.poll_timeout() {
            if t < self.now {
                self.fail(&format!("{}: timer {t} in the past", c.cuid));
            }
        }
        if c.c.mitigations().count() > 8 {
            self.fail(&format!("{}: client table over capacity", c.cuid));
        }
    }

    fn full_check(&mut self) {
        self.report.full_checks += 1;
        if let Err(e) = self.server.check_invariants() {
            self.fail(&format!("server consistency: {e}"));
        }
        let core = self.server.server();
        if core.client_count() > self.clients.len() {
            self.fail("more server clients than clients");
        }
        if self.server.peer_count() > 2 * self.clients.len() {
            self.fail(&format!("{} peers held", self.server.peer_count()));
        }
        if self.server.endpoints_held() > SessionConfig::default().max_endpoints {
            self.fail("endpoints over the limit");
        }
        for i in 0..self.clients.len() {
            self.check_client(i);
        }
    }

    /// After the quiet period: every observed mitigation's status as the server has it is the
    /// one the client was last told.
    ///
    /// Only the observations of the client's current session count: a client that declared
    /// its session lost and started a new one leaves the old session at the server until the
    /// server's deadman ends it (nothing tells the server otherwise over a lossy link), with
    /// the observations registered on it; the notifications sent there reach nobody
    /// (seed 8816).
    fn final_checks(&mut self) {
        let core = self.server.server();
        let mut checked = 0;
        let mut unobserved = 0;
        for c in &self.clients {
            if !c.c.is_connected() {
                continue;
            }
            let current = self
                .server
                .peer_info(&c.key)
                .is_some_and(|p| p.observations > 0);
            let obs: Vec<ObserveTarget> = if current {
                core.observations(&c.cuid).collect()
            } else {
                Vec::new()
            };
            let all = obs.contains(&ObserveTarget::AllMitigations);
            let holds_active =
                c.c.mitigations()
                    .any(|m| m.state() == dots_proto::signal::client::MitigationState::Active);
            if !all && c.c.config().auto_observe && holds_active {
                self.fail(&format!(
                    "{}: observes all its mitigations automatically, holds an active one, but \
                     the server has no such observation ({obs:?})",
                    c.cuid
                ));
            }
            if !all && core.mids(&c.cuid).next().is_some() {
                unobserved += 1;
                if self.trace_end {
                    eprintln!(
                        "{} not observing all: {obs:?}; config auto {}",
                        c.cuid,
                        c.c.config().auto_observe
                    );
                }
            }
            for mid in core.mids(&c.cuid) {
                if !all && !obs.contains(&ObserveTarget::Mitigation(mid)) {
                    continue;
                }
                let info = core.mitigation(&c.cuid, mid).unwrap();
                // A change in the last minute (a refresh the client sent during the quiet
                // period) may still be on its way or waiting for its pacing.
                let recent = c
                    .mids
                    .get(&mid)
                    .and_then(|m| m.last_event)
                    .is_some_and(|t| t + Duration::from_secs(60) > self.now);
                if recent {
                    continue;
                }
                let seen = c.mids.get(&mid).and_then(|m| m.client_status);
                checked += 1;
                if seen != Some(info.status) {
                    self.fail(&format!(
                        "{}/{mid}: server status {:?}, client last told {seen:?} (observed: \
                         {obs:?}; client holds {:?}; model {:?})",
                        c.cuid,
                        info.status,
                        c.c.mitigation(mid).map(|m| (m.state(), m.status())),
                        c.mids.get(&mid)
                    ));
                }
            }
        }
        self.report.observed_checked = checked;
        self.report.unobserved_at_end = unobserved;
        let _ = self.start;
    }
}

fn scope_of(net: Net, lifetime: u32) -> Scope {
    let mut s = Scope::new();
    s.targets
        .push_prefix(net.prefix().parse().unwrap())
        .unwrap();
    s.lifetime = Some(Lifetime::Seconds(lifetime));
    s
}

fn desired(hb: u16, missing: u16) -> dots_codec::model::SignalConfig {
    use dots_codec::model::{ConfigParams, IntParam, SignalConfig};
    let p = ConfigParams {
        heartbeat_interval: Some(IntParam::current(hb)),
        missing_hb_allowed: Some(IntParam::current(missing)),
        ..ConfigParams::default()
    };
    SignalConfig {
        sid: None,
        mitigating_config: Some(p),
        idle_config: Some(p),
    }
}

/// A `u64` from the environment.
pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// An `f64` from the environment.
pub fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}
