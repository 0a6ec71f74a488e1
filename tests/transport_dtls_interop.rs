//! Interoperability of the example DTLS server (dimpl + rustls-webpki, `examples/support`) with
//! libcoap's `coap-client-openssl` and `coap-client-gnutls` (Debian `libcoap3-bin`): X.509
//! mutual authentication, PSK (`dots-client-psk` / `secretPSK`), and a client certificate from
//! another CA that must get no answer.
//!
//! The server answers every confirmable request with a piggybacked `2.05 Content` whose payload
//! is `cuid=<the cuid it derived from the client's credential>` (RFC 9132 §4.4.1), so the test
//! checks the handshake, the record layer and the identity at once. The few CoAP bytes are
//! written by hand here; the codec in `dots-codec` replaces them in the real examples.
//!
//! Without the libcoap binaries the tests are skipped with a message, unless
//! `DOTS_REQUIRE_INTEROP=1`, which makes them fail (CI sets it and installs the package).

#[path = "../examples/support/mod.rs"]
mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use dots::proto::cuid::Cuid;
use support::creds::Psk;
use support::dtls::{ServerConfig, ServerEvent, UdpDtlsServer};
use support::pki::TestPki;

const PSK_IDENTITY: &str = "dots-client-psk";
const PSK_KEY: &str = "secretPSK";

/// The path of a libcoap client, or `None` (after saying so) when the test must be skipped.
fn libcoap_client(name: &str) -> Option<PathBuf> {
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
        // Written to the real stderr, past the test harness' output capture, so that the skip
        // shows in a normal `cargo test` run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {msg}; set DOTS_REQUIRE_INTEROP=1 to make this a failure"
        );
    }
    found
}

/// A hand-made CoAP answer (RFC 7252 §3): a piggybacked ACK 2.05 for a CON request, a NON 2.05
/// for a NON request, nothing for anything else (or for bytes that are not CoAP).
fn coap_answer(request: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    let (&first, rest) = request.split_first()?;
    let version = first >> 6;
    let kind = (first >> 4) & 0b11;
    let tkl = usize::from(first & 0x0f);
    if version != 1 || tkl > 8 || kind > 1 {
        return None;
    }
    let code = *rest.first()?;
    if code == 0 || code >> 5 != 0 {
        return None; // an empty message or a response, not a request
    }
    let mid = rest.get(1..3)?;
    let token = rest.get(3..3 + tkl)?;
    let answer_type: u8 = if kind == 0 { 2 } else { 1 }; // CON -> ACK, NON -> NON
    let mut out = vec![(1 << 6) | (answer_type << 4) | first & 0x0f, 0x45]; // 2.05 Content
    out.extend_from_slice(mid);
    out.extend_from_slice(token);
    out.push(0xff);
    out.extend_from_slice(payload);
    Some(out)
}

