//! Fuzzes the DOTS signal-channel server core (RFC 9132, with RFC 9244 telemetry, RFC 9066 call
//! home and RFC 9362 parameters) with structured requests (paths, options, Uri-Query filters,
//! bodies raw or built from the model), host reports (status, attack and mitigation
//! telemetry), signal losses, observer cancellations and clock steps, checking its invariants
//! after every step.
#![no_main]

use arbitrary::Arbitrary;
use dots_codec::cbor::CborBody;
use dots_codec::coap::{Code, ContentFormat};
use dots_codec::model::telemetry::{
    Baseline, Gauge, Gauges, PipeCapacity, PreOrOngoingMitigation, SetupData, Telemetry,
    TelemetryConfig, TelemetrySetup, Unit, UnitTraffic,
};
use dots_codec::model::{
    AttackStatus, Decimal2, EfficacyUpdate, Lifetime, MitigationRequest, MitigationStatus,
    PortRange, RedirectedSignal, Scope, ScopeTelemetry,
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
/// RFC 9244 Uri-Query filters, valid and not.
const QUERIES: [&str; 16] = [
    "target-prefix=2001:db8::/32",
    "target-prefix=10.0.0.0/8,192.0.2.0/24",
    "target-port=80,443-444",
    "target-protocol=6-17",
    "target-fqdn=*.example.com",
    "target-uri=https://*.example.com/",
    "alias-name=a",
    "target-alias=a",
    "mid=0-3",
    "source-prefix=2001:db8::/32",
    "source-port=1-100",
    "source-icmp-type=3",
    "c=n",
    "target-port=9-1",
    "target-fqdn=a.*.com",
    "x=1",
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
    Setup {
        cuid: u8,
        tsid: Option<u8>,
        cdid: bool,
    },
    Tm {
        cuid: u8,
        tmid: Option<u8>,
    },
    Redirect {
        cuid: u8,
    },
    Raw(Vec<String>),
}

#[derive(Arbitrary, Debug)]
enum SetupBody {
    Config {
        origin: Option<bool>,
        interval: Option<u16>,
        low: Option<u16>,
        high: Option<u16>,
    },
    Pipes(Vec<(u8, u16)>),
    Baseline {
        id: u8,
        prefixes: Vec<u8>,
        fqdn: bool,
    },
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
    Setup(SetupBody),
    Tm {
        prefixes: Vec<u8>,
        mids: Vec<u8>,
        data: Option<u64>,
        tmid_in_body: bool,
    },
    Efficacy {
        prefixes: Vec<u8>,
        traffic: Option<u64>,
        server_only: bool,
    },
    CallHome {
        target: u8,
        source: u8,
        trigger: Option<bool>,
    },
    Redirect(bool),
}

#[derive(Arbitrary, Debug)]
enum QueryPick {
    Known(u8),
    Raw(String),
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
        query: Vec<QueryPick>,
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
    AttackTelemetry {
        cuid: u8,
        tmid: u8,
        prefix: u8,
        value: Option<u64>,
    },
    ScopeTelemetry {
        cuid: u8,
        mid: u8,
        value: Option<u64>,
    },
    CancelQuery {
        cuid: u8,
        id: u8,
        telemetry: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    reject: bool,
    refine: bool,
    no_telemetry: bool,
    call_home: bool,
    steps: Vec<Step>,
}

fn prefix(i: u8) -> dots_codec::ipnet::IpNet {
    PREFIXES[i as usize % PREFIXES.len()].parse().unwrap()
}

fn traffic(v: u64) -> UnitTraffic {
    UnitTraffic {
        unit: Unit::MegabitPs,
        gauges: Gauges::new().with(Gauge::MidPercentile, v),
    }
}

fn setup_body(b: &SetupBody) -> TelemetrySetup {
    let d = match b {
        SetupBody::Config {
            origin,
            interval,
            low,
            high,
        } => SetupData::CurrentConfig(TelemetryConfig {
            server_originated_telemetry: *origin,
            telemetry_notify_interval: *interval,
            low_percentile: low.map(|v| Decimal2::from_hundredths(i64::from(v % 10_001))),
            high_percentile: high.map(|v| Decimal2::from_hundredths(i64::from(v % 10_001))),
            ..TelemetryConfig::default()
        }),
        SetupBody::Pipes(links) => {
            let mut d = SetupData::TotalPipeCapacity(Default::default());
            if let SetupData::TotalPipeCapacity(p) = &mut d {
                for (l, c) in links.iter().take(4) {
                    let _ = p.push(PipeCapacity {
                        link_id: ["l1", "l2", "l3"][*l as usize % 3].try_into().unwrap(),
                        capacity: u64::from(*c % 3),
                        unit: Unit::MegabitPs,
                    });
                }
            }
            d
        }
        SetupBody::Baseline { id, prefixes, fqdn } => {
            let mut b = Baseline {
                id: u32::from(*id % 4),
                ..Baseline::default()
            };
            for p in prefixes.iter().take(3) {
                let _ = b.targets.push_prefix(prefix(*p));
            }
            if *fqdn {
                let _ = b.targets.push_fqdn("www.example.com");
            }
            let mut d = SetupData::Baseline(Default::default());
            if let SetupData::Baseline(v) = &mut d {
                let _ = v.push(b);
            }
            d
        }
    };
    TelemetrySetup::request(d)
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
        Body::Setup(b) => return encode(&setup_body(b)),
        Body::Tm {
            prefixes,
            mids,
            data,
            tmid_in_body,
        } => {
            let mut e = PreOrOngoingMitigation::default();
            for p in prefixes.iter().take(3) {
                let _ = e.target.targets.push_prefix(prefix(*p));
            }
            for m in mids.iter().take(3) {
                let _ = e.target.mid_list.push(u32::from(*m % 8));
            }
            if let Some(v) = data {
                let _ = e.total_attack_traffic.push(traffic(*v));
            }
            if *tmid_in_body {
                e.tmid = Some(1);
            }
            return encode(&Telemetry::new(e));
        }
        Body::Efficacy {
            prefixes,
            traffic: t,
            server_only,
        } => {
            let mut s = Scope::new();
            for p in prefixes.iter().take(3) {
                let _ = s.targets.push_prefix(prefix(*p));
            }
            s.attack_status = Some(AttackStatus::UnderAttack);
            let mut tm = ScopeTelemetry::default();
            if let Some(v) = t {
                let _ = tm.total_attack_traffic.push(traffic(*v));
                if *server_only {
                    let _ = tm.total_traffic.push(traffic(*v));
                }
            }
            return encode(&EfficacyUpdate {
                request: MitigationRequest::new(s),
                telemetry: tm,
            });
        }
        Body::CallHome {
            target,
            source,
            trigger,
        } => {
            let mut s = Scope::new();
            let _ = s.targets.push_prefix(prefix(*target));
            let _ = s.call_home.source_prefixes.push(prefix(*source));
            s.lifetime = Some(Lifetime::Seconds(60));
            s.trigger_mitigation = *trigger;
            MitigationRequest::new(s).encode_cbor(&mut out).unwrap_or(0)
        }
        Body::Redirect(ch) => {
            let mut r = RedirectedSignal::default();
            let name = "alt.example".try_into().unwrap();
            if *ch {
                r.alt_ch_client = Some(name);
            } else {
                r.alt_server = Some(name);
            }
            return encode(&r);
        }
    };
    out.truncate(n);
    out
}

fn encode<T: CborBody>(v: &T) -> Vec<u8> {
    let mut out = vec![0u8; v.encoded_len()];
    let n = v.encode_cbor(&mut out).unwrap_or(0);
    out.truncate(n);
    out
}

fuzz_target!(|input: Input| {
    let mut config = ServerConfig::default();
    if input.no_telemetry {
        config.telemetry = None;
    } else if let Some(p) = config.telemetry.as_mut() {
        p.max_setups = 3;
        p.max_telemetry = 3;
    }
    config.call_home = input.call_home;
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
                    Path::Setup { cuid, tsid, cdid } => {
                        let mut v = vec![".well-known".into(), "dots".into(), "tm-setup".into()];
                        if *cdid {
                            v.push("cdid=d".into());
                        }
                        v.push(format!("cuid={}", CUIDS[*cuid as usize % 3]));
                        if let Some(t) = tsid {
                            v.push(format!("tsid={}", t % 8));
                        }
                        v
                    }
                    Path::Tm { cuid, tmid } => {
                        let mut v = vec![".well-known".into(), "dots".into(), "tm".into()];
                        v.push(format!("cuid={}", CUIDS[*cuid as usize % 3]));
                        if let Some(t) = tmid {
                            v.push(format!("tmid={}", t % 8));
                        }
                        v
                    }
                    Path::Redirect { cuid } => vec![
                        ".well-known".into(),
                        "dots".into(),
                        "redirect".into(),
                        format!("cuid={}", CUIDS[*cuid as usize % 3]),
                    ],
                    Path::Raw(v) => v.iter().take(8).cloned().collect(),
                };
                let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                let q: Vec<String> = query
                    .iter()
                    .take(4)
                    .map(|q| match q {
                        QueryPick::Known(i) => QUERIES[*i as usize % QUERIES.len()].to_string(),
                        QueryPick::Raw(s) => s.clone(),
                    })
                    .collect();
                let q: Vec<&str> = q.iter().map(String::as_str).collect();
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
            Step::AttackTelemetry {
                cuid,
                tmid,
                prefix: p,
                value,
            } => {
                let e = value.map(|v| {
                    let mut e = PreOrOngoingMitigation::default();
                    let _ = e.target.targets.push_prefix(prefix(*p));
                    let _ = e.total_attack_traffic.push(traffic(v));
                    e
                });
                let _ = s.set_attack_telemetry(
                    Instant::from_millis(now),
                    CUIDS[*cuid as usize % 3],
                    u32::from(tmid % 8),
                    e.as_ref(),
                );
            }
            Step::ScopeTelemetry { cuid, mid, value } => {
                let t = value.map(|v| {
                    let mut t = ScopeTelemetry::default();
                    let _ = t.total_attack_traffic.push(traffic(v));
                    t
                });
                let _ = s.set_scope_telemetry(
                    Instant::from_millis(now),
                    CUIDS[*cuid as usize % 3],
                    u32::from(mid % 8),
                    t.as_ref(),
                );
            }
            Step::CancelQuery { cuid, id, telemetry } => {
                let id = u32::from(id % 8);
                let t = if *telemetry {
                    ObserveTarget::Telemetry(id)
                } else {
                    ObserveTarget::FilteredMitigations(id)
                };
                s.cancel_observation(CUIDS[*cuid as usize % 3], t);
            }
        }
        while s.poll_event().is_some() {}
        if let Err(e) = s.check_invariants() {
            panic!("{e} after {step:?}");
        }
        if let Some(t) = s.poll_timeout() {
            if t.as_millis() <= now {
                // A paced telemetry notification is due: polling notifications sends it.
                let mut n = 0;
                while let Ok(Some(_)) = s.poll_notification(Instant::from_millis(now), &mut buf) {
                    n += 1;
                    assert!(n < 10_000, "notifications must drain");
                }
                if let Err(e) = s.check_invariants() {
                    panic!("{e} after notifications");
                }
            }
        }
        if let Some(t) = s.poll_timeout() {
            assert!(t.as_millis() > now, "a due timer was left");
        }
    }
});
