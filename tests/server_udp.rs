//! The `server` example's signal channel over plain CoAP/UDP (`--udp ADDR --insecure`), driven
//! over a real socket by the library's CoAP client endpoint: mitigation requests, the
//! in-memory mitigator's status change reaching an observer, heartbeats. And the state both
//! channels share: an alias and an `activate-when-mitigating` ACL created over HTTPS (curl,
//! client certificate) are used by a mitigation request sent over UDP with the certificate's
//! cuid.
//!
//! The server is the example's own code (`examples/server/*.rs`), started in this process.
//! Without `curl` the shared-state test is skipped with a message, unless
//! `DOTS_REQUIRE_INTEROP=1`.

// The `server` example's modules, at the crate root as in the example.
include!("server_support/example_modules.rs");

mod server_support;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dots::codec::cbor::CborBody;
use dots::codec::coap::{Code, ContentFormat, OptionList};
use dots::codec::model::{MitigationScope, MitigationStatus};
use dots::proto::coap::{ClientEndpoint, Config, Event, Request, RequestId};
use dots::proto::time::StdClock;
use server_support::{hex, tool, Fixture, FIG8};

const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";
const DATA: &str = "/restconf/data/ietf-dots-data-channel:dots-data";
const JSON: &str = "application/yang-data+json";

/// The example server in this process (UDP, and HTTPS with a throwaway PKI when asked),
/// until dropped.
struct Server {
    udp: SocketAddr,
    https: Option<SocketAddr>,
    fx: Option<Fixture>,
    server: server_support::Server,
}

impl Server {
    fn start(with_https: bool) -> Server {
        let mut args = vec![
            "--udp".to_owned(),
            "127.0.0.1:0".into(),
            "--insecure".into(),
        ];
        let fx = with_https.then(Fixture::new);
        if let Some(fx) = &fx {
            args.extend(["--https".into(), "127.0.0.1:0".into()]);
            args.extend(fx.server_creds());
        }
        let server = server_support::Server::start(&args, 1 + usize::from(with_https));
        Server {
            udp: server.addrs["udp"],
            https: server.addrs.get("https").copied(),
            fx,
            server,
        }
    }

    fn log_contains(&self, part: &str) -> bool {
        self.server.log_contains(part)
    }

    fn stop(self) {
        self.server.stop();
    }
}

/// What the CoAP client saw.
#[derive(Debug, Clone)]
enum Seen {
    Response {
        request: RequestId,
        code: Code,
        payload: Vec<u8>,
        observe: Option<u32>,
    },
    Notification {
        request: RequestId,
        payload: Vec<u8>,
    },
    ServerHeartbeat,
}

/// A DOTS client: the library's CoAP endpoint over a real UDP socket, on the real clock.
struct Client {
    socket: UdpSocket,
    ep: ClientEndpoint,
    clock: StdClock,
    seen: Vec<Seen>,
}

