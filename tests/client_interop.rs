//! Our client side against a CoAP server we did not write: libcoap's `coap-server-notls` (plain
//! CoAP over UDP) and `coap-server-openssl` (DTLS with PSK and X.509, and CoAP over TLS), from
//! Debian's `libcoap3-bin`, with dynamic resources (`-d`): a PUT creates the resource and a GET
//! returns what was PUT, with the same Content-Format.
//!
//! - the `client` example's `mitigate` (a NON PUT of a DOTS body) gets 2.01 and libcoap stores
//!   exactly the body the session encoded (read back and decoded);
//! - a status body larger than 2 KiB, PUT with the library's CoAP endpoint (Block1), comes back
//!   to `status` block by block (Block2, 1024-byte blocks) and gives one status event per scope;
//! - `status --observe` follows a resource that is PUT again meanwhile: libcoap's (CON)
//!   notification becomes a status event, and the observation is ended with a deregistration;
//! - the same over DTLS (PSK and X.509; libcoap serves DTLS on port+1), CoAP over TLS, and the
//!   Happy Eyeballs race.
//!
//! Without the binaries the tests are skipped with a message, unless `DOTS_REQUIRE_INTEROP=1`,
//! which makes them fail (CI sets it and installs the package).

#[path = "../examples/client/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/client/cli.rs"]
#[allow(dead_code)]
mod cli;
#[path = "../examples/client/commands.rs"]
#[allow(dead_code)]
mod commands;
#[path = "../examples/client/connect.rs"]
#[allow(dead_code)]
mod connect;
#[path = "../examples/client/race.rs"]
#[allow(dead_code)]
mod race;
#[path = "../examples/client/session.rs"]
#[allow(dead_code)]
mod session;
#[path = "../examples/support/mod.rs"]
mod support;
#[path = "../examples/client/tap.rs"]
#[allow(dead_code)]
mod tap;

mod client_support;

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use client_support::client;
use dots::codec::cbor::CborBody;
use dots::codec::coap::{Code, ContentFormat, OptionList};
use dots::codec::model::{
    Lifetime, MitigationScope, MitigationStatus, PortRange, Scope, ScopeEntry, SignalMessage,
};
use dots::proto::coap::{ClientEndpoint, Config, Event, Request, Transport};
use dots::proto::cuid::Cuid;
use dots::proto::time::StdClock;
use support::creds::Psk;
use support::dtls::{ClientAuth, UdpDtlsClient};
use support::pki::TestPki;
use support::transport::{Link, UdpLink};

const PSK_IDENTITY: &str = "dots-client-psk";
const PSK_KEY: &str = "secretPSK";

/// The path of a libcoap binary, or `None` (after saying so) when the test must be skipped.
fn libcoap(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("{name} is not installed (Debian package libcoap3-bin)");
        if std::env::var("DOTS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{msg}, and DOTS_REQUIRE_INTEROP=1 requires it");
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {msg}; set DOTS_REQUIRE_INTEROP=1 to make this a failure"
        );
    }
    found
}

/// A port P with P and P+1 free for UDP and TCP on 127.0.0.1 (libcoap binds both, and DTLS
/// and TLS on P+1).
fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let Ok(s) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(p) = s.local_addr().map(|a| a.port()) else {
            continue;
        };
        if p >= u16::MAX - 1 {
            continue;
        }
        let free = UdpSocket::bind(("127.0.0.1", p + 1)).is_ok()
            && TcpListener::bind(("127.0.0.1", p)).is_ok()
            && TcpListener::bind(("127.0.0.1", p + 1)).is_ok();
        if free {
            return p;
        }
    }
    panic!("no free port pair");
}

/// A libcoap server process, killed when dropped.
struct LibcoapServer {
    child: Child,
    port: u16,
    command: String,
}

impl LibcoapServer {
    /// Starts `bin -A 127.0.0.1 -p P -d 32` plus `extra`, and waits until it answers a CoAP
    /// ping on P.
    fn start(bin: &Path, extra: &[&str], dir: &Path) -> LibcoapServer {
        let port = free_port_pair();
        let port_s = port.to_string();
        let mut args = vec!["-A", "127.0.0.1", "-p", &port_s, "-d", "32", "-v", "4"];
        args.extend_from_slice(extra);
        let command = format!("{} {}", bin.display(), args.join(" "));
        eprintln!("running: {command}");
        let child = Command::new(bin)
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the libcoap server");
        let server = LibcoapServer {
            child,
            port,
            command,
        };
        // CoAP ping (an empty CON, RFC 7252 Section 4.3): libcoap answers with a Reset.
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let t0 = Instant::now();
        let mut buf = [0u8; 64];
        loop {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{} does not answer",
                server.command
            );
            let _ = probe.send_to(&[0x40, 0x00, 0x12, 0x34], ("127.0.0.1", port));
            if let Ok((n, _)) = probe.recv_from(&mut buf) {
                if n >= 4 && buf[0] >> 4 & 0b11 == 3 {
                    return server;
                }
            }
        }
    }

    fn udp(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// DTLS and TLS: port + 1.
    fn secure(&self) -> String {
        format!("127.0.0.1:{}", self.port + 1)
    }
}

