//! Per-client state: registered clients, their aliases and ACLs with expiry, and the event
//! queue.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use dots_codec::data::{Acl, ActivationType, Alias, Vendor};

use super::event::DataEvent;
use super::policy::ClientRef;
use super::target::Insert;
use crate::time::Instant;

/// An alias and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasEntry {
    pub(crate) alias: Alias,
    pub(crate) expires: Instant,
}

/// An ACL, when it expires, and whether the filtering engine has it installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AclEntry {
    pub(crate) acl: Acl,
    pub(crate) expires: Instant,
    pub(crate) active: bool,
}

/// A registered DOTS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientState {
    pub(crate) cuid: String,
    pub(crate) cdid: Option<String>,
    /// Identity of the peer that registered it (the client itself, or a gateway).
    pub(crate) owner: String,
    /// Whether a mitigation is active for the client (set by the signal channel).
    pub(crate) mitigating: bool,
    pub(crate) aliases: Vec<AliasEntry>,
    pub(crate) acls: Vec<AclEntry>,
    /// Vendor attack mapping tables (RFC 9244 Section 8.1.6).
    pub(crate) vendors: Vec<Vendor>,
}

impl ClientState {
    pub(crate) fn new(cuid: String, cdid: Option<String>, owner: String) -> ClientState {
        ClientState {
            cuid,
            cdid,
            owner,
            mitigating: false,
            aliases: Vec::new(),
            acls: Vec::new(),
            vendors: Vec::new(),
        }
    }

    pub(crate) fn client_ref(&self) -> ClientRef<'_> {
        ClientRef {
            cuid: &self.cuid,
            cdid: self.cdid.as_deref(),
        }
    }

    pub(crate) fn ace_count(&self) -> usize {
        self.acls.iter().map(|e| e.acl.ace_list().len()).sum()
    }

    pub(crate) fn alias_index(&self, name: &str) -> Option<usize> {
        self.aliases.iter().position(|e| e.alias.name == name)
    }

    pub(crate) fn acl_index(&self, name: &str) -> Option<usize> {
        self.acls.iter().position(|e| e.acl.name == name)
    }

    /// The earliest expiry of the client's entries.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        let a = self.aliases.iter().map(|e| e.expires);
        let b = self.acls.iter().map(|e| e.expires);
        a.chain(b).min()
    }
}

/// Whether an ACL of this activation type is enforced, given the client's mitigation state
/// (RFC 8783 Section 7.2).
pub(crate) fn should_be_active(t: ActivationType, mitigating: bool) -> bool {
    match t {
        ActivationType::Immediate => true,
        ActivationType::ActivateWhenMitigating => mitigating,
        ActivationType::Deactivate => false,
    }
}

/// Whether two ACLs have the same configuration (read-only nodes ignored).
pub(crate) fn same_config(a: &Acl, b: &Acl) -> bool {
    let strip = |acl: &Acl| {
        let mut c = acl.clone();
        c.pending_lifetime = None;
        if let Some(aces) = &mut c.aces {
            for ace in &mut aces.ace {
                ace.statistics = None;
            }
        }
        c
    };
    strip(a) == strip(b)
}

/// Where a new or moved entry goes in a user-ordered list: `insert` with the index of the
/// `point` entry (already resolved, and computed on the list without the moved entry).
pub(crate) fn position(len: usize, insert: Option<Insert>, point: Option<usize>) -> usize {
    match (insert, point) {
        (Some(Insert::First), _) => 0,
        (Some(Insert::Before), Some(p)) => p.min(len),
        (Some(Insert::After), Some(p)) => p.saturating_add(1).min(len),
        _ => len,
    }
}

/// The bounded event queue.
#[derive(Debug, Clone, Default)]
pub(crate) struct Events {
    pub(crate) queue: VecDeque<DataEvent>,
    pub(crate) max: usize,
    pub(crate) dropped: u64,
}

impl Events {
    pub(crate) fn push(&mut self, e: DataEvent) {
        if self.max == 0 {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        while self.queue.len() >= self.max {
            self.queue.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.queue.push_back(e);
    }

    /// Emits what a change of an ACL's active state means for the engine.
    pub(crate) fn transition(
        &mut self,
        cuid: &str,
        acl: &str,
        was: bool,
        now: bool,
        changed: bool,
    ) {
        let (cuid, acl) = (String::from(cuid), String::from(acl));
        match (was, now) {
            (false, true) => self.push(DataEvent::AclActivated { cuid, acl }),
            (true, false) => self.push(DataEvent::AclDeactivated { cuid, acl }),
            (true, true) if changed => self.push(DataEvent::AclUpdated { cuid, acl }),
            _ => {}
        }
    }
}
