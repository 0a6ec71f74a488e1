//! Events for the host: what its mitigator must start, stop or update, and what the session
//! layer must apply.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use dots_codec::model::telemetry::{PreOrOngoingMitigation, SetupData, TelemetryTarget};
use dots_codec::model::{AttackStatus, Lifetime, RedirectedSignal, Scope, ScopeTelemetry};

use super::hooks::AliasTargets;
use crate::time::Instant;

/// Which session-configuration set applies (RFC 9132 Section 4.5: "DOTS agents MUST follow the
/// appropriate configuration set as a function of the mitigation activity").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigPhase {
    /// No mitigation of the session's clients is active: `idle-config`.
    Idle,
    /// At least one is active: `mitigating-config`.
    Mitigating,
}

/// Why a mitigation stopped before its lifetime ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TerminationReason {
    /// The active-but-terminating period after the client's DELETE elapsed (RFC 9132 Section
    /// 4.4.4).
    WithdrawalElapsed,
    /// The client sent a request with a higher `mid` and an overlapping scope; the overlapped
    /// request is deleted (RFC 9132 Section 4.4.1.3).
    Replaced {
        /// The `mid` that replaced it.
        by: u32,
    },
    /// The client deleted a preconfigured request that was not active.
    Deleted,
    /// A preconfigured request active since a signal loss was overridden by an immediate
    /// request with an overlapping scope: status 7, then 8 (RFC 9132 Section 4.4.1.3).
    ImmediatePrecedence,
    /// The session was lost and a preconfigured request of the client overlaps this immediate
    /// one, which the server withdraws (status 7; RFC 9132 Section 4.4.1.3).
    PreconfiguredPrecedence,
    /// A preconfigured request reported `attack-stopped` four times and went back to waiting
    /// for a signal loss (status 8; RFC 9132 Table 3).
    ReturnedToPreconfigured,
    /// The host withdrew it (status 7).
    ServerWithdrawn,
}

