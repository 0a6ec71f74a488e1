//! Shared helpers for the signal-server tests: a harness on a virtual clock, test hooks, and
//! body builders (RFC 7951 JSON → CBOR through the codec).
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::string::String;
use std::vec::Vec;

use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{MitigationScope, Scope, SignalConfig, SignalMessage};
use dots_proto::data::{ClientRef, PeerIdentity};
use dots_proto::signal::server::{
    AclFailure, AliasTargets, ConflictDecision, Handled, ObserveAction, ServerConfig, ServerEvent,
    SignalHooks, SignalServer, SourceVerdict, Unavailable,
};
use dots_proto::time::Instant;

pub mod telemetry;

pub const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";
pub const CUID2: &str = "f30d281ce6b64fc5a0b91e";
pub const CUID3: &str = "paL8p4Zqo4SLv64TLPXrxA";

/// RFC 9132 Figure 7 (the body of Figure 8).
pub const FIG7: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
    "target-port-range": [{"lower-port": 80}, {"lower-port": 443}, {"lower-port": 8080}],
    "target-protocol": [6], "lifetime": 3600}]}}"#;

/// RFC 9132 Figure 8.
pub const FIG8_HEX: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

/// RFC 9132 Figure 16 (efficacy update).
pub const FIG16: &str = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
    "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
    "target-port-range": [{"lower-port": 80}, {"lower-port": 443}, {"lower-port": 8080}],
    "target-protocol": [6], "attack-status": "under-attack"}]}}"#;

/// RFC 9132 Figure 23 (configuration PUT).
pub const FIG23: &str = r#"{"ietf-dots-signal-channel:signal-config": {
  "mitigating-config": {
    "heartbeat-interval": {"current-value": 30}, "missing-hb-allowed": {"current-value": 15},
    "probing-rate": {"current-value": 15}, "max-retransmit": {"current-value": 3},
    "ack-timeout": {"current-value-decimal": "2.00"},
    "ack-random-factor": {"current-value-decimal": "1.50"}},
  "idle-config": {
    "heartbeat-interval": {"current-value": 0}, "max-retransmit": {"current-value": 3},
    "ack-timeout": {"current-value-decimal": "2.00"},
    "ack-random-factor": {"current-value-decimal": "1.50"}}}}"#;

