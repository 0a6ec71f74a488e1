//! The data-channel server: request dispatch, lifetimes, events, and the hooks the signal
//! channel calls.

use alloc::collections::BTreeMap;
use alloc::string::String;

use dots_codec::data::{
    Acl, ActivationType, Alias, ErrorTag, ErrorType, RestconfError, Statistics,
};

use super::config::{DataServerConfig, MIN_LIFETIME};
use super::error::{ControlError, Failure};
use super::event::DataEvent;
use super::http::{accepts_json, Method, Request, Response};
use super::policy::{AllowAll, DataPolicy};
use super::state::{should_be_active, ClientState, Events};
use super::target::{parse_query, parse_target, Target};
use crate::time::Instant;

/// Who sent a request, as the caller's TLS layer authenticated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity<'a> {
    /// The cuid derived from the peer's credentials (RFC 9132 Section 4.4.1.1: SPKI hash of the
    /// certificate, raw public key, or PSK identity).
    pub cuid: &'a str,
    /// Whether the peer is a server-domain DOTS gateway trusted to relay requests of other
    /// clients and to supply `cdid` (RFC 9132 Section 4.4.1.2). `cdid` from any other peer is
    /// ignored.
    pub trusted_gateway: bool,
}

impl<'a> PeerIdentity<'a> {
    /// A DOTS client talking directly.
    #[must_use]
    pub const fn client(cuid: &'a str) -> PeerIdentity<'a> {
        PeerIdentity {
            cuid,
            trusted_gateway: false,
        }
    }

    /// A trusted server-domain DOTS gateway.
    #[must_use]
    pub const fn gateway(id: &'a str) -> PeerIdentity<'a> {
        PeerIdentity {
            cuid: id,
            trusted_gateway: true,
        }
    }
}

/// One entry of an RFC 9133 `acl-list`: a new activation type for an ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclControl<'a> {
    /// The ACL name.
    pub acl_name: &'a str,
    /// The new activation type; `None` keeps it (the ACL is still refreshed).
    pub activation_type: Option<ActivationType>,
}

/// Counters of the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataStats {
    /// Requests handled.
    pub requests: u64,
    /// Requests answered with an error status.
    pub errors: u64,
    /// Aliases expired.
    pub expired_aliases: u64,
    /// ACLs expired.
    pub expired_acls: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

/// Entry counts of one client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCounts {
    /// Aliases.
    pub aliases: usize,
    /// ACLs.
    pub acls: usize,
    /// ACEs over all ACLs.
    pub aces: usize,
}

/// The sans-IO DOTS data-channel server (RFC 8783): it takes parsed RESTCONF requests and
/// returns responses, keeps per-client aliases and filtering rules with their lifetimes, and
/// tells the host's filtering engine what to install through events.
///
/// # Driving it
///
/// ```text
/// loop {
///     // an HTTP request arrived on an authenticated TLS connection:
///     let response = server.handle_request(now, &peer, &request);
///     // ... write response ...
///     while let Some(event) = server.poll_event() { /* filtering engine */ }
///     // when the clock reaches server.poll_timeout(): server.handle_timeout(now)
/// }
/// ```
///
/// `now` must not go backwards; an earlier `now` is treated as the latest one seen. No state
/// changes when a request fails.
#[derive(Debug, Clone)]
pub struct DataServer<P: DataPolicy = AllowAll> {
    pub(crate) config: DataServerConfig,
    pub(crate) policy: P,
    pub(crate) clients: BTreeMap<String, ClientState>,
    pub(crate) events: Events,
    pub(crate) last_now: Instant,
    pub(crate) stats: DataStats,
    /// No entry expires before this instant (a lower bound; `MAX` when there is none).
    pub(crate) earliest: Instant,
}

impl DataServer<AllowAll> {
    /// A server with the permissive [`AllowAll`] policy.
    #[must_use]
    pub fn new(config: DataServerConfig) -> DataServer<AllowAll> {
        DataServer::with_policy(config, AllowAll)
    }
}

