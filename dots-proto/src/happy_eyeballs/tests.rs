//! Happy Eyeballs on a virtual clock.

extern crate std;

use std::collections::BTreeSet;
use std::vec;
use std::vec::Vec as StdVec;

use proptest::prelude::*;

use super::*;

const V6: &str = "[2001:db8::1]:4646";
const V6B: &str = "[2001:db8::2]:4646";
const V4: &str = "192.0.2.1:4646";
const V4B: &str = "192.0.2.2:4646";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

/// Dual-stack server: one IPv6 and one IPv4 address, both transports.
fn dual_stack(config: Config) -> HappyEyeballs {
    let mut he = HappyEyeballs::new(config);
    he.add_server_address(addr(V6)).unwrap();
    he.add_server_address(addr(V4)).unwrap();
    he
}

fn actions<const N: usize>(he: &mut HappyEyeballs<N>) -> StdVec<Action> {
    core::iter::from_fn(|| he.poll_action()).collect()
}

fn events<const N: usize>(he: &mut HappyEyeballs<N>) -> StdVec<Event> {
    core::iter::from_fn(|| he.poll_event()).collect()
}

/// The single start action expected now.
fn started<const N: usize>(he: &mut HappyEyeballs<N>) -> (AttemptId, Candidate) {
    match actions(he).as_slice() {
        [Action::Start { id, candidate }] => (*id, *candidate),
        other => panic!("expected one start, got {other:?}"),
    }
}

/// Runs the clock through every timer up to `until`, collecting (instant, action) pairs.
fn run_until<const N: usize>(he: &mut HappyEyeballs<N>, until: Instant) -> StdVec<(u64, Action)> {
    let mut out = StdVec::new();
    while let Some(t) = he.poll_timeout() {
        if t > until {
            break;
        }
        he.handle_timeout(t);
        for a in actions(he) {
            out.push((t.as_millis(), a));
        }
    }
    out
}

fn starts(log: &[(u64, Action)]) -> StdVec<(u64, Candidate)> {
    log.iter()
        .filter_map(|(t, a)| match a {
            Action::Start { candidate, .. } => Some((*t, *candidate)),
            Action::Cancel { .. } => None,
        })
        .collect()
}

#[test]
fn rfc9132_order_and_default_delay() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    let (_, first) = started(&mut he);
    assert_eq!(first, Candidate::udp(addr(V6)));
    assert_eq!(he.poll_timeout(), Some(ms(250)));
    let log = run_until(&mut he, ms(800));
    assert_eq!(
        starts(&log),
        [
            (250, Candidate::udp(addr(V4))),
            (500, Candidate::tcp(addr(V6))),
            (750, Candidate::tcp(addr(V4))),
        ]
    );
    // With all four running, the next timer is the first attempt's timeout.
    assert_eq!(he.poll_timeout(), Some(ms(10_000)));
}

#[test]
fn attack_delay_is_100ms_as_in_figure_4() {
    let mut he = dual_stack(Config::default());
    he.set_under_attack(ms(0), true);
    assert_eq!(he.attempt_delay(), Duration::from_millis(100));
    he.connect(ms(1_000)).unwrap();
    let _ = started(&mut he);
    let log = run_until(&mut he, ms(1_300));
    let t: StdVec<u64> = starts(&log).iter().map(|(t, _)| *t).collect();
    assert_eq!(t, [1_100, 1_200, 1_300]);
}

