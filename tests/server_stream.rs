//! The `server` example's signal channel over CoAP over TLS (`--tls ADDR --cert --key --ca`)
//! and plain CoAP over TCP (`--tcp ADDR --insecure`), RFC 8323:
//!
//! - a rustls client in this test (the library's CoAP `ClientEndpoint` in TCP mode over
//!   `support::transport::TlsLink`, ALPN `coap`): PUT Figure 8 → 2.01 under the certificate's
//!   cuid, GET → 2.05 with the scope, a heartbeat → 2.04, DELETE → 2.02;
//! - the same endpoint over plain TCP: the cuid is the Uri-Path's, as sent;
//! - libcoap's `coap-client-openssl` and `coap-client-gnutls` over `coaps+tcp://` (X.509, Observe
//!   with the mitigator's notification, a client from another CA refused in the handshake) and
//!   `coap+tcp://` (skipped without the binaries unless `DOTS_REQUIRE_INTEROP=1`).

// The `server` example's modules, at the crate root as in the example.
include!("server_support/example_modules.rs");

mod server_support;

use std::time::{Duration, Instant as StdInstant};

use dots::codec::cbor::CborBody;
use dots::codec::coap::{Code, ContentFormat, OptionList};
use dots::codec::model::{MitigationScope, MitigationStatus};
use dots::proto::coap::{ClientEndpoint, Config, Event, Request};
use dots::proto::time::StdClock;
use server_support::{coap_client, hex, tool, Fixture, Server, FIG8};
use support::tls::{client_config, ALPN_COAP};
use support::transport::{Link, TcpLink, TlsLink};

const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";

fn start(fx: &Fixture) -> Server {
    let mut args: Vec<String> = ["--tls", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--insecure"]
        .map(String::from)
        .to_vec();
    args.extend(fx.server_creds());
    args.extend(["--mitigated-after".into(), "3".into()]);
    Server::start(&args, 2)
}

/// The library's CoAP client endpoint (RFC 8323 mode) over a stream link.
struct StreamClient {
    link: Box<dyn Link>,
    ep: ClientEndpoint,
    clock: StdClock,
}

impl StreamClient {
    fn new(link: Box<dyn Link>) -> StreamClient {
        StreamClient {
            link,
            ep: ClientEndpoint::new(Config::tcp(), 7),
            clock: StdClock::new(),
        }
    }

    /// Sends one request and waits (at most 10 s) for its response.
    fn exchange(&mut self, code: Code, path: &str, body: &[u8]) -> (Code, Vec<u8>) {
        let mut o = OptionList::<256>::new();
        o.set_uri_path(path).unwrap();
        if !body.is_empty() {
            o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
        }
        let id = self
            .ep
            .request(
                self.clock.now(),
                Request::con(code).options(o.as_options()).payload(body),
            )
            .unwrap();
        let deadline = StdInstant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 4096];
        while StdInstant::now() < deadline {
            let now = self.clock.now();
            self.ep.handle_timeout(now);
            while let Some(t) = self.ep.poll_transmit(now, &mut buf).unwrap() {
                self.link.send(&buf[..t.len]).unwrap();
            }
            if let Some(bytes) = self.link.recv(Duration::from_millis(20)).unwrap() {
                self.ep.handle_stream_bytes(self.clock.now(), &bytes);
            }
            let mut answer = Vec::new();
            while let Some(ev) = self.ep.poll_event() {
                match ev {
                    Event::Response {
                        request, response, ..
                    } if request == id => return (response.code, response.payload.to_vec()),
                    // The server's heartbeat: answered as RFC 9132 Section 4.7 says.
                    Event::Request { id, .. } => answer.push(id),
                    _ => {}
                }
            }
            for id in answer {
                let _ = self.ep.respond(
                    self.clock.now(),
                    id,
                    dots::proto::coap::Response::new(Code::CHANGED),
                );
            }
        }
        panic!("no answer to {code:?} {path}");
    }
}

fn mitigate(cuid: &str, mid: u32) -> String {
    format!("/.well-known/dots/mitigate/cuid={cuid}/mid={mid}")
}

/// Figure 27: a client heartbeat, `peer-hb-status` true.
const HEARTBEAT: [u8; 7] = [0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5];

