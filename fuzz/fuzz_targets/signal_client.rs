//! The DOTS signal-channel client session (dots-proto `signal::client`) driven by arbitrary
//! datagrams, replies to its own requests with arbitrary codes and bodies (status scopes,
//! conflicts, redirections, configurations, RFC 9244 telemetry setup and telemetry, raw
//! bytes), server requests, time steps, timeouts and commands (RFC 9244 telemetry setup,
//! pre-or-ongoing-mitigation telemetry and GETs with Uri-Query filters among them). Checks: no panic, `poll_timeout` never before the latest `now`, the
//! mitigation table within its capacity with unique `mid`s, `mid`s that never go back except
//! through a reported rollover, transmissions within the buffer, events readable.
#![no_main]

use arbitrary::Arbitrary;
use dots_codec::cbor::{encode_scopes, CborBody};
use dots_codec::coap::{Code, ContentFormat, Message, MessageRepr, MessageType, Token};
use dots_codec::model::telemetry::{
    Gauge, Gauges, PreOrOngoingMitigation, SetupData, Telemetry, TelemetryConfig,
    TelemetrySetup, Unit, UnitTraffic,
};
use dots_codec::model::{
    AttackStatus, Decimal2, ConfigParams, ConflictCause, ConflictInformation, ConflictStatus, IntParam,
    Lifetime, MitigationStatus, RedirectedSignal, Scope, ScopeEntry, SignalConfig,
};
use dots_proto::signal::client::{ClientConfig, Event, SignalClient, MID_ROLLOVER};
use dots_proto::time::Instant;
use libfuzzer_sys::fuzz_target;

type Client = SignalClient<4, 4, 2, 1152, 4096, 1024>;

const NAMES: [&str; 3] = ["dots.example", "alt-server.example", "other.example"];

#[derive(Arbitrary, Debug)]
enum Body {
    Empty,
    Raw(Vec<u8>),
    Status {
        mid: u8,
        status: u8,
        lifetime: Option<i16>,
        bytes: Option<u64>,
        two: bool,
    },
    Conflict {
        mid: Option<u8>,
        status: u8,
        cause: u8,
        retry: Option<u16>,
    },
    Redirect {
        name: u8,
        records: u8,
    },
    Config {
        hb: u16,
        missing: u16,
        ranges: bool,
    },
    TmSetup {
        low: u8,
        interval: u8,
    },
    Tm {
        prefix: u8,
        value: Option<u16>,
    },
}

/// Uri-Query filters of RFC 9244 Section 5.4 (and invalid ones).
const QUERIES: [&str; 6] = [
    "target-protocol=17",
    "target-prefix=2001:db8::/32",
    "alias-name=https1",
    "c=c",
    "example-unknown-query=1",
    "",
];

fn tm_entry(prefix: u8, value: Option<u16>) -> PreOrOngoingMitigation {
    let mut e = PreOrOngoingMitigation::default();
    if let Ok(n) = format!("2001:db8:{prefix:x}::/48").parse() {
        let _ = e.target.targets.push_prefix(n);
    }
    if let Some(v) = value {
        let _ = e.total_attack_traffic.push(UnitTraffic {
            unit: Unit::MegabitPs,
            gauges: Gauges::new().with(Gauge::MidPercentile, u64::from(v)),
        });
    }
    e
}

fn tm_setup(low: u8, interval: u8) -> TelemetrySetup {
    TelemetrySetup::request(SetupData::CurrentConfig(TelemetryConfig {
        low_percentile: Some(Decimal2::from_hundredths(i64::from(low) * 40)),
        server_originated_telemetry: Some(low & 1 == 1),
        telemetry_notify_interval: Some(u16::from(interval)),
        ..TelemetryConfig::default()
    }))
}

