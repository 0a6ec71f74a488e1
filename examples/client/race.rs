//! `--server`: the RFC 9132 Section 4.3 Happy Eyeballs race, driven by
//! [`dots_proto::happy_eyeballs::HappyEyeballs`] over real handshakes.
//!
//! The sans-IO machine decides which candidate (DTLS or TLS, IPv6 or IPv4) starts when, and
//! which attempt wins; this module performs the attempts, each a (D)TLS handshake on a thread of
//! its own, and reports their outcome. A cancelled attempt's thread finishes its handshake
//! or times out on its own; its connection is dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use dots::proto::happy_eyeballs::{
    Action, AttemptId, Candidate, Config, Event, HappyEyeballs, Transport,
};
use dots::proto::time::StdClock;

use crate::app::Failure;
use crate::connect::Creds;
use crate::support::transport::{Link, LinkError};

type Outcome = (AttemptId, Result<Box<dyn Link>, LinkError>);

fn name(c: &Candidate) -> String {
    match c.transport {
        Transport::Udp => format!("DTLS {}", c.addr),
        Transport::Tcp => format!("TLS {}", c.addr),
    }
}

/// Races the candidates of `addrs` (DTLS, and TLS when X.509 credentials were given) and
/// returns the winner's connection. `timeout` bounds each attempt.
pub(crate) fn race(
    creds: &Creds,
    addrs: &[SocketAddr],
    timeout: Duration,
    out: &mut dyn std::io::Write,
) -> Result<Box<dyn Link>, Failure> {
    let config = Config::default()
        .with_attempt_timeout(timeout)
        .map_err(|e| Failure::new(format!("Happy Eyeballs configuration: {e}")))?;
    let mut he: HappyEyeballs = HappyEyeballs::new(config);
    let with_tls = creds.tls.is_some();
    for &addr in addrs {
        let added = if with_tls {
            he.add_server_address(addr)
        } else {
            he.add_candidate(Candidate::udp(addr))
        };
        added.map_err(|e| Failure::new(format!("Happy Eyeballs: {e}")))?;
    }
    let clock = StdClock::new();
    he.connect(clock.now())
        .map_err(|e| Failure::new(format!("Happy Eyeballs: {e}")))?;
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut running: HashMap<AttemptId, Candidate> = HashMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut winner: Option<(AttemptId, Box<dyn Link>)> = None;
    loop {
        while let Some(action) = he.poll_action() {
            match action {
                Action::Start { id, candidate } => {
                    let _ = writeln!(out, "happy eyeballs: trying {}", name(&candidate));
                    running.insert(id, candidate);
                    let (tx, creds) = (tx.clone(), creds.clone());
                    let tls = candidate.transport == Transport::Tcp;
                    std::thread::spawn(move || {
                        let result = creds.attempt(candidate.addr, tls, timeout);
                        // The receiver is gone once the race is over: the link is dropped.
                        let _ = tx.send((id, result));
                    });
                }
                Action::Cancel { id } => {
                    running.remove(&id);
                }
                _ => {}
            }
        }
        while let Some(event) = he.poll_event() {
            match event {
                Event::Connected { id, candidate } => {
                    if let Some((wid, link)) = winner.take() {
                        if wid == id {
                            let _ = writeln!(out, "happy eyeballs: {} won", name(&candidate));
                            return Ok(link);
                        }
                    }
                }
                Event::AllFailed => {
                    return Err(Failure::new(format!(
                        "no candidate connected: {}",
                        failures.join("; ")
                    )))
                }
                _ => {}
            }
        }
        let now = clock.now();
        let wait = he
            .poll_timeout()
            .map_or(timeout, |t| t.saturating_duration_since(now))
            .max(Duration::from_millis(1));
        match rx.recv_timeout(wait) {
            Ok((id, Ok(link))) => {
                if running.remove(&id).is_some() {
                    winner = Some((id, link));
                    he.handle_attempt_succeeded(clock.now(), id);
                }
            }
            Ok((id, Err(e))) => {
                if let Some(c) = running.remove(&id) {
                    let _ = writeln!(out, "happy eyeballs: {} failed: {e}", name(&c));
                    failures.push(format!("{}: {e}", name(&c)));
                    he.handle_attempt_failed(clock.now(), id);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => he.handle_timeout(clock.now()),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure::new("Happy Eyeballs: every attempt ended"))
            }
        }
    }
}
