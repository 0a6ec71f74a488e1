//! The DOTS signal-channel server session (RFC 9132) through the whole stack: a datagram in
//! (CoAP parse, deduplication, an endpoint lent from the pool), the core (path, body decode,
//! validation, overlap checks, the table), the response out (CoAP encode, the peer's turn in the
//! transmit queue). Measured in the same run against the core alone on an identical table of
//! 100,000 active mitigations (10,000 clients), and the body decode alone.
//!
//! Then heartbeats with 100,000 sessions: a client heartbeat in and its 2.04 out, and the
//! server's own heartbeat (its timer, the message, its answer back).
//!
//! ```sh
//! cargo bench --bench server_session
//! ```

use std::hint::black_box;

#[path = "support/table.rs"]
mod table;

use table::{body, CLIENTS, PER_CLIENT};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dots::codec::cbor::CborBody;
use dots::codec::coap::{Code, ContentFormat, Message, MessageRepr, MessageType, Token};
use dots::codec::model::MitigationRequest;
use dots::proto::data::PeerIdentity;
use dots::proto::signal::server::{Request, ServerConfig, SignalServer, MIN_RESPONSE_BUFFER};
use dots::proto::signal::session::{ServerSession, SessionConfig};
use dots::proto::time::Instant;

/// Sessions in the heartbeat benches.
const SESSIONS: u32 = 100_000;
/// `mid`s stay 8 digits long, so that a request template is patched in place.
const FIRST_MID: u32 = 10_000_000;

fn cuid(client: usize) -> String {
    format!("c{client:021}")
}

/// A NON PUT of one target set, with the message ID, token and `mid` patched per request.
struct Template {
    bytes: Vec<u8>,
    /// Offset of the 8 digits of `mid=`.
    mid_at: usize,
}

impl Template {
    fn new(client: usize, set: usize) -> Template {
        let mut m = MessageRepr::<96, 256>::new(
            MessageType::NonConfirmable,
            Code::PUT,
            0,
            Token::from_u64(0),
        );
        m.options
            .set_uri_path(&format!(
                "/.well-known/dots/mitigate/cuid={}/mid={FIRST_MID}",
                cuid(client)
            ))
            .and_then(|o| o.set_content_format(ContentFormat::DOTS_CBOR))
            .unwrap();
        m.set_payload(&body(client, set)).unwrap();
        let mut bytes = vec![0u8; m.encoded_len()];
        m.emit(&mut bytes).unwrap();
        let needle = format!("mid={FIRST_MID}");
        let mid_at = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap()
            + 4;
        Template { bytes, mid_at }
    }