#[derive(Arbitrary, Debug)]
enum Op {
    Datagram(Vec<u8>),
    Reply {
        which: u8,
        code: u8,
        body: Body,
        max_age: Option<u32>,
        observe: Option<u32>,
        cbor: bool,
    },
    ServerHeartbeat {
        con: bool,
        status: bool,
        garbage: bool,
    },
    ServerRequest {
        code: u8,
        path: u8,
    },
    Advance(u16),
    Jump(u32),
    Back(u16),
    Timeout,
    Transmit {
        buf_len: u16,
    },
    Request {
        prefix: u8,
        lifetime: i16,
        trigger: bool,
    },
    Update {
        which: u8,
        prefix: u8,
    },
    Withdraw(u8),
    Refresh(u8),
    Forget(u8),
    Efficacy(u8),
    Get {
        which: Option<u8>,
        observe: bool,
    },
    StopObserving(Option<u8>),
    GetConfig(bool),
    Negotiate {
        idle: u16,
        mitigating: u16,
        missing: u16,
    },
    DeleteConfig,
    Attack(bool),
    Close,
    ConnectionFailed,
    Reconnect {
        name: u8,
    },
    SetCuid(bool),
    Telemetry {
        kind: u8,
        id: Option<u8>,
    },
    PutTelemetrySetup {
        low: u8,
        interval: u8,
    },
    PutTelemetry {
        prefix: u8,
        value: Option<u16>,
    },
    GetTelemetry {
        id: Option<u8>,
        observe: bool,
        queries: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    tcp: bool,
    call_home: bool,
    high_mids: bool,
    seed: u64,
    ops: Vec<Op>,
}

fn scope(prefix: u8, lifetime: i16, trigger: bool) -> Scope {
    let mut s = Scope::new();
    let net = format!("2001:db8:{prefix:x}::/48");
    if let Ok(n) = net.parse() {
        let _ = s.targets.push_prefix(n);
    }
    s.lifetime = Lifetime::from_i64(i64::from(lifetime));
    if !trigger {
        s.trigger_mitigation = Some(false);
    }
    s
}

fn pick(c: &Client, k: u8) -> u32 {
    let mids: Vec<u32> = c.mitigations().map(|m| m.mid()).collect();
    if mids.is_empty() {
        u32::from(k)
    } else {
        mids[usize::from(k) % mids.len()]
    }
}

fn body_bytes(c: &Client, b: &Body) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let n = match b {
        Body::Empty => 0,
        Body::Raw(r) => return r.clone(),
        Body::Status {
            mid,
            status,
            lifetime,
            bytes,
            two,
        } => {
            let mut e = ScopeEntry::default();
            e.mid = Some(pick(c, *mid));
            e.status = MitigationStatus::from_value(u64::from(*status % 9));
            e.scope.lifetime = lifetime.and_then(|l| Lifetime::from_i64(i64::from(l)));
            e.bytes_dropped = *bytes;
            let mut f = e.clone();
            f.mid = Some(pick(c, mid.wrapping_add(1)));
            let entries: Vec<&ScopeEntry> = if *two { vec![&e, &f] } else { vec![&e] };
            encode_scopes(entries, &mut out).unwrap_or(0)
        }
        Body::Conflict {
            mid,
            status,
            cause,
            retry,
        } => {
            let mut e = ScopeEntry::default();
            e.mid = mid.map(|m| pick(c, m));
            e.conflict_information = Some(ConflictInformation {
                conflict_status: ConflictStatus::from_value(u64::from(*status % 4)),
                conflict_cause: ConflictCause::from_value(u64::from(*cause % 6)),
                retry_timer: retry.map(u32::from),
                conflict_scope: None,
            });
            encode_scopes([&e], &mut out).unwrap_or(0)
        }
        Body::Redirect { name, records } => {
            let mut r = RedirectedSignal::default();
            r.alt_server = NAMES[usize::from(*name) % 3].try_into().ok();
            for i in 0..(*records % 4) {
                let _ = r
                    .alt_server_record
                    .push(format!("2001:db8::{i}").parse().unwrap());
            }
            r.encode_cbor(&mut out).unwrap_or(0)
        }
        Body::Config {
            hb,
            missing,
            ranges,
        } => {
            let p = |v: u16| {
                if *ranges {
                    IntParam::range(v / 2, v.saturating_mul(2), v)
                } else {
                    IntParam::current(v)
                }
            };
            let params = ConfigParams {
                heartbeat_interval: Some(p(*hb % 600)),
                missing_hb_allowed: Some(p(*missing % 40)),
                ..ConfigParams::default()
            };
            SignalConfig {
                sid: None,
                mitigating_config: Some(params),
                idle_config: Some(params),
            }
            .encode_cbor(&mut out)
            .unwrap_or(0)
        }
        Body::TmSetup { low, interval } => tm_setup(*low, *interval)
            .encode_cbor(&mut out)
            .unwrap_or(0),
        Body::Tm { prefix, value } => {
            let mut e = tm_entry(*prefix, *value);
            e.tmid = Some(u32::from(*prefix));
            Telemetry::new(e).encode_cbor(&mut out).unwrap_or(0)
        }
    };
    out.truncate(n);
    out
}

fn emit(m: &MessageRepr<64, 4096>) -> Vec<u8> {
    let mut b = vec![0u8; 4200];
    match m.emit(&mut b) {
        Ok(n) => {
            b.truncate(n);
            b
        }
        Err(_) => Vec::new(),
    }
}

