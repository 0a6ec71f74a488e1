//! Every timer of an endpoint in one table (after quinn-proto's `connection/timer.rs`):
//! [`Endpoint::poll_timeout`](super::Endpoint::poll_timeout) is the minimum over it, and
//! [`Endpoint::handle_timeout`](super::Endpoint::handle_timeout) fires what is due.

use crate::time::Instant;

/// Endpoint-wide timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Global {
    /// The PROBING_RATE pacing delay ends: queued requests may start.
    Pacing = 0,
    /// The next Q-Block2 burst, or a Block2 body's expiry, on the sending side.
    TxBody = 1,
    /// NON_RECEIVE_TIMEOUT / NON_PARTIAL_TIMEOUT of the body being received.
    RxBody = 2,
    /// TCP: the next keep-alive Ping, or the Pong deadline.
    Keepalive = 3,
}

impl Global {
    pub(crate) const COUNT: usize = 4;
    pub(crate) const ALL: [Global; Global::COUNT] = [
        Global::Pacing,
        Global::TxBody,
        Global::RxBody,
        Global::Keepalive,
    ];
}

/// The deadlines: one per outgoing slot, one per inbound record, and the global ones.
#[derive(Clone, Debug)]
pub(crate) struct TimerTable<const OUT: usize, const IN: usize> {
    out: [Option<Instant>; OUT],
    inbound: [Option<Instant>; IN],
    global: [Option<Instant>; Global::COUNT],
}

impl<const OUT: usize, const IN: usize> TimerTable<OUT, IN> {
    pub(crate) const fn new() -> Self {
        TimerTable {
            out: [None; OUT],
            inbound: [None; IN],
            global: [None; Global::COUNT],
        }
    }

    pub(crate) fn set_out(&mut self, slot: usize, at: Option<Instant>) {
        if let Some(t) = self.out.get_mut(slot) {
            *t = at;
        }
    }

    pub(crate) fn out(&self, slot: usize) -> Option<Instant> {
        self.out.get(slot).copied().flatten()
    }

    pub(crate) fn set_inbound(&mut self, rec: usize, at: Option<Instant>) {
        if let Some(t) = self.inbound.get_mut(rec) {
            *t = at;
        }
    }

    pub(crate) fn inbound(&self, rec: usize) -> Option<Instant> {
        self.inbound.get(rec).copied().flatten()
    }

    pub(crate) fn set_global(&mut self, timer: Global, at: Option<Instant>) {
        if let Some(t) = self.global.get_mut(timer as usize) {
            *t = at;
        }
    }

    pub(crate) fn global(&self, timer: Global) -> Option<Instant> {
        self.global.get(timer as usize).copied().flatten()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.out
            .iter()
            .chain(self.inbound.iter())
            .chain(self.global.iter())
            .filter_map(|t| *t)
            .min()
    }

    /// Whether `t` is armed and due at `now`.
    pub(crate) fn due(t: Option<Instant>, now: Instant) -> bool {
        t.is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_over_every_timer() {
        let mut table = TimerTable::<2, 2>::new();
        assert_eq!(table.next(), None);
        table.set_out(1, Some(Instant::from_millis(50)));
        table.set_inbound(0, Some(Instant::from_millis(40)));
        table.set_global(Global::RxBody, Some(Instant::from_millis(60)));
        assert_eq!(table.next(), Some(Instant::from_millis(40)));
        table.set_inbound(0, None);
        assert_eq!(table.next(), Some(Instant::from_millis(50)));
        table.set_out(7, Some(Instant::ZERO)); // out of range: ignored
        assert_eq!(table.next(), Some(Instant::from_millis(50)));
        assert!(TimerTable::<2, 2>::due(
            table.out(1),
            Instant::from_millis(50)
        ));
        assert!(!TimerTable::<2, 2>::due(
            table.out(0),
            Instant::from_millis(50)
        ));
        assert_eq!(table.global(Global::RxBody), Some(Instant::from_millis(60)));
        assert_eq!(table.inbound(1), None);
        assert_eq!(Global::ALL.len(), Global::COUNT);
    }
}
