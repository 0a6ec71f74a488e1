//! Fuzzes the DOTS signal-channel server core (RFC 9132) with structured requests (paths,
//! options, bodies raw or built from the model), host reports, signal losses, observer
//! cancellations and clock steps, checking its invariants after every step.
#![no_main]

use arbitrary::Arbitrary;
use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::{
    AttackStatus, Lifetime, MitigationRequest, MitigationStatus, PortRange, Scope,
};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::server::{
    ConflictDecision, MitigationStats, ObserveTarget, Request, ServerConfig, SignalServer,
    MIN_RESPONSE_BUFFER,
};
use dots_proto::time::Instant;
use libfuzzer_sys::fuzz_target;

const CUIDS: [&str; 3] = [
    "dz6pHjaADkaFTbjr0JGBpw",
    "f30d281ce6b64fc5a0b91e",
    "gw-relayed",
];
const PREFIXES: [&str; 8] = [
    "2001:db8::/32",
    "2001:db8::1/128",
    "2001:db8:1::/48",
    "10.0.0.0/8",
    "10.1.2.3/32",
    "192.0.2.0/24",
    "0.0.0.0/1",
    "127.0.0.1/32",
];

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Put,
    Delete,
    Post,
}

#[derive(Arbitrary, Debug)]
enum Path {
    Mitigate {
        cuid: u8,
        mid: Option<u8>,
        cdid: bool,
    },
    Config {
        sid: Option<u8>,
    },
    Heartbeat,
    Raw(Vec<String>),
}

#[derive(Arbitrary, Debug)]
enum Body {
    None,
    Raw(Vec<u8>),
    Scope {
        prefixes: Vec<u8>,
        ports: Vec<(u16, u16)>,
        protocols: Vec<u8>,
        fqdn: Option<u8>,
        lifetime: Option<i8>,
        trigger: Option<bool>,
        attack: bool,
    },
    Config {
        hb: u16,
        missing: u16,
    },
    Heartbeat(bool),
}

#[derive(Arbitrary, Debug)]
enum Step {
    Request {
        peer: u8,
        gateway: bool,
        method: Method,
        path: Path,
        body: Body,
        cf: Option<u16>,
        observe: Option<u8>,
        if_match: bool,
        query: Option<String>,
    },
    Host {
        cuid: u8,
        mid: u8,
        status: u8,
        bytes: Option<u64>,
    },
    Lost {
        cuid: u8,
    },
    Closed {
        cuid: u8,
    },
    Cancel {
        cuid: u8,
        mid: Option<u8>,
    },
    Notifications,
    Advance {
        ms: u32,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    reject: bool,
    refine: bool,
    steps: Vec<Step>,
}

fn body(b: &Body) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let n = match b {
        Body::None => 0,
        Body::Raw(v) => return v.clone(),
        Body::Scope {
            prefixes,
            ports,
            protocols,
            fqdn,
            lifetime,
            trigger,
            attack,
        } => {
            let mut s = Scope::new();
            for p in prefixes.iter().take(9) {
                let _ = s
                    .targets
                    .push_prefix(PREFIXES[*p as usize % PREFIXES.len()].parse().unwrap());
            }
            for &(l, u) in ports.iter().take(3) {
                let _ = s.targets.port_ranges.push(PortRange::new(l, u));
            }
            for &p in protocols.iter().take(3) {
                let _ = s.targets.protocols.push(p);
            }
            if let Some(f) = fqdn {
                let _ = s
                    .targets
                    .push_fqdn(["www.example.com", "WWW.example.com.", "a.b"][*f as usize % 3]);
            }
            s.lifetime =
                lifetime.map(|l| Lifetime::from_i64(i64::from(l)).unwrap_or(Lifetime::Indefinite));
            s.trigger_mitigation = *trigger;
            if *attack {
                s.attack_status = Some(AttackStatus::UnderAttack);
            }
            MitigationRequest::new(s).encode_cbor(&mut out).unwrap_or(0)
        }
        Body::Config { hb, missing } => {
            let mut c = dots_codec::model::SignalConfig::default();
            let p = dots_codec::model::ConfigParams {
                heartbeat_interval: Some(dots_codec::model::IntParam::current(*hb)),
                missing_hb_allowed: Some(dots_codec::model::IntParam::current(*missing)),
                ..Default::default()
            };
            c.mitigating_config = Some(p);
            c.encode_cbor(&mut out).unwrap_or(0)
        }
        Body::Heartbeat(s) => dots_codec::model::Heartbeat { peer_hb_status: *s }
            .encode_cbor(&mut out)
            .unwrap_or(0),
    };
    out.truncate(n);
    out
}

