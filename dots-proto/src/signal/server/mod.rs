//! The DOTS signal-channel server core (RFC 9132 Sections 4.4–4.7, RFC 9133 `acl-list`, RFC
//! 9244 telemetry, RFC 9066 call home, RFC 9362 Q-Block parameters), independent of the CoAP
//! transaction layer.
//!
//! The session layer authenticates the peer ((D)TLS), runs CoAP (message ids, tokens,
//! retransmissions, block-wise, Observe tokens, heartbeats) and hands each request it has parsed
//! to [`SignalServer::handle_request`]: the core decides the response (code, Max-Age, CBOR body
//! written into the caller's buffer), changes its state, and queues events for the host's
//! mitigator and notifications for observers.
//!
//! # Driving it
//!
//! ```text
//! // a request arrived from an authenticated peer:
//! match server.handle_request(now, &peer, &request, &mut buf)? {
//!     Handled::Respond(r) => send r.code, r.max_age, r.content_format, &buf[..r.payload_len]
//!                           (and map r.observe to the CoAP observer table),
//!     Handled::Ignore => send nothing (empty ACK if CON),
//! }
//! while let Some(event) = server.poll_event() { /* mitigator, session parameters */ }
//! while let Some(n) = server.poll_notification(now, &mut buf)? { /* NON 2.05 to observers */ }
//! // the mitigator reports: server.set_mitigation_status(now, cuid, mid, Some(status), stats)
//! //   and its telemetry: set_scope_telemetry(now, cuid, mid, ..) (RFC 9244 Section 9.2),
//! //   set_attack_telemetry(now, cuid, tmid, ..) (Section 8.3)
//! // the heartbeat layer declares a session dead: server.session_lost(now, cuid)
//! // when the clock reaches server.poll_timeout(): server.handle_timeout(now), then
//! //   poll_notification (paced RFC 9244 notifications come due there)
//! // the transaction layer reads session_params(peer) (and .qblock() for RFC 9362 Q-Block)
//! //   on ServerEvent::SessionConfigChanged
//! ```
//!
//! A notification names its observations: `observers` (RFC 9132 ones) and `queries`
//! ([`ObserveTarget::FilteredMitigations`], [`ObserveTarget::Telemetry`]); `last`/`ended` say
//! which end with it. A GET re-registration with the same token (RFC 7641 Section 4.1) is the
//! session's business: pass it without Observe and keep the token (the core would see a
//! filtered one as an overlapping registration, 4.09).
//!
//! `now` must not go backwards (an earlier `now` counts as the latest one seen). A request that
//! is refused changes nothing (the rate limiter's token excepted).
//!
//! # Identities
//!
//! The caller passes the [`PeerIdentity`] it authenticated: the cuid derived from the peer's
//! credentials and whether the peer is a trusted server-domain gateway. A `cdid` Uri-Path
//! parameter counts only from such a gateway and is ignored otherwise (RFC 9132 Section
//! 4.4.1.2). The first peer to use a cuid owns it; another peer using it gets 4.09 with
//! `conflict-cause` 3 only (RFC 9132 Section 4.4.1.1, Figure 11). Session configuration
//! (`/config`) belongs to the peer itself (Section 4.5.2: "the 'cuid' Uri-Path MUST NOT be
//! used"), keyed by the peer's cuid.
//!
//! # What each request gets
//!
//! | request | answer |
//! |---|---|
//! | PUT `/mitigate/cuid/mid`, new `mid` | 2.01 `{mid, lifetime}` (granted); 4.00 invalid (diagnostic); 4.09 overlap with a higher `mid` of the client (`conflict-cause` 1, `conflict-scope` with that `mid`); 2.01 or 4.09 with `conflict-information` for another client's active overlapping mitigation; 4.13 beyond the model's limits; 5.03 + Max-Age over quota or refused by the host |
//! | PUT, same `mid` | 2.04 when only `lifetime` changed (a refresh), 4.00 otherwise |
//! | PUT with If-Match | efficacy update: 2.04; unknown `mid`: no response |
//! | GET `/mitigate/cuid[/mid]` | 2.05 with the scopes (status, remaining lifetime, counters; `c=` filter), 4.04 when none; Observe=0 registers |
//! | DELETE `/mitigate/cuid/mid` | 2.02 always; an active mitigation becomes active-but-terminating (status 5) |
//! | GET/PUT/DELETE `/config[/sid]` | 2.05 (+ Max-Age) / 2.01, 2.04, 4.00, 4.22 / 2.02 |
//! | PUT `/hb` | 2.04 (body in [`Response::heartbeat`]) |
//! | GET `/mitigate...` with RFC 9244 Uri-Query filters | the mitigations selected; 4.04 when a given `mid` does not match; 4.00 for an invalid or unsupported query; a filtered Observe=0 overlapping an existing observation: 4.09 |
//! | `/tm-setup`, `/tm` (RFC 9244) | see the `telemetry` and `telemetry_tm` modules; 4.04 without [`ServerConfig::telemetry`] |
//! | PUT `/mitigate` with call-home attributes (RFC 9066) | as above, plus the host's [`SignalHooks::check_sources`]: 4.09 `conflict-cause` 2 (accept-list) or 4, 4.00 outside the domain |
//! | PUT `/redirect` (RFC 9066) | 2.01 + [`ServerEvent::CallHomeRedirect`] with [`ServerConfig::call_home`], 4.04 without |
//! | any request over the rate limit | 4.29 + Max-Age |
//!
//! Errors with a diagnostic carry UTF-8 text without Content-Format (RFC 7252 Section 5.5.2,
//! RFC 9132 Section 9); 4.09 and the 5.03 of a failed `acl-list` carry `application/dots+cbor`.

