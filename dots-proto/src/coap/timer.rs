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

/// The deadlines: one per outgoing slot, one per inbound record, and the global ones, with
/// their minimum cached (the hot path asks for it on every call). Stored as milliseconds with
/// `u64::MAX` for "not armed", which keeps the minimum a plain loop.
#[derive(Clone, Debug)]
pub(crate) struct TimerTable<const OUT: usize, const IN: usize> {
    out: [u64; OUT],
    inbound: [u64; IN],
    global: [u64; Global::COUNT],
    min: u64,
}

const NONE: u64 = u64::MAX;

fn raw(t: Option<Instant>) -> u64 {
    // `Instant::MAX` is "never" too.
    t.map_or(NONE, Instant::as_millis)
}

fn cooked(t: u64) -> Option<Instant> {
    (t != NONE).then_some(Instant::from_millis(t))
}

impl<const OUT: usize, const IN: usize> TimerTable<OUT, IN> {
    pub(crate) const fn new() -> Self {
        TimerTable {
            out: [NONE; OUT],
            inbound: [NONE; IN],
            global: [NONE; Global::COUNT],
            min: NONE,
        }
    }

    /// Keeps the cached minimum right after one entry changed from `old` to `new`.
    fn update(&mut self, old: u64, new: u64) {
        if new < self.min {
            self.min = new;
        } else if old == self.min && new != old {
            self.min = self.compute();
        }
    }

    fn compute(&self) -> u64 {
        let mut m = NONE;
        for &t in &self.out {
            m = m.min(t);
        }
        for &t in &self.inbound {
            m = m.min(t);
        }
        for &t in &self.global {
            m = m.min(t);
        }
        m
    }

    pub(crate) fn set_out(&mut self, slot: usize, at: Option<Instant>) {
        let new = raw(at);
        if let Some(t) = self.out.get_mut(slot) {
            let old = core::mem::replace(t, new);
            self.update(old, new);
        }
    }

    pub(crate) fn out(&self, slot: usize) -> Option<Instant> {
        self.out.get(slot).copied().and_then(cooked)
    }

    pub(crate) fn set_inbound(&mut self, rec: usize, at: Option<Instant>) {
        let new = raw(at);
        if let Some(t) = self.inbound.get_mut(rec) {
            let old = core::mem::replace(t, new);
            self.update(old, new);
        }
    }

    pub(crate) fn inbound(&self, rec: usize) -> Option<Instant> {
        self.inbound.get(rec).copied().and_then(cooked)
    }

    pub(crate) fn set_global(&mut self, timer: Global, at: Option<Instant>) {
        let new = raw(at);
        if let Some(t) = self.global.get_mut(timer as usize) {
            let old = core::mem::replace(t, new);
            self.update(old, new);
        }
    }

    pub(crate) fn global(&self, timer: Global) -> Option<Instant> {
        self.global.get(timer as usize).copied().and_then(cooked)
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        debug_assert_eq!(self.min, self.compute());
        cooked(self.min)
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
        // The cached minimum follows every change.
        table.set_out(1, Some(Instant::from_millis(70)));
        assert_eq!(table.next(), Some(Instant::from_millis(60)));
        table.set_global(Global::RxBody, None);
        assert_eq!(table.next(), Some(Instant::from_millis(70)));
        table.set_out(1, None);
        assert_eq!(table.next(), None);
        table.set_inbound(1, Some(Instant::from_millis(5)));
        table.set_inbound(0, Some(Instant::from_millis(5)));
        table.set_inbound(1, None);
        assert_eq!(table.next(), Some(Instant::from_millis(5)));
        assert_eq!(Global::ALL.len(), Global::COUNT);
    }
}