/// RFC 9132 Figure 27.
pub const FIG27: &str = r#"{"ietf-dots-signal-channel:heartbeat": {"peer-hb-status": true}}"#;

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// RFC 7951 JSON body → CBOR, through the codec.
pub fn cbor(json: &str) -> Vec<u8> {
    let m = dots_codec::json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut buf = vec![0u8; m.encoded_len()];
    let n = m.encode_cbor(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// A mitigation request body for one scope with `prefixes`, `lifetime` and extra JSON members.
pub fn scope_json(prefixes: &[&str], lifetime: i64, extra: &str) -> String {
    let p: Vec<String> = prefixes.iter().map(|p| format!("\"{p}\"")).collect();
    let sep = if extra.is_empty() { "" } else { ", " };
    format!(
        r#"{{"ietf-dots-signal-channel:mitigation-scope": {{"scope": [{{"target-prefix": [{}], "lifetime": {lifetime}{sep}{extra}}}]}}}}"#,
        p.join(", ")
    )
}

pub fn path(uri: &str) -> Vec<String> {
    uri.trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub fn mitigate_uri(cuid: &str, mid: Option<u32>) -> String {
    match mid {
        Some(m) => format!("/.well-known/dots/mitigate/cuid={cuid}/mid={m}"),
        None => format!("/.well-known/dots/mitigate/cuid={cuid}"),
    }
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: Option<Code>,
    pub content_format: Option<ContentFormat>,
    pub max_age: Option<u32>,
    pub body: Vec<u8>,
    pub observe: Option<ObserveAction>,
    pub heartbeat: Option<bool>,
}

impl Reply {
    pub fn code(&self) -> Code {
        self.code.expect("a response")
    }

    pub fn scopes(&self) -> MitigationScope {
        MitigationScope::decode_cbor(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:02x?}", self.body))
    }

    pub fn config(&self) -> SignalConfig {
        SignalConfig::decode_cbor(&self.body).unwrap()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Test hooks: aliases and ACLs per client, a conflict decision, admission, and a log.
#[derive(Debug, Default)]
pub struct TestHooks {
    pub aliases: BTreeMap<(String, String), AliasTargets>,
    pub acls: BTreeSet<(String, String)>,
    pub acl_failure: bool,
    pub conflict: Option<ConflictDecision>,
    pub refuse: bool,
    pub forbidden_prefix: Option<dots_codec::ipnet::IpNet>,
    pub log: Vec<String>,
    /// The verdict on call-home sources (RFC 9066).
    pub sources: SourceVerdict,
    /// Refuse pre-or-ongoing-mitigation telemetry (5.03).
    pub tm_refuse: bool,
}

impl SignalHooks for TestHooks {
    fn resolve_alias(&mut self, client: ClientRef<'_>, name: &str) -> Option<AliasTargets> {
        self.aliases
            .get(&(client.cuid.to_string(), name.to_string()))
            .cloned()
    }

    fn targets_allowed(
        &mut self,
        _client: ClientRef<'_>,
        targets: &dots_codec::model::Targets,
        _aliases: &[AliasTargets],
    ) -> bool {
        self.forbidden_prefix
            .is_none_or(|f| !targets.prefixes.iter().any(|p| f.contains(p)))
    }

    fn admit(
        &mut self,
        client: ClientRef<'_>,
        mid: u32,
        _scope: &Scope,
    ) -> Result<(), Unavailable> {
        self.log.push(format!(
            "admit {} {mid} cdid={:?}",
            client.cuid, client.cdid
        ));
        if self.refuse {
            Err(Unavailable { retry_after: 30 })
        } else {
            Ok(())
        }
    }

    fn cross_client_conflict(
        &mut self,
        _requester: ClientRef<'_>,
        _holder: ClientRef<'_>,
        default: ConflictDecision,
    ) -> ConflictDecision {
        self.conflict.unwrap_or(default)
    }

    fn apply_acl_list(
        &mut self,
        _now: Instant,
        client: ClientRef<'_>,
        scope: &Scope,
    ) -> Result<(), AclFailure> {
        for a in scope.acl_list() {
            if !self
                .acls
                .contains(&(client.cuid.to_string(), a.name.to_string()))
            {
                return Err(AclFailure::UnknownAcl {
                    name: a.name.into(),
                });
            }
        }
        if self.acl_failure {
            return Err(AclFailure::Failed {
                failed: scope
                    .acl_list()
                    .map(|a| (a.name.to_string(), a.activation_type))
                    .collect(),
                retry_after: 60,
            });
        }
        for a in scope.acl_list() {
            self.log.push(format!("acl {} {}", client.cuid, a.name));
        }
        Ok(())
    }

    fn check_sources(&mut self, client: ClientRef<'_>, _scope: &Scope) -> SourceVerdict {
        self.log.push(format!("sources {}", client.cuid));
        self.sources.clone()
    }

    fn admit_telemetry(
        &mut self,
        client: ClientRef<'_>,
        tmid: u32,
        _telemetry: &dots_codec::model::telemetry::PreOrOngoingMitigation,
    ) -> Result<(), Unavailable> {
        self.log.push(format!("telemetry {} {tmid}", client.cuid));
        if self.tm_refuse {
            Err(Unavailable { retry_after: 30 })
        } else {
            Ok(())
        }
    }

    fn mitigation_started(&mut self, _now: Instant, client: ClientRef<'_>) {
        self.log.push(format!("started {}", client.cuid));
    }

    fn mitigation_ended(&mut self, _now: Instant, client: ClientRef<'_>) {
        self.log.push(format!("ended {}", client.cuid));
    }
}

/// A server on a virtual clock.
pub struct Harness {
    pub s: SignalServer<TestHooks>,
    pub now: Instant,
    pub buf: Vec<u8>,
}

/// How a request is sent.
#[derive(Debug, Clone, Default)]
pub struct Opts<'a> {
    pub cf: Option<ContentFormat>,
    pub observe: Option<u32>,
    pub if_match: bool,
    pub query: &'a [&'a str],
    pub gateway: bool,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(ServerConfig::default())
    }

    pub fn with_config(config: ServerConfig) -> Harness {
        Harness {
            s: SignalServer::with_hooks(config, TestHooks::default()),
            now: Instant::from_secs(1_000),
            buf: vec![0u8; 64 * 1024],
        }
    }

    pub fn advance_secs(&mut self, s: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + s * 1000);
        self.s.handle_timeout(self.now);
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + ms);
        self.s.handle_timeout(self.now);
    }

    pub fn send(&mut self, peer: &str, code: Code, uri: &str, body: &[u8], o: &Opts<'_>) -> Reply {
        let segs = path(uri);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let mut req = dots_proto::signal::server::Request::new(code, &segs).with_query(o.query);
        req.payload = body;
        req.content_format = if body.is_empty() && o.cf.is_none() {
            None
        } else {
            Some(o.cf.unwrap_or(ContentFormat::DOTS_CBOR))
        };
        req.observe = o.observe;
        req.if_match = o.if_match;
        let p = if o.gateway {
            PeerIdentity::gateway(peer)
        } else {
            PeerIdentity::client(peer)
        };
        match self
            .s
            .handle_request(self.now, &p, &req, &mut self.buf)
            .unwrap()
        {
            Handled::Respond(r) => Reply {
                code: Some(r.code),
                content_format: r.content_format,
                max_age: r.max_age,
                body: self.buf[..r.payload_len].to_vec(),
                observe: r.observe,
                heartbeat: r.heartbeat.map(|h| h.peer_hb_status),
            },
            Handled::Ignore => Reply {
                code: None,
                content_format: None,
                max_age: None,
                body: Vec::new(),
                observe: None,
                heartbeat: None,
            },
            _ => unreachable!(),
        }
    }

    pub fn put_json(&mut self, cuid: &str, mid: u32, json: &str) -> Reply {
        self.send(
            cuid,
            Code::PUT,
            &mitigate_uri(cuid, Some(mid)),
            &cbor(json),
            &Opts::default(),
        )
    }

    pub fn put(&mut self, cuid: &str, mid: u32, prefixes: &[&str], lifetime: i64) -> Reply {
        self.put_json(cuid, mid, &scope_json(prefixes, lifetime, ""))
    }

    pub fn get(&mut self, cuid: &str, mid: Option<u32>) -> Reply {
        self.send(
            cuid,
            Code::GET,
            &mitigate_uri(cuid, mid),
            &[],
            &Opts::default(),
        )
    }

    pub fn observe(&mut self, cuid: &str, mid: Option<u32>) -> Reply {
        self.send(
            cuid,
            Code::GET,
            &mitigate_uri(cuid, mid),
            &[],
            &Opts {
                observe: Some(0),
                ..Opts::default()
            },
        )
    }

    pub fn delete(&mut self, cuid: &str, mid: u32) -> Reply {
        self.send(
            cuid,
            Code::DELETE,
            &mitigate_uri(cuid, Some(mid)),
            &[],
            &Opts::default(),
        )
    }

    pub fn events(&mut self) -> Vec<ServerEvent> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    pub fn notifications(
        &mut self,
    ) -> Vec<(dots_proto::signal::server::Notification, MitigationScope)> {
        let mut v = Vec::new();
        let mut buf = vec![0u8; 8192];
        while let Some(n) = self.s.poll_notification(self.now, &mut buf).unwrap() {
            let body = if n.mid.is_some() {
                MitigationScope::decode_cbor(&buf[..n.payload_len]).unwrap()
            } else {
                MitigationScope::default()
            };
            v.push((n, body));
        }
        v
    }

    pub fn status(&self, cuid: &str, mid: u32) -> Option<dots_codec::model::MitigationStatus> {
        self.s.mitigation(cuid, mid).map(|m| m.status)
    }

    pub fn check(&self) {
        self.s.check_invariants().unwrap();
    }

    /// Sends and checks the code and that nothing changed for `cuid` or anyone: the snapshot,
    /// `cuid`'s observations, no event, no notification.
    pub fn unchanged_for(
        &mut self,
        cuid: &str,
        code: Code,
        send: impl FnOnce(&mut Harness) -> Reply,
    ) -> Reply {
        self.events();
        self.notifications();
        let before = self.s.snapshot(self.now);
        let observers: Vec<_> = self.s.observations(cuid).collect();
        let r = send(self);
        assert_eq!(r.code, Some(code), "{:?}", String::from_utf8_lossy(&r.body));
        assert_eq!(self.s.snapshot(self.now), before, "state changed");
        assert_eq!(self.s.observations(cuid).collect::<Vec<_>>(), observers);
        assert!(self.events().is_empty(), "no event");
        assert!(self.notifications().is_empty(), "no notification");
        self.check();
        r
    }
}

/// Whether a body is a `SignalMessage` of the expected kind (sanity for JSON vectors).
pub fn is_config(json: &str) -> bool {
    matches!(
        dots_codec::json::from_str(json),
        Ok(SignalMessage::SignalConfig(_))
    )
}
