//! Fuzzes the DOTS signal-channel server session (RFC 9132): datagrams (raw, or well-formed
//! requests built from the steps, RFC 9244 telemetry setup and pre-or-ongoing-mitigation
//! telemetry among them, with Uri-Query filters) and TCP stream bytes from several peers with
//! changing identities, answers and Resets of what the server sent, host commands (mitigation
//! status, attack telemetry, close, failure), clock steps and transmissions into small buffers. After every step: the
//! session's and the core's invariants, `poll_timeout` never before the latest `now`, and the
//! configured bounds on peers, endpoints, queues and events.
#![no_main]

use arbitrary::Arbitrary;
use dots_codec::cbor::CborBody;
use dots_codec::coap::{
    Code, ContentFormat, FrameRepr, Message, MessageRepr, MessageType, Token,
};
use dots_codec::model::telemetry::{
    Gauge, Gauges, LinkId, PipeCapacity, PreOrOngoingMitigation, SetupData, Telemetry, TelemetryConfig,
    TelemetrySetup, Unit, UnitTraffic,
};
use dots_codec::model::{Decimal2, Lifetime, MitigationRequest, MitigationStatus, Scope};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::server::{MitigationStats, ServerConfig, SignalServer};
use dots_proto::signal::session::{ServerSession, SessionConfig};
use dots_proto::time::Instant;
use libfuzzer_sys::fuzz_target;

const CUIDS: [&str; 3] = ["dz6pHjaADkaFTbjr0JGBpw", "f30d281ce6b64fc5a0b91e", "gw-relayed"];
/// Peers 0..4 talk UDP, 4..6 TCP.
const PEERS: u8 = 6;
const MAX_PEERS: usize = 5;
const MAX_ENDPOINTS: usize = 3;
const MAX_EVENTS: usize = 32;

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Put,
    Delete,
}

#[derive(Arbitrary, Debug)]
enum Path {
    Mitigate { cuid: u8, mid: Option<u8> },
    Config { sid: Option<u8> },
    Heartbeat,
    TmSetup { cuid: u8, tsid: Option<u8> },
    Tm { cuid: u8, tmid: Option<u8> },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    None,
    Raw(Vec<u8>),
    Scope { prefix: u8, lifetime: u8, trigger: bool },
    Config { hb: u8, missing: u8 },
    Heartbeat(bool),
    /// A `telemetry-setup` body: current-config, pipe capacity or baseline-less setups.
    TmSetup { kind: u8, a: u8, b: u8 },
    /// A `telemetry` body: a target, with or without the client's own telemetry.
    Tm { prefix: u8, data: Option<u16> },
}

/// Uri-Query filters of RFC 9244 Section 5.4 (and a few invalid ones).
const QUERIES: [&str; 8] = [
    "target-protocol=17",
    "target-prefix=2001:db8::/32",
    "target-port=443-444",
    "alias-name=https1",
    "c=c",
    "mid=1",
    "example-unknown-query=1",
    "target-prefix=nonsense",
];

#[derive(Arbitrary, Debug)]
enum Step {
    Raw { peer: u8, identity: u8, bytes: Vec<u8> },
    Request {
        peer: u8,
        identity: u8,
        con: bool,
        method: Method,
        path: Path,
        body: Body,
        observe: Option<u8>,
        if_match: bool,
        query: Option<u8>,
        token: u8,
        mid: u16,
    },
    Csm { peer: u8 },
    AnswerHeartbeat { peer: u8, con: bool },
    ResetLast { peer: u8 },
    Host { cuid: u8, mid: u8, status: u8 },
    HostTelemetry { cuid: u8, tmid: u8, value: Option<u16> },
    Closed { peer: u8 },
    Failed { peer: u8 },
    Advance { ms: u32 },
    Drain { small: bool },
}

fn identity(i: u8) -> PeerIdentity<'static> {
    PeerIdentity {
        cuid: CUIDS[usize::from(i % 3)],
        trusted_gateway: i % 7 == 6,
    }
}

