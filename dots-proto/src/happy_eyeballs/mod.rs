//! Happy Eyeballs for the DOTS signal channel (RFC 9132 §4.3, after RFC 8305).
//!
//! A DOTS client usually knows several ways to reach its server: IPv6 and IPv4 addresses, each
//! over DTLS/UDP and TLS/TCP. Trying them one after another is slow when a path is broken (an
//! IPv6 black hole, a middlebox dropping UDP), which is exactly the situation during an attack.
//! [`HappyEyeballs`] races the candidates instead:
//!
//! - **Order** (RFC 9132 §4.3): UDP over IPv6, UDP over IPv4, TCP over IPv6, TCP over IPv4. With
//!   several addresses per family, the families are interleaved within each transport as RFC 8305
//!   §4 describes (the "First Address Family Count" of IPv6 addresses, then alternating).
//! - **Pacing** (RFC 8305 §5): one attempt starts immediately, the next one a Connection Attempt
//!   Delay later (250 ms by default, 100 ms while [under attack](HappyEyeballs::set_under_attack)
//!   as RFC 9132 §4.3 recommends), or at once when an attempt fails. Earlier attempts keep
//!   running; an attempt that runs longer than the [attempt timeout](Config::attempt_timeout) is
//!   abandoned.
//! - **Winner** (RFC 8305 §6): the first attempt to succeed wins; every other running attempt is
//!   cancelled and attempts not yet started never start.
//! - **Cache** (RFC 9132 §4.3): the outcome of every attempt of a successful race is kept for the
//!   [cache lifetime](Config::cache_lifetime) (10 min). A race started while the cache is fresh
//!   tries the previous winner first and the candidates that failed last.
//! - **DTLS re-probe** (RFC 9132 §4.3): when the session ended up on TLS while UDP candidates
//!   exist, the UDP candidates are raced again every [re-probe
//!   interval](Config::reprobe_interval) (24 h by default, never more often than every 5 min).
//!   A successful probe reports [`Event::DtlsAvailable`] so the caller can move the signal
//!   channel to DTLS.
//!
//! # Driving it
//!
//! The machine is sans-IO: it never opens a socket or reads a clock. The caller performs the
//! attempts ((D)TLS handshakes) and reports their outcome:
//!
//! 1. [`add_server_address`](HappyEyeballs::add_server_address) (both transports) or
//!    [`add_candidate`](HappyEyeballs::add_candidate), then [`connect`](HappyEyeballs::connect).
//! 2. After **every** call that takes `now`, drain [`poll_action`](HappyEyeballs::poll_action)
//!    (start or abandon attempts) and [`poll_event`](HappyEyeballs::poll_event), then sleep until
//!    [`poll_timeout`](HappyEyeballs::poll_timeout) and call
//!    [`handle_timeout`](HappyEyeballs::handle_timeout).
//! 3. Report each started attempt with
//!    [`handle_attempt_succeeded`](HappyEyeballs::handle_attempt_succeeded) or
//!    [`handle_attempt_failed`](HappyEyeballs::handle_attempt_failed); reports about attempts
//!    that are no longer running are ignored.
//! 4. When the established session dies, call
//!    [`handle_connection_lost`](HappyEyeballs::handle_connection_lost) and `connect` again.
//!
//! Time must not go backwards: a `now` earlier than one already seen counts as the latest one.
//! Every input first processes the timers due at `now`, so after any call
//! [`poll_timeout`](HappyEyeballs::poll_timeout) is either `None` or later than `now`.
//!
//! ```
//! use core::net::SocketAddr;
//! use dots_proto::happy_eyeballs::{Action, Config, Event, HappyEyeballs, Transport};
//! use dots_proto::time::Instant;
//!
//! let mut he: HappyEyeballs = HappyEyeballs::new(Config::default());
//! he.add_server_address("[2001:db8::1]:4646".parse::<SocketAddr>().unwrap())?;
//! he.add_server_address("192.0.2.1:4646".parse::<SocketAddr>().unwrap())?;
//!
//! let t0 = Instant::from_millis(0);
//! he.connect(t0)?;
//! let Some(Action::Start { id: first, candidate }) = he.poll_action() else { unreachable!() };
//! assert_eq!(candidate.transport, Transport::Udp);
//! assert!(candidate.addr.is_ipv6());
//! assert_eq!(he.poll_timeout(), Some(Instant::from_millis(250)));
//!
//! // No answer over UDP/IPv6 yet: 250 ms later, UDP/IPv4 starts.
//! he.handle_timeout(Instant::from_millis(250));
//! let Some(Action::Start { id: second, candidate }) = he.poll_action() else { unreachable!() };
//! assert!(candidate.addr.is_ipv4());
//!
//! // The IPv4 DTLS handshake completes first: it wins and the IPv6 attempt is cancelled.
//! he.handle_attempt_succeeded(Instant::from_millis(300), second);
//! assert_eq!(he.poll_action(), Some(Action::Cancel { id: first }));
//! assert!(matches!(he.poll_event(), Some(Event::Connected { id, .. }) if id == second));
//! # Ok::<(), dots_proto::happy_eyeballs::CommandError>(())
//! ```