impl Drop for LibcoapServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request with the library's CoAP client endpoint over `link`, until the (whole)
/// response: its code and body.
fn exchange(link: &mut dyn Link, code: Code, path: &str, body: Option<&[u8]>) -> (Code, Vec<u8>) {
    let clock = StdClock::new();
    let config = match link.transport() {
        Transport::Udp => Config::udp(),
        Transport::Tcp => Config::tcp(),
    };
    let mut ep: Box<ClientEndpoint> = Box::new(ClientEndpoint::new(config, 42));
    let mut options = OptionList::<64>::new();
    options.set_uri_path(path).unwrap();
    if body.is_some() {
        options
            .set_content_format(ContentFormat::DOTS_CBOR)
            .unwrap();
    }
    let req = Request::con(code)
        .options(options.as_options())
        .payload(body.unwrap_or_default());
    let id = ep.request(clock.now(), req).expect("request");
    let mut buf = vec![0u8; 2048];
    let t0 = Instant::now();
    loop {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no answer to {path}"
        );
        while let Some(t) = ep.poll_transmit(clock.now(), &mut buf).unwrap() {
            link.send(&buf[..t.len]).unwrap();
        }
        while let Some(e) = ep.poll_event() {
            match e {
                Event::Response {
                    request, response, ..
                } if request == id => return (response.code, response.payload.to_vec()),
                Event::RequestFailed { request, reason } if request == id => {
                    panic!("{path}: {reason:?}")
                }
                _ => {}
            }
        }
        let wait = ep
            .poll_timeout()
            .map_or(Duration::from_millis(200), |t| {
                t.saturating_duration_since(clock.now())
            })
            .clamp(Duration::from_millis(1), Duration::from_millis(200));
        if let Some(bytes) = link.recv(wait).unwrap() {
            match link.transport() {
                Transport::Udp => ep.handle_datagram(clock.now(), &bytes),
                Transport::Tcp => ep.handle_stream_bytes(clock.now(), &bytes),
            }
        }
        ep.handle_timeout(clock.now());
    }
}

fn udp_link(addr: &str) -> UdpLink {
    UdpLink::connect(addr.parse::<SocketAddr>().unwrap()).unwrap()
}

fn psk() -> Psk {
    Psk {
        identity: PSK_IDENTITY.as_bytes().to_vec(),
        key: PSK_KEY.as_bytes().to_vec(),
    }
}

fn psk_flag() -> String {
    format!("{PSK_IDENTITY}:{}", hex::encode(PSK_KEY))
}

/// A `mitigation-scope` status body (what a DOTS server sends to a GET), one scope per `mid`,
/// with FQDNs long enough that 16 scopes make more than 2 KiB.
fn status_body(
    mids: std::ops::RangeInclusive<u32>,
    status_of: impl Fn(u32) -> MitigationStatus,
) -> Vec<u8> {
    let mut body = MitigationScope::default();
    for mid in mids {
        let mut scope = Scope::new();
        scope
            .targets
            .push_prefix(format!("2001:db8:{mid:x}::/48").parse().unwrap())
            .unwrap();
        scope
            .targets
            .port_ranges
            .push(PortRange::new(443, 444))
            .unwrap();
        scope.targets.protocols.push(6).unwrap();
        scope
            .targets
            .push_fqdn(&format!("customer-{mid}.portal.under-attack.example.com"))
            .unwrap();
        scope
            .targets
            .push_fqdn(&format!("api-{mid}.services.under-attack.example.com"))
            .unwrap();
        scope.lifetime = Some(Lifetime::Seconds(3600 - mid));
        body.scopes
            .push(ScopeEntry {
                mid: Some(mid),
                status: Some(status_of(mid)),
                bytes_dropped: Some(u64::from(mid) * 1000),
                ..ScopeEntry::request(scope)
            })
            .unwrap();
    }
    let mut buf = vec![0u8; body.encoded_len()];
    let len = body.encode_cbor(&mut buf).unwrap();
    buf.truncate(len);
    buf
}