fn body(b: &Body) -> Vec<u8> {
    match b {
        Body::None => Vec::new(),
        Body::Raw(v) => v.clone(),
        Body::Scope {
            prefix,
            lifetime,
            trigger,
        } => {
            let mut s = Scope::new();
            let p = format!("2001:db8:{:x}::/48", prefix % 8);
            let _ = s.targets.push_prefix(p.parse().expect("prefix"));
            s.lifetime = Some(Lifetime::Seconds(u32::from(*lifetime % 8) * 60));
            s.trigger_mitigation = Some(*trigger);
            let r = MitigationRequest::new(s);
            let mut buf = vec![0u8; r.encoded_len()];
            let n = r.encode_cbor(&mut buf).unwrap_or(0);
            buf.truncate(n);
            buf
        }
        Body::Config { hb, missing } => {
            let json = format!(
                r#"{{"ietf-dots-signal-channel:signal-config": {{
                  "mitigating-config": {{"heartbeat-interval": {{"current-value": {}}},
                                         "missing-hb-allowed": {{"current-value": {}}}}},
                  "idle-config": {{"heartbeat-interval": {{"current-value": {}}}}}}}}}"#,
                u16::from(*hb % 4) * 15,
                3 + missing % 4,
                u16::from(*hb % 3) * 20,
            );
            match dots_codec::json::from_str(&json) {
                Ok(m) => {
                    let mut buf = vec![0u8; m.encoded_len()];
                    let n = m.encode_cbor(&mut buf).unwrap_or(0);
                    buf.truncate(n);
                    buf
                }
                Err(_) => Vec::new(),
            }
        }
        Body::Heartbeat(s) => vec![0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, if *s { 0xf5 } else { 0xf4 }],
        Body::TmSetup { kind, a, b } => {
            let setup = match kind % 3 {
                0 => SetupData::CurrentConfig(TelemetryConfig {
                    low_percentile: Some(Decimal2::from_hundredths(i64::from(*a) * 40)),
                    high_percentile: Some(Decimal2::from_hundredths(i64::from(*b) * 40)),
                    server_originated_telemetry: Some(a & 1 == 1),
                    telemetry_notify_interval: Some(u16::from(*b % 8)),
                    ..TelemetryConfig::default()
                }),
                1 => {
                    let mut v = SetupData::TotalPipeCapacity(Default::default());
                    if let SetupData::TotalPipeCapacity(l) = &mut v {
                        for i in 0..(a % 3) {
                            let mut link_id = LinkId::default();
                            let _ = link_id.push_str(&format!("link{i}"));
                            let _ = l.push(PipeCapacity {
                                link_id,
                                capacity: u64::from(*b) * u64::from(i),
                                unit: Unit::MegabitPs,
                            });
                        }
                    }
                    v
                }
                _ => SetupData::CurrentConfig(TelemetryConfig::default()),
            };
            encode(&TelemetrySetup::request(setup))
        }
        Body::Tm { prefix, data } => encode(&Telemetry::new(tm_entry(*prefix, *data))),
    }
}

fn tm_entry(prefix: u8, data: Option<u16>) -> PreOrOngoingMitigation {
    let mut e = PreOrOngoingMitigation::default();
    let p = format!("2001:db8:{:x}::/48", prefix % 8);
    let _ = e.target.targets.push_prefix(p.parse().expect("prefix"));
    if let Some(v) = data {
        let _ = e.total_attack_traffic.push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::MidPercentile, u64::from(v)),
        });
    }
    e
}