/// The DTLS server on 127.0.0.1 answering `cuid=...`, until dropped.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<ServerEvent>>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(pki: &TestPki) -> Server {
        let config = ServerConfig {
            x509: Some((pki.server.identity(), pki.trust())),
            psks: vec![Psk {
                identity: PSK_IDENTITY.as_bytes().to_vec(),
                key: PSK_KEY.as_bytes().to_vec(),
            }],
            max_peers: 16,
        };
        let mut server = UdpDtlsServer::bind("127.0.0.1:0".parse().unwrap(), config).expect("bind");
        let port = server.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (stop.clone(), events.clone());
        let handle = thread::spawn(move || {
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
                let Some(event) = server
                    .next_event(Duration::from_millis(50))
                    .expect("server")
                else {
                    continue;
                };
                if let ServerEvent::Datagram {
                    peer,
                    identity,
                    payload,
                } = &event
                {
                    let body = format!("cuid={}", identity.cuid);
                    if let Some(answer) = coap_answer(payload, body.as_bytes()) {
                        server.send_to(*peer, &answer).expect("send");
                    }
                }
                log.lock().unwrap().push(event);
            }
        });
        Server {
            port,
            stop,
            events,
            handle: Some(handle),
        }
    }

    fn events(&self) -> Vec<ServerEvent> {
        self.events.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What one coap-client run produced.
struct Run {
    log: String,
    body: String,
}

/// Runs `client` against the server with `args` (credentials) and `-B break_s -v 7 -o FILE`.
fn run_client(client: &Path, dir: &Path, port: u16, args: &[&str], break_s: u32) -> Run {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let out = dir.join(format!("out-{}.txt", RUNS.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_file(&out);
    let uri = format!("coaps://127.0.0.1:{port}/.well-known/dots/hb");
    let mut cmd = Command::new(client);
    cmd.args(["-B", &break_s.to_string(), "-v", "7", "-o"])
        .arg(&out)
        .args(args)
        .arg(&uri)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    eprintln!("running: {cmd:?}");
    let child = cmd.spawn().expect("start coap-client");
    // coap-client ends by itself after -B seconds; this only guards against a hang.
    let pid = child.id();
    let watchdog_done = Arc::new(AtomicBool::new(false));
    let done = watchdog_done.clone();
    let limit = Duration::from_secs(u64::from(break_s) + 20);
    let watchdog = thread::spawn(move || {
        let t0 = Instant::now();
        while !done.load(Ordering::Relaxed) {
            if t0.elapsed() > limit {
                let _ = Command::new("kill").arg(pid.to_string()).status();
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let output = child.wait_with_output().expect("coap-client");
    watchdog_done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let body = std::fs::read_to_string(&out).unwrap_or_default();
    Run { log, body }
}

struct Fixture {
    pki: TestPki,
    dir: tempfile::TempDir,
    server: Server,
}

fn fixture() -> Fixture {
    let pki = TestPki::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem(dir.path()).unwrap();
    let server = Server::start(&pki);
    Fixture { pki, dir, server }
}

/// The X.509 cuid computed by the openssl CLI when it is installed (an independent check of
/// the SPKI extraction), else by `dots_proto` from rcgen's SPKI serialization.
fn expected_x509_cuid(fx: &Fixture) -> String {
    let from_rcgen = Cuid::from_spki(&fx.pki.client.spki).to_string();
    let script = "openssl x509 -in client.pem -noout -pubkey | openssl pkey -pubin -outform DER \
                  | openssl dgst -sha256 -binary | head -c 16 | openssl base64 -A \
                  | tr '+/' '-_' | tr -d '='";
    if let Ok(out) = Command::new("sh")
        .args(["-c", script])
        .current_dir(fx.dir.path())
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && text.len() == 22 {
            assert_eq!(
                text, from_rcgen,
                "openssl and dots-proto disagree on the cuid"
            );
        }
    }
    from_rcgen
}

fn assert_answered(run: &Run, cuid: &str) {
    assert!(
        run.log.contains("t:ACK c:2.05"),
        "no piggybacked 2.05 in the coap-client log:\n{}",
        run.log
    );
    assert_eq!(
        run.body.trim_end(),
        format!("cuid={cuid}"),
        "log:\n{}",
        run.log
    );
}

fn x509_args() -> Vec<&'static str> {
    vec!["-c", "client.pem", "-j", "client.key", "-C", "ca.pem"]
}

fn check_library(name: &str) {
    let Some(client) = libcoap_client(name) else {
        return;
    };
    let fx = fixture();
    let dir = fx.dir.path();

    // X.509 mutual authentication.
    let cuid = expected_x509_cuid(&fx);
    let run = run_client(&client, dir, fx.server.port, &x509_args(), 5);
    assert_answered(&run, &cuid);

    // PSK: the cuid is SHA-256 over the PSK identity.
    let run = run_client(
        &client,
        dir,
        fx.server.port,
        &["-u", PSK_IDENTITY, "-k", PSK_KEY],
        5,
    );
    assert_answered(&run, "VKJY5XQNk5HjIRNpNBAdNA");

    // A client certificate from another CA: the handshake fails, no answer.
    let run = run_client(
        &client,
        dir,
        fx.server.port,
        &[
            "-c",
            "rogue-client.pem",
            "-j",
            "rogue-client.key",
            "-C",
            "ca.pem",
        ],
        3,
    );
    assert!(
        !run.log.contains("c:2.05") && run.body.is_empty(),
        "the rogue client got an answer:\n{}",
        run.log
    );
    // A wrong PSK: no answer either.
    let run = run_client(
        &client,
        dir,
        fx.server.port,
        &["-u", PSK_IDENTITY, "-k", "wrong-key"],
        3,
    );
    assert!(
        !run.log.contains("c:2.05") && run.body.is_empty(),
        "a wrong PSK got an answer:\n{}",
        run.log
    );

    let events = fx.server.events();
    let refused = events.iter().any(|e| {
        matches!(e, ServerEvent::Closed { reason, .. } if reason.contains("client certificate refused"))
    });
    assert!(
        refused,
        "the server did not refuse the rogue certificate: {events:?}"
    );
    let connected = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 2, "{events:?}");
}

#[test]
fn coap_client_openssl_x509_psk_and_rogue() {
    check_library("coap-client-openssl");
}

#[test]
fn coap_client_gnutls_x509_psk_and_rogue() {
    check_library("coap-client-gnutls");
}

#[test]
fn hand_made_coap_answer() {
    // CON GET, MID 0x1234, token 0xab: ACK 2.05 with the same MID and token.
    let req = [0x41, 0x01, 0x12, 0x34, 0xab, 0xb2, b'h', b'b'];
    assert_eq!(
        coap_answer(&req, b"x").unwrap(),
        [0x61, 0x45, 0x12, 0x34, 0xab, 0xff, b'x']
    );
    // NON request: NON response.
    let req = [0x50, 0x01, 0x00, 0x07];
    assert_eq!(
        coap_answer(&req, b"").unwrap(),
        [0x50, 0x45, 0x00, 0x07, 0xff]
    );
    // Empty CON (ping), a response, a bad version, truncated token: no answer.
    assert_eq!(coap_answer(&[0x40, 0x00, 0, 1], b""), None);
    assert_eq!(coap_answer(&[0x60, 0x45, 0, 1], b""), None);
    assert_eq!(coap_answer(&[0x81, 0x01, 0, 1, 0], b""), None);
    assert_eq!(coap_answer(&[0x48, 0x01, 0, 1, 0], b""), None);
}