fn status_name(mid: u32) -> MitigationStatus {
    if mid.is_multiple_of(2) {
        MitigationStatus::SuccessfullyMitigated
    } else {
        MitigationStatus::InProgress
    }
}

fn run(cmd: &[&str], flags: &[&str]) -> (u8, String, String) {
    let args: Vec<&str> = cmd.iter().chain(flags).copied().collect();
    let r = client(&args);
    eprintln!("client {}\n-> {}\n{}{}", args.join(" "), r.0, r.1, r.2);
    r
}

/// mitigate (NON PUT) → what libcoap stored; a Block1 upload and its Block2 read by `status`;
/// Observe. `flags` reach the server (`--udp ... --insecure --cuid C` or `--dtls ...`);
/// `link` is a second connection for the test's own requests; `cuid` is the client's.
fn scenario(flags: &[&str], link: &mut dyn Link, cuid: &str) {
    // 1. mitigate: a NON PUT with the DOTS body; libcoap answers 2.01 without a body, the
    //    session takes the lifetime it asked for.
    let (code, out, err) = run(
        &[
            "mitigate",
            "--target",
            "2001:db8:6401::/64",
            "--port",
            "443",
            "--protocol",
            "tcp",
            "--mid",
            "123",
        ],
        flags,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("response: 2.01 Created (to PUT /.well-known/dots/mitigate/cuid="));
    assert!(
        out.contains("event: mitigation 123 accepted (2.01 Created, lifetime 3600 s)"),
        "{out}"
    );
    // What libcoap stored is the request body, decodable, with the scope we asked for.
    let path = format!("/.well-known/dots/mitigate/cuid={cuid}/mid=123");
    let (code, stored) = exchange(link, Code::GET, &path, None);
    assert_eq!(code, Code::CONTENT);
    let SignalMessage::MitigationScope(m) = SignalMessage::decode_cbor(&stored).unwrap() else {
        panic!("not a mitigation-scope body")
    };
    let s = &m.scopes[0].scope;
    assert_eq!(s.targets.prefixes[0], "2001:db8:6401::/64".parse().unwrap());
    assert_eq!(s.targets.port_ranges.as_slice(), &[PortRange::single(443)]);
    assert_eq!(s.targets.protocols.as_slice(), &[6]);
    assert_eq!(s.lifetime, Some(Lifetime::Seconds(3600)));
    // The client reads it back too (its decoded JSON).
    let (code, out, _) = run(&["status", "123"], flags);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"2001:db8:6401::/64\""), "{out}");

    // 2. A status body of 16 scopes (> 2 KiB): Block1 up with our endpoint, Block2 down
    //    into the session, one status event per scope.
    let big = status_body(1..=16, status_name);
    assert!(big.len() > 2048, "{} bytes", big.len());
    let all = format!("/.well-known/dots/mitigate/cuid={cuid}");
    let (code, _) = exchange(link, Code::PUT, &all, Some(&big));
    assert!(code == Code::CREATED || code == Code::CHANGED, "{code}");
    let (code, back) = exchange(link, Code::GET, &all, None);
    assert_eq!((code, back.len()), (Code::CONTENT, big.len()));
    assert_eq!(back, big, "libcoap returns the body as stored");
    let mut verbose = flags.to_vec();
    verbose.push("--verbose");
    let (code, out, err) = run(&["status"], &verbose);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Block2:0/M/1024"), "{out}");
    assert!(out.contains("Block2:2/_/1024"), "{out}");
    for mid in 1..=16 {
        let line = format!(
            "event: mitigation {mid} status {}, lifetime {} s",
            status_name(mid).name(),
            3600 - mid
        );
        assert!(out.contains(&line), "{line} missing:\n{out}");
    }
    // The tap put the blocks together for printing, too.
    assert_eq!(out.matches("\"mid\": ").count(), 16, "{out}");

    // 3. Observe: libcoap notifies observers of a dynamic resource when it is PUT again.
    let one = format!("/.well-known/dots/mitigate/cuid={cuid}/mid=7");
    let first = status_body(7..=7, |_| MitigationStatus::InProgress);
    let (code, _) = exchange(link, Code::PUT, &one, Some(&first));
    assert_eq!(code, Code::CREATED);
    let observer = {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        thread::spawn(move || {
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            run(&["status", "7", "--observe", "6"], &flags)
        })
    };
    // The new body goes in twice, so that a notification follows even if the client
    // registered late on a loaded machine.
    let second = status_body(7..=7, |_| MitigationStatus::SuccessfullyMitigated);
    for _ in 0..2 {
        thread::sleep(Duration::from_millis(1500));
        let (code, _) = exchange(link, Code::PUT, &one, Some(&second));
        assert_eq!(code, Code::CHANGED);
    }
    let (code, out, err) = observer.join().unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("event: mitigation 7 status"), "{out}");
    assert!(out.contains("notification: 2.05 Content"), "{out}");
    assert!(
        out.lines().any(|l| l
            .starts_with("event: mitigation 7 status attack-successfully-mitigated")
            && l.ends_with("(notification)")),
        "{out}"
    );
    assert!(out.contains("deregistering the observation"), "{out}");

    // 4. Withdraw: DELETE removes the dynamic resource.
    let (code, out, _) = run(&["withdraw", "123"], flags);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("event: mitigation 123 withdrawn (2.02 Deleted)"));
    let (code, _) = exchange(link, Code::GET, &path, None);
    assert_eq!(code, Code::NOT_FOUND);
    let (code, _, err) = run(&["status", "123"], flags);
    assert_eq!(code, 1);
    assert!(err.contains("4.04 Not Found"), "{err}");
}