#[test]
fn families_interleave_within_each_transport() {
    let mut he: HappyEyeballs<16> = HappyEyeballs::new(Config::default());
    // Added IPv4 first: the order still starts with IPv6 (RFC 9132 §4.3).
    for a in [V4, V4B, V6, V6B] {
        he.add_server_address(addr(a)).unwrap();
    }
    he.connect(ms(0)).unwrap();
    let (_, c0) = started(&mut he);
    let mut order = vec![c0];
    order.extend(
        starts(&run_until(&mut he, ms(5_000)))
            .iter()
            .map(|(_, c)| *c),
    );
    assert_eq!(
        order,
        [
            Candidate::udp(addr(V6)),
            Candidate::udp(addr(V4)),
            Candidate::udp(addr(V6B)),
            Candidate::udp(addr(V4B)),
            Candidate::tcp(addr(V6)),
            Candidate::tcp(addr(V4)),
            Candidate::tcp(addr(V6B)),
            Candidate::tcp(addr(V4B)),
        ]
    );

    // First Address Family Count 2: two IPv6 addresses before the first IPv4 one.
    let cfg = Config::default()
        .with_first_address_family_count(2)
        .unwrap();
    let mut he: HappyEyeballs<16> = HappyEyeballs::new(cfg);
    for a in [V6, V6B, V4, V4B] {
        he.add_candidate(Candidate::udp(addr(a))).unwrap();
    }
    he.connect(ms(0)).unwrap();
    let (_, c0) = started(&mut he);
    let mut order = vec![c0];
    order.extend(
        starts(&run_until(&mut he, ms(5_000)))
            .iter()
            .map(|(_, c)| *c),
    );
    let expected: StdVec<Candidate> = [V6, V6B, V4, V4B]
        .iter()
        .map(|a| Candidate::udp(addr(a)))
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn fallback_to_tcp_when_udp_is_blocked() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    let (udp6, _) = started(&mut he);
    he.handle_timeout(ms(250));
    let (udp4, c) = started(&mut he);
    assert_eq!(c, Candidate::udp(addr(V4)));
    he.handle_timeout(ms(500));
    let (tcp6, c) = started(&mut he);
    assert_eq!(c, Candidate::tcp(addr(V6)));
    // TCP/IPv6 completes its TLS handshake 40 ms later; the UDP attempts never heard back.
    he.handle_attempt_succeeded(ms(540), tcp6);
    let mut cancels = actions(&mut he);
    cancels.sort_by_key(|a| match a {
        Action::Cancel { id } => id.as_u32(),
        Action::Start { .. } => u32::MAX,
    });
    assert_eq!(
        cancels,
        [Action::Cancel { id: udp6 }, Action::Cancel { id: udp4 }]
    );
    assert_eq!(
        events(&mut he),
        [Event::Connected {
            id: tcp6,
            candidate: Candidate::tcp(addr(V6))
        }]
    );
    assert_eq!(he.connection(), Some((tcp6, Candidate::tcp(addr(V6)))));
    // TCP/IPv4 never started, and the only timer left is the DTLS re-probe in 24 h.
    assert_eq!(he.poll_timeout(), Some(ms(540 + 86_400_000)));
    assert_eq!(he.next_reprobe(), Some(ms(540 + 86_400_000)));
    // Late news from a cancelled attempt changes nothing.
    he.handle_attempt_succeeded(ms(600), udp4);
    he.handle_attempt_failed(ms(600), udp6);
    assert!(actions(&mut he).is_empty());
    assert!(events(&mut he).is_empty());
    assert_eq!(he.connection(), Some((tcp6, Candidate::tcp(addr(V6)))));
}

#[test]
fn a_failure_starts_the_next_attempt_at_once() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    let (a, _) = started(&mut he);
    he.handle_attempt_failed(ms(30), a);
    let (b, c) = started(&mut he);
    assert_eq!(c, Candidate::udp(addr(V4)));
    // The next one is paced from the new start.
    assert_eq!(he.poll_timeout(), Some(ms(280)));
    he.handle_attempt_failed(ms(31), b);
    let (_, c) = started(&mut he);
    assert_eq!(c, Candidate::tcp(addr(V6)));
    assert_eq!(he.poll_timeout(), Some(ms(281)));
}

#[test]
fn all_failed_then_connect_again() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    for t in 1..=4 {
        let (id, _) = started(&mut he);
        assert!(events(&mut he).is_empty());
        he.handle_attempt_failed(ms(t), id);
    }
    assert!(actions(&mut he).is_empty());
    assert_eq!(events(&mut he), [Event::AllFailed]);
    assert_eq!(he.poll_timeout(), None);
    assert!(!he.is_racing());
    assert_eq!(he.cached_winner(ms(5)), None);
    he.connect(ms(10)).unwrap();
    assert_eq!(started(&mut he).1, Candidate::udp(addr(V6)));
}

