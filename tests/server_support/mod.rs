//! For the `server_*` transport tests: the `server` example's code run in this process with a
//! command line (the same path as the binary: parse, check, load the files, serve), a
//! throwaway PKI written to a temporary directory, and libcoap's `coap-client-*` driven as a
//! black box (it always exits 0: the tests read its `-v 7` log and its `-o` file).
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser as _;
use dots::codec::cbor::CborBody;
use dots::codec::model::MitigationScope;

use crate::support::pki::TestPki;
use crate::{app, cli, state};

/// RFC 9132 Figure 8 (the Figure 7 request in CBOR, content-format 271).
pub const FIG8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";
/// Figure 8 with one more scope member: key 127 (unassigned, comprehension-required: RFC 9132
/// Section 6 and Table 8), value 1.
pub const FIG8_UNKNOWN_KEY: &str = "a101a10281a5068274323030313a6462383a363430313a3a312f31323874323030313a6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10187f01";
/// The PSK of the tests: identity and key (ASCII `secretPSK`).
pub const PSK_IDENTITY: &str = "dots-client-psk";
/// The PSK's key.
pub const PSK_KEY: &str = "secretPSK";
/// The cuid of [`PSK_IDENTITY`]: base64url of the first 16 bytes of its SHA-256 (RFC 9132
/// Section 4.4.1; the conformance value for `dots-client-psk`).
pub const PSK_CUID: &str = "VKJY5XQNk5HjIRNpNBAdNA";

/// Bytes from hex.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The path of an interop peer, or `None` (after saying so) when the test must be skipped:
/// a missing binary fails the test only with `DOTS_REQUIRE_INTEROP=1`.
pub fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("{name} is not installed (Debian package {package})");
        if std::env::var("DOTS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{msg}, and DOTS_REQUIRE_INTEROP=1 requires it");
        }
        // Past the harness' output capture, so that the skip shows in a plain `cargo test`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {msg}; set DOTS_REQUIRE_INTEROP=1 to make this a failure"
        );
    }
    found
}

/// A throwaway PKI in a temporary directory (`ca.pem`, `server.pem`/`.key`, `client.pem`/`.key`,
/// `rogue-client.pem`/`.key`, ...) and the request bodies `fig8.cbor`, `unknown-key.cbor`.
pub struct Fixture {
    /// The certificates.
    pub pki: TestPki,
    /// Where the files are.
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Makes the PKI and writes the files.
    pub fn new() -> Fixture {
        let pki = TestPki::generate().expect("test PKI");
        let dir = tempfile::tempdir().expect("temporary directory");
        pki.write_pem(dir.path()).expect("PEM files");
        std::fs::write(dir.path().join("fig8.cbor"), hex(FIG8)).unwrap();
        std::fs::write(dir.path().join("unknown-key.cbor"), hex(FIG8_UNKNOWN_KEY)).unwrap();
        Fixture { pki, dir }
    }

    /// A file of the fixture, as a string for a command line.
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The X.509 client's cuid (RFC 9132 Section 4.4.1: its SubjectPublicKeyInfo).
    pub fn client_cuid(&self) -> String {
        dots::proto::cuid::Cuid::from_spki(&self.pki.client.spki).to_string()
    }

    /// `--cert server.pem --key server.key --ca ca.pem`.
    pub fn server_creds(&self) -> Vec<String> {
        vec![
            "--cert".into(),
            self.file("server.pem"),
            "--key".into(),
            self.file("server.key"),
            "--ca".into(),
            self.file("ca.pem"),
        ]
    }
}

/// The `server` example in this process, until dropped.
pub struct Server {
    /// The address of each listener, by its `listening` name (`dtls`, `tls`, `tcp`, ...).
    pub addrs: HashMap<String, SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<Result<(), String>>>,
}