impl Client {
    fn new(server: SocketAddr) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(server).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        Client {
            socket,
            ep: ClientEndpoint::new(Config::udp(), 17),
            clock: StdClock::new(),
            seen: Vec::new(),
        }
    }

    fn request(
        &mut self,
        code: Code,
        uri: &str,
        body: &[u8],
        con: bool,
        observe: bool,
    ) -> RequestId {
        let mut o = OptionList::<256>::new();
        o.set_uri_path(uri).unwrap();
        if !body.is_empty() {
            o.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
        }
        let mut r = if con {
            Request::con(code)
        } else {
            Request::non(code)
        }
        .options(o.as_options())
        .payload(body);
        if observe {
            r = r.observe();
        }
        let now = self.clock.now();
        self.ep.request(now, r).unwrap()
    }

    /// Runs the exchange for up to `d`, or until `done` holds.
    fn run(&mut self, d: Duration, mut done: impl FnMut(&[Seen]) -> bool) {
        let until = std::time::Instant::now() + d;
        let mut buf = [0u8; 2048];
        while std::time::Instant::now() < until && !done(&self.seen) {
            let now = self.clock.now();
            self.ep.handle_timeout(now);
            while let Some(t) = self.ep.poll_transmit(now, &mut buf).unwrap() {
                self.socket.send(&buf[..t.len]).unwrap();
            }
            if let Ok(n) = self.socket.recv(&mut buf) {
                let now = self.clock.now();
                self.ep.handle_datagram(now, &buf[..n]);
            }
            let mut answer = Vec::new();
            while let Some(ev) = self.ep.poll_event() {
                match ev {
                    Event::Response {
                        request,
                        response,
                        observe,
                    } => self.seen.push(Seen::Response {
                        request,
                        code: response.code,
                        payload: response.payload.to_vec(),
                        observe,
                    }),
                    Event::Notification {
                        request, response, ..
                    } => self.seen.push(Seen::Notification {
                        request,
                        payload: response.payload.to_vec(),
                    }),
                    Event::Request { id, .. } => {
                        self.seen.push(Seen::ServerHeartbeat);
                        answer.push(id);
                    }
                    _ => {}
                }
            }
            for id in answer {
                let now = self.clock.now();
                let _ = self
                    .ep
                    .respond(now, id, dots::proto::coap::Response::new(Code::CHANGED));
            }
        }
    }

    fn response(&self, id: RequestId) -> Option<(Code, Vec<u8>, Option<u32>)> {
        self.seen.iter().find_map(|s| match s {
            Seen::Response {
                request,
                code,
                payload,
                observe,
            } if *request == id => Some((*code, payload.clone(), *observe)),
            _ => None,
        })
    }

    fn exchange(&mut self, code: Code, uri: &str, body: &[u8], con: bool) -> (Code, Vec<u8>) {
        let id = self.request(code, uri, body, con, false);
        self.run(Duration::from_secs(10), |s| {
            s.iter()
                .any(|x| matches!(x, Seen::Response { request, .. } if *request == id))
        });
        let (c, p, _) = self.response(id).expect("an answer");
        (c, p)
    }
}

fn mitigate_uri(cuid: &str, mid: u32) -> String {
    format!("/.well-known/dots/mitigate/cuid={cuid}/mid={mid}")
}

#[test]
fn signal_channel_over_plain_udp() {
    let server = Server::start(false);
    assert!(server.https.is_none());
    let mut c = Client::new(server.udp);
    // A Non-confirmable mitigation request (RFC 9132 Figure 8): 2.01, the request reaches the
    // mitigator.
    let (code, body) = c.exchange(Code::PUT, &mitigate_uri(CUID, 123), &hex(FIG8), false);
    assert_eq!(code, Code::CREATED);
    assert_eq!(body, hex("a101a10281a205187b0e190e10"));
    assert!(server.log_contains(&format!("event mitigation-requested cuid={CUID} mid=123")));
    // Observe it: the mitigator reports status 2 about a second later, as a notification.
    let obs = c.request(Code::GET, &mitigate_uri(CUID, 123), &[], true, true);
    c.run(Duration::from_secs(5), |s| {
        s.iter()
            .any(|x| matches!(x, Seen::Notification { request, .. } if *request == obs))
    });
    let (code, _, observe) = c.response(obs).expect("registration answered");
    assert_eq!(code, Code::CONTENT);
    assert!(observe.is_some());
    let note = c
        .seen
        .iter()
        .find_map(|s| match s {
            Seen::Notification { request, payload } if *request == obs => Some(payload.clone()),
            _ => None,
        })
        .expect("a notification");
    let scope = MitigationScope::decode_cbor(&note).unwrap();
    assert_eq!(
        scope.scopes[0].status,
        Some(MitigationStatus::SuccessfullyMitigated)
    );
    assert!(server.log_contains(&format!(
        "mitigator cuid={CUID} mid=123 status=attack-successfully-mitigated"
    )));
    // A heartbeat (NON, Figure 27): 2.04 with an empty body; the cuid is the one this address
    // used before.
    let (code, body) = c.exchange(
        Code::PUT,
        "/.well-known/dots/hb",
        &[0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5],
        false,
    );
    assert_eq!((code, body.len()), (Code::CHANGED, 0));
    // A negative vector: a lifetime of 0 is 4.00.
    let fig8_zero = FIG8.replace("0e190e10", "0e00");
    let (code, _) = c.exchange(Code::PUT, &mitigate_uri(CUID, 124), &hex(&fig8_zero), true);
    assert_eq!(code, Code::BAD_REQUEST);
    // The withdrawal.
    let (code, _) = c.exchange(Code::DELETE, &mitigate_uri(CUID, 123), &[], true);
    assert_eq!(code, Code::DELETED);
    assert!(server.log_contains(&format!("event mitigation-withdrawn cuid={CUID} mid=123")));
    server.stop();
}