#[test]
fn attempts_time_out_and_are_cancelled() {
    let cfg = Config::default()
        .with_attempt_timeout(Duration::from_millis(600))
        .unwrap();
    let mut he = dual_stack(cfg);
    he.connect(ms(0)).unwrap();
    let (a, _) = started(&mut he);
    let log = run_until(&mut he, ms(2_000));
    // 250: UDP/IPv4; 500: TCP/IPv6; 600: UDP/IPv6 times out, so TCP/IPv4 starts at once.
    let mut it = log.iter();
    assert!(matches!(it.next(), Some((250, Action::Start { .. }))));
    assert!(matches!(it.next(), Some((500, Action::Start { .. }))));
    assert_eq!(it.next(), Some(&(600, Action::Cancel { id: a })));
    assert!(matches!(
        it.next(),
        Some((600, Action::Start { candidate, .. })) if *candidate == Candidate::tcp(addr(V4))
    ));
    // Then the other three time out: 850, 1100, 1200.
    let rest: StdVec<u64> = it.map(|(t, _)| *t).collect();
    assert_eq!(rest, [850, 1_100, 1_200]);
    assert_eq!(events(&mut he), [Event::AllFailed]);
}

#[test]
fn cache_hit_starts_with_the_winner() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    let (udp6, _) = started(&mut he);
    he.handle_attempt_failed(ms(10), udp6);
    let (udp4, _) = started(&mut he);
    he.handle_attempt_failed(ms(20), udp4);
    let (tcp6, _) = started(&mut he);
    he.handle_timeout(ms(270));
    let (tcp4, _) = started(&mut he);
    he.handle_attempt_succeeded(ms(300), tcp4);
    assert_eq!(actions(&mut he), [Action::Cancel { id: tcp6 }]);
    let _ = events(&mut he);
    assert_eq!(he.cached_winner(ms(300)), Some(Candidate::tcp(addr(V4))));

    // The session drops 5 s later; reconnecting starts with the winner, then the candidate
    // with no known outcome, then the ones that failed.
    he.handle_connection_lost(ms(5_300));
    he.connect(ms(5_300)).unwrap();
    let (_, first) = started(&mut he);
    assert_eq!(first, Candidate::tcp(addr(V4)));
    let order: StdVec<Candidate> = starts(&run_until(&mut he, ms(6_100)))
        .iter()
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(
        order,
        [
            Candidate::tcp(addr(V6)),
            Candidate::udp(addr(V6)),
            Candidate::udp(addr(V4)),
        ]
    );
}

#[test]
fn cache_expires_after_its_lifetime() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    let _ = started(&mut he);
    he.handle_timeout(ms(250));
    let (udp4, _) = started(&mut he);
    he.handle_attempt_succeeded(ms(260), udp4);
    let _ = actions(&mut he);
    assert_eq!(
        he.cached_winner(ms(260 + 599_999)),
        Some(Candidate::udp(addr(V4)))
    );
    assert_eq!(he.cached_winner(ms(260 + 600_000)), None);
    he.handle_connection_lost(ms(700_000));
    he.connect(ms(700_000)).unwrap();
    assert_eq!(started(&mut he).1, Candidate::udp(addr(V6)));

    // A zero lifetime disables the cache.
    let mut he = dual_stack(Config::default().with_cache_lifetime(Duration::ZERO));
    he.connect(ms(0)).unwrap();
    let _ = started(&mut he);
    he.handle_timeout(ms(250));
    let (udp4, _) = started(&mut he);
    he.handle_attempt_succeeded(ms(260), udp4);
    let _ = actions(&mut he);
    assert_eq!(he.cached_winner(ms(260)), None);
}

