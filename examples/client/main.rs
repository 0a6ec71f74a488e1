//! `client`: a DOTS signal channel client (RFC 9132) on the sans-IO
//! [`SignalClient`](dots::proto::signal::client::SignalClient), over DTLS (dimpl), TLS
//! (rustls), plain CoAP for labs, or the RFC 9132 Section 4.3 Happy Eyeballs race.
//!
//! ```text
//! cargo run --example client -- mitigate --target 2001:db8:6401::/64 --port 443 --protocol tcp \
//!     --dtls dots.example.net --cert client.pem --key client.key --ca ca.pem
//! cargo run --example client -- mitigate --json fig7.json --server dots.example.net --psk id:6b6579
//! cargo run --example client -- status 1234 --observe 60 --dtls ...
//! cargo run --example client -- efficacy 1234 --attack-status under-attack --dtls ...
//! cargo run --example client -- withdraw 1234 --dtls ...
//! cargo run --example client -- config put --heartbeat-interval 60 --dtls ...
//! cargo run --example client -- heartbeat --for 120 --dtls ...
//! cargo run --example client -- status --udp 127.0.0.1:4646 --insecure --cuid dz6pHjaADkaFTbjr0JGBpw
//! ```
//!
//! Prints what the server answered (code, body as RFC 7951 JSON) and the session's events.
//! Exit status 0 on success, 1 on a DOTS error answer or another failure (with a one-line
//! reason on stderr), 2 on a wrong command line.
//!
//! - `cli.rs`: the command line and its checks;
//! - `connect.rs`, `race.rs`: credentials, the connection, the Happy Eyeballs race;
//! - `session.rs`: the loop driving the sans-IO session over the socket with real time;
//! - `commands.rs`: what each command asks and which answer ends it;
//! - `tap.rs`: reading the CoAP messages for printing (Block2 bodies put together);
//! - `app.rs`: from arguments to an exit status.

mod app;
mod cli;
mod commands;
mod connect;
mod race;
mod session;
#[path = "../support/mod.rs"]
mod support;
mod tap;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    ExitCode::from(app::run(std::env::args_os(), &mut out, &mut err))
}