#[test]
fn rustls_client_over_tls_and_plain_tcp() {
    let fx = Fixture::new();
    let server = start(&fx);
    let cuid = fx.client_cuid();

    // TLS: the certificate's cuid.
    let config = client_config(
        Some(&fx.pki.client.identity()),
        &fx.pki.trust(),
        &[ALPN_COAP],
    )
    .unwrap();
    let link = TlsLink::connect(
        server.addrs["tls"],
        "127.0.0.1",
        config,
        Duration::from_secs(10),
    )
    .expect("TLS handshake with the server");
    let mut c = StreamClient::new(Box::new(link));
    let (code, _) = c.exchange(Code::PUT, &mitigate(&cuid, 123), &hex(FIG8));
    assert_eq!(code, Code::CREATED);
    assert!(server.log_contains("tls 127.0.0.1:"));
    assert!(server.log_contains(&format!("connected cuid={cuid} (x509)")));
    assert!(server.log_contains(&format!("event mitigation-requested cuid={cuid} mid=123")));
    let (code, body) = c.exchange(Code::GET, &mitigate(&cuid, 123), &[]);
    assert_eq!(code, Code::CONTENT);
    let scope = MitigationScope::decode_cbor(&body).unwrap();
    assert_eq!(scope.scopes[0].mid, Some(123));
    assert!(scope.scopes[0].status.is_some());
    let (code, body) = c.exchange(Code::PUT, "/.well-known/dots/hb", &HEARTBEAT);
    assert_eq!((code, body.len()), (Code::CHANGED, 0));
    let (code, _) = c.exchange(Code::DELETE, &mitigate(&cuid, 123), &[]);
    assert_eq!(code, Code::DELETED);

    // Plain TCP: the cuid of the Uri-Path, as sent.
    let link = TcpLink::connect(server.addrs["tcp"], Duration::from_secs(10)).unwrap();
    let mut c = StreamClient::new(Box::new(link));
    let (code, _) = c.exchange(Code::PUT, &mitigate(CUID, 5), &hex(FIG8));
    assert_eq!(code, Code::CREATED);
    assert!(server.log_contains(&format!("event mitigation-requested cuid={CUID} mid=5")));
    let (code, body) = c.exchange(Code::GET, &mitigate(CUID, 5), &[]);
    assert_eq!(code, Code::CONTENT);
    assert_eq!(
        MitigationScope::decode_cbor(&body).unwrap().scopes[0].mid,
        Some(5)
    );
    // The certificate client's cuid, claimed over plain TCP: that record is not this
    // connection's (RFC 9132 Section 4.4.1.1).
    let (code, _) = c.exchange(Code::PUT, &mitigate(&cuid, 9), &hex(FIG8));
    assert_eq!(code, Code::CONFLICT);
    drop(c);
    assert!(server.log_contains("tcp 127.0.0.1:"));
    server.stop();
}

fn libcoap_over_tls_and_tcp(name: &str) {
    let Some(client) = tool(name, "libcoap3-bin") else {
        return;
    };
    let fx = Fixture::new();
    let server = start(&fx);
    let dir = fx.dir.path();
    let cuid = fx.client_cuid();
    let tls = |cuid: &str, mid: u32| {
        format!(
            "coaps+tcp://127.0.0.1:{}{}",
            server.port("tls"),
            mitigate(cuid, mid)
        )
    };
    let x509 = ["-c", "client.pem", "-j", "client.key", "-C", "ca.pem"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        x509.iter().chain(extra).copied().collect()
    };
    let put = ["-m", "put", "-t", "271", "-f", "fig8.cbor"];
    let run = coap_client(&client, dir, &with(&put), &tls(&cuid, 123), 5);
    assert!(run.has_pdu(&["c:2.01"]), "{}", run.log);
    assert!(server.log_contains(&format!("event mitigation-requested cuid={cuid} mid=123")));

    let get = ["-m", "get", "-A", "271", "-s", "5"];
    let run = coap_client(&client, dir, &with(&get), &tls(&cuid, 123), 6);
    let scopes = run.scopes();
    assert!(scopes.len() >= 2, "{}", run.log);
    assert_eq!(scopes[0].scopes[0].mid, Some(123));
    assert_eq!(
        scopes[scopes.len() - 1].scopes[0].status,
        Some(MitigationStatus::SuccessfullyMitigated),
        "{}",
        run.log
    );

    let run = coap_client(&client, dir, &with(&["-m", "delete"]), &tls(&cuid, 123), 5);
    assert!(run.has_pdu(&["c:2.02"]), "{}", run.log);

    let rogue = [
        "-c",
        "rogue-client.pem",
        "-j",
        "rogue-client.key",
        "-C",
        "ca.pem",
        "-m",
        "get",
    ];
    let run = coap_client(&client, dir, &rogue, &tls(&cuid, 123), 3);
    assert!(
        !run.has_pdu(&["c:2."]) && !run.has_pdu(&["c:4."]),
        "{}",
        run.log
    );
    assert!(server.log_contains("handshake refused"), "{}", server.log());

    // Plain TCP (libcoap waits for the server's CSM before its first request).
    let uri = format!(
        "coap+tcp://127.0.0.1:{}{}",
        server.port("tcp"),
        mitigate(CUID, 1)
    );
    let run = coap_client(&client, dir, &put, &uri, 5);
    assert!(run.has_pdu(&["c:2.01"]), "{}", run.log);
    assert!(server.log_contains(&format!("event mitigation-requested cuid={CUID} mid=1")));
    server.stop();
}

#[test]
fn coap_client_openssl_over_tls_and_tcp() {
    libcoap_over_tls_and_tcp("coap-client-openssl");
}

#[test]
fn coap_client_gnutls_over_tls_and_tcp() {
    libcoap_over_tls_and_tcp("coap-client-gnutls");
}
