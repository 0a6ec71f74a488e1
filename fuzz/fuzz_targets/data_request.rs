//! Fuzzes the sans-IO data-channel server (RFC 8783) with structured RESTCONF requests and
//! host calls, checking its invariants after every step.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use dots_codec::data::RestconfErrors;
use dots_proto::data::{
    AclControl, DataEvent, DataServer, DataServerConfig, Limits, Method, PeerIdentity, Request,
    StaticPolicy,
};
use dots_proto::time::Instant;
use libfuzzer_sys::fuzz_target;

const CUIDS: [&str; 3] = ["dz6pHjaADkaFTbjr0JGBpw", "paL8p4Zqo4SLv64TLPXrxA", "c%2F3"];
const NAMES: [&str; 4] = ["a", "b", "sample-ipv4-acl", "x%2Fy"];
const LIMITS: Limits = Limits {
    max_aliases: 3,
    max_acls: 3,
    max_aces: 6,
    max_targets_per_alias: 8,
    max_alias_name_len: 64,
};

#[derive(Arbitrary, Debug)]
enum FMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Client(u8),
    Aliases,
    Alias(u8),
    Acls,
    Acl(u8),
    Aces,
    Ace(u8),
    Capabilities,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Empty,
    Raw(Vec<u8>),
    Register { cuid: u8, cdid: Option<u8>, extra: bool },
    Alias { name: u8, prefix: u8, fqdn: bool, ports: Option<(u16, u16)>, wrap: bool },
    Acl { name: u8, activation: u8, aces: Vec<Ace>, ty: u8, wrap: bool },
    Aces { aces: Vec<Ace>, wrap: bool },
}

#[derive(Arbitrary, Debug)]
struct Ace {
    name: u8,
    v6: bool,
    dst: Option<u8>,
    l4: u8,
    port: u16,
    op: u8,
    action: u8,
    rate: Option<i16>,
    frag: bool,
}