mod callhome;
mod config;
mod encode;
mod event;
mod hooks;
mod index;
mod lifecycle;
mod mitigate;
mod request;
mod session;
mod snapshot;
mod sorted;
mod state;
mod telemetry;
mod telemetry_encode;
mod telemetry_query;
mod telemetry_tm;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{MitigationStatus, Scope};
use dots_codec::path::{parse_path, parse_query, DotsPath, Query};

pub use config::{
    default_session_config, ConflictDecision, Quotas, RateLimit, ServerConfig, CONFIG_MAX_AGE,
    MAX_ID_LEN, MAX_TERMINATING_PERIOD, MID_ROLLOVER, PRECONFIGURED_REPEATS, TERMINATING_PERIOD,
};
pub use event::{ConfigPhase, ServerEvent, TerminationReason};
pub use hooks::{AclFailure, AliasTargets, NoHooks, SignalHooks, SourceVerdict, Unavailable};
pub use request::{
    BufferTooSmall, Handled, Notification, ObserveAction, ObserveTarget, Observers, Request,
    Response,
};
pub use session::{QBlockParams, SessionParams};
pub use snapshot::{RestoreError, ServerSnapshot};
pub use state::MitigationStats;
pub use telemetry::TelemetryPolicy;

pub use crate::data::{ClientRef, PeerIdentity};

use index::GlobalIndex;
use lifecycle::Pending;
use mitigate::Fail;
use request::Diag;
use state::{Client, Owner};

use crate::time::Instant;

/// Smallest output buffer [`SignalServer::handle_request`] works with: every answer but a
/// multi-scope GET fits (one scope entry with a `conflict-scope` at the model's limits).
pub const MIN_RESPONSE_BUFFER: usize = 2048;

