//! The enumerations of the DOTS signal channel: their YANG names (JSON) and values (CBOR).

macro_rules! dots_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:literal, $yang:literal; )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )*
        }

        impl $name {
            /// Every value, in numeric order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The numeric value used in CBOR.
            pub const fn value(self) -> u8 {
                self as u8
            }

            /// The enumeration name used in JSON (RFC 7951).
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $yang, )*
                }
            }

            /// The variant with numeric value `v`, if defined.
            pub const fn from_value(v: u64) -> Option<$name> {
                match v {
                    $( $value => Some($name::$variant), )*
                    _ => None,
                }
            }

            /// The variant named `name` (exact match), if defined.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $( $yang => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

dots_enum! {
    /// Mitigation `status` (RFC 9132 Table 3, IANA "DOTS Signal Channel Status Codes").
    pub enum MitigationStatus {
        /// 1: attack mitigation setup is in progress.
        InProgress = 1, "attack-mitigation-in-progress";
        /// 2: attack is being successfully mitigated.
        SuccessfullyMitigated = 2, "attack-successfully-mitigated";
        /// 3: attack has stopped and the DOTS client can withdraw the request.
        AttackStopped = 3, "attack-stopped";
        /// 4: attack has exceeded the mitigation provider capability.
        ExceededCapability = 4, "attack-exceeded-capability";
        /// 5: DOTS client has withdrawn the mitigation request; the mitigation is active but
        /// terminating.
        ClientWithdrawn = 5, "dots-client-withdrawn-mitigation";
        /// 6: attack mitigation is now terminated.
        Terminated = 6, "attack-mitigation-terminated";
        /// 7: attack mitigation is withdrawn by the DOTS server (for a `trigger-mitigation = false`
        /// request overlapping an immediate one: sent four times, then the status becomes 8).
        Withdrawn = 7, "attack-mitigation-withdrawn";
        /// 8: the mitigation will be triggered only when the signal channel session is lost
        /// (a pre-configured request with `trigger-mitigation = false`).
        SignalLoss = 8, "attack-mitigation-signal-loss";
    }
}

dots_enum! {
    /// `conflict-status` (RFC 9132 Section 4.4.1.3, IANA "Conflict Status Codes").
    pub enum ConflictStatus {
        /// 1: this request is inactive; another, conflicting one is active.
        RequestInactiveOtherActive = 1, "request-inactive-other-active";
        /// 2: this request is active.
        RequestActive = 2, "request-active";
        /// 3: all conflicting requests are inactive.
        AllRequestsInactive = 3, "all-requests-inactive";
    }
}

dots_enum! {
    /// `conflict-cause` (RFC 9132 Section 4.4.1.3 and RFC 9244 Section 13.2, IANA "Conflict Cause
    /// Codes").
    pub enum ConflictCause {
        /// 1: overlapping targets (`conflict-scope` gives details).
        OverlappingTargets = 1, "overlapping-targets";
        /// 2: conflicts with an existing accept-list.
        ConflictWithAcceptlist = 2, "conflict-with-acceptlist";
        /// 3: the `cuid` is already in use by another client.
        CuidCollision = 3, "cuid-collision";
        /// 4: the attack traffic was classified as legitimate traffic (RFC 9066 Sections 5.3.1
        /// and 7.2).
        RequestRejectedLegitimateTraffic = 4, "request-rejected-legitimate-traffic";
        /// 5: overlapping pipe scope (RFC 9244 Sections 7.5 and 13.2).
        OverlappingPipes = 5, "overlapping-pipes";
    }
}

dots_enum! {
    /// `attack-status` in an efficacy update (RFC 9132 Table 4).
    pub enum AttackStatus {
        /// 1: the client is still under attack.
        UnderAttack = 1, "under-attack";
        /// 2: the attack is successfully mitigated.
        SuccessfullyMitigated = 2, "attack-successfully-mitigated";
    }
}

dots_enum! {
    /// ACL `activation-type` (RFC 8783 Section 4.3, used by RFC 9133's `acl-list`).
    pub enum ActivationType {
        /// 1: activate when a mitigation is active.
        ActivateWhenMitigating = 1, "activate-when-mitigating";
        /// 2: activate immediately.
        Immediate = 2, "immediate";
        /// 3: installed but deactivated.
        Deactivate = 3, "deactivate";
    }
}

pub(crate) use dots_enum;