/// Something the host acts on, from [`SignalServer::poll_event`](super::SignalServer::poll_event).
///
/// `cuid` is shared with the server's own tables (cloning it does not allocate).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A new mitigation request was accepted (2.01). When `trigger_mitigation` is true the
    /// mitigation should start now; when false it is preconfigured and starts only on
    /// [`ServerEvent::TriggeredBySignalLoss`].
    MitigationRequested {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// The scope as the client sent it (`lifetime` is the granted one).
        scope: Box<Scope>,
        /// The targets of its aliases, in `alias-name` order.
        aliases: Vec<AliasTargets>,
        /// The granted lifetime.
        lifetime: Lifetime,
        /// `trigger-mitigation`.
        trigger_mitigation: bool,
    },
    /// A refresh (2.04): same parameters, new lifetime.
    MitigationUpdated {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// The granted lifetime from now.
        lifetime: Lifetime,
    },
    /// An efficacy update (RFC 9132 Section 4.4.3), also a refresh.
    EfficacyUpdate {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// `attack-status` as the client sees it.
        attack_status: AttackStatus,
        /// The granted lifetime from now.
        lifetime: Lifetime,
    },
    /// The client withdrew the request (DELETE): keep mitigating until `until` (the
    /// active-but-terminating period); a [`ServerEvent::MitigationTerminated`] follows.
    MitigationWithdrawn {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// End of the active-but-terminating period.
        until: Instant,
    },
    /// Stop the mitigation now (when `was_active`); the request is gone or inactive.
    MitigationTerminated {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// Why.
        reason: TerminationReason,
        /// Whether the mitigation was running.
        was_active: bool,
    },
    /// The lifetime ran out without a refresh: the request is removed; stop the mitigation
    /// (when `was_active`).
    MitigationExpired {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// Whether the mitigation was running.
        was_active: bool,
    },
    /// The signal session of the client was lost: start this preconfigured request (RFC 9132
    /// Section 4.7). A session recovery does not stop it (Section 4.4.4).
    TriggeredBySignalLoss {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// Its scope.
        scope: Box<Scope>,
        /// The targets of its aliases.
        aliases: Vec<AliasTargets>,
    },
    /// The request overlaps an active mitigation of another client (RFC 9132 Section
    /// 4.4.1.3); `accepted` tells the decision.
    CrossClientConflict {
        /// The requesting client.
        cuid: Arc<str>,
        /// Its request.
        mid: u32,
        /// The client holding the other mitigation.
        other_cuid: Arc<str>,
        /// The other mitigation.
        other_mid: u32,
        /// Whether the request was kept (2.01) or rejected (4.09).
        accepted: bool,
    },
    /// The session configuration in force for the session of `cuid` changed (a PUT or DELETE
    /// on `/config`, a change of defaults, or the switch between idle and mitigating): read it
    /// with [`SignalServer::session_params`](super::SignalServer::session_params).
    SessionConfigChanged {
        /// The session's client (the peer's cuid).
        cuid: Arc<str>,
        /// The set now in force.
        phase: ConfigPhase,
    },
    /// [`SignalServer::session_lost`](super::SignalServer::session_lost) was called: the
    /// client's observations are gone and its preconfigured requests were triggered.
    ClientLost {
        /// Client.
        cuid: Arc<str>,
    },
    /// A telemetry setup was installed (PUT `/tm-setup`, RFC 9244 Section 7): telemetry
    /// configuration, pipe capacity (links at capacity 0 left out: they were removed) or
    /// baselines.
    TelemetrySetupInstalled {
        /// Client.
        cuid: Arc<str>,
        /// `tsid`.
        tsid: u32,
        /// What it sets.
        setup: Box<SetupData>,
    },
    /// A telemetry setup is gone: deleted, or overridden by a higher `tsid`.
    TelemetrySetupRemoved {
        /// Client.
        cuid: Arc<str>,
        /// `tsid`.
        tsid: u32,
        /// The `tsid` that overrode it.
        replaced_by: Option<u32>,
    },
    /// Pre-or-ongoing-mitigation telemetry from the client (PUT `/tm`, RFC 9244 Section 8.2).
    PreMitigationTelemetry {
        /// Client.
        cuid: Arc<str>,
        /// `tmid`.
        tmid: u32,
        /// The telemetry (`tmid` not set).
        telemetry: Box<PreOrOngoingMitigation>,
        /// The targets of its `alias-name`s.
        aliases: Vec<AliasTargets>,
    },
    /// The client asks for the server's pre-or-ongoing-mitigation telemetry on a target (PUT
    /// `/tm` with only a target, RFC 9244 Section 8.3): report it with
    /// [`SignalServer::set_attack_telemetry`](super::SignalServer::set_attack_telemetry).
    TelemetryRequested {
        /// Client.
        cuid: Arc<str>,
        /// `tmid`.
        tmid: u32,
        /// The target.
        target: Box<TelemetryTarget>,
        /// The targets of its `alias-name`s.
        aliases: Vec<AliasTargets>,
    },
    /// A `tmid` is gone: deleted, or overridden by a higher `tmid` with an overlapping target.
    TelemetryRemoved {
        /// Client.
        cuid: Arc<str>,
        /// `tmid`.
        tmid: u32,
        /// The `tmid` that overrode it.
        replaced_by: Option<u32>,
    },
    /// The telemetry of an efficacy update (RFC 9244 Section 9.1: `total-attack-traffic`,
    /// `attack-detail` as the client sees them), after [`ServerEvent::EfficacyUpdate`].
    EfficacyTelemetry {
        /// Client.
        cuid: Arc<str>,
        /// Request.
        mid: u32,
        /// The telemetry.
        telemetry: Box<ScopeTelemetry>,
    },
    /// A Call Home DOTS client redirects this Call Home DOTS server to another client (PUT
    /// `/redirect`, RFC 9066 Section 5.2.2): close this connection and connect to
    /// `alt-ch-client` (its records, for `ttl` seconds).
    CallHomeRedirect {
        /// Client.
        cuid: Arc<str>,
        /// `alt-ch-client`, `alt-ch-client-record`, `ttl`.
        redirect: Box<RedirectedSignal>,
    },
}