fn encode<B: CborBody>(b: &B) -> Vec<u8> {
    let mut buf = vec![0u8; b.encoded_len()];
    let n = b.encode_cbor(&mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// What the server last sent to a peer that the fuzzer may answer.
#[derive(Default, Clone, Copy)]
struct Seen {
    heartbeat: Option<Token>,
    last_mid: Option<u16>,
}

fuzz_target!(|steps: Vec<Step>| {
    let mut config = SessionConfig::default();
    config.max_peers = MAX_PEERS;
    config.max_endpoints = MAX_ENDPOINTS;
    config.endpoint_pool = 1;
    config.max_queued_per_peer = 4;
    config.max_observations_per_peer = 3;
    config.max_events = MAX_EVENTS;
    let mut server = ServerConfig::default();
    server.quotas.max_mitigations = 4;
    server.quotas.max_observers = 4;
    let mut s: ServerSession<u8> = ServerSession::new(config, SignalServer::new(server), 7);
    let mut now = Instant::from_secs(1);
    let mut seen = [Seen::default(); PEERS as usize];
    let mut out = vec![0u8; 2048];
    let mut msg = vec![0u8; 4096];
    for step in steps.iter().take(256) {
        match step {
            Step::Raw {
                peer,
                identity: i,
                bytes,
            } => {
                let p = peer % PEERS;
                if p < 4 {
                    s.handle_datagram(now, p, &identity(*i), bytes);
                } else {
                    s.handle_stream_bytes(now, p, &identity(*i), bytes);
                }
            }
            Step::Request {
                peer,
                identity: i,
                con,
                method,
                path,
                body: b,
                observe,
                if_match,
                query,
                token,
                mid,
            } => {
                let code = match method {
                    Method::Get => Code::GET,
                    Method::Put => Code::PUT,
                    Method::Delete => Code::DELETE,
                };
                let ty = if *con {
                    MessageType::Confirmable
                } else {
                    MessageType::NonConfirmable
                };
                let mut m =
                    MessageRepr::<512, 1024>::new(ty, code, *mid, Token::from_u64(u64::from(*token)));
                let uri = match path {
                    Path::Mitigate { cuid, mid } => match mid {
                        Some(x) => format!(
                            "/.well-known/dots/mitigate/cuid={}/mid={}",
                            CUIDS[usize::from(cuid % 3)],
                            x % 6
                        ),
                        None => format!(
                            "/.well-known/dots/mitigate/cuid={}",
                            CUIDS[usize::from(cuid % 3)]
                        ),
                    },
                    Path::Config { sid: Some(x) } => format!("/.well-known/dots/config/sid={}", x % 4),
                    Path::Config { sid: None } => String::from("/.well-known/dots/config"),
                    Path::Heartbeat => String::from("/.well-known/dots/hb"),
                    Path::TmSetup { cuid, tsid } => {
                        let c = CUIDS[usize::from(cuid % 3)];
                        match tsid {
                            Some(t) => format!("/.well-known/dots/tm-setup/cuid={c}/tsid={}", t % 6),
                            None => format!("/.well-known/dots/tm-setup/cuid={c}"),
                        }
                    }
                    Path::Tm { cuid, tmid } => {
                        let c = CUIDS[usize::from(cuid % 3)];
                        match tmid {
                            Some(t) => format!("/.well-known/dots/tm/cuid={c}/tmid={}", t % 6),
                            None => format!("/.well-known/dots/tm/cuid={c}"),
                        }
                    }
                    Path::Raw(r) => r.clone(),
                };
                let _ = m.options.set_uri_path(&uri);
                if let Some(q) = query {
                    let _ = m.options.push_uri_query(QUERIES[usize::from(q % 8)]);
                }
                if let Some(o) = observe {
                    let _ = m.options.set_observe(u32::from(*o % 3));
                }
                if *if_match {
                    let _ = m.options.push_if_match(&[]);
                }
                let payload = body(b);
                if !payload.is_empty() {
                    let _ = m.options.set_content_format(ContentFormat::DOTS_CBOR);
                    let _ = m.set_payload(&payload);
                }
                let p = peer % PEERS;
                if p < 4 {
                    if let Ok(n) = m.emit(&mut msg) {
                        s.handle_datagram(now, p, &identity(*i), &msg[..n]);
                    }
                } else if let Ok(n) = FrameRepr::from_message(m).emit(&mut msg) {
                    s.handle_stream_bytes(now, p, &identity(*i), &msg[..n]);
                }
            }
            Step::Csm { peer } => {
                let p = 4 + peer % 2;
                if let Ok(f) = FrameRepr::<16, 0>::csm(Some(1152), true) {
                    if let Ok(n) = f.emit(&mut msg) {
                        s.handle_stream_bytes(now, p, &identity(p), &msg[..n]);
                    }
                }
            }
            Step::AnswerHeartbeat { peer, con } => {
                let p = peer % 4;
                if let Some(t) = seen[usize::from(p)].heartbeat {
                    let ty = if *con {
                        MessageType::Confirmable
                    } else {
                        MessageType::NonConfirmable
                    };
                    let r = MessageRepr::<0, 0>::new(ty, Code::CHANGED, 77, t);
                    if let Ok(n) = r.emit(&mut msg) {
                        s.handle_datagram(now, p, &identity(p), &msg[..n]);
                    }
                }
            }
            Step::ResetLast { peer } => {
                let p = peer % 4;
                if let Some(mid) = seen[usize::from(p)].last_mid {
                    if let Ok(n) = MessageRepr::<0, 0>::reset(mid).emit(&mut msg) {
                        s.handle_datagram(now, p, &identity(p), &msg[..n]);
                    }
                }
            }
            Step::Host { cuid, mid, status } => {
                let st = MitigationStatus::from_value(u64::from(status % 9));
                let _ = s.set_mitigation_status(
                    now,
                    CUIDS[usize::from(cuid % 3)],
                    u32::from(mid % 6),
                    st,
                    MitigationStats::default(),
                );
            }
            Step::HostTelemetry { cuid, tmid, value } => {
                let e = value.map(|v| tm_entry(0, Some(v)));
                let _ = s.server_mut().set_attack_telemetry(
                    now,
                    CUIDS[usize::from(cuid % 3)],
                    u32::from(tmid % 6),
                    e.as_ref(),
                );
            }
            Step::Closed { peer } => s.peer_closed(now, &(peer % PEERS)),
            Step::Failed { peer } => s.peer_failed(now, &(peer % PEERS)),
            Step::Advance { ms } => {
                now = Instant::from_millis(now.as_millis() + u64::from(*ms % 600_000));
                s.handle_timeout(now);
            }
            Step::Drain { small } => {
                let len = if *small { 16 } else { out.len() };
                let mut rounds = 0;
                while let Ok(Some(t)) = s.poll_transmit(now, &mut out[..len]) {
                    rounds += 1;
                    assert!(rounds < 10_000, "poll_transmit never ends");
                    if t.peer < 4 {
                        if let Ok(m) = Message::parse(&out[..t.len]) {
                            let e = &mut seen[usize::from(t.peer)];
                            e.last_mid = Some(m.message_id());
                            if m.code() == Code::PUT {
                                e.heartbeat = Some(m.token());
                            }
                        }
                    }
                }
                while s.poll_event().is_some() {}
            }
        }
        if let Some(t) = s.poll_timeout() {
            assert!(t >= now, "poll_timeout {t} before now {now}");
        }
        assert!(s.peer_count() <= MAX_PEERS * 2, "{} peers", s.peer_count());
        assert!(s.endpoints_held() <= MAX_ENDPOINTS);
        if let Err(e) = s.check_invariants() {
            panic!("{e}");
        }
    }
    let mut events = 0;
    while s.poll_event().is_some() {
        events += 1;
    }
    assert!(events <= MAX_EVENTS);
});