#[test]
fn dtls_reprobe_pacing() {
    assert_eq!(
        Config::default().with_reprobe_interval(Duration::from_secs(299)),
        Err(ConfigError::ReprobeTooFrequent)
    );
    let five_min = 300_000;
    let cfg = Config::default()
        .with_reprobe_interval(Duration::from_millis(five_min))
        .unwrap();
    let mut he = dual_stack(cfg);
    he.connect(ms(0)).unwrap();
    let _ = started(&mut he);
    let _ = run_until(&mut he, ms(500));
    let tcp6 = he
        .race
        .as_ref()
        .and_then(|r| r.slots.iter().find(|s| s.cand == 1).map(|s| s.id))
        .unwrap();
    he.handle_attempt_succeeded(ms(510), tcp6);
    let _ = actions(&mut he);
    let _ = events(&mut he);
    let connected_at = 510;

    // Nothing happens before the interval has passed.
    assert_eq!(he.poll_timeout(), Some(ms(connected_at + five_min)));
    he.handle_timeout(ms(connected_at + five_min - 1));
    assert!(actions(&mut he).is_empty());

    // First probe: the UDP candidates only, paced like a race.
    let p1 = connected_at + five_min;
    let log = run_until(&mut he, ms(p1 + 300));
    assert_eq!(
        starts(&log),
        [
            (p1, Candidate::udp(addr(V6))),
            (p1 + 250, Candidate::udp(addr(V4)))
        ]
    );
    assert!(he.is_racing());
    // Both probes fail (timeout); the session stays on TLS, the next probe is a full
    // interval after this one ended.
    let log = run_until(&mut he, ms(p1 + 20_000));
    assert_eq!(
        log.iter()
            .filter(|(_, a)| matches!(a, Action::Cancel { .. }))
            .count(),
        2
    );
    let failed_at = p1 + 250 + 10_000;
    assert_eq!(
        events(&mut he),
        [Event::ReprobeFailed {
            next: ms(failed_at + five_min)
        }]
    );
    assert_eq!(he.connection().map(|c| c.1), Some(Candidate::tcp(addr(V6))));
    assert_eq!(he.poll_timeout(), Some(ms(failed_at + five_min)));

    // Second probe: UDP/IPv4 answers; the caller is told to move to DTLS.
    let p2 = failed_at + five_min;
    he.handle_timeout(ms(p2));
    let (probe6, _) = started(&mut he);
    he.handle_timeout(ms(p2 + 250));
    let (probe4, c) = started(&mut he);
    assert_eq!(c, Candidate::udp(addr(V4)));
    he.handle_attempt_succeeded(ms(p2 + 300), probe4);
    assert_eq!(actions(&mut he), [Action::Cancel { id: probe6 }]);
    assert_eq!(
        events(&mut he),
        [Event::DtlsAvailable {
            id: probe4,
            candidate: Candidate::udp(addr(V4))
        }]
    );
    assert_eq!(he.connection(), Some((probe4, Candidate::udp(addr(V4)))));
    assert_eq!(he.next_reprobe(), None);
    assert_eq!(he.poll_timeout(), None);
    // The cache now names the DTLS winner.
    assert_eq!(
        he.cached_winner(ms(p2 + 300)),
        Some(Candidate::udp(addr(V4)))
    );
}

#[test]
fn no_reprobe_without_udp_candidates_or_after_connection_loss() {
    let mut he = HappyEyeballs::<4>::new(Config::default());
    he.add_candidate(Candidate::tcp(addr(V4))).unwrap();
    he.connect(ms(0)).unwrap();
    let (id, _) = started(&mut he);
    he.handle_attempt_succeeded(ms(5), id);
    assert_eq!(he.poll_timeout(), None);

    let mut he = dual_stack(
        Config::default()
            .with_reprobe_interval(MIN_REPROBE_INTERVAL)
            .unwrap(),
    );
    he.connect(ms(0)).unwrap();
    let _ = run_until(&mut he, ms(500));
    let _ = actions(&mut he);
    let tcp6 = he.race.as_ref().unwrap().slots[2].id;
    he.handle_attempt_succeeded(ms(500), tcp6);
    let _ = actions(&mut he);
    he.handle_timeout(ms(500 + 300_000));
    let (probe, _) = started(&mut he);
    // The TLS session dies during the probe: the probe is abandoned, no more probes.
    he.handle_connection_lost(ms(500 + 300_010));
    assert_eq!(actions(&mut he), [Action::Cancel { id: probe }]);
    assert_eq!(he.poll_timeout(), None);
    assert_eq!(he.next_reprobe(), None);
}

#[test]
fn commands_are_checked() {
    let mut he = HappyEyeballs::<3>::new(Config::default());
    assert_eq!(he.connect(ms(0)), Err(CommandError::NoCandidates));
    he.add_server_address(addr(V4)).unwrap();
    he.add_server_address(addr(V4)).unwrap(); // duplicate: no-op
    assert_eq!(he.candidates().len(), 2);
    assert_eq!(
        he.add_server_address(addr(V6)),
        Err(CommandError::CandidatesFull)
    );
    assert_eq!(he.candidates().len(), 2, "nothing added on failure");
    he.add_candidate(Candidate::udp(addr(V6))).unwrap();
    assert_eq!(
        he.add_candidate(Candidate::tcp(addr(V6))),
        Err(CommandError::CandidatesFull)
    );
    he.connect(ms(0)).unwrap();
    assert_eq!(he.connect(ms(1)), Err(CommandError::Busy));
    assert_eq!(he.clear_candidates(), Err(CommandError::Busy));
    let (a, _) = started(&mut he);
    he.handle_timeout(ms(250));
    let (b, _) = started(&mut he);
    he.handle_attempt_succeeded(ms(260), b);
    assert_eq!(he.connect(ms(261)), Err(CommandError::Busy));
    he.handle_connection_lost(ms(262));
    // The cancellation of `a` was not polled yet.
    assert_eq!(he.connect(ms(263)), Err(CommandError::UndeliveredActions));
    assert_eq!(actions(&mut he), [Action::Cancel { id: a }]);
    he.connect(ms(264)).unwrap();
    he.abort(ms(265));
    let _ = actions(&mut he);
    he.clear_candidates().unwrap();
    assert!(he.candidates().is_empty());
    assert_eq!(he.cached_winner(ms(266)), None);
}

