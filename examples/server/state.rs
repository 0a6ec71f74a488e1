//! The server's shared state: one signal-channel [`ServerSession`] whose core's hooks are the
//! [`DataServer`] (the DOTS clients with their aliases and filtering rules), on one clock, used
//! by every channel: the data channel reaches the data server through
//! [`Shared::with_data`], the signal channel the session through [`Shared::with_signal`], and
//! the signal core resolves aliases and activates ACLs in that same data server.
//!
//! Every access passes the current time, reports the data-channel events the access produced
//! (one log line each) and re-arms the data server's expiry timer ([`Shared::run_timer`]) when
//! its next deadline moved.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dots::proto::data::{DataEvent, DataServer, DataServerConfig};
use dots::proto::signal::server::{ServerConfig, SignalServer};
use dots::proto::signal::session::{ServerSession, SessionConfig};
use dots::proto::time::{Instant, StdClock};
use tokio::sync::Notify;

use crate::signal::PeerKey;

/// Where event lines go (stdout in the binary; the tests collect them).
pub(crate) type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The signal-channel session, its peers keyed by their transport and address, with the data
/// server as the core's hooks.
pub(crate) type Session = ServerSession<PeerKey, DataServer>;

/// The state every channel of the server shares.
pub(crate) struct Shared {
    state: Mutex<Session>,
    clock: StdClock,
    deadline_moved: Notify,
    log: Log,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A fresh state; the clock starts now.
    pub(crate) fn new(config: DataServerConfig, log: Log) -> Arc<Shared> {
        let mut core = ServerConfig::default();
        // `mitigation-start` in Unix time (RFC 9132 Section 4.4.2): the clock's epoch is now.
        core.unix_time_at_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        let session = ServerSession::new(
            SessionConfig::default(),
            SignalServer::with_hooks(core, DataServer::new(config)),
            seed,
        );
        Arc::new(Shared {
            state: Mutex::new(session),
            clock: StdClock::new(),
            deadline_moved: Notify::new(),
            log,
        })
    }

    /// Writes one line to the log.
    pub(crate) fn log(&self, line: &str) {
        (self.log)(line);
    }

    /// The clock every channel uses.
    pub(crate) fn clock(&self) -> &StdClock {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Session> {
        // The state stays consistent across a panic in a caller's closure (the library never
        // panics itself), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the data server at the current time, then logs the events it produced and
    /// wakes the timer if the next expiry moved. Keep `f` short: it holds the lock.
    pub(crate) fn with_data<R>(&self, f: impl FnOnce(&mut DataServer, Instant) -> R) -> R {
        self.with_signal(|session, now| f(session.server_mut().hooks_mut(), now))
    }

    /// Runs `f` on the signal session at the current time; the data server's events (the
    /// signal core activates ACLs through it) are logged as with [`Shared::with_data`].
    pub(crate) fn with_signal<R>(&self, f: impl FnOnce(&mut Session, Instant) -> R) -> R {
        let mut state = self.lock();
        let before = state.server().hooks().poll_timeout();
        let result = f(&mut state, self.clock.now());
        let data = state.server_mut().hooks_mut();
        while let Some(event) = data.poll_event() {
            self.log(&describe(&event));
        }
        if data.poll_timeout() != before {
            self.deadline_moved.notify_one();
        }
        result
    }

    /// Expires aliases and filtering rules on the real clock, for ever: sleeps until
    /// [`DataServer::poll_timeout`] (or until an access moved it) and calls
    /// [`DataServer::handle_timeout`].
    pub(crate) async fn run_timer(self: Arc<Self>) {
        loop {
            let deadline = self.lock().server().hooks().poll_timeout();
            match deadline {
                Some(t) => {
                    let at = tokio::time::Instant::from_std(self.clock.to_std(t));
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {
                            self.with_data(|data, now| data.handle_timeout(now));
                        }
                        () = self.deadline_moved.notified() => {}
                    }
                }
                None => self.deadline_moved.notified().await,
            }
        }
    }
}

/// One log line for an event: `event NAME key=value ...`.
pub(crate) fn describe(event: &DataEvent) -> String {
    let (name, cuid, entry, was_active) = match event {
        DataEvent::ClientRegistered { cuid } => ("client-registered", cuid, None, None),
        DataEvent::ClientDeregistered { cuid } => ("client-deregistered", cuid, None, None),
        DataEvent::AclActivated { cuid, acl } => ("acl-activated", cuid, Some(("acl", acl)), None),
        DataEvent::AclUpdated { cuid, acl } => ("acl-updated", cuid, Some(("acl", acl)), None),
        DataEvent::AclDeactivated { cuid, acl } => {
            ("acl-deactivated", cuid, Some(("acl", acl)), None)
        }
        DataEvent::AclDeleted {
            cuid,
            acl,
            was_active,
        } => ("acl-deleted", cuid, Some(("acl", acl)), Some(*was_active)),
        DataEvent::AclExpired {
            cuid,
            acl,
            was_active,
        } => ("acl-expired", cuid, Some(("acl", acl)), Some(*was_active)),
        DataEvent::AliasDeleted { cuid, alias } => {
            ("alias-deleted", cuid, Some(("alias", alias)), None)
        }
        DataEvent::AliasExpired { cuid, alias } => {
            ("alias-expired", cuid, Some(("alias", alias)), None)
        }
        other => return format!("event {other:?}"),
    };
    let mut line = format!("event {name} cuid={}", Field(cuid));
    if let Some((key, value)) = entry {
        line.push_str(&format!(" {key}={}", Field(value)));
    }
    if let Some(was_active) = was_active {
        line.push_str(&format!(" was-active={was_active}"));
    }
    line
}

/// A name chosen by a client, written as it is when it is printable ASCII without spaces or
/// quotes, and quoted with escapes otherwise (so that no name can forge a log line).
pub(crate) struct Field<'a>(pub(crate) &'a str);

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plain = !self.0.is_empty()
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}
