//! A DOTS server over real sockets: the data channel (RFC 8783, RESTCONF over HTTPS) and the
//! signal channel (RFC 9132) on the same client state.
//!
//! ```text
//! cargo run --example server -- --https 127.0.0.1:8443 \
//!     --cert server.pem --key server.key --ca ca.pem
//! cargo run --example server -- --dtls 127.0.0.1:4646 --tls 127.0.0.1:4646 \
//!     --cert server.pem --key server.key --ca ca.pem --psk dots-client-psk:73656372657450534b
//! cargo run --example server -- --udp 127.0.0.1:4646 --tcp 127.0.0.1:4646 --insecure  # lab only
//! ```
//!
//! Prints `listening PROTO ADDR` (`https`, `udp`, `tcp`, `dtls`, `tls`) once each socket
//! accepts traffic, then one line per event (`event acl-activated cuid=... acl=...`, `event
//! mitigation-requested cuid=... mid=...`, `mitigator cuid=... mid=... status=...`, `dtls
//! ADDR: connected cuid=...`). Stops on SIGTERM or Ctrl-C.
//!
//! - `cli.rs`: the command line;
//! - `app.rs`: binds and serves the sockets of a configuration until told to stop;
//! - `state.rs`: the state the channels share (the signal session with the data server as its
//!   core's hooks, the clock, the data server's expiry timer);
//! - `https.rs`: HTTP/1.1 over TLS (hyper, rustls) to and from the sans-IO data server;
//! - `signal.rs`: the signal session's driver for every transport: timers, the in-memory
//!   mitigator, events, and the routing of outgoing messages to each peer's transport;
//! - `udp.rs`: plain CoAP over UDP (the cuid from the Uri-Path);
//! - `dtls.rs`: CoAP over DTLS (dimpl; the cuid from the client's certificate or PSK identity);
//! - `stream.rs`: CoAP over TLS (rustls; the certificate's cuid) and plain TCP (RFC 8323).

mod app;
mod cli;
mod dtls;
mod https;
mod signal;
mod state;
mod stream;
#[path = "../support/mod.rs"]
mod support;
mod udp;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    if let Err(e) = args.check() {
        e.into_clap().exit();
    }
    let config = match args.load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let log: state::Log = Arc::new(say);
    let ready = |proto: &str, addr| say(&format!("listening {proto} {addr}"));
    match runtime.block_on(app::run(config, log, ready, stop_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line on stdout, flushed at once (stdout may be a pipe).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
