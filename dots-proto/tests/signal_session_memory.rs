//! Memory per idle client session and per active mitigation through the whole server session
//! (peer state, indexes, timers, the endpoint when one is held, and the core's client and
//! mitigation records), measured with a counting global allocator: heap bytes live after the
//! operations. The pooled endpoint and the session's buffers are warmed up before the
//! measurement (they are shared by all peers, not per client).

mod signal_server_support;

use std::alloc::System;

use dots_codec::coap::{Code, ContentFormat, Message, MessageRepr, MessageType, Token};
use dots_proto::data::PeerIdentity;
use dots_proto::signal::server::{ServerConfig, SignalServer};
use dots_proto::signal::session::{ServerSession, SessionConfig};
use dots_proto::time::Instant;
use signal_server_support::{cbor, FIG7};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CLIENTS: u32 = 2_000;
const PER_CLIENT: u32 = 10;

fn live(r: &Region<'_, System>) -> isize {
    let c = r.change();
    c.bytes_allocated as isize - c.bytes_deallocated as isize
}

struct Lab {
    s: ServerSession<u32>,
    cuids: Vec<String>,
    buf: [u8; 2048],
    out: [u8; 2048],
    now: Instant,
    mid: u16,
}

impl Lab {
    fn send(
        &mut self,
        peer: u32,
        ty: MessageType,
        code: Code,
        uri: &str,
        body: &[u8],
        observe: bool,
    ) {
        let mut m =
            MessageRepr::<96, 1024>::new(ty, code, self.mid, Token::from_u64(u64::from(self.mid)));
        self.mid = self.mid.wrapping_add(1);
        m.options.set_uri_path(uri).unwrap();
        if observe {
            m.options.set_observe(0).unwrap();
        }
        if !body.is_empty() {
            m.options
                .set_content_format(ContentFormat::DOTS_CBOR)
                .unwrap();
            m.set_payload(body).unwrap();
        }
        let n = m.emit(&mut self.buf).unwrap();
        let id = PeerIdentity::client(&self.cuids[peer as usize]);
        let bytes = self.buf;
        self.s.handle_datagram(self.now, peer, &id, &bytes[..n]);
        self.drain();
    }

    /// Sends what the server queued; answers its heartbeats with NON 2.04.
    fn drain(&mut self) {
        while self.s.poll_event().is_some() {}
        let mut answers = Vec::new();
        while let Some(t) = self.s.poll_transmit(self.now, &mut self.out).unwrap() {
            let m = Message::parse(&self.out[..t.len]).unwrap();
            if m.code() == Code::PUT {
                answers.push((t.peer, m.token()));
            } else {
                assert!(m.code().is_success() || m.code().is_empty(), "{}", m.code());
            }
        }
        for (peer, token) in answers {
            let r = MessageRepr::<0, 0>::new(
                MessageType::NonConfirmable,
                Code::CHANGED,
                self.mid,
                token,
            );
            self.mid = self.mid.wrapping_add(1);
            let n = r.emit(&mut self.buf).unwrap();
            let id = PeerIdentity::client(&self.cuids[peer as usize]);
            let bytes = self.buf;
            self.s.handle_datagram(self.now, peer, &id, &bytes[..n]);
        }
        while self.s.poll_event().is_some() {}
    }

    fn advance(&mut self, ms: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + ms);
        self.s.handle_timeout(self.now);
        self.drain();
    }
}

const CONFIG: &str = r#"{"ietf-dots-signal-channel:signal-config": {
  "mitigating-config": {"heartbeat-interval": {"current-value": 30}, "missing-hb-allowed": {"current-value": 5}},
  "idle-config": {"heartbeat-interval": {"current-value": 60}, "missing-hb-allowed": {"current-value": 5}}}}"#;