#[test]
fn plain_coap_against_coap_server_notls() {
    let Some(bin) = libcoap("coap-server-notls") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = LibcoapServer::start(&bin, &[], dir.path());
    let cuid = "dz6pHjaADkaFTbjr0JGBpw";
    let addr = server.udp();
    let flags = [
        "--udp",
        &addr,
        "--insecure",
        "--cuid",
        cuid,
        "--timeout",
        "10",
    ];
    let mut link = udp_link(&addr);
    scenario(&flags, &mut link, cuid);
}

#[test]
fn dtls_psk_against_coap_server_openssl() {
    let Some(bin) = libcoap("coap-server-openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = LibcoapServer::start(&bin, &["-k", PSK_KEY, "-h", "CoAP"], dir.path());
    let addr = server.secure();
    let psk_hex = psk_flag();
    let flags = ["--dtls", &addr, "--psk", &psk_hex, "--timeout", "10"];
    let mut link = UdpDtlsClient::connect(
        addr.parse().unwrap(),
        ClientAuth::Psk(psk()),
        Duration::from_secs(10),
    )
    .expect("DTLS with PSK to libcoap");
    // The cuid is the hash of the PSK identity (RFC 9132 Section 4.4.1).
    let cuid = Cuid::from_psk_identity(PSK_IDENTITY.as_bytes()).to_string();
    scenario(&flags, &mut link, &cuid);
}

#[test]
fn x509_dtls_tls_and_the_race_against_coap_server_openssl() {
    let Some(bin) = libcoap("coap-server-openssl") else {
        return;
    };
    let pki = TestPki::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem(dir.path()).unwrap();
    let server = LibcoapServer::start(
        &bin,
        &["-c", "server.pem", "-j", "server.key", "-C", "ca.pem"],
        dir.path(),
    );
    let p = |n: &str| dir.path().join(n).display().to_string();
    let (cert, key, ca) = (p("client.pem"), p("client.key"), p("ca.pem"));
    let cuid = Cuid::from_spki(&pki.client.spki).to_string();
    let addr = server.secure();
    let creds = [
        "--cert",
        &cert,
        "--key",
        &key,
        "--ca",
        &ca,
        "--timeout",
        "10",
    ];
    let with = |flag: &'static str, a: String| -> Vec<String> {
        [flag.to_owned(), a]
            .into_iter()
            .chain(creds.iter().map(|s| s.to_string()))
            .collect()
    };

    // DTLS (1.3 offered, libcoap 4.3 answers 1.2): the cuid of the certificate in the path.
    let flags = with("--dtls", addr.clone());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (code, out, err) = run(
        &["mitigate", "--target", "203.0.113.0/24", "--mid", "9"],
        &flags,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "(to PUT /.well-known/dots/mitigate/cuid={cuid}/mid=9)"
        )),
        "{out}"
    );

    // CoAP over TLS (RFC 8323) to the same resource.
    let flags = with("--tls", addr.clone());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (code, out, err) = run(&["status", "9"], &flags);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("connected: TLS"), "{out}");
    assert!(out.contains("\"203.0.113.0/24\""), "{out}");

    // The race: DTLS over IPv4 is tried first and wins.
    let flags = with("--server", format!("localhost:{}", server.port + 1));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (code, out, err) = run(&["withdraw", "9"], &flags);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("happy eyeballs: trying DTLS"), "{out}");
    assert!(out.contains("won"), "{out}");
    assert!(out.contains("withdrawn (2.02 Deleted)"), "{out}");
}
