//! Drives the DOTS Happy Eyeballs race (RFC 9132 §4.3) with arbitrary commands and checks what a
//! caller can observe: timers are never in the past, attempt ids are never reused, only running
//! attempts are cancelled, a winner was started, and every attempt ends once the clock runs on.
#![no_main]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::Arbitrary;
use dots_proto::happy_eyeballs::{
    Action, AttemptId, Candidate, Config, Event, HappyEyeballs, Transport,
};
use dots_proto::time::Instant;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    AddCandidate { v6: bool, host: u8, tcp: bool },
    Connect,
    Sleep(u32),
    WakeAtTimer,
    Succeed(u8),
    Fail(u8),
    Stale(u8),
    Lost,
    Attack(bool),
    Abort,
    Clear,
    SkipPolling,
}

#[derive(Arbitrary, Debug)]
struct Input {
    delay_ms: u16,
    attack_delay_ms: u16,
    timeout_ms: u16,
    reprobe_s: u32,
    family_count: u8,
    cache_s: u16,
    ops: Vec<Op>,
}

struct Harness {
    he: HappyEyeballs<5>,
    now: u64,
    /// Started attempts that have not ended.
    live: BTreeSet<AttemptId>,
    /// Every attempt ever started.
    seen: BTreeSet<AttemptId>,
}

impl Harness {
    fn drain(&mut self) {
        while let Some(a) = self.he.poll_action() {
            match a {
                Action::Start { id, .. } => {
                    assert!(self.seen.insert(id), "attempt id reused");
                    self.live.insert(id);
                }
                Action::Cancel { id } => {
                    assert!(self.live.remove(&id), "cancelled a non-running attempt");
                }
                _ => {}
            }
        }
        while let Some(e) = self.he.poll_event() {
            if let Event::Connected { id, .. } | Event::DtlsAvailable { id, .. } = e {
                assert!(self.seen.contains(&id), "winner never started");
                self.live.remove(&id);
            }
            if let Event::DtlsAvailable { candidate, .. } = e {
                assert_eq!(candidate.transport, Transport::Udp);
            }
        }
        self.check_timer();
    }

    fn check_timer(&self) {
        if let Some(t) = self.he.poll_timeout() {
            assert!(t.as_millis() > self.now, "timer in the past");
        }
    }

    fn nth(set: &BTreeSet<AttemptId>, k: u8) -> Option<AttemptId> {
        let n = set.len();
        if n == 0 {
            return None;
        }
        set.iter().nth(usize::from(k) % n).copied()
    }
}

fn config(input: &Input) -> Config {
    let mut config =
        Config::default().with_cache_lifetime(Duration::from_secs(input.cache_s.into()));
    let ms = |v: u16| Duration::from_millis(v.into());
    if let Ok(c) = config.with_attempt_delay(ms(input.delay_ms)) {
        config = c;
    }
    if let Ok(c) = config.with_attack_attempt_delay(ms(input.attack_delay_ms)) {
        config = c;
    }
    if let Ok(c) = config.with_attempt_timeout(ms(input.timeout_ms)) {
        config = c;
    }
    if let Ok(c) = config.with_reprobe_interval(Duration::from_secs(input.reprobe_s.into())) {
        config = c;
    }
    if let Ok(c) = config.with_first_address_family_count(input.family_count) {
        config = c;
    }
    config
}

fuzz_target!(|input: Input| {
    let mut h = Harness {
        he: HappyEyeballs::new(config(&input)),
        now: 0,
        live: BTreeSet::new(),
        seen: BTreeSet::new(),
    };
    let _ = h.he.add_server_address(SocketAddr::from(([192, 0, 2, 1], 4646)));
    let mut skip = false;
    for op in input.ops.iter().take(256) {
        let now = Instant::from_millis(h.now);
        match *op {
            Op::AddCandidate { v6, host, tcp } => {
                let addr = if v6 {
                    SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(host)], 4646))
                } else {
                    SocketAddr::from(([192, 0, 2, host], 4646))
                };
                let c = if tcp { Candidate::tcp(addr) } else { Candidate::udp(addr) };
                let _ = h.he.add_candidate(c);
            }
            Op::Connect => {
                let _ = h.he.connect(now);
            }
            Op::Sleep(d) => {
                h.now = h.now.saturating_add(u64::from(d));
                h.he.handle_timeout(Instant::from_millis(h.now));
            }
            Op::WakeAtTimer => {
                if let Some(t) = h.he.poll_timeout() {
                    h.now = t.as_millis();
                    h.he.handle_timeout(t);
                }
            }
            Op::Succeed(k) => {
                if let Some(id) = Harness::nth(&h.live, k) {
                    h.he.handle_attempt_succeeded(now, id);
                }
            }
            Op::Fail(k) => {
                if let Some(id) = Harness::nth(&h.live, k) {
                    h.he.handle_attempt_failed(now, id);
                    h.live.remove(&id);
                }
            }
            Op::Stale(k) => {
                let ended: BTreeSet<AttemptId> = h.seen.difference(&h.live).copied().collect();
                if let Some(id) = Harness::nth(&ended, k) {
                    h.he.handle_attempt_failed(now, id);
                    h.he.handle_attempt_succeeded(now, id);
                }
            }
            Op::Lost => h.he.handle_connection_lost(now),
            Op::Attack(b) => h.he.set_under_attack(now, b),
            Op::Abort => h.he.abort(now),
            Op::Clear => {
                let _ = h.he.clear_candidates();
            }
            Op::SkipPolling => skip = true,
        }
        if std::mem::take(&mut skip) {
            continue;
        }
        h.drain();
    }
    // Let the clock run without reports: every attempt must end by itself.
    h.drain();
    for _ in 0..10_000 {
        if h.live.is_empty() {
            break;
        }
        let Some(t) = h.he.poll_timeout() else { break };
        h.now = t.as_millis();
        h.he.handle_timeout(t);
        h.drain();
    }
    assert!(h.live.is_empty(), "attempts never ended: {:?}", h.live);
});