mod config;
#[cfg(test)]
mod tests;

pub use config::{
    Config, ConfigError, ATTACK_ATTEMPT_DELAY, DEFAULT_ATTEMPT_DELAY, DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_CACHE_LIFETIME, DEFAULT_REPROBE_INTERVAL, MAX_ATTEMPT_DELAY, MIN_ATTEMPT_DELAY,
    MIN_REPROBE_INTERVAL,
};

use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use heapless::{Deque, Vec};

use crate::time::Instant;

/// The transport of a signal channel candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// DTLS over UDP (preferred: no head-of-line blocking).
    Udp,
    /// TLS over TCP.
    Tcp,
}

/// One way to reach the DOTS server: an address and a transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The server's address and port (4646 by default for both transports).
    pub addr: SocketAddr,
    /// DTLS/UDP or TLS/TCP.
    pub transport: Transport,
}

impl Candidate {
    /// A DTLS-over-UDP candidate.
    #[must_use]
    pub const fn udp(addr: SocketAddr) -> Candidate {
        Candidate {
            addr,
            transport: Transport::Udp,
        }
    }

    /// A TLS-over-TCP candidate.
    #[must_use]
    pub const fn tcp(addr: SocketAddr) -> Candidate {
        Candidate {
            addr,
            transport: Transport::Tcp,
        }
    }
}

/// Names one connection attempt in [`Action`]s, [`Event`]s and the caller's reports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(u32);

impl AttemptId {
    /// The raw number (unique among the attempts of one machine until it wraps at 2^32).
    #[must_use]
    pub const fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttemptId({})", self.0)
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What the caller must do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Start a connection attempt (a DTLS handshake over UDP, or a TCP connect and TLS handshake)
    /// to `candidate`, and report its outcome under `id`.
    Start {
        /// The attempt's name in later reports.
        id: AttemptId,
        /// Where and how to connect.
        candidate: Candidate,
    },
    /// Abandon attempt `id` and close whatever it opened: another attempt won, the attempt ran
    /// past its timeout, or the race was aborted. No report is expected for it any more.
    Cancel {
        /// The attempt to abandon.
        id: AttemptId,
    },
}

/// What happened, for the caller's information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Attempt `id` won the race started by [`HappyEyeballs::connect`]: use its connection for
    /// the signal channel.
    Connected {
        /// The winning attempt.
        id: AttemptId,
        /// Its address and transport.
        candidate: Candidate,
    },
    /// Every candidate of the race failed or timed out; [`HappyEyeballs::connect`] may be called
    /// again.
    AllFailed,
    /// A DTLS re-probe succeeded while the session ran over TLS: move the signal channel to the
    /// DTLS connection of attempt `id` and close the TLS one.
    DtlsAvailable {
        /// The successful probe attempt.
        id: AttemptId,
        /// Its (UDP) candidate.
        candidate: Candidate,
    },
    /// A DTLS re-probe found no working UDP path; the session stays on TLS.
    ReprobeFailed {
        /// When the next re-probe starts.
        next: Instant,
    },
}

/// A command that cannot be carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The candidate table is full (its capacity is the const generic `N`).
    #[error("no room for another candidate")]
    CandidatesFull,
    /// [`HappyEyeballs::connect`] without any candidate.
    #[error("no candidate to connect to")]
    NoCandidates,
    /// A race is running or a connection is established.
    #[error("a connection race is running or a connection is established")]
    Busy,
    /// [`Action`]s from the previous race were not polled yet; poll them first.
    #[error("actions of the previous race are waiting to be polled")]
    UndeliveredActions,
}