#[test]
fn config_bounds() {
    let c = Config::default();
    assert_eq!(c.attempt_delay(), Duration::from_millis(250));
    assert_eq!(c.attack_attempt_delay(), Duration::from_millis(100));
    assert_eq!(c.cache_lifetime(), Duration::from_secs(600));
    assert_eq!(c.reprobe_interval(), Duration::from_secs(86_400));
    assert_eq!(c.first_address_family_count(), 1);
    for bad in [Duration::from_millis(9), Duration::from_millis(2_001)] {
        assert_eq!(
            c.with_attempt_delay(bad),
            Err(ConfigError::AttemptDelayOutOfRange)
        );
        assert_eq!(
            c.with_attack_attempt_delay(bad),
            Err(ConfigError::AttemptDelayOutOfRange)
        );
    }
    assert!(c.with_attempt_delay(Duration::from_millis(10)).is_ok());
    assert!(c.with_attempt_delay(Duration::from_secs(2)).is_ok());
    assert_eq!(
        c.with_attempt_timeout(Duration::from_millis(5)),
        Err(ConfigError::AttemptTimeoutTooShort)
    );
    assert_eq!(
        c.with_first_address_family_count(0),
        Err(ConfigError::ZeroFirstAddressFamilyCount)
    );
    assert!(c.with_reprobe_interval(MIN_REPROBE_INTERVAL).is_ok());
}

#[test]
fn time_going_backwards_counts_as_the_latest_time() {
    let mut he = dual_stack(Config::default());
    he.connect(ms(1_000)).unwrap();
    let _ = started(&mut he);
    he.handle_timeout(ms(10));
    assert!(actions(&mut he).is_empty());
    assert_eq!(he.poll_timeout(), Some(ms(1_250)));
    he.handle_timeout(ms(1_250));
    assert_eq!(started(&mut he).1, Candidate::udp(addr(V4)));
}

#[test]
fn a_late_caller_gets_one_start_per_timer() {
    // The caller wakes up 2 s late: one attempt starts now, the next one a delay later.
    let mut he = dual_stack(Config::default());
    he.connect(ms(0)).unwrap();
    let _ = started(&mut he);
    he.handle_timeout(ms(2_000));
    assert_eq!(started(&mut he).1, Candidate::udp(addr(V4)));
    assert_eq!(he.poll_timeout(), Some(ms(2_250)));
}

// ----- property tests: invariants under arbitrary inputs -----

#[derive(Clone, Debug)]
enum Op {
    Connect,
    Sleep(u32),
    WakeAtTimer,
    Succeed(u8),
    Fail(u8),
    Stale(u32),
    Lost,
    Attack(bool),
    Abort,
    SkipPolling,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Connect),
        3 => (0u32..400).prop_map(Op::Sleep),
        2 => (0u32..700_000).prop_map(Op::Sleep),
        4 => Just(Op::WakeAtTimer),
        3 => any::<u8>().prop_map(Op::Succeed),
        3 => any::<u8>().prop_map(Op::Fail),
        1 => any::<u32>().prop_map(Op::Stale),
        1 => Just(Op::Lost),
        1 => any::<bool>().prop_map(Op::Attack),
        1 => Just(Op::Abort),
        1 => Just(Op::SkipPolling),
    ]
}

/// A caller that checks every invariant it can observe.
struct Harness {
    he: HappyEyeballs<6>,
    now: u64,
    /// Started (delivered) attempts that have not ended.
    live: BTreeSet<u32>,
    /// Every id ever started.
    seen: BTreeSet<u32>,
    winner: Option<u32>,
    skip_next_poll: bool,
}

