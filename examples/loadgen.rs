//! A CoAP load generator over plain UDP, for the end-to-end figure of the README: it keeps a
//! fixed number of requests outstanding on each of several sockets and counts the answers.
//!
//! ```sh
//! cargo run --release --example loadgen -- run 127.0.0.1:5683 --get /time
//! cargo run --release --example loadgen -- run 127.0.0.1:4646 --dots-heartbeat
//! cargo run --release --example loadgen -- compare     # the server example vs coap-server-notls
//! ```
//!
//! Every request is Non-confirmable (as DOTS heartbeats and the RFC 9132 mitigation requests
//! are) and is matched to its answer by token; an answer that does not come within a second
//! is counted as lost and its slot reused. `compare` starts libcoap's `coap-server-notls`
//! (Debian `libcoap3-bin`) answering GET `/time`, and the `server` example (`--udp --insecure`)
//! answering DOTS heartbeats (NON PUT `/.well-known/dots/hb`, CBOR body, 2.04), measures both
//! with the same generator in the same run, and prints the ratio.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use dots::codec::coap::{Code, ContentFormat, Message, MessageRepr, MessageType, Token};

/// A CoAP load generator (plain UDP, NON requests, N outstanding per socket).
#[derive(Debug, Parser)]
#[command(name = "loadgen", about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Load one server.
    Run {
        /// The server's UDP address.
        target: SocketAddr,
        #[command(flatten)]
        load: Load,
        /// GET this Uri-Path (e.g. /time).
        #[arg(long, value_name = "PATH", conflicts_with = "dots_heartbeat")]
        get: Option<String>,
        /// Send DOTS heartbeats (RFC 9132 Figure 27) instead.
        #[arg(long)]
        dots_heartbeat: bool,
    },
    /// The `server` example against libcoap's `coap-server-notls`, in one run.
    Compare {
        #[command(flatten)]
        load: Load,
        /// The `server` example binary (default: next to this one).
        #[arg(long, value_name = "FILE")]
        server: Option<PathBuf>,
        /// Rounds (alternating the two servers); the median of each is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct Load {
    /// Sockets (distinct client addresses).
    #[arg(long, default_value_t = 8)]
    sockets: usize,
    /// Requests outstanding per socket.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Measured seconds (after one second of warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

/// What is sent.
#[derive(Debug, Clone)]
enum Request {
    Get(String),
    Heartbeat,
}

/// RFC 9132 Figure 27: `{"ietf-dots-signal-channel:heartbeat": {"peer-hb-status": true}}`.
const HEARTBEAT: [u8; 7] = [0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5];

/// The outcome of one measurement.
#[derive(Debug, Clone, Copy)]
struct Figures {
    answered: u64,
    lost: u64,
    per_second: f64,
}

fn encode(req: &Request, mid: u16, token: u64, buf: &mut [u8]) -> Result<usize, String> {
    let token_bytes = token.to_be_bytes();
    let token = Token::new(&token_bytes).map_err(|e| e.to_string())?;
    let mut m: MessageRepr = match req {
        Request::Get(_) => MessageRepr::new(MessageType::NonConfirmable, Code::GET, mid, token),
        Request::Heartbeat => MessageRepr::new(MessageType::NonConfirmable, Code::PUT, mid, token),
    };
    match req {
        Request::Get(path) => {
            m.options.set_uri_path(path).map_err(|e| e.to_string())?;
        }
        Request::Heartbeat => {
            m.options
                .set_uri_path("/.well-known/dots/hb")
                .map_err(|e| e.to_string())?
                .set_content_format(ContentFormat::DOTS_CBOR)
                .map_err(|e| e.to_string())?;
            m.set_payload(&HEARTBEAT).map_err(|e| e.to_string())?;
        }
    }
    m.emit(buf).map_err(|e| e.to_string())
}

/// One socket's outstanding requests: (token, sent at).
struct Slot {
    socket: UdpSocket,
    outstanding: Vec<(u64, Instant)>,
    next_mid: u16,
}

fn measure(target: SocketAddr, req: &Request, load: &Load) -> Result<Figures, String> {
    let bind: SocketAddr = if target.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .map_err(|e| format!("{e}"))?;
    let mut slots = Vec::with_capacity(load.sockets);
    for _ in 0..load.sockets {
        let socket = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
        socket.connect(target).map_err(|e| e.to_string())?;
        socket.set_nonblocking(true).map_err(|e| e.to_string())?;
        slots.push(Slot {
            socket,
            outstanding: Vec::with_capacity(load.window),
            next_mid: 1,
        });
    }
    let mut next_token: u64 = 1;
    let mut out = [0u8; 1280];
    let mut inb = [0u8; 2048];
    let start = Instant::now();
    let warm = start + Duration::from_secs(1);
    let end = warm + Duration::from_secs_f64(load.seconds);
    let (mut answered, mut lost) = (0u64, 0u64);
    let mut idle_rounds = 0u32;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let counting = now >= warm;
        let mut progress = false;
        for slot in &mut slots {
            // Answers.
            loop {
                match slot.socket.recv(&mut inb) {
                    Ok(n) => {
                        let Some(bytes) = inb.get(..n) else { continue };
                        let Ok(m) = Message::parse(bytes) else {
                            continue;
                        };
                        let Ok(t) = <[u8; 8]>::try_from(m.token().as_bytes()) else {
                            continue;
                        };
                        let t = u64::from_be_bytes(t);
                        if let Some(i) = slot.outstanding.iter().position(|(x, _)| *x == t) {
                            slot.outstanding.swap_remove(i);
                            progress = true;
                            if counting && m.code().is_success() {
                                answered += 1;
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        return Err(format!("{target}: connection refused"))
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            // Timeouts.
            let before = slot.outstanding.len();
            slot.outstanding
                .retain(|(_, at)| now.duration_since(*at) < Duration::from_secs(1));
            if counting {
                lost += (before - slot.outstanding.len()) as u64;
            }
            // Refill the window.
            while slot.outstanding.len() < load.window {
                let n = encode(req, slot.next_mid, next_token, &mut out)?;
                match slot.socket.send(out.get(..n).unwrap_or_default()) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e.to_string()),
                }
                slot.outstanding.push((next_token, now));
                slot.next_mid = slot.next_mid.wrapping_add(1);
                next_token = next_token.wrapping_add(1);
            }
        }
        if progress {
            idle_rounds = 0;
        } else {
            idle_rounds += 1;
            if idle_rounds > 64 {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
    Ok(Figures {
        answered,
        lost,
        per_second: answered as f64 / load.seconds,
    })
}

/// Waits until `target` answers one request (the server is up).
fn wait_ready(target: SocketAddr, req: &Request) -> Result<(), String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket.connect(target).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let mut out = [0u8; 1280];
    let mut inb = [0u8; 2048];
    // Until the server is up, a connected socket reports "connection refused" at once:
    // retry for ten seconds, not a number of times.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut i: u16 = 0;
    while Instant::now() < deadline {
        i = i.wrapping_add(1);
        let n = encode(req, i, u64::from(i), &mut out)?;
        let _ = socket.send(out.get(..n).unwrap_or_default());
        match socket.recv(&mut inb) {
            Ok(n) if inb.get(..n).and_then(|b| Message::parse(b).ok()).is_some() => {
                return Ok(());
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err(format!("{target} does not answer"))
}

fn free_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

/// Kills the child when dropped.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn compare(load: &Load, server: Option<PathBuf>, rounds: usize) -> Result<(), String> {
    let server = match server {
        Some(p) => p,
        None => {
            let me = std::env::current_exe().map_err(|e| e.to_string())?;
            me.with_file_name(format!("server{}", std::env::consts::EXE_SUFFIX))
        }
    };
    let libcoap_port = free_port()?;
    let libcoap_addr: SocketAddr = ([127, 0, 0, 1], libcoap_port).into();
    let libcoap = Command::new("coap-server-notls")
        .args(["-A", "127.0.0.1", "-p", &libcoap_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("coap-server-notls (apt install libcoap3-bin): {e}"))?;
    let _libcoap = Reaper(libcoap);
    let dots_port = free_port()?;
    let dots_addr: SocketAddr = ([127, 0, 0, 1], dots_port).into();
    let dots = Command::new(&server)
        .args(["--udp", &dots_addr.to_string(), "--insecure"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "{} (cargo build --release --example server): {e}",
                server.display()
            )
        })?;
    let _dots = Reaper(dots);

    let get = Request::Get("/time".into());
    let hb = Request::Heartbeat;
    wait_ready(libcoap_addr, &get)?;
    wait_ready(dots_addr, &hb)?;
    println!(
        "{} sockets x {} outstanding NON requests, {} s per measurement, {rounds} rounds",
        load.sockets, load.window, load.seconds
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let a = measure(libcoap_addr, &get, load)?;
        let b = measure(dots_addr, &hb, load)?;
        println!(
            "round {round}: coap-server-notls GET /time {:.0}/s ({} lost) | server example DOTS heartbeat {:.0}/s ({} lost)",
            a.per_second, a.lost, b.per_second, b.lost
        );
        theirs.push(a.per_second);
        ours.push(b.per_second);
    }
    let (o, t) = (median(ours), median(theirs));
    println!(
        "median: server example {o:.0}/s, coap-server-notls {t:.0}/s, ratio {:.2}x",
        if t > 0.0 { o / t } else { 0.0 }
    );
    Ok(())
}

fn main() {
    let args = Args::parse();
    let result = match args.command {
        Cmd::Run {
            target,
            load,
            get,
            dots_heartbeat,
        } => {
            let req = match (get, dots_heartbeat) {
                (Some(p), _) => Request::Get(p),
                (None, true) => Request::Heartbeat,
                (None, false) => Request::Get("/".into()),
            };
            wait_ready(target, &req)
                .and_then(|()| measure(target, &req, &load))
                .map(|f| {
                    println!(
                        "{target}: {:.0} answers/s ({} answered, {} lost in {} s)",
                        f.per_second, f.answered, f.lost, load.seconds
                    );
                })
        }
        Cmd::Compare {
            load,
            server,
            rounds,
        } => compare(&load, server, rounds),
    };
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}