#[derive(Arbitrary, Debug)]
enum Step {
    Request {
        peer: u8,
        gateway: bool,
        method: FMethod,
        root: bool,
        path: Vec<Piece>,
        query: Vec<(u8, String)>,
        content_type: u8,
        accept: u8,
        via: Option<String>,
        body: Body,
    },
    Advance(u16),
    Mitigation(u8, bool),
    AclList(u8, u8, u8),
    Timeout,
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn ace_json(a: &Ace) -> String {
    let name = format!("r{}", a.name % 8);
    let l3 = if a.v6 {
        let dst = a.dst.map(|d| format!(r#""destination-ipv6-network": "2001:db8:{d:x}::/48","#)).unwrap_or_default();
        let frag = if a.frag { r#""fragment": {"type": "isf"},"# } else { "" };
        format!(r#""ipv6": {{ {dst} {frag} "protocol": 17 }}"#)
    } else {
        let dst = a.dst.map(|d| format!(r#""destination-ipv4-network": "198.51.{d}.0/24","#)).unwrap_or_default();
        let frag = if a.frag { r#""fragment": {"operator": "not match", "type": "isf ff"},"# } else { "" };
        format!(r#""ipv4": {{ {dst} {frag} "protocol": 17 }}"#)
    };
    let op = ["eq", "lte", "gte", "neq", "bad"][usize::from(a.op) % 5];
    let l4 = match a.l4 % 4 {
        0 => format!(r#","udp": {{"destination-port-range-or-operator": {{"operator": "{op}", "port": {}}}}}"#, a.port),
        1 => format!(r#","udp": {{"source-port-range-or-operator": {{"lower-port": {}, "upper-port": 1024}}}}"#, a.port),
        2 => r#","tcp": {"flags-bitmask": {"operator": "not any", "bitmask": 4095}}"#.to_string(),
        _ => String::new(),
    };
    let action = ["drop", "accept", "reject", "ietf-access-control-list:accept"][usize::from(a.action) % 4];
    let rate = a.rate.map(|r| format!(r#","rate-limit": "{}.{:02}""#, r / 100, (r % 100).unsigned_abs())).unwrap_or_default();
    format!(r#"{{"name": "{name}", "matches": {{ {l3} {l4} }}, "actions": {{"forwarding": "{action}" {rate} }}}}"#)
}

fn body_bytes(b: &Body) -> Vec<u8> {
    match b {
        Body::Empty => Vec::new(),
        Body::Raw(v) => v.clone(),
        Body::Register { cuid, cdid, extra } => {
            let cdid = cdid.map(|d| format!(r#","cdid": "dom{}""#, d % 2)).unwrap_or_default();
            let extra = if *extra { r#","aliases": {"alias": [{"name": "a", "target-prefix": ["203.0.113.0/24"]}]}"# } else { "" };
            format!(r#"{{"ietf-dots-data-channel:dots-client": [{{"cuid": "{}"{cdid}{extra}}}]}}"#, pick(&CUIDS, *cuid)).into_bytes()
        }
        Body::Alias { name, prefix, fqdn, ports, wrap } => {
            let p = ["203.0.113.0/24", "127.0.0.1/32", "2001:db8::/32", "224.0.0.1/32", "0.0.0.0/0"][usize::from(*prefix) % 5];
            let f = if *fqdn { r#","target-fqdn": ["www.example.com"]"# } else { "" };
            let pr = ports.map(|(l, u)| format!(r#","target-port-range": [{{"lower-port": {l}, "upper-port": {u}}}]"#)).unwrap_or_default();
            let entry = format!(r#"{{"name": "{}", "target-prefix": ["{p}"]{f}{pr}}}"#, pick(&NAMES, *name));
            if *wrap {
                format!(r#"{{"ietf-dots-data-channel:aliases": {{"alias": [{entry}]}}}}"#).into_bytes()
            } else {
                format!(r#"{{"ietf-dots-data-channel:alias": [{entry}]}}"#).into_bytes()
            }
        }
        Body::Acl { name, activation, aces, ty, wrap } => {
            let act = ["activate-when-mitigating", "immediate", "deactivate"][usize::from(*activation) % 3];
            let t = ["", r#""type": "ipv4-acl-type","#, r#""type": "ipv6-acl-type","#][usize::from(*ty) % 3];
            let list: Vec<String> = aces.iter().take(8).map(ace_json).collect();
            let entry = format!(r#"{{"name": "{}", {t} "activation-type": "{act}", "aces": {{"ace": [{}]}}}}"#, pick(&NAMES, *name), list.join(","));
            if *wrap {
                format!(r#"{{"ietf-dots-data-channel:acls": {{"acl": [{entry}]}}}}"#).into_bytes()
            } else {
                format!(r#"{{"ietf-dots-data-channel:acl": [{entry}]}}"#).into_bytes()
            }
        }
        Body::Aces { aces, wrap } => {
            let list: Vec<String> = aces.iter().take(8).map(ace_json).collect();
            if *wrap {
                format!(r#"{{"ietf-dots-data-channel:aces": {{"ace": [{}]}}}}"#, list.join(",")).into_bytes()
            } else {
                format!(r#"{{"ietf-dots-data-channel:ace": [{}]}}"#, list.join(",")).into_bytes()
            }
        }
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let mut config = DataServerConfig::default();
    config.via_names = vec!["loop-gw".into()];
    config.max_body_len = 4096;
    let mut policy = StaticPolicy { limits: LIMITS, allow_unknown_clients: true, ..StaticPolicy::default() };
    for c in CUIDS {
        policy.prefixes.insert(c.into(), vec!["198.51.0.0/16".parse().unwrap(), "2001:db8::/32".parse().unwrap(), "203.0.113.0/24".parse().unwrap()]);
        policy.dns_suffixes.insert(c.into(), vec!["example.com".into()]);
    }
    let mut server = DataServer::with_policy(config, policy);
    let mut now = Instant::from_secs(1);
    let mut installed: BTreeSet<(String, String)> = BTreeSet::new();

    for step in steps.iter().take(64) {
        match step {
            Step::Request { peer, gateway, method, root, path, query, content_type, accept, via, body } => {
                let mut target = String::from(if *root { "/restconf/data/ietf-dots-data-channel:dots-data" } else { "/restconf/data" });
                for p in path.iter().take(8) {
                    match p {
                        Piece::Client(c) => target.push_str(&format!("/dots-client={}", pick(&CUIDS, *c))),
                        Piece::Aliases => target.push_str("/aliases"),
                        Piece::Alias(n) => target.push_str(&format!("/alias={}", pick(&NAMES, *n))),
                        Piece::Acls => target.push_str("/acls"),
                        Piece::Acl(n) => target.push_str(&format!("/acl={}", pick(&NAMES, *n))),
                        Piece::Aces => target.push_str("/aces"),
                        Piece::Ace(n) => target.push_str(&format!("/ace=r{}", n % 8)),
                        Piece::Capabilities => target.push_str("/capabilities"),
                        Piece::Raw(s) => target.push_str(s),
                    }
                }
                let q: Vec<String> = query.iter().take(4).map(|(k, v)| {
                    let k = ["content", "depth", "insert", "point", "fields"][usize::from(*k) % 5];
                    format!("{k}={v}")
                }).collect();
                let method = match method {
                    FMethod::Get => Method::Get,
                    FMethod::Head => Method::Head,
                    FMethod::Post => Method::Post,
                    FMethod::Put => Method::Put,
                    FMethod::Patch => Method::Patch,
                    FMethod::Delete => Method::Delete,
                    FMethod::Options => Method::Options,
                    FMethod::Other => Method::Other,
                };
                let bytes = body_bytes(body);
                let full = if q.is_empty() { target } else { format!("{target}?{}", q.join("&")) };
                let mut req = Request::new(method, &full);
                req.body = &bytes;
                req.content_type = [None, Some("application/yang-data+json"), Some("application/json")][usize::from(*content_type) % 3];
                req.accept = [None, Some("application/yang-data+json"), Some("*/*"), Some("text/html")][usize::from(*accept) % 4];
                req.via = via.as_deref();
                let id = if *gateway { "gw" } else { pick(&CUIDS, *peer) };
                let peer = PeerIdentity { cuid: id, trusted_gateway: *gateway };
                let resp = server.handle_request(now, &peer, &req);
                assert!((200..600).contains(&resp.status));
                if resp.status >= 400 && method != Method::Head {
                    assert!(RestconfErrors::from_json(&resp.body).is_ok(), "invalid errors body");
                }
                if resp.status == 201 && method == Method::Post {
                    assert!(resp.location.is_some());
                }
                if method == Method::Head {
                    assert!(resp.body.is_empty());
                }
            }
            Step::Advance(m) => now += core::time::Duration::from_secs(u64::from(*m) * 60),
            Step::Mitigation(c, on) => {
                let cuid = pick(&CUIDS, *c);
                let _ = if *on { server.mitigation_started(now, cuid) } else { server.mitigation_ended(now, cuid) };
            }
            Step::AclList(c, n, t) => {
                let t = [dots_codec::data::ActivationType::Immediate, dots_codec::data::ActivationType::Deactivate, dots_codec::data::ActivationType::ActivateWhenMitigating][usize::from(*t) % 3];
                let _ = server.set_activation_types(now, pick(&CUIDS, *c), &[AclControl { acl_name: pick(&NAMES, *n), activation_type: Some(t) }]);
            }
            Step::Timeout => {
                if let Some(t) = server.poll_timeout() {
                    now = now.max(t);
                }
                server.handle_timeout(now);
            }
        }
        while let Some(e) = server.poll_event() {
            match e {
                DataEvent::AclActivated { cuid, acl } => assert!(installed.insert((cuid, acl))),
                DataEvent::AclUpdated { cuid, acl } => assert!(installed.contains(&(cuid, acl))),
                DataEvent::AclDeactivated { cuid, acl } => assert!(installed.remove(&(cuid, acl))),
                DataEvent::AclDeleted { cuid, acl, was_active } | DataEvent::AclExpired { cuid, acl, was_active } => {
                    assert_eq!(installed.remove(&(cuid, acl)), was_active)
                }
                _ => {}
            }
        }
        for c in server.clients().collect::<Vec<_>>() {
            let n = server.client_counts(c).unwrap();
            assert!(n.aliases <= LIMITS.max_aliases && n.acls <= LIMITS.max_acls && n.aces <= LIMITS.max_aces);
            for a in server.acls(c) {
                let on = server.is_acl_active(c, &a.name) == Some(true);
                assert_eq!(on, installed.contains(&(c.to_string(), a.name.clone())));
            }
        }
    }
});