impl<P: DataPolicy> DataServer<P> {
    /// A server with a host policy.
    #[must_use]
    pub fn with_policy(mut config: DataServerConfig, policy: P) -> DataServer<P> {
        config.lifetime = config.lifetime.max(MIN_LIFETIME);
        while config.restconf_root.ends_with('/') {
            config.restconf_root.pop();
        }
        let events = Events {
            max: config.max_events,
            ..Events::default()
        };
        DataServer {
            config,
            policy,
            clients: BTreeMap::new(),
            events,
            last_now: Instant::ZERO,
            stats: DataStats::default(),
            earliest: Instant::MAX,
        }
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &DataServerConfig {
        &self.config
    }

    /// The host policy.
    #[must_use]
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The host policy, to update it.
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.policy
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> DataStats {
        DataStats {
            events_dropped: self.events.dropped,
            ..self.stats
        }
    }

    pub(crate) fn clock(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    /// Handles one RESTCONF request from `peer` and returns the response to send.
    pub fn handle_request(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        request: &Request<'_>,
    ) -> Response {
        let now = self.clock(now);
        self.expire(now);
        self.stats.requests = self.stats.requests.saturating_add(1);
        let mut response = self
            .dispatch(now, peer, request)
            .unwrap_or_else(Failure::into_response);
        if response.status >= 400 {
            self.stats.errors = self.stats.errors.saturating_add(1);
        }
        if request.method == Method::Head {
            response.body.clear();
        }
        response
    }

    fn dispatch(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        req: &Request<'_>,
    ) -> Result<Response, Failure> {
        if req.body.len() > self.config.max_body_len {
            return Err(Failure::new(
                413,
                ErrorType::Transport,
                ErrorTag::TooBig,
                "request body too large",
            ));
        }
        if let Some(via) = req.via {
            self.check_loop(via)?;
        }
        if req.method == Method::Other {
            return Err(Failure::new(
                501,
                ErrorType::Protocol,
                ErrorTag::OperationNotSupported,
                "method not implemented",
            ));
        }
        let target = parse_target(&self.config.restconf_root, req.path)?;
        if matches!(target, Target::ServerVendors(_) | Target::Vendors(..))
            && !self.vendor_mapping_enabled()
        {
            return Err(Failure::not_found(
                "vendor attack mappings (RFC 9244) are not enabled on this server",
            ));
        }
        if !target.allowed().contains(&req.method) {
            let mut f = Failure::new(
                405,
                ErrorType::Protocol,
                ErrorTag::OperationNotSupported,
                alloc::format!("{} is not allowed on this resource", req.method),
            );
            f.allow = Some(target.allow_header());
            return Err(f);
        }
        if req.method == Method::Options {
            let mut r = Response::status(200);
            r.allow = Some(target.allow_header());
            return Ok(r);
        }
        if let Some(accept) = req.accept {
            if !accepts_json(accept) {
                return Err(Failure::new(
                    406,
                    ErrorType::Protocol,
                    ErrorTag::InvalidValue,
                    "only application/yang-data+json is available",
                ));
            }
        }
        let query = parse_query(req.query, req.method)?;
        if let Some(cuid) = target.cuid() {
            self.authorize(peer, cuid)?;
        }
        match req.method {
            Method::Get | Method::Head => self.get(now, peer, &target, &query),
            Method::Post => self.post(now, peer, &target, &query, req),
            Method::Put => self.put(now, peer, &target, &query, req),
            Method::Patch => self.patch(now, peer, &target, req),
            Method::Delete => self.delete(peer, &target),
            Method::Options | Method::Other => Err(Failure::protocol("unreachable method")),
        }
    }

    /// RFC 8783 Section 3.4: a request whose `Via` already lists this agent is not processed.
    fn check_loop(&self, via: &str) -> Result<(), Failure> {
        if self.config.via_names.is_empty() {
            return Ok(());
        }
        let looped = via.split(',').any(|hop| {
            let mut parts = hop.split_whitespace();
            let _protocol = parts.next();
            parts.next().is_some_and(|received_by| {
                self.config
                    .via_names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(received_by))
            })
        });
        if !looped {
            return Ok(());
        }
        let mut error = RestconfError::new(ErrorType::Transport, ErrorTag::OperationFailed)
            .with_app_tag("loop-detected")
            .with_message("an infinite loop has been detected when forwarding a request");
        error.error_info = Some(serde_json::json!({ "via-header": via }));
        Err(Failure {
            status: 508,
            error: alloc::boxed::Box::new(error),
            allow: None,
        })
    }

    /// The peer may act on `cuid` at all (its own, or any when it is a trusted gateway).
    fn authorize(&self, peer: &PeerIdentity<'_>, cuid: &str) -> Result<(), Failure> {
        if !peer.trusted_gateway && self.config.bind_cuid_to_identity && peer.cuid != cuid {
            return Err(Failure::forbidden(
                "the cuid does not belong to the requesting DOTS client",
            ));
        }
        Ok(())
    }

    /// The registered client `cuid`, checked to belong to `peer`.
    pub(crate) fn owned_client(
        &self,
        peer: &PeerIdentity<'_>,
        cuid: &str,
    ) -> Result<&ClientState, Failure> {
        let c = self
            .clients
            .get(cuid)
            .ok_or_else(|| Failure::not_found("the DOTS client is not registered"))?;
        if c.owner != peer.cuid {
            return Err(Failure::forbidden(
                "the cuid is in use by another DOTS client",
            ));
        }
        if peer.trusted_gateway && self.config.require_cdid_from_gateways && c.cdid.is_none() {
            // RFC 8783 Sections 6.1 and 7.2.
            return Err(Failure::forbidden(
                "no cdid is maintained for this cuid: register again",
            ));
        }
        Ok(c)
    }

    // ---- time ----------------------------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) should next be called (no alias or ACL
    /// expires before it), or `None`. After refreshes it may be earlier than the first expiry;
    /// the call is then a no-op that tightens the deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.earliest != Instant::MAX).then_some(self.earliest)
    }