#[test]
fn bytes_per_idle_client_and_per_active_mitigation() {
    let mut config = ServerConfig::default();
    config.quotas.rate = None;
    let mut lab = Lab {
        s: ServerSession::new(SessionConfig::default(), SignalServer::new(config), 5),
        cuids: (0..=CLIENTS).map(|i| format!("client-{i:016}")).collect(),
        buf: [0; 2048],
        out: [0; 2048],
        now: Instant::from_secs(1_000),
        mid: 1,
    };
    let hb = [0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5];
    let config_body = cbor(CONFIG);
    let bodies: Vec<Vec<u8>> = (0..CLIENTS * PER_CLIENT)
        .map(|i| {
            // RFC 9132 Figure 7's shape: two /128 targets, three ports, TCP.
            let a = format!("2001:db8:{:x}:{:x}::1/128", i >> 16, i & 0xffff);
            let b = format!("2001:db8:{:x}:{:x}::2/128", i >> 16, i & 0xffff);
            cbor(
                &FIG7
                    .replace("2001:db8:6401::1/128", &a)
                    .replace("2001:db8:6401::2/128", &b),
            )
        })
        .collect();
    let uris: Vec<String> = (0..CLIENTS * PER_CLIENT)
        .map(|i| {
            format!(
                "/.well-known/dots/mitigate/cuid={}/mid={}",
                lab.cuids[(i / PER_CLIENT) as usize],
                i % PER_CLIENT
            )
        })
        .collect();
    // Warm-up with the last cuid: a pooled endpoint and the session's buffers.
    let w = CLIENTS;
    lab.send(
        w,
        MessageType::Confirmable,
        Code::PUT,
        "/.well-known/dots/config/sid=1",
        &config_body,
        false,
    );
    lab.send(
        w,
        MessageType::NonConfirmable,
        Code::GET,
        "/.well-known/dots/config",
        &[],
        false,
    );
    let now = lab.now;
    lab.s.peer_closed(now, &w);
    lab.drain();

    // Idle clients: a session each, a negotiated configuration, heartbeats both ways.
    let region = Region::new(GLOBAL);
    for c in 0..CLIENTS {
        lab.send(
            c,
            MessageType::Confirmable,
            Code::PUT,
            "/.well-known/dots/config/sid=1",
            &config_body,
            false,
        );
        lab.send(
            c,
            MessageType::NonConfirmable,
            Code::PUT,
            "/.well-known/dots/hb",
            &hb,
            false,
        );
    }
    lab.advance(61_000); // every server heartbeat sent and answered
    let idle = live(&region);
    let per_idle = idle / CLIENTS as isize;
    assert_eq!(lab.s.peer_count(), CLIENTS as usize);
    assert_eq!(lab.s.server().client_count(), CLIENTS as usize + 1);
    assert_eq!(lab.s.endpoints_held(), 0);
    assert!(lab.s.stats().heartbeats_answered >= u64::from(CLIENTS));
    // The core's share: the same configurations in a core alone.
    let mut core = SignalServer::new(ServerConfig::default());
    let seg: Vec<&str> = vec![".well-known", "dots", "config", "sid=1"];
    let mut out = vec![0u8; 4096];
    let region_core = Region::new(GLOBAL);
    for c in 0..CLIENTS {
        let req = dots_proto::signal::server::Request::new(Code::PUT, &seg).with_cbor(&config_body);
        let id = PeerIdentity::client(&lab.cuids[c as usize]);
        let _ = core.handle_request(lab.now, &id, &req, &mut out).unwrap();
        while core.poll_event().is_some() {}
    }
    let core_idle = live(&region_core) / CLIENTS as isize;
    println!(
        "idle client session (peer state + core client with a configuration): {per_idle} B, of which the core's client record {core_idle} B"
    );
    assert!(per_idle <= 4096, "{per_idle} B per idle client");

    // Active mitigations, each observed by its own registration.
    let region = Region::new(GLOBAL);
    for i in 0..CLIENTS * PER_CLIENT {
        let c = i / PER_CLIENT;
        let (u, b) = (uris[i as usize].clone(), bodies[i as usize].clone());
        lab.send(c, MessageType::NonConfirmable, Code::PUT, &u, &b, false);
        lab.send(c, MessageType::NonConfirmable, Code::GET, &u, &[], true);
    }
    let active = live(&region);
    let n = (CLIENTS * PER_CLIENT) as isize;
    let per_mitigation = active / n;
    assert_eq!(lab.s.server().mitigation_count(), n as usize);
    assert_eq!(lab.s.endpoints_held(), 0);
    println!("active mitigation, observed on its own (core + observation): {per_mitigation} B");
    assert!(
        per_mitigation <= 512,
        "{per_mitigation} B per active mitigation"
    );
    lab.s.check_invariants().unwrap();
}
