//! The server's shared state: one [`DataServer`] (the DOTS clients with their aliases and
//! filtering rules) on one clock, used by every channel.
//!
//! Every access goes through [`Shared::with_data`], which passes the current time, reports the
//! events the access produced (one log line each) and re-arms the expiry timer
//! ([`Shared::run_timer`]) when the next deadline moved. The signal channel uses the same
//! door for `alias` lookups and `mitigation_started`/`mitigation_ended`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dots::proto::data::{DataEvent, DataServer, DataServerConfig};
use dots::proto::time::{Instant, StdClock};
use tokio::sync::Notify;

/// Where event lines go (stdout in the binary; the tests collect them).
pub(crate) type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The state every channel of the server shares.
pub(crate) struct Shared {
    data: Mutex<DataServer>,
    clock: StdClock,
    deadline_moved: Notify,
    log: Log,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("data", &self.data)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A fresh state; the clock starts now.
    pub(crate) fn new(config: DataServerConfig, log: Log) -> Arc<Shared> {
        Arc::new(Shared {
            data: Mutex::new(DataServer::new(config)),
            clock: StdClock::new(),
            deadline_moved: Notify::new(),
            log,
        })
    }

    /// Writes one line to the log.
    pub(crate) fn log(&self, line: &str) {
        (self.log)(line);
    }

    fn lock(&self) -> MutexGuard<'_, DataServer> {
        // The server's state stays consistent across a panic in a caller's closure (it never
        // panics itself), so a poisoned lock is still usable.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the data server at the current time, then logs the events it produced and
    /// wakes the timer if the next expiry moved. Keep `f` short: it holds the lock.
    pub(crate) fn with_data<R>(&self, f: impl FnOnce(&mut DataServer, Instant) -> R) -> R {
        let mut data = self.lock();
        let before = data.poll_timeout();
        let result = f(&mut data, self.clock.now());
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
            let deadline = self.lock().poll_timeout();
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
struct Field<'a>(&'a str);

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