impl Server {
    /// Starts the server with the command line `args` (without the program name) and waits
    /// for its `listening` lines (`listeners` of them).
    pub fn start(args: &[String], listeners: usize) -> Server {
        let argv = std::iter::once("server".to_owned()).chain(args.iter().cloned());
        let args = cli::Args::try_parse_from(argv).expect("command line");
        args.check().expect("a command line the server serves");
        let config = args.load().expect("configuration");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let sink = Arc::clone(&log);
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let log: state::Log = Arc::new(move |line: &str| {
                sink.lock().unwrap().push(line.to_owned());
            });
            let ready = move |proto: &str, addr: SocketAddr| {
                let _ = ready_tx.send((proto.to_owned(), addr));
            };
            runtime
                .block_on(app::run(config, log, ready, async {
                    let _ = stopped.await;
                }))
                .map_err(|e| e.to_string())
        });
        let mut addrs = HashMap::new();
        for _ in 0..listeners {
            let (proto, addr) = ready_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("the server reports its sockets");
            assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
            addrs.insert(proto, addr);
        }
        Server {
            addrs,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The port of the listener `proto`.
    pub fn port(&self, proto: &str) -> u16 {
        self.addrs[proto].port()
    }

    /// Whether the log line `line` appears within 5 s.
    pub fn log_has(&self, line: &str) -> bool {
        self.log_within(|l| l == line)
    }

    /// Whether a log line containing `part` appears within 5 s.
    pub fn log_contains(&self, part: &str) -> bool {
        self.log_within(|l| l.contains(part))
    }

    fn log_within(&self, found: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.log.lock().unwrap().iter().any(|l| found(l)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Stops the server and checks that it ended cleanly.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            assert_eq!(t.join().expect("server thread"), Ok(()));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What one coap-client run produced.
pub struct Run {
    /// Its stdout and stderr (`-v 7`).
    pub log: String,
    /// The payloads it wrote (`-o FILE`), one after the other.
    pub body: Vec<u8>,
}

impl Run {
    /// The PDU lines of the log (`v:1 t:ACK c:2.01 ...`).
    pub fn pdus(&self) -> Vec<&str> {
        self.log
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("v:1 "))
            .collect()
    }

    /// Whether a PDU line contains every one of `parts`.
    pub fn has_pdu(&self, parts: &[&str]) -> bool {
        self.pdus()
            .iter()
            .any(|l| parts.iter().all(|p| l.contains(p)))
    }

    /// The bodies written to the `-o` file, decoded as DOTS mitigation scopes (each body is one
    /// CBOR item; libcoap appends them).
    pub fn scopes(&self) -> Vec<MitigationScope> {
        let mut rest = self.body.as_slice();
        let mut out = Vec::new();
        while !rest.is_empty() {
            let item: ciborium::Value = ciborium::from_reader(&mut rest)
                .unwrap_or_else(|e| panic!("not CBOR ({e}):\n{}", self.log));
            let mut bytes = Vec::new();
            ciborium::into_writer(&item, &mut bytes).unwrap();
            out.push(
                MitigationScope::decode_cbor(&bytes)
                    .unwrap_or_else(|e| panic!("not a mitigation scope ({e:?}):\n{}", self.log)),
            );
        }
        out
    }
}

/// Runs `client` with `-B break_s -v 7 -o FILE`, `args` and `uri` in `dir`.
pub fn coap_client(client: &Path, dir: &Path, args: &[&str], uri: &str, break_s: u32) -> Run {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let out = dir.join(format!("out-{}.bin", RUNS.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new(client);
    cmd.args(["-B", &break_s.to_string(), "-v", "7", "-o"])
        .arg(&out)
        .args(args)
        .arg(uri)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start coap-client");
    // coap-client ends by itself after -B seconds; this only guards against a hang.
    let pid = child.id();
    let finished = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&finished);
    let limit = Duration::from_secs(u64::from(break_s) + 20);
    let watchdog = thread::spawn(move || {
        let t0 = Instant::now();
        while !done.load(Ordering::Relaxed) {
            if t0.elapsed() > limit {
                let _ = Command::new("kill").arg(pid.to_string()).status();
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let output = child.wait_with_output().expect("coap-client");
    finished.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    let log = format!(
        "{cmd:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let body = std::fs::read(&out).unwrap_or_default();
    Run { log, body }
}