/// What became of a candidate in the last successful race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Unknown,
    Succeeded,
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Pending,
    Running { deadline: Instant },
    Failed,
    Cancelled,
    Won,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Index into the candidate table.
    cand: usize,
    id: AttemptId,
    state: SlotState,
    /// Whether [`Action::Start`] for this attempt was polled.
    start_delivered: bool,
}

impl Slot {
    /// Running, and the caller knows it (reports about undelivered attempts are ignored).
    fn is_running_delivered(&self) -> bool {
        self.start_delivered && matches!(self.state, SlotState::Running { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RaceKind {
    Connect,
    Probe,
}

#[derive(Clone, Debug)]
struct Race<const N: usize> {
    kind: RaceKind,
    slots: Vec<Slot, N>,
    last_start: Instant,
}

impl<const N: usize> Race<N> {
    fn has(&self, f: impl Fn(&SlotState) -> bool) -> bool {
        self.slots.iter().any(|s| f(&s.state))
    }
}

#[derive(Clone, Copy, Debug)]
struct Connection {
    id: AttemptId,
    cand: usize,
}

#[derive(Clone, Copy, Debug)]
struct Cache<const N: usize> {
    at: Instant,
    winner: usize,
    outcomes: [Outcome; N],
}

/// Capacity of the event queue; the oldest event is dropped when the caller does not poll.
const EVENT_QUEUE: usize = 4;

/// The DOTS Happy Eyeballs connection race (see the [module docs](self)), for up to `N`
/// candidates (an address with a transport: [`add_server_address`](Self::add_server_address)
/// takes two).
#[derive(Clone, Debug)]
pub struct HappyEyeballs<const N: usize = 8> {
    config: Config,
    candidates: Vec<Candidate, N>,
    under_attack: bool,
    now: Instant,
    next_id: u32,
    race: Option<Race<N>>,
    connection: Option<Connection>,
    next_probe: Option<Instant>,
    cache: Option<Cache<N>>,
    /// Cancellations not yet polled. At most one per attempt of one race: a race only starts
    /// when this is empty, so `N` always suffices.
    cancels: Vec<AttemptId, N>,
    events: Deque<Event, EVENT_QUEUE>,
}

impl<const N: usize> HappyEyeballs<N> {
    /// A machine with no candidates.
    #[must_use]
    pub fn new(config: Config) -> HappyEyeballs<N> {
        HappyEyeballs {
            config,
            candidates: Vec::new(),
            under_attack: false,
            now: Instant::ZERO,
            next_id: 0,
            race: None,
            connection: None,
            next_probe: None,
            cache: None,
            cancels: Vec::new(),
            events: Deque::new(),
        }
    }

    /// The timing policy.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds one candidate (a duplicate is ignored). Candidates added during a race join the next
    /// race.
    pub fn add_candidate(&mut self, candidate: Candidate) -> Result<(), CommandError> {
        if self.candidates.contains(&candidate) {
            return Ok(());
        }
        self.candidates
            .push(candidate)
            .map_err(|_| CommandError::CandidatesFull)
    }

    /// Adds `addr` over both DTLS/UDP and TLS/TCP (the DOTS signal channel uses the same port,
    /// 4646 by default, for both).
    pub fn add_server_address(&mut self, addr: SocketAddr) -> Result<(), CommandError> {
        let has_room = |c: &Candidate| usize::from(!self.candidates.contains(c));
        let needed = has_room(&Candidate::udp(addr)) + has_room(&Candidate::tcp(addr));
        if self.candidates.len() + needed > N {
            return Err(CommandError::CandidatesFull);
        }
        self.add_candidate(Candidate::udp(addr))?;
        self.add_candidate(Candidate::tcp(addr))
    }

    /// The candidates in the order they were added.
    #[must_use]
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Removes every candidate and forgets the cached outcome. Refused while racing or connected.
    pub fn clear_candidates(&mut self) -> Result<(), CommandError> {
        if self.race.is_some() || self.connection.is_some() {
            return Err(CommandError::Busy);
        }
        self.candidates.clear();
        self.cache = None;
        Ok(())
    }

    /// Switches between the normal Connection Attempt Delay and the (shorter) one for attacks
    /// (RFC 9132 §4.3). Takes effect for the next attempt to start: an attempt whose shorter
    /// delay has already elapsed at `now` starts at once.
    pub fn set_under_attack(&mut self, now: Instant, under_attack: bool) {
        self.under_attack = under_attack;
        self.advance(now);
    }

    /// The Connection Attempt Delay in force.
    #[must_use]
    pub fn attempt_delay(&self) -> Duration {
        if self.under_attack {
            self.config.attack_attempt_delay()
        } else {
            self.config.attempt_delay()
        }
    }

    /// Starts a race over all candidates; the first attempt starts at once.
    pub fn connect(&mut self, now: Instant) -> Result<(), CommandError> {
        let now = self.advance(now);
        if self.candidates.is_empty() {
            return Err(CommandError::NoCandidates);
        }
        if self.race.is_some() || self.connection.is_some() {
            return Err(CommandError::Busy);
        }
        if !self.cancels.is_empty() {
            return Err(CommandError::UndeliveredActions);
        }
        let order = self.connect_order(now);
        self.begin_race(RaceKind::Connect, &order, now);
        Ok(())
    }

    /// Processes the timers due at `now`: attempt timeouts, the next attempt start, the DTLS
    /// re-probe. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// Attempt `id` completed its handshake. The first success of a race wins; the connection of
    /// an attempt that was already cancelled must be closed by the caller (its
    /// [`Action::Cancel`] is, or was, delivered).
    pub fn handle_attempt_succeeded(&mut self, now: Instant, id: AttemptId) {
        let now = self.advance(now);
        let Some(race) = self.race.as_mut() else {
            return;
        };
        let Some(w) = race
            .slots
            .iter()
            .position(|s| s.id == id && s.is_running_delivered())
        else {
            return;
        };
        let kind = race.kind;
        for (i, slot) in race.slots.iter_mut().enumerate() {
            if i == w {
                slot.state = SlotState::Won;
                continue;
            }
            match slot.state {
                SlotState::Running { .. } => {
                    slot.state = SlotState::Cancelled;
                    if slot.start_delivered {
                        // Cannot fail: the race started with no pending cancellation and has at
                        // most N attempts.
                        let _ = self.cancels.push(slot.id);
                    }
                }
                SlotState::Pending => slot.state = SlotState::Cancelled,
                SlotState::Failed | SlotState::Cancelled | SlotState::Won => {}
            }
        }
        let Some(winner) = race.slots.get(w).copied() else {
            return;
        };
        // Every outcome of the race goes into the cache (RFC 9132 §4.3).
        let mut outcomes = [Outcome::Unknown; N];
        if kind == RaceKind::Probe {
            if let Some(cache) = &self.cache {
                outcomes = cache.outcomes;
            }
        }
        for slot in &race.slots {
            if let Some(o) = outcomes.get_mut(slot.cand) {
                match slot.state {
                    SlotState::Won => *o = Outcome::Succeeded,
                    SlotState::Failed => *o = Outcome::Failed,
                    _ => {}
                }
            }
        }
        self.cache = Some(Cache {
            at: now,
            winner: winner.cand,
            outcomes,
        });
        self.race = None;
        self.connection = Some(Connection {
            id: winner.id,
            cand: winner.cand,
        });
        let Some(candidate) = self.candidates.get(winner.cand).copied() else {
            return;
        };
        let event = match kind {
            RaceKind::Connect => Event::Connected {
                id: winner.id,
                candidate,
            },
            RaceKind::Probe => Event::DtlsAvailable {
                id: winner.id,
                candidate,
            },
        };
        self.push_event(event);
        self.next_probe = if candidate.transport == Transport::Tcp && self.has_udp_candidate() {
            Some(now + self.config.reprobe_interval())
        } else {
            None
        };
    }

    /// Attempt `id` failed (handshake error, connection refused, ...). The next candidate starts
    /// at once.
    pub fn handle_attempt_failed(&mut self, now: Instant, id: AttemptId) {
        let now = self.advance(now);
        // A cancelled attempt that ended by itself needs no cancellation any more.
        if let Some(i) = self.cancels.iter().position(|c| *c == id) {
            self.cancels.swap_remove(i);
            return;
        }
        let Some(race) = self.race.as_mut() else {
            return;
        };
        let Some(slot) = race
            .slots
            .iter_mut()
            .find(|s| s.id == id && s.is_running_delivered())
        else {
            return;
        };
        slot.state = SlotState::Failed;
        self.start_next(now);
        self.check_race_end(now);
    }

    /// The established signal channel session was lost. A DTLS re-probe in progress is
    /// cancelled; the cache is kept, so the next [`connect`](Self::connect) tries the last
    /// winner first.
    pub fn handle_connection_lost(&mut self, now: Instant) {
        self.advance(now);
        if self.connection.take().is_some() {
            self.next_probe = None;
            if self
                .race
                .as_ref()
                .is_some_and(|r| r.kind == RaceKind::Probe)
            {
                self.cancel_race();
            }
        }
    }

    /// Abandons everything: the running race (its attempts are cancelled) and the established
    /// connection, if any. The cache is kept.
    pub fn abort(&mut self, now: Instant) {
        self.advance(now);
        self.cancel_race();
        self.connection = None;
        self.next_probe = None;
    }

    /// The next action, if any. Cancellations come before starts.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        if !self.cancels.is_empty() {
            let id = self.cancels.remove(0);
            return Some(Action::Cancel { id });
        }
        let race = self.race.as_mut()?;
        let slot = race
            .slots
            .iter_mut()
            .find(|s| matches!(s.state, SlotState::Running { .. }) && !s.start_delivered)?;
        slot.start_delivered = true;
        let candidate = *self.candidates.get(slot.cand)?;
        Some(Action::Start {
            id: slot.id,
            candidate,
        })
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if at all.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        if let Some(race) = &self.race {
            for slot in &race.slots {
                if let SlotState::Running { deadline } = slot.state {
                    consider(deadline);
                }
            }
            if race.has(|s| *s == SlotState::Pending) {
                consider(race.last_start + self.attempt_delay());
            }
        } else if self.connection.is_some() {
            if let Some(t) = self.next_probe {
                consider(t);
            }
        }
        next
    }

    /// The attempt and candidate the signal channel currently runs over.
    #[must_use]
    pub fn connection(&self) -> Option<(AttemptId, Candidate)> {
        let c = self.connection?;
        Some((c.id, *self.candidates.get(c.cand)?))
    }

    /// Whether a race (a connection race or a DTLS re-probe) is running.
    #[must_use]
    pub fn is_racing(&self) -> bool {
        self.race.is_some()
    }

    /// When the next DTLS re-probe starts (only while connected over TLS with UDP candidates).
    #[must_use]
    pub fn next_reprobe(&self) -> Option<Instant> {
        self.connection.and(self.next_probe)
    }

    /// The winner of the last successful race, while the cache is fresh at `now`.
    #[must_use]
    pub fn cached_winner(&self, now: Instant) -> Option<Candidate> {
        let cache = self.fresh_cache(now)?;
        self.candidates.get(cache.winner).copied()
    }

    // ----- internals -----

    /// Clamps `now` to be monotonic and processes every timer due at it.
    fn advance(&mut self, now: Instant) -> Instant {
        let now = now.max(self.now);
        self.now = now;
        let delay = self.attempt_delay();
        if let Some(race) = self.race.as_mut() {
            let mut expired = false;
            for slot in race.slots.iter_mut() {
                if let SlotState::Running { deadline } = slot.state {
                    if deadline <= now {
                        slot.state = SlotState::Failed;
                        expired = true;
                        if slot.start_delivered {
                            let _ = self.cancels.push(slot.id);
                        }
                    }
                }
            }
            let due = race.last_start + delay <= now;
            if expired || due {
                self.start_next(now);
            }
            self.check_race_end(now);
        } else if self.connection.is_some() {
            if let Some(t) = self.next_probe {
                if t <= now {
                    if self.cancels.is_empty() {
                        self.start_probe(now);
                    } else {
                        // Undelivered cancellations would not leave room for the probe's
                        // attempts; try again shortly (the caller polls actions meanwhile).
                        self.next_probe = Some(now + delay);
                    }
                }
            }
        }
        now
    }

    fn push_event(&mut self, event: Event) {
        if self.events.is_full() {
            self.events.pop_front();
        }
        let _ = self.events.push_back(event);
    }

    fn has_udp_candidate(&self) -> bool {
        self.candidates
            .iter()
            .any(|c| c.transport == Transport::Udp)
    }

    fn fresh_cache(&self, now: Instant) -> Option<&Cache<N>> {
        let cache = self.cache.as_ref()?;
        let expires = cache.at.checked_add(self.config.cache_lifetime())?;
        (now < expires).then_some(cache)
    }

    /// RFC 9132 §4.3 order: per transport (UDP, then TCP), IPv6 and IPv4 interleaved per
    /// RFC 8305 §4.
    fn preference_order(&self, udp_only: bool) -> Vec<usize, N> {
        let mut out: Vec<usize, N> = Vec::new();
        for transport in [Transport::Udp, Transport::Tcp] {
            if udp_only && transport == Transport::Tcp {
                continue;
            }
            let of_family = |v6: bool| {
                self.candidates
                    .iter()
                    .enumerate()
                    .filter(move |(_, c)| c.transport == transport && c.addr.is_ipv6() == v6)
                    .map(|(i, _)| i)
            };
            let mut v6 = of_family(true);
            let mut v4 = of_family(false);
            let mut burst = usize::from(self.config.first_address_family_count());
            loop {
                let mut progressed = false;
                for _ in 0..burst {
                    if let Some(i) = v6.next() {
                        let _ = out.push(i);
                        progressed = true;
                    }
                }
                if let Some(i) = v4.next() {
                    let _ = out.push(i);
                    progressed = true;
                }
                if !progressed {
                    break;
                }
                burst = 1;
            }
        }
        out
    }

    /// The preference order, adjusted by a fresh cache: the last winner first, the candidates
    /// that failed last (RFC 9132 §4.3: avoid thrashing the network).
    fn connect_order(&self, now: Instant) -> Vec<usize, N> {
        let base = self.preference_order(false);
        let Some(cache) = self.fresh_cache(now) else {
            return base;
        };
        let outcome = |i: usize| cache.outcomes.get(i).copied().unwrap_or(Outcome::Unknown);
        let mut out: Vec<usize, N> = Vec::new();
        let rank = |i: usize| match outcome(i) {
            _ if i == cache.winner => 0,
            Outcome::Succeeded | Outcome::Unknown => 1,
            Outcome::Failed => 2,
        };
        for r in 0..3 {
            for &i in base.iter().filter(|&&i| rank(i) == r) {
                let _ = out.push(i);
            }
        }
        out
    }

    fn begin_race(&mut self, kind: RaceKind, order: &[usize], now: Instant) {
        let mut slots: Vec<Slot, N> = Vec::new();
        for &cand in order {
            let id = AttemptId(self.next_id);
            self.next_id = self.next_id.wrapping_add(1);
            let _ = slots.push(Slot {
                cand,
                id,
                state: SlotState::Pending,
                start_delivered: false,
            });
        }
        self.race = Some(Race {
            kind,
            slots,
            last_start: now,
        });
        self.start_next(now);
        self.check_race_end(now);
    }

    fn start_probe(&mut self, now: Instant) {
        let order = self.preference_order(true);
        self.next_probe = None;
        if order.is_empty() {
            return;
        }
        self.begin_race(RaceKind::Probe, &order, now);
    }

    /// Starts the first pending attempt, if any.
    fn start_next(&mut self, now: Instant) {
        let deadline = now + self.config.attempt_timeout();
        let Some(race) = self.race.as_mut() else {
            return;
        };
        if let Some(slot) = race
            .slots
            .iter_mut()
            .find(|s| s.state == SlotState::Pending)
        {
            slot.state = SlotState::Running { deadline };
            race.last_start = now;
        }
    }

    /// Ends a race that has nothing left to run.
    fn check_race_end(&mut self, now: Instant) {
        let Some(race) = &self.race else {
            return;
        };
        if race.has(|s| matches!(s, SlotState::Pending | SlotState::Running { .. })) {
            return;
        }
        let kind = race.kind;
        if kind == RaceKind::Probe {
            if let Some(cache) = self.cache.as_mut() {
                for slot in &race.slots {
                    if let Some(o) = cache.outcomes.get_mut(slot.cand) {
                        *o = Outcome::Failed;
                    }
                }
            }
        }
        self.race = None;
        match kind {
            RaceKind::Connect => {
                self.cache = None;
                self.push_event(Event::AllFailed);
            }
            RaceKind::Probe => {
                // Measured from the end of this probe, so probe starts are at least one
                // interval apart (RFC 9132 §4.3).
                let next = now + self.config.reprobe_interval();
                self.next_probe = Some(next);
                self.push_event(Event::ReprobeFailed { next });
            }
        }
    }

    /// Cancels every attempt of the running race.
    fn cancel_race(&mut self) {
        let Some(race) = self.race.take() else {
            return;
        };
        for slot in &race.slots {
            if matches!(slot.state, SlotState::Running { .. }) && slot.start_delivered {
                let _ = self.cancels.push(slot.id);
            }
        }
    }
}