impl Harness {
    fn new() -> Harness {
        let cfg = Config::default()
            .with_reprobe_interval(MIN_REPROBE_INTERVAL)
            .unwrap()
            .with_attempt_timeout(Duration::from_secs(3))
            .unwrap();
        let mut he = HappyEyeballs::new(cfg);
        he.add_server_address(addr(V6)).unwrap();
        he.add_server_address(addr(V4)).unwrap();
        he.add_candidate(Candidate::udp(addr(V6B))).unwrap();
        Harness {
            he,
            now: 0,
            live: BTreeSet::new(),
            seen: BTreeSet::new(),
            winner: None,
            skip_next_poll: false,
        }
    }

    fn drain(&mut self) {
        while let Some(a) = self.he.poll_action() {
            match a {
                Action::Start { id, .. } => {
                    assert!(self.seen.insert(id.as_u32()), "attempt id reused: {id}");
                    self.live.insert(id.as_u32());
                }
                Action::Cancel { id } => {
                    assert!(
                        self.live.remove(&id.as_u32()),
                        "cancel for an attempt that is not running: {id}"
                    );
                    assert_ne!(self.winner, Some(id.as_u32()), "the winner was cancelled");
                }
            }
        }
        while let Some(e) = self.he.poll_event() {
            match e {
                Event::Connected { id, .. } | Event::DtlsAvailable { id, .. } => {
                    // The winner was started; the caller may have reported it failed before
                    // it polled the event (the machine ignores such a report).
                    assert!(
                        self.seen.contains(&id.as_u32()),
                        "winner {id} never started"
                    );
                    self.live.remove(&id.as_u32());
                    self.winner = Some(id.as_u32());
                }
                Event::AllFailed | Event::ReprobeFailed { .. } => {}
            }
        }
    }

    fn check(&self) {
        if let Some(t) = self.he.poll_timeout() {
            assert!(
                t.as_millis() > self.now,
                "timer {t} not after now {}",
                self.now
            );
        }
        if self.he.connection().is_none() {
            // Not connected: no re-probe pending.
            assert_eq!(self.he.next_reprobe(), None);
        }
    }

    fn pick(&self, k: u8) -> Option<AttemptId> {
        let v: StdVec<u32> = self.live.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        Some(AttemptId(v[usize::from(k) % v.len()]))
    }

    fn step(&mut self, op: &Op) {
        let now = ms(self.now);
        match *op {
            Op::Connect => {
                let _ = self.he.connect(now);
            }
            Op::Sleep(d) => {
                self.now += u64::from(d);
                self.he.handle_timeout(ms(self.now));
            }
            Op::WakeAtTimer => {
                if let Some(t) = self.he.poll_timeout() {
                    self.now = t.as_millis();
                    self.he.handle_timeout(t);
                }
            }
            Op::Succeed(k) => {
                if let Some(id) = self.pick(k) {
                    self.he.handle_attempt_succeeded(now, id);
                }
            }
            Op::Fail(k) => {
                if let Some(id) = self.pick(k) {
                    self.he.handle_attempt_failed(now, id);
                    // A caller-reported failure ends the attempt.
                    self.live.remove(&id.as_u32());
                }
            }
            Op::Stale(id) => {
                if !self.live.contains(&id) {
                    self.he.handle_attempt_failed(now, AttemptId(id));
                    self.he.handle_attempt_succeeded(now, AttemptId(id));
                }
            }
            Op::Lost => {
                self.he.handle_connection_lost(now);
                if self.he.connection().is_none() {
                    self.winner = None;
                }
            }
            Op::Attack(b) => self.he.set_under_attack(now, b),
            Op::Abort => {
                self.he.abort(now);
                self.winner = None;
            }
            Op::SkipPolling => self.skip_next_poll = true,
        }
        if core::mem::take(&mut self.skip_next_poll) {
            return;
        }
        self.drain();
        self.check();
    }

    /// Runs the clock without any report until every attempt has ended by itself.
    fn settle(&mut self) {
        self.drain();
        let horizon = self.now + 60_000;
        while let Some(t) = self.he.poll_timeout() {
            if t.as_millis() > horizon {
                break;
            }
            self.now = t.as_millis();
            self.he.handle_timeout(t);
            self.drain();
            self.check();
        }
        assert!(
            self.live.is_empty(),
            "attempts never ended: {:?} (winner {:?})",
            self.live,
            self.winner
        );
        assert!(!self.he.is_racing() || self.he.poll_timeout().is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_for_any_input(ops in proptest::collection::vec(op(), 0..80)) {
        let mut h = Harness::new();
        for op in &ops {
            h.step(op);
        }
        h.settle();
    }
}
