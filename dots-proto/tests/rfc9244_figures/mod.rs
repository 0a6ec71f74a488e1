//! RFC 9244 request bodies as the RFC prints them (RFC 7951 JSON), shared by the telemetry
//! vector tests of the server core and of the sessions.
#![allow(dead_code, unreachable_pub)]

/// Figure 4 (tm-setup-put-01).
pub const FIG4: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"current-config": {
    "low-percentile": "5.00", "mid-percentile": "65.00", "high-percentile": "95.00"}}]}}"#;
/// Figure 5 (tm-setup-put-02).
pub const FIG5: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"current-config": {
    "low-percentile": "0.00", "mid-percentile": "0.00", "high-percentile": "95.00"}}]}}"#;
/// Figure 6 (tm-setup-put-03).
pub const FIG6: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"current-config": {
    "server-originated-telemetry": true}}]}}"#;
/// Figure 11 (tm-pipe-put-01).
pub const FIG11: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"total-pipe-capacity": [
    {"link-id": "link1", "capacity": "500", "unit": "megabit-ps"}]}]}}"#;
/// Figure 13 (tm-pipe-put-02).
pub const FIG13: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"total-pipe-capacity": [
    {"link-id": "aggregate", "capacity": "700", "unit": "megabit-ps"}]}]}}"#;
/// Figure 15 (tm-pipe-put-03).
pub const FIG15: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"total-pipe-capacity": [
    {"link-id": "link1", "capacity": "500", "unit": "megabit-ps"},
    {"link-id": "link2", "capacity": "500", "unit": "megabit-ps"}]}]}}"#;
/// Figure 17 (tm-pipe-put-04).
pub const FIG17: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"total-pipe-capacity": [
    {"link-id": "link1", "capacity": "0", "unit": "megabit-ps"},
    {"link-id": "link2", "capacity": "500", "unit": "megabit-ps"}]}]}}"#;
/// tm-neg-pipe-all-zero-01.
pub const PIPES_ALL_ZERO: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"total-pipe-capacity": [
    {"link-id": "link1", "capacity": "0", "unit": "megabit-ps"},
    {"link-id": "link2", "capacity": "0", "unit": "megabit-ps"}]}]}}"#;
/// Figure 19 (tm-baseline-put-01).
pub const FIG19: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"baseline": [{"id": 1,
    "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
    "total-traffic-normal": [{"unit": "megabit-ps", "peak-g": "60"}]}]}]}}"#;
/// Figure 20 (tm-baseline-put-02).
pub const FIG20: &str = r#"{"ietf-dots-telemetry:telemetry-setup": {"telemetry": [{"baseline": [{"id": 1,
    "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
    "total-traffic-normal-per-protocol": [{"unit": "megabit-ps", "protocol": 6, "peak-g": "50"},
        {"unit": "megabit-ps", "protocol": 17, "peak-g": "10"}]}]}]}}"#;
/// Figure 36 (tm-premitigation-put-01).
pub const FIG36: &str = r#"{"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [{
    "target": {"target-prefix": ["2001:db8::1/128"]},
    "total-attack-traffic-protocol": [{"protocol": 17, "unit": "megabit-ps", "mid-percentile-g": "900"}],
    "attack-detail": [{"vendor-id": 32473, "attack-id": 77, "start-time": "1608336568",
        "attack-severity": "high"}]}]}}"#;
/// Figure 39 (tm-premitigation-put-02).
pub const FIG39: &str = r#"{"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [{
    "target": {"target-prefix": ["2001:db8::/32"]}}]}}"#;
/// tm-neg-tm-no-target-01.
pub const NO_TARGET: &str = r#"{"ietf-dots-telemetry:telemetry": {"pre-or-ongoing-mitigation": [{
    "total-attack-traffic-protocol": [{"protocol": 17, "unit": "megabit-ps", "mid-percentile-g": "900"}],
    "attack-detail": [{"vendor-id": 32473, "attack-id": 77, "start-time": "1608336568",
        "attack-severity": "high"}]}]}}"#;
/// Figure 45 (tm-efficacy-put-01).
pub const FIG45: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "alias-name": ["https1", "https2"], "attack-status": "under-attack",
    "ietf-dots-telemetry:total-attack-traffic": [{"unit": "megabit-ps", "mid-percentile-g": "900"}]}]}}"#;
/// The mitigation Figures 45, 47 and 48 concern (Figure 47's scope as a request).
pub const ALIAS_SCOPE: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "alias-name": ["https1", "https2"], "lifetime": 3600}]}}"#;