    /// The expiry of an entry created or refreshed at `now`, noted in the deadline.
    pub(crate) fn expiry(&mut self, now: Instant) -> Instant {
        let t = now + self.config.lifetime;
        self.earliest = self.earliest.min(t);
        t
    }

    /// Expires the aliases and ACLs whose lifetime has run out. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        self.expire(now);
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        if now < self.earliest {
            return;
        }
        for c in self.clients.values_mut() {
            if c.next_expiry().is_none_or(|t| t > now) {
                continue;
            }
            let cuid = c.cuid.clone();
            let events = &mut self.events;
            let stats = &mut self.stats;
            c.aliases.retain(|e| {
                let keep = e.expires > now;
                if !keep {
                    stats.expired_aliases = stats.expired_aliases.saturating_add(1);
                    events.push(DataEvent::AliasExpired {
                        cuid: cuid.clone(),
                        alias: e.alias.name.clone(),
                    });
                }
                keep
            });
            c.acls.retain(|e| {
                let keep = e.expires > now;
                if !keep {
                    stats.expired_acls = stats.expired_acls.saturating_add(1);
                    events.push(DataEvent::AclExpired {
                        cuid: cuid.clone(),
                        acl: e.acl.name.clone(),
                        was_active: e.active,
                    });
                }
                keep
            });
        }
        self.earliest = self
            .clients
            .values()
            .filter_map(ClientState::next_expiry)
            .min()
            .unwrap_or(Instant::MAX);
    }

    /// The next event for the host, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<DataEvent> {
        self.events.queue.pop_front()
    }

    // ---- queries and hooks for the host and the signal channel ---------------------------

    /// Whether `cuid` is registered.
    #[must_use]
    pub fn is_registered(&self, cuid: &str) -> bool {
        self.clients.contains_key(cuid)
    }

    /// The registered cuids.
    pub fn clients(&self) -> impl Iterator<Item = &str> + '_ {
        self.clients.keys().map(String::as_str)
    }

    /// The cdid stored for a client (supplied by a trusted gateway).
    #[must_use]
    pub fn cdid(&self, cuid: &str) -> Option<&str> {
        self.clients.get(cuid).and_then(|c| c.cdid.as_deref())
    }

    /// Entry counts of a client.
    #[must_use]
    pub fn client_counts(&self, cuid: &str) -> Option<ClientCounts> {
        self.clients.get(cuid).map(|c| ClientCounts {
            aliases: c.aliases.len(),
            acls: c.acls.len(),
            aces: c.ace_count(),
        })
    }

    /// Resolves an alias name of a client into its targets (for `alias-name` in signal-channel
    /// mitigation requests, RFC 9132 Section 4.4.1.3). `None` when the client did not create
    /// it.
    #[must_use]
    pub fn alias(&self, cuid: &str, name: &str) -> Option<&Alias> {
        let c = self.clients.get(cuid)?;
        c.aliases
            .iter()
            .find(|e| e.alias.name == name)
            .map(|e| &e.alias)
    }

    /// A client's aliases.
    pub fn aliases<'s>(&'s self, cuid: &str) -> impl Iterator<Item = &'s Alias> + 's {
        self.clients
            .get(cuid)
            .into_iter()
            .flat_map(|c| c.aliases.iter().map(|e| &e.alias))
    }

    /// An ACL of a client (configuration, plus statistics the host set).
    #[must_use]
    pub fn acl(&self, cuid: &str, name: &str) -> Option<&Acl> {
        let c = self.clients.get(cuid)?;
        c.acls.iter().find(|e| e.acl.name == name).map(|e| &e.acl)
    }

    /// A client's ACLs, in user order.
    pub fn acls<'s>(&'s self, cuid: &str) -> impl Iterator<Item = &'s Acl> + 's {
        self.clients
            .get(cuid)
            .into_iter()
            .flat_map(|c| c.acls.iter().map(|e| &e.acl))
    }

    /// Whether an ACL is currently enforced.
    #[must_use]
    pub fn is_acl_active(&self, cuid: &str, name: &str) -> Option<bool> {
        let c = self.clients.get(cuid)?;
        c.acls.iter().find(|e| e.acl.name == name).map(|e| e.active)
    }

    /// A client's ACLs with activation type `activate-when-mitigating`.
    pub fn acls_activated_when_mitigating<'s>(
        &'s self,
        cuid: &str,
    ) -> impl Iterator<Item = &'s Acl> + 's {
        self.acls(cuid)
            .filter(|a| a.effective_activation_type() == ActivationType::ActivateWhenMitigating)
    }

    /// A mitigation of `cuid` started: its `activate-when-mitigating` ACLs become active
    /// (RFC 8783 Section 7.2: only those "bound to the DOTS client that triggered the
    /// mitigation"). Idempotent. Returns how many ACLs were activated.
    pub fn mitigation_started(&mut self, now: Instant, cuid: &str) -> Result<usize, ControlError> {
        self.set_mitigating(now, cuid, true)
    }

    /// The last mitigation of `cuid` ended: its `activate-when-mitigating` ACLs become
    /// inactive. Idempotent. Returns how many ACLs were deactivated.
    pub fn mitigation_ended(&mut self, now: Instant, cuid: &str) -> Result<usize, ControlError> {
        self.set_mitigating(now, cuid, false)
    }

    fn set_mitigating(
        &mut self,
        now: Instant,
        cuid: &str,
        on: bool,
    ) -> Result<usize, ControlError> {
        let now = self.clock(now);
        self.expire(now);
        let c = self
            .clients
            .get_mut(cuid)
            .ok_or_else(|| ControlError::UnknownClient { cuid: cuid.into() })?;
        c.mitigating = on;
        let mut n = 0;
        for e in &mut c.acls {
            let want = should_be_active(e.acl.effective_activation_type(), on);
            if want != e.active {
                self.events
                    .transition(&c.cuid, &e.acl.name, e.active, want, false);
                e.active = want;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Applies an RFC 9133 `acl-list`: sets the activation type of the named ACLs, enforces it
    /// at once and refreshes their lifetime (RFC 9133 Section 3.2.1). All or nothing: an
    /// unknown name changes nothing and gives [`ControlError::UnknownAcl`] (the signal channel
    /// answers 4.04).
    pub fn set_activation_types(
        &mut self,
        now: Instant,
        cuid: &str,
        list: &[AclControl<'_>],
    ) -> Result<(), ControlError> {
        let now = self.clock(now);
        self.expire(now);
        let c = self
            .clients
            .get(cuid)
            .ok_or_else(|| ControlError::UnknownClient { cuid: cuid.into() })?;
        if let Some(missing) = list.iter().find(|x| c.acl_index(x.acl_name).is_none()) {
            return Err(ControlError::UnknownAcl {
                name: missing.acl_name.into(),
            });
        }
        let expires = self.expiry(now);
        let Some(c) = self.clients.get_mut(cuid) else {
            return Ok(());
        };
        for x in list {
            let Some(e) = c.acls.iter_mut().find(|e| e.acl.name == x.acl_name) else {
                continue;
            };
            if let Some(t) = x.activation_type {
                e.acl.activation_type = Some(t);
            }
            e.expires = expires;
            let want = should_be_active(e.acl.effective_activation_type(), c.mitigating);
            self.events
                .transition(&c.cuid, &e.acl.name, e.active, want, false);
            e.active = want;
        }
        Ok(())
    }

    /// Records the counters the filtering engine measured for an ACE, shown in GET responses
    /// (`statistics`, RFC 8783 Section 7.3).
    pub fn set_ace_statistics(
        &mut self,
        cuid: &str,
        acl: &str,
        ace: &str,
        statistics: Statistics,
    ) -> Result<(), ControlError> {
        let c = self
            .clients
            .get_mut(cuid)
            .ok_or_else(|| ControlError::UnknownClient { cuid: cuid.into() })?;
        let e = c
            .acls
            .iter_mut()
            .find(|e| e.acl.name == acl)
            .ok_or_else(|| ControlError::UnknownAcl { name: acl.into() })?;
        let a = e
            .acl
            .aces
            .as_mut()
            .and_then(|a| a.ace.iter_mut().find(|x| x.name == ace))
            .ok_or_else(|| ControlError::UnknownAce { name: ace.into() })?;
        a.statistics = Some(statistics);
        Ok(())
    }

    /// Removes every client with its entries (each ACL with an `AclDeleted` event).
    pub fn clear(&mut self) {
        let cuids: alloc::vec::Vec<String> = self.clients.keys().cloned().collect();
        for cuid in cuids {
            self.remove_client(&cuid);
        }
    }

    pub(crate) fn remove_client(&mut self, cuid: &str) {
        if let Some(c) = self.clients.remove(cuid) {
            for e in &c.acls {
                self.events.push(DataEvent::AclDeleted {
                    cuid: c.cuid.clone(),
                    acl: e.acl.name.clone(),
                    was_active: e.active,
                });
            }
            self.events
                .push(DataEvent::ClientDeregistered { cuid: c.cuid });
        }
    }
}