/// A RESTCONF request with curl as `client`; returns the HTTP status.
fn curl_status(curl: &Path, server: &Server, method: &str, path: &str, body: &str) -> u16 {
    let fx = server.fx.as_ref().unwrap();
    let f = |n: &str| fx.file(n);
    let out = Command::new(curl)
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(["-X", method, "--cacert"])
        .arg(f("ca.pem"))
        .arg("--cert")
        .arg(f("client.pem"))
        .arg("--key")
        .arg(f("client.key"))
        .args([
            "-H",
            &format!("Content-Type: {JSON}"),
            "-H",
            &format!("Accept: {JSON}"),
        ])
        .args(["--data-binary", body])
        .arg(format!("https://{}{path}", server.https.unwrap()))
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn both_channels_share_the_client_state() {
    let Some(curl) = tool("curl", "curl") else {
        return;
    };
    let server = Server::start(true);
    let cuid = server.fx.as_ref().unwrap().client_cuid();
    let client = format!("{DATA}/dots-client={cuid}");
    // Over HTTPS: registration, an alias (RFC 8783 Figure 17), an activate-when-mitigating ACL.
    let register = format!(r#"{{"ietf-dots-data-channel:dots-client": [{{"cuid": "{cuid}"}}]}}"#);
    assert_eq!(curl_status(&curl, &server, "POST", DATA, &register), 201);
    let alias = r#"{"ietf-dots-data-channel:aliases": {"alias": [{"name": "https1",
        "target-protocol": [6], "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{"lower-port": 443}]}]}}"#;
    assert_eq!(curl_status(&curl, &server, "POST", &client, alias), 201);
    let acl = r#"{"ietf-dots-data-channel:acls": {"acl": [{"name": "when-mitigating",
        "type": "ipv6-acl-type", "activation-type": "activate-when-mitigating",
        "aces": {"ace": [{"name": "drop-udp", "matches": {"ipv6": {
            "destination-ipv6-network": "2001:db8:6401::/64", "protocol": 17}},
            "actions": {"forwarding": "drop"}}]}}]}}"#;
    assert_eq!(curl_status(&curl, &server, "POST", &client, acl), 201);
    // Over UDP, with the certificate's cuid in the Uri-Path: the alias resolves (RFC 9132
    // Section 4.4.1.3) and the ACL is activated with the mitigation (RFC 8783 Section 7.2).
    let mut c = Client::new(server.udp);
    let body = dots::codec::json::from_str(
        r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
            "alias-name": ["https1"], "lifetime": 3600}]}}"#,
    )
    .unwrap();
    let mut buf = vec![0u8; body.encoded_len()];
    let n = body.encode_cbor(&mut buf).unwrap();
    let (code, _) = c.exchange(Code::PUT, &mitigate_uri(&cuid, 1), &buf[..n], true);
    assert_eq!(code, Code::CREATED);
    assert!(server.log_contains(&format!(
        "event acl-activated cuid={cuid} acl=when-mitigating"
    )));
    // An alias this client did not create: 4.00.
    let other = dots::codec::json::from_str(
        r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
            "alias-name": ["nobody-made-this"], "lifetime": 3600}]}}"#,
    )
    .unwrap();
    let mut buf = vec![0u8; other.encoded_len()];
    let n = other.encode_cbor(&mut buf).unwrap();
    let (code, _) = c.exchange(Code::PUT, &mitigate_uri(&cuid, 2), &buf[..n], true);
    assert_eq!(code, Code::BAD_REQUEST);
    server.stop();
}