    fn patch(&mut self, message_id: u16, mid: u32) -> &[u8] {
        self.bytes[2..4].copy_from_slice(&message_id.to_be_bytes());
        self.bytes[4..12].copy_from_slice(&u64::from(mid).to_be_bytes());
        let mut n = mid;
        for i in (0..8).rev() {
            self.bytes[self.mid_at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        &self.bytes
    }
}

struct Stack {
    session: ServerSession<u32>,
    core: SignalServer,
    cuids: Vec<String>,
    cuid_segments: Vec<String>,
    templates: Vec<Template>,
    bodies: Vec<Vec<u8>>,
    next_mid: Vec<u32>,
    message_id: Vec<u16>,
    out: Vec<u8>,
    now: Instant,
}

impl Stack {
    /// A PUT through the session; returns the response code.
    fn session_put(&mut self, client: usize, set: usize) -> Code {
        let mid = self.next_mid[client];
        self.next_mid[client] += 1;
        self.message_id[client] = self.message_id[client].wrapping_add(1);
        let id = PeerIdentity::client(&self.cuids[client]);
        let bytes = self.templates[client * PER_CLIENT + set].patch(self.message_id[client], mid);
        self.session
            .handle_datagram(self.now, client as u32, &id, bytes);
        while self.session.poll_event().is_some() {}
        let mut code = Code::EMPTY;
        while let Some(t) = self.session.poll_transmit(self.now, &mut self.out).unwrap() {
            code = Code::from_raw(self.out[1]);
            black_box(t.len);
        }
        code
    }

    /// The same PUT to the core alone (what the session hands it).
    fn core_put(&mut self, client: usize, set: usize, mid: u32) -> Code {
        let mut mb = [0u8; 16];
        let segs = [
            ".well-known",
            "dots",
            "mitigate",
            &self.cuid_segments[client],
            mid_segment(mid, &mut mb),
        ];
        let req = Request::new(Code::PUT, &segs).with_cbor(&self.bodies[client * PER_CLIENT + set]);
        let peer = PeerIdentity::client(&self.cuids[client]);
        let r = self
            .core
            .handle_request(self.now, &peer, &req, &mut self.out)
            .unwrap();
        while self.core.poll_event().is_some() {}
        r.response().unwrap().code
    }
}

/// `mid=N` without allocating.
fn mid_segment(mid: u32, buf: &mut [u8; 16]) -> &str {
    buf[..4].copy_from_slice(b"mid=");
    let digits = mid.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut n = mid;
    for i in (0..digits).rev() {
        buf[4 + i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    std::str::from_utf8(&buf[..4 + digits]).unwrap()
}

fn stack() -> Stack {
    let mut config = ServerConfig::default();
    config.quotas.rate = None;
    config.quotas.max_clients = CLIENTS * 2;
    let cuids: Vec<String> = (0..CLIENTS).map(cuid).collect();
    let mut s = Stack {
        session: ServerSession::new(
            SessionConfig::default(),
            SignalServer::new(config.clone()),
            1,
        ),
        core: SignalServer::new(config),
        cuid_segments: cuids.iter().map(|c| format!("cuid={c}")).collect(),
        cuids,
        templates: (0..CLIENTS)
            .flat_map(|c| (0..PER_CLIENT).map(move |s| Template::new(c, s)))
            .collect(),
        bodies: (0..CLIENTS)
            .flat_map(|c| (0..PER_CLIENT).map(move |s| body(c, s)))
            .collect(),
        next_mid: vec![FIRST_MID; CLIENTS],
        message_id: vec![0; CLIENTS],
        out: vec![0u8; MIN_RESPONSE_BUFFER],
        now: Instant::from_secs(1),
    };
    for c in 0..CLIENTS {
        for set in 0..PER_CLIENT {
            let mid = s.next_mid[c];
            assert_eq!(s.session_put(c, set), Code::CREATED);
            assert_eq!(s.core_put(c, set, mid), Code::CREATED);
        }
    }
    assert_eq!(s.session.server().mitigation_count(), CLIENTS * PER_CLIENT);
    assert_eq!(s.core.mitigation_count(), CLIENTS * PER_CLIENT);
    s
}

fn puts(c: &mut Criterion) {
    let mut s = stack();
    let mut g = c.benchmark_group("server_session");
    g.throughput(Throughput::Elements(1));
    let fig8 = s.bodies[0].clone();
    g.bench_function("baseline: decode + validate the PUT body", |b| {
        b.iter(|| {
            let r = MitigationRequest::decode_cbor(black_box(&fig8)).unwrap();
            r.validate().unwrap();
            r
        })
    });
    // A new mid for one target set of a client, replacing its previous request for that set:
    // the table stays at 100,000 active mitigations. Round-robin over all clients.
    let mut k = 0usize;
    let mut core_mid = vec![FIRST_MID + PER_CLIENT as u32 + 1_000_000; CLIENTS];
    g.bench_function("core alone: PUT new mid (100k active, all clients)", |b| {
        b.iter(|| {
            let client = k % CLIENTS;
            let set = (k / CLIENTS) % PER_CLIENT;
            k += 1;
            let mid = core_mid[client];
            core_mid[client] += 1;
            let code = s.core_put(client, set, mid);
            debug_assert_eq!(code, Code::CREATED);
            black_box(code)
        })
    });
    let mut k = 0usize;
    g.bench_function(
        "session: PUT new mid, datagram to datagram (100k active, all clients)",
        |b| {
            b.iter(|| {
                let client = k % CLIENTS;
                let set = (k / CLIENTS) % PER_CLIENT;
                k += 1;
                let code = s.session_put(client, set);
                debug_assert_eq!(code, Code::CREATED);
                black_box(code)
            })
        },
    );
    // An attack-time burst from 16 busy clients (their state stays in cache).
    let mut k = 0usize;
    g.bench_function(
        "core alone: PUT new mid (100k active, 16 busy clients)",
        |b| {
            b.iter(|| {
                let client = k % 16;
                let set = (k / 16) % PER_CLIENT;
                k += 1;
                let mid = core_mid[client];
                core_mid[client] += 1;
                black_box(s.core_put(client, set, mid))
            })
        },
    );
    let mut k = 0usize;
    g.bench_function(
        "session: PUT new mid, datagram to datagram (100k active, 16 busy clients)",
        |b| {
            b.iter(|| {
                let client = k % 16;
                let set = (k / 16) % PER_CLIENT;
                k += 1;
                black_box(s.session_put(client, set))
            })
        },
    );
    g.finish();
    assert_eq!(s.session.server().mitigation_count(), CLIENTS * PER_CLIENT);
    println!(
        "session: {} peers, {} endpoints held, {} endpoint allocations for {} loans",
        s.session.peer_count(),
        s.session.endpoints_held(),
        s.session.stats().endpoint_allocations,
        s.session.stats().endpoint_loans
    );
    s.session.check_invariants().unwrap();
}

/// 100,000 sessions with a 100 s heartbeat interval, created 1 ms apart so that the server's
/// heartbeats fall due one per millisecond.
fn sessions() -> (ServerSession<u32>, Vec<String>, Instant) {
    let cuids: Vec<String> = (0..SESSIONS as usize).map(cuid).collect();
    let mut config = ServerConfig::default();
    config.quotas.max_clients = SESSIONS as usize * 2;
    let mut defaults = dots::proto::signal::server::default_session_config();
    for p in [
        defaults.idle_config.as_mut(),
        defaults.mitigating_config.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        p.heartbeat_interval = Some(dots::codec::model::IntParam::range(15, 240, 100));
    }
    config.session = defaults;
    let mut s = ServerSession::new(SessionConfig::default(), SignalServer::new(config), 2);
    let mut out = vec![0u8; 2048];
    let hb = heartbeat(0, 0);
    let mut now = Instant::from_secs(1);
    for (i, c) in cuids.iter().enumerate() {
        now = Instant::from_millis(1_000 + i as u64);
        s.handle_datagram(now, i as u32, &PeerIdentity::client(c), &hb);
        while s.poll_transmit(now, &mut out).unwrap().is_some() {}
    }
    (s, cuids, now)
}

/// A client heartbeat (NON PUT /hb, peer-hb-status true).
fn heartbeat(message_id: u16, token: u64) -> Vec<u8> {
    let mut m = MessageRepr::<32, 16>::new(
        MessageType::NonConfirmable,
        Code::PUT,
        message_id,
        Token::from_u64(token),
    );
    m.options
        .set_uri_path("/.well-known/dots/hb")
        .and_then(|o| o.set_content_format(ContentFormat::DOTS_CBOR))
        .unwrap();
    m.set_payload(&[0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5])
        .unwrap();
    let mut b = vec![0u8; m.encoded_len()];
    m.emit(&mut b).unwrap();
    b
}

fn heartbeats(c: &mut Criterion) {
    let (mut s, cuids, mut now) = sessions();
    let mut out = vec![0u8; 2048];
    let mut hb = heartbeat(0, 0);
    let mut g = c.benchmark_group("server_session_heartbeats");
    g.throughput(Throughput::Elements(1));
    let mut k = 0u32;
    g.bench_function("client heartbeat in, 2.04 out (100k sessions)", |b| {
        b.iter(|| {
            let peer = k % SESSIONS;
            k = k.wrapping_add(1);
            let mid = (k / SESSIONS) as u16 ^ 0x5a5a;
            hb[2..4].copy_from_slice(&mid.to_be_bytes());
            s.handle_datagram(now, peer, &PeerIdentity::client(&cuids[peer as usize]), &hb);
            let mut n = 0;
            while let Some(t) = s.poll_transmit(now, &mut out).unwrap() {
                n += t.len;
            }
            black_box(n)
        })
    });
    // The server's heartbeats: every millisecond one falls due; it is written, sent, and
    // answered.
    let mut answer = [0u8; 16];
    let mut mid = 0u16;
    g.bench_function(
        "server heartbeat: timer, message, its answer (100k sessions)",
        |b| {
            b.iter(|| {
                now = Instant::from_millis(now.as_millis() + 1);
                s.handle_timeout(now);
                let mut sent = 0;
                while let Some(t) = s.poll_transmit(now, &mut out).unwrap() {
                    let m = Message::parse(&out[..t.len]).unwrap();
                    if m.code() == Code::PUT {
                        mid = mid.wrapping_add(1);
                        let r = MessageRepr::<0, 0>::new(
                            MessageType::NonConfirmable,
                            Code::CHANGED,
                            mid,
                            m.token(),
                        );
                        let n = r.emit(&mut answer).unwrap();
                        let peer = t.peer;
                        s.handle_datagram(
                            now,
                            peer,
                            &PeerIdentity::client(&cuids[peer as usize]),
                            &answer[..n],
                        );
                        sent += 1;
                    }
                }
                black_box(sent)
            })
        },
    );
    g.finish();
    let st = s.stats();
    println!(
        "heartbeats: {} sessions, {} sent, {} answered, {} lost",
        s.peer_count(),
        st.heartbeats_sent,
        st.heartbeats_answered,
        st.peers_lost
    );
    s.check_invariants().unwrap();
}

criterion_group!(benches, puts, heartbeats);
criterion_main!(benches);