fn check(c: &mut Client, floor: &mut u64) {
    if let Some(t) = c.poll_timeout() {
        assert!(t >= c.now(), "poll_timeout {t:?} before now {:?}", c.now());
    }
    let mids: Vec<u32> = c.mitigations().map(|m| m.mid()).collect();
    assert!(mids.len() <= 4);
    let mut u = mids.clone();
    u.sort_unstable();
    u.dedup();
    assert_eq!(u.len(), mids.len(), "duplicate mids");
    let mut rolled = false;
    while let Some(e) = c.poll_event() {
        match e {
            Event::MidRollover { .. } => rolled = true,
            Event::Conflict { information, .. } => {
                let _ = information.conflict_cause;
            }
            Event::Redirected {
                alt_server,
                alt_server_record,
                ..
            } => {
                let _ = (alt_server.len(), alt_server_record.len());
            }
            Event::MitigationRejected { diagnostic, .. } => {
                let _ = diagnostic.len();
            }
            Event::Telemetry { body, .. } | Event::TelemetrySetup { body, .. } => {
                let _ = body.len();
            }
            _ => {}
        }
    }
    if !rolled {
        assert!(c.next_mid() >= *floor, "mid went back");
    }
    *floor = c.next_mid();
}

fuzz_target!(|input: Input| {
    let mut config = if input.tcp {
        ClientConfig::tcp()
    } else {
        ClientConfig::udp()
    };
    config.call_home = input.call_home;
    if input.high_mids {
        config.first_mid = MID_ROLLOVER - 1;
    }
    let transport = config.transport();
    let Ok(mut c) = Client::new(Instant::ZERO, "dz6pHjaADkaFTbjr0JGBpw", NAMES[0], config, input.seed)
    else {
        return;
    };
    let mut now = Instant::ZERO;
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut next_mid: u16 = 0x4000;
    let mut floor = c.next_mid();
    for op in input.ops.into_iter().take(256) {
        match op {
            Op::Datagram(b) => {
                if input.tcp {
                    c.handle_stream_bytes(now, &b);
                } else {
                    c.handle_datagram(now, &b);
                }
            }
            Op::Reply {
                which,
                code,
                body,
                max_age,
                observe,
                cbor,
            } => {
                if input.tcp || sent.is_empty() {
                    continue;
                }
                let req = &sent[usize::from(which) % sent.len()];
                let Ok(msg) = Message::parse(req) else { continue };
                if !msg.is_request() {
                    continue;
                }
                let code = Code::from_raw(code);
                next_mid = next_mid.wrapping_add(1);
                let mut r = MessageRepr::<64, 4096>::response_to(&msg, code, next_mid);
                if cbor {
                    let _ = r.options.set_content_format(ContentFormat::DOTS_CBOR);
                }
                if let Some(m) = max_age {
                    let _ = r.options.set_max_age(m);
                }
                if let Some(o) = observe {
                    let _ = r.options.set_observe(o & 0xff_ffff);
                }
                let payload = body_bytes(&c, &body);
                let _ = r.set_payload(&payload);
                let bytes = emit(&r);
                c.handle_datagram(now, &bytes);
            }
            Op::ServerHeartbeat {
                con,
                status,
                garbage,
            } => {
                if input.tcp {
                    continue;
                }
                next_mid = next_mid.wrapping_add(1);
                let ty = if con {
                    MessageType::Confirmable
                } else {
                    MessageType::NonConfirmable
                };
                let token = Token::new(&next_mid.to_be_bytes()).unwrap_or_default();
                let mut m = MessageRepr::<64, 4096>::new(ty, Code::PUT, next_mid, token);
                let _ = m.options.set_uri_path("/.well-known/dots/hb");
                let _ = m.options.set_content_format(ContentFormat::DOTS_CBOR);
                let body: &[u8] = if garbage {
                    &[0xa1, 0x18]
                } else if status {
                    &[0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5]
                } else {
                    &[0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf4]
                };
                let _ = m.set_payload(body);
                c.handle_datagram(now, &emit(&m));
            }
            Op::ServerRequest { code, path } => {
                if input.tcp {
                    continue;
                }
                next_mid = next_mid.wrapping_add(1);
                let token = Token::new(&next_mid.to_be_bytes()).unwrap_or_default();
                let mut m = MessageRepr::<64, 4096>::new(
                    MessageType::Confirmable,
                    Code::new(0, code % 8),
                    next_mid,
                    token,
                );
                let p = ["/.well-known/dots/mitigate", "/.well-known/dots/hb", "/x"];
                let _ = m.options.set_uri_path(p[usize::from(path) % 3]);
                c.handle_datagram(now, &emit(&m));
            }
            Op::Advance(ms) => now = now + core::time::Duration::from_millis(u64::from(ms)),
            Op::Jump(s) => now = now + core::time::Duration::from_secs(u64::from(s % 100_000)),
            Op::Back(ms) => {
                now = Instant::from_millis(now.as_millis().saturating_sub(u64::from(ms)));
            }
            Op::Timeout => {
                let at = c.poll_timeout().unwrap_or(now);
                now = now.max(at);
                c.handle_timeout(now);
            }
            Op::Transmit { buf_len } => {
                let mut buf = vec![0u8; usize::from(buf_len % 2048)];
                while let Ok(Some(t)) = c.poll_transmit(now, &mut buf) {
                    assert!(t.len <= buf.len());
                    sent.push(buf[..t.len].to_vec());
                    if sent.len() > 16 {
                        sent.remove(0);
                    }
                }
            }
            Op::Request {
                prefix,
                lifetime,
                trigger,
            } => {
                let _ = c.request_mitigation(now, &scope(prefix, lifetime, trigger));
            }
            Op::Update { which, prefix } => {
                let mid = pick(&c, which);
                let _ = c.update_mitigation(now, mid, &scope(prefix, 600, true));
            }
            Op::Withdraw(k) => {
                let mid = pick(&c, k);
                let _ = c.withdraw_mitigation(now, mid);
            }
            Op::Refresh(k) => {
                let mid = pick(&c, k);
                let _ = c.refresh_mitigation(now, mid, None);
            }
            Op::Forget(k) => {
                let mid = pick(&c, k);
                let _ = c.forget_mitigation(now, mid);
            }
            Op::Efficacy(k) => {
                let mid = pick(&c, k);
                let _ = c.efficacy_update(now, mid, AttackStatus::SuccessfullyMitigated, None);
            }
            Op::Get { which, observe } => {
                let mid = which.map(|k| pick(&c, k));
                let _ = c.get_mitigations(now, mid, observe, &["c=n"]);
            }
            Op::StopObserving(k) => {
                let mid = k.map(|k| pick(&c, k));
                let _ = c.stop_observing(now, mid);
            }
            Op::GetConfig(o) => {
                let _ = c.get_config(now, o);
            }
            Op::Negotiate {
                idle,
                mitigating,
                missing,
            } => {
                let p = |hb: u16| ConfigParams {
                    heartbeat_interval: Some(IntParam::current(hb)),
                    missing_hb_allowed: Some(IntParam::current(missing)),
                    ..ConfigParams::default()
                };
                let d = SignalConfig {
                    sid: None,
                    idle_config: Some(p(idle)),
                    mitigating_config: Some(p(mitigating)),
                };
                let _ = c.negotiate_config(now, &d);
            }
            Op::DeleteConfig => {
                let _ = c.delete_config(now);
            }
            Op::Attack(a) => c.set_attack(now, a),
            Op::Close => c.close(now),
            Op::ConnectionFailed => c.connection_failed(now),
            Op::Reconnect { name } => {
                c.reconnected(now, NAMES[usize::from(name) % 3], transport);
                sent.clear();
            }
            Op::SetCuid(other) => {
                let _ = c.set_cuid(now, if other { "f30d281ce6b64fc5a0b91e" } else { "x" });
            }
            Op::Telemetry { kind, id } => {
                let id = id.map(u32::from);
                let _ = match kind % 5 {
                    0 => c.get_telemetry_setup(now, id),
                    1 => c.delete_telemetry_setup(now, id),
                    2 => c.get_telemetry(now, id, kind & 8 != 0, &["target-protocol=17"]),
                    3 => c.delete_telemetry(now, id),
                    _ => c.stop_observing_telemetry(now, id),
                };
            }
            Op::PutTelemetrySetup { low, interval } => {
                let _ = c.put_telemetry_setup(now, &tm_setup(low, interval));
            }
            Op::PutTelemetry { prefix, value } => {
                let _ = c.put_telemetry(now, &Telemetry::new(tm_entry(prefix, value)));
            }
            Op::GetTelemetry { id, observe, queries } => {
                let q: Vec<&str> = queries
                    .iter()
                    .take(8)
                    .map(|q| QUERIES[usize::from(*q) % QUERIES.len()])
                    .collect();
                let _ = c.get_telemetry(now, id.map(u32::from), observe, &q);
            }
        }
        check(&mut c, &mut floor);
    }
});