fuzz_target!(|input: Input| {
    let mut config = ServerConfig::default();
    config.quotas.max_mitigations = 4;
    config.quotas.max_observers = 3;
    config.quotas.max_clients = 4;
    config.refine_overlap_by_ports_and_protocols = input.refine;
    if input.reject {
        config.cross_client_conflict = ConflictDecision::Reject;
    }
    let mut s = SignalServer::new(config);
    let mut now = 0u64;
    let mut buf = vec![0u8; MIN_RESPONSE_BUFFER];
    for step in input.steps.iter().take(64) {
        match step {
            Step::Request {
                peer,
                gateway,
                method,
                path,
                body: b,
                cf,
                observe,
                if_match,
                query,
            } => {
                let segs: Vec<String> = match path {
                    Path::Mitigate { cuid, mid, cdid } => {
                        let mut v = vec![".well-known".into(), "dots".into(), "mitigate".into()];
                        if *cdid {
                            v.push("cdid=d".into());
                        }
                        v.push(format!("cuid={}", CUIDS[*cuid as usize % 3]));
                        if let Some(m) = mid {
                            v.push(format!("mid={}", m % 8));
                        }
                        v
                    }
                    Path::Config { sid } => {
                        let mut v = vec![".well-known".into(), "dots".into(), "config".into()];
                        if let Some(x) = sid {
                            v.push(format!("sid={}", x % 4));
                        }
                        v
                    }
                    Path::Heartbeat => vec![".well-known".into(), "dots".into(), "hb".into()],
                    Path::Raw(v) => v.iter().take(8).cloned().collect(),
                };
                let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                let q: Vec<&str> = query.iter().map(String::as_str).collect();
                let payload = body(b);
                let code = match method {
                    Method::Get => Code::GET,
                    Method::Put => Code::PUT,
                    Method::Delete => Code::DELETE,
                    Method::Post => Code::POST,
                };
                let mut req = Request::new(code, &segs).with_query(&q);
                req.payload = &payload;
                req.content_format = cf.map(ContentFormat);
                req.observe = observe.map(|o| u32::from(o % 3));
                req.if_match = *if_match;
                let id = CUIDS[*peer as usize % 3];
                let p = if *gateway {
                    PeerIdentity::gateway(id)
                } else {
                    PeerIdentity::client(id)
                };
                let before = s.snapshot(Instant::from_millis(now));
                match s.handle_request(Instant::from_millis(now), &p, &req, &mut buf) {
                    Ok(h) => {
                        if let Some(r) = h.response() {
                            assert!(r.payload_len <= buf.len());
                            // Errors change nothing (the rate limiter's token is not part
                            // of the snapshot).
                            if r.code.is_error() {
                                assert_eq!(
                                    s.snapshot(Instant::from_millis(now)),
                                    before,
                                    "{:?}",
                                    r.code
                                );
                            }
                        }
                    }
                    Err(e) => assert!(e.needed > buf.len()),
                }
            }
            Step::Host {
                cuid,
                mid,
                status,
                bytes,
            } => {
                let st = MitigationStatus::from_value(u64::from(*status % 9));
                let stats = MitigationStats {
                    bytes_dropped: *bytes,
                    ..Default::default()
                };
                let _ = s.set_mitigation_status(
                    Instant::from_millis(now),
                    CUIDS[*cuid as usize % 3],
                    u32::from(mid % 8),
                    st,
                    stats,
                );
            }
            Step::Lost { cuid } => {
                s.session_lost(Instant::from_millis(now), CUIDS[*cuid as usize % 3])
            }
            Step::Closed { cuid } => {
                s.session_closed(Instant::from_millis(now), CUIDS[*cuid as usize % 3])
            }
            Step::Cancel { cuid, mid } => {
                let t = mid.map_or(ObserveTarget::AllMitigations, |m| {
                    ObserveTarget::Mitigation(u32::from(m % 8))
                });
                s.cancel_observation(CUIDS[*cuid as usize % 3], t);
            }
            Step::Notifications => {
                let mut n = 0;
                while let Ok(Some(note)) = s.poll_notification(Instant::from_millis(now), &mut buf)
                {
                    assert!(note.payload_len <= buf.len());
                    n += 1;
                    assert!(n < 10_000, "notifications must drain");
                }
            }
            Step::Advance { ms } => {
                now += u64::from(*ms);
                s.handle_timeout(Instant::from_millis(now));
            }
        }
        while s.poll_event().is_some() {}
        if let Err(e) = s.check_invariants() {
            panic!("{e} after {step:?}");
        }
        if let Some(t) = s.poll_timeout() {
            assert!(t.as_millis() > now, "a due timer was left");
        }
    }
});