/// A misuse of a host-facing command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No such client.
    #[error("unknown DOTS client")]
    UnknownClient,
    /// No such mitigation for the client.
    #[error("unknown mitigation {mid}")]
    UnknownMitigation {
        /// The `mid`.
        mid: u32,
    },
    /// The host may report only statuses 1–4 and 7; 5, 6 and 8 belong to the lifecycle.
    #[error("status {status} is not the host's to set")]
    InvalidStatus {
        /// The status.
        status: MitigationStatus,
    },
    /// The mitigation is not running (preconfigured and waiting, or withdrawn), so it has no
    /// mitigation status to report.
    #[error("mitigation {mid} is not active")]
    NotActive {
        /// The `mid`.
        mid: u32,
    },
    /// Session defaults that are not a valid server configuration.
    #[error("invalid session configuration defaults")]
    InvalidDefaults,
    /// No such pre-or-ongoing-mitigation telemetry (`tmid`) for the client.
    #[error("unknown telemetry {tmid}")]
    UnknownTelemetry {
        /// The `tmid`.
        tmid: u32,
    },
    /// The client did not ask for server-originated telemetry (its `current-config` has no
    /// `server-originated-telemetry` true, RFC 9244 Section 7.1.2), or the server does not
    /// support telemetry.
    #[error("the client did not ask for server-originated telemetry")]
    TelemetryNotRequested,
    /// Telemetry that does not validate as a server's (RFC 9244 Sections 8.1 and 9.2).
    #[error("invalid telemetry")]
    InvalidTelemetry,
}

/// Counters of the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Requests handled.
    pub requests: u64,
    /// Requests answered with 4.xx or 5.xx.
    pub errors: u64,
    /// Requests silently ignored (efficacy updates for unknown `mid`s).
    pub ignored: u64,
    /// Requests refused by the rate limit (4.29).
    pub rate_limited: u64,
    /// Mitigations expired.
    pub expired: u64,
    /// Notifications produced.
    pub notifications: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

/// A view of one stored mitigation, for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MitigationInfo {
    /// `mid`.
    pub mid: u32,
    /// Current status.
    pub status: MitigationStatus,
    /// The request as stored (no `lifetime`, no `attack-status`).
    pub scope: Scope,
    /// The alias targets resolved at creation.
    pub aliases: Vec<AliasTargets>,
    /// `trigger-mitigation`.
    pub trigger_mitigation: bool,
    /// The granted lifetime.
    pub granted: dots_codec::model::Lifetime,
    /// When the lifetime (or the active-but-terminating period) ends; `Instant::MAX` when
    /// indefinite.
    pub deadline: Instant,
    /// The counters last reported.
    pub stats: MitigationStats,
    /// The last `attack-status` of an efficacy update.
    pub attack_status: Option<dots_codec::model::AttackStatus>,
}

/// The sans-IO DOTS signal-channel server core: per-client mitigation tables with the full
/// RFC 9132 lifecycle, conflict detection, session configuration, observers and quotas. See the
/// [module documentation](self) for the driving loop.
///
/// `H` is the host's [`SignalHooks`] (aliases, ACLs, policy); a
/// [`DataServer`](crate::data::DataServer) is one, which ties the data channel in.
#[derive(Debug)]
pub struct SignalServer<H: SignalHooks = NoHooks> {
    pub(crate) config: ServerConfig,
    pub(crate) hooks: H,
    pub(crate) clients: Vec<Option<Client>>,
    pub(crate) free: Vec<u32>,
    pub(crate) by_cuid: state::CuidMap,
    pub(crate) index: GlobalIndex,
    pub(crate) timers: sorted::SortedSet<(Instant, u32, u32)>,
    pub(crate) events: VecDeque<ServerEvent>,
    pub(crate) notify: VecDeque<Pending>,
    /// Running mitigations of gateway-relayed clients (their sessions' phase).
    pub(crate) gateway_active: u32,
    pub(crate) last_now: Instant,
    pub(crate) stats: ServerStats,
    /// RFC 9244 notification pacing.
    pub(crate) tm: telemetry::ServerTelemetry,
}

impl SignalServer<NoHooks> {
    /// A server without host hooks ([`NoHooks`]).
    #[must_use]
    pub fn new(config: ServerConfig) -> SignalServer<NoHooks> {
        SignalServer::with_hooks(config, NoHooks)
    }
}

impl<H: SignalHooks> SignalServer<H> {
    /// A server with host hooks.
    #[must_use]
    pub fn with_hooks(config: ServerConfig, hooks: H) -> SignalServer<H> {
        SignalServer {
            config,
            hooks,
            clients: Vec::new(),
            free: Vec::new(),
            by_cuid: state::CuidMap::new(),
            index: GlobalIndex::default(),
            timers: sorted::SortedSet::new(),
            events: VecDeque::new(),
            notify: VecDeque::new(),
            gateway_active: 0,
            last_now: Instant::ZERO,
            stats: ServerStats::default(),
            tm: telemetry::ServerTelemetry::default(),
        }
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The host hooks.
    #[must_use]
    pub fn hooks(&self) -> &H {
        &self.hooks
    }

    /// The host hooks, to update them (e.g. the data-channel server).
    pub fn hooks_mut(&mut self) -> &mut H {
        &mut self.hooks
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    pub(crate) fn clock(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    // ---- client slab -----------------------------------------------------------------------

    pub(crate) fn slot_of(&self, cuid: &str) -> Option<u32> {
        self.by_cuid.get(cuid).copied()
    }

    pub(crate) fn client(&self, slot: u32) -> Option<&Client> {
        self.clients.get(slot as usize).and_then(Option::as_ref)
    }

    pub(crate) fn client_mut(&mut self, slot: u32) -> Option<&mut Client> {
        self.clients.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// Creates the client record (after every check of a request has passed).
    pub(crate) fn insert_client(&mut self, now: Instant, cuid: &str, owner: Owner) -> u32 {
        let cuid: Arc<str> = Arc::from(cuid);
        let owner = match owner {
            Owner::Peer(p) if *p == *cuid => Owner::Peer(cuid.clone()),
            o => o,
        };
        let c = Client::new(
            cuid.clone(),
            owner,
            state::Bucket::full(self.config.quotas.rate, now),
        );
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(x) = self.clients.get_mut(s as usize) {
                    *x = Some(c);
                }
                s
            }
            None => {
                self.clients.push(Some(c));
                u32::try_from(self.clients.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.by_cuid.insert(cuid, slot);
        slot
    }

    /// Drops a client record that holds nothing.
    pub(crate) fn drop_if_empty(&mut self, slot: u32) {
        if self.client(slot).is_some_and(Client::is_empty) {
            if let Some(c) = self.clients.get_mut(slot as usize).and_then(Option::take) {
                self.by_cuid.remove(&*c.cuid);
                self.free.push(slot);
            }
        }
    }

    /// Whether a new client record may be created (the `max_clients` quota).
    pub(crate) fn room_for_client(&self) -> Result<(), Fail> {
        if self.by_cuid.len() >= self.config.quotas.max_clients.min(index::MAX_SLOTS - 1) {
            Err(Fail::Unavailable(self.config.retry_after))
        } else {
            Ok(())
        }
    }

    pub(crate) fn push_event(&mut self, e: ServerEvent) {
        if self.events.len() >= self.config.max_events.max(1) {
            self.events.pop_front();
            self.stats.events_dropped = self.stats.events_dropped.saturating_add(1);
        }
        self.events.push_back(e);
    }

    // ---- requests --------------------------------------------------------------------------

    /// Handles one request of an authenticated peer; the response payload goes to `out`.
    ///
    /// `out` must hold at least [`MIN_RESPONSE_BUFFER`] bytes, else nothing is processed and
    /// the error says so; a GET whose representation does not fit fails the same way with the
    /// exact size needed (retry with a larger buffer, or serve it block-wise).
    pub fn handle_request(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        req: &Request<'_>,
        out: &mut [u8],
    ) -> Result<Handled, BufferTooSmall> {
        if out.len() < MIN_RESPONSE_BUFFER {
            return Err(BufferTooSmall {
                needed: MIN_RESPONSE_BUFFER,
            });
        }
        let now = self.clock(now);
        self.expire(now);
        self.stats.requests = self.stats.requests.saturating_add(1);
        let handled = match self.dispatch(now, peer, req, out) {
            Ok(h) => h,
            Err(Fail::TooSmall(needed)) => return Err(BufferTooSmall { needed }),
            Err(f) => self.fail(f, out),
        };
        match &handled {
            Handled::Respond(r) if r.code.is_error() => {
                self.stats.errors = self.stats.errors.saturating_add(1);
            }
            Handled::Ignore => self.stats.ignored = self.stats.ignored.saturating_add(1),
            Handled::Respond(_) => {}
        }
        Ok(handled)
    }

    fn dispatch(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        req: &Request<'_>,
        out: &mut [u8],
    ) -> Result<Handled, Fail> {
        let path = parse_path(req.uri_path.iter().copied()).map_err(Fail::Path)?;
        // No Uri-Query (the usual request) is the empty query, built in place.
        let query = if req.uri_query.is_empty() {
            Query::default()
        } else {
            parse_query(req.uri_query.iter().copied()).map_err(Fail::Path)?
        };
        if let Some(cf) = req.content_format {
            // RFC 9132 Section 9: "4.15 ... when the Content-Format is used but the request is
            // not formatted as application/dots+cbor".
            if cf != ContentFormat::DOTS_CBOR {
                return Err(Fail::diag(
                    Code::UNSUPPORTED_CONTENT_FORMAT,
                    "only application/dots+cbor (271) is accepted",
                ));
            }
        }
        if let Some(a) = req.accept {
            if a != ContentFormat::DOTS_CBOR {
                return Err(Fail::diag(
                    Code::NOT_ACCEPTABLE,
                    "only application/dots+cbor (271) is available",
                ));
            }
        }
        let allowed: &[Code] = match path {
            DotsPath::Heartbeat | DotsPath::Redirect { .. } => &[Code::PUT],
            _ => &[Code::GET, Code::PUT, Code::DELETE],
        };
        if !allowed.contains(&req.code) {
            return Err(Fail::diag(
                Code::METHOD_NOT_ALLOWED,
                "method not allowed on this resource",
            ));
        }
        match path {
            DotsPath::Mitigate { cdid, cuid, mid } => {
                if cuid.len() > MAX_ID_LEN || cdid.is_some_and(|c| c.len() > MAX_ID_LEN) {
                    return Err(Fail::diag(Code::BAD_REQUEST, "cuid or cdid too long"));
                }
                // RFC 9132 Section 4.4.1.2: cdid counts only from a trusted gateway.
                let cdid = cdid.filter(|_| peer.trusted_gateway);
                let slot = self.check_owner(now, peer, cuid, false)?;
                let ctx = mitigate::Ctx {
                    peer,
                    cuid,
                    cdid,
                    slot,
                };
                match req.code {
                    Code::PUT if req.if_match => self.efficacy_update(now, &ctx, mid, req, out),
                    Code::PUT => self.put_mitigation(now, &ctx, mid, req, out),
                    Code::DELETE => self.delete_mitigation(now, &ctx, mid),
                    _ => {
                        let filters = self.parse_filters(
                            req.uri_query,
                            dots_codec::query::QuerySet::MITIGATION,
                        )?;
                        self.get_mitigations(now, &ctx, mid, &filters, req.observe, out)
                    }
                }
            }
            DotsPath::TelemetrySetup { cdid, cuid, tsid } => {
                self.tm_policy()?;
                let ctx = self.client_ctx(now, peer, cdid, cuid)?;
                match req.code {
                    Code::PUT => self.put_setup(now, &ctx, tsid, req),
                    Code::DELETE => self.delete_setup(now, &ctx, tsid),
                    _ => self.get_setup(&ctx, tsid, query.content(), out),
                }
            }
            DotsPath::Telemetry { cdid, cuid, tmid } => {
                self.tm_policy()?;
                let ctx = self.client_ctx(now, peer, cdid, cuid)?;
                match req.code {
                    Code::PUT => self.put_tm(now, &ctx, tmid, req),
                    Code::DELETE => self.delete_tm(&ctx, tmid),
                    _ => self.get_tm(now, &ctx, tmid, req, out),
                }
            }
            DotsPath::Redirect { cdid, cuid, .. } if self.config.call_home => {
                let ctx = self.client_ctx(now, peer, cdid, cuid)?;
                self.redirect(&ctx, req)
            }
            DotsPath::Config { sid } => {
                let slot = self.check_owner(now, peer, peer.cuid, true)?;
                match req.code {
                    Code::PUT => self.put_config(now, peer, slot, sid, req),
                    Code::DELETE => self.delete_config(peer, slot, sid),
                    _ => self.get_config(now, peer, slot, sid, req.observe, out),
                }
            }
            DotsPath::Heartbeat => self.heartbeat(req),
            _ => Err(Fail::diag(Code::NOT_FOUND, "no such DOTS resource here")),
        }
    }

    /// The client a `/tm-setup`, `/tm` or `/redirect` request is about, as for `/mitigate`.
    fn client_ctx<'a, 'p>(
        &mut self,
        now: Instant,
        peer: &'a PeerIdentity<'p>,
        cdid: Option<&'a str>,
        cuid: &'a str,
    ) -> Result<mitigate::Ctx<'a, 'p>, Fail> {
        if cuid.len() > MAX_ID_LEN || cdid.is_some_and(|c| c.len() > MAX_ID_LEN) {
            return Err(Fail::diag(Code::BAD_REQUEST, "cuid or cdid too long"));
        }
        let cdid = cdid.filter(|_| peer.trusted_gateway);
        let slot = self.check_owner(now, peer, cuid, false)?;
        Ok(mitigate::Ctx {
            peer,
            cuid,
            cdid,
            slot,
        })
    }

    /// The cuid ownership check and the rate limit; returns the client's slot if it exists.
    /// `session`: the record is the peer's own (`/config`), whatever its gateway role.
    fn check_owner(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        session: bool,
    ) -> Result<Option<u32>, Fail> {
        let Some(slot) = self.slot_of(cuid) else {
            return Ok(None);
        };
        let limit = self.config.quotas.rate;
        let c = self.client_mut(slot).ok_or(Fail::Internal)?;
        let ok = match &c.owner {
            Owner::Peer(p) => (session || !peer.trusted_gateway) && **p == *peer.cuid,
            Owner::Gateway => peer.trusted_gateway && !session,
        };
        if !ok {
            // RFC 9132 Section 4.4.1.1 and Figure 11.
            return Err(Fail::CuidCollision);
        }
        if let Some(limit) = limit {
            if let Err(after) = c.bucket.take(limit, now) {
                self.stats.rate_limited = self.stats.rate_limited.saturating_add(1);
                return Err(Fail::RateLimited(after));
            }
        }
        Ok(Some(slot))
    }

    fn fail(&mut self, f: Fail, out: &mut [u8]) -> Handled {
        match f {
            Fail::Ignore => Handled::Ignore,
            Fail::TooSmall(_) | Fail::Internal => {
                Handled::Respond(Response::new(Code::INTERNAL_SERVER_ERROR))
            }
            Fail::Unavailable(after) => {
                let mut r = Response::new(Code::SERVICE_UNAVAILABLE);
                r.max_age = Some(after);
                r.payload_len = Diag::write(
                    out,
                    format_args!("the server cannot take this request now; retry later"),
                );
                Handled::Respond(r)
            }
            Fail::RateLimited(after) => {
                let mut r = Response::new(Code::TOO_MANY_REQUESTS);
                r.max_age = Some(after);
                r.payload_len = Diag::write(out, format_args!("request rate limit reached"));
                Handled::Respond(r)
            }
            Fail::CuidCollision => {
                encode::conflict_response(Code::CONFLICT, encode::cuid_collision(), None, out)
            }
            Fail::Conflict(info) => encode::conflict_response(Code::CONFLICT, *info, None, out),
            Fail::AclFailed {
                mid,
                failed,
                retry_after,
            } => encode::acl_failure(mid, &failed, retry_after, out),
            other => {
                let code = other.code();
                let mut r = Response::new(code);
                r.payload_len = Diag::write(out, format_args!("{other}"));
                Handled::Respond(r)
            }
        }
    }

    // ---- queries ---------------------------------------------------------------------------

    /// Number of clients with state.
    #[must_use]
    pub fn client_count(&self) -> usize {
        self.by_cuid.len()
    }

    /// Number of stored mitigation requests, every client and status.
    #[must_use]
    pub fn mitigation_count(&self) -> usize {
        self.clients
            .iter()
            .flatten()
            .map(|c| c.mitigations.len())
            .sum()
    }

    /// The `mid`s stored for a client, ascending.
    pub fn mids<'s>(&'s self, cuid: &str) -> impl Iterator<Item = u32> + 's {
        self.slot_of(cuid)
            .and_then(|s| self.client(s))
            .into_iter()
            .flat_map(|c| c.mitigations.iter().map(|m| m.mid))
    }

    /// One stored mitigation.
    #[must_use]
    pub fn mitigation(&self, cuid: &str, mid: u32) -> Option<MitigationInfo> {
        let c = self.client(self.slot_of(cuid)?)?;
        let m = c.get(mid)?;
        let scope = encode::stored_request(m).entry.scope;
        Some(MitigationInfo {
            mid,
            status: m.status,
            scope,
            aliases: m.aliases().to_vec(),
            trigger_mitigation: m.trigger,
            granted: m.granted,
            deadline: m.deadline(),
            stats: m.counters.get(),
            attack_status: m.attack_status,
        })
    }

    /// Whether any mitigation of the client is running (status 1–5).
    #[must_use]
    pub fn is_mitigating(&self, cuid: &str) -> bool {
        self.slot_of(cuid)
            .and_then(|s| self.client(s))
            .is_some_and(|c| c.active > 0)
    }

    /// The client's observe registrations.
    pub fn observations<'s>(&'s self, cuid: &str) -> impl Iterator<Item = ObserveTarget> + 's {
        let c = self.slot_of(cuid).and_then(|s| self.client(s));
        let all = c
            .filter(|c| c.observe_all)
            .map(|_| ObserveTarget::AllMitigations);
        let config = c
            .filter(|c| c.observe_config)
            .map(|_| ObserveTarget::Config);
        let mids = c.into_iter().flat_map(|c| {
            c.mitigations
                .iter()
                .filter(|m| m.observed)
                .map(|m| ObserveTarget::Mitigation(m.mid))
        });
        let queries = c
            .and_then(|c| c.telemetry.as_deref())
            .into_iter()
            .flat_map(|t| {
                t.observers
                    .iter()
                    .map(telemetry_query::QueryObserver::target)
            });
        all.into_iter().chain(config).chain(mids).chain(queries)
    }

    /// The clients with state, as cuids.
    pub fn clients(&self) -> impl Iterator<Item = &str> + '_ {
        self.by_cuid.keys().map(|k| &**k)
    }

    /// Checks the internal invariants: every index entry belongs to a stored request and every
    /// stored request's targets are indexed; timers match deadlines; counts of running
    /// mitigations and observers match the records; no two requests of one client with the same
    /// `trigger-mitigation` overlap. A debugging aid for tests and fuzzing; `Err` describes the
    /// first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        lifecycle::check_invariants(self)
    }
}
