//! The DOTS demo: a DOTS server and a DOTS client in one process, talking the signal channel
//! (RFC 9132: CoAP + CBOR over DTLS) on 127.0.0.1 with real sockets and real time. Nothing to set
//! up and no files: the certificates are made at run time.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The story, one timestamped line per message and per event:
//!
//! 1. DTLS handshake with X.509 mutual authentication; both sides derive the client's `cuid`
//!    from its certificate;
//! 2. session configuration: GET `/config`, then PUT short heartbeats within the server's ranges;
//! 3. a pre-configured mitigation request (`trigger-mitigation` false): status 8, it waits;
//! 4. a mitigation request, observed: the server's mitigator moves it from status 1 to 2;
//! 5. an efficacy update from the client;
//! 6. heartbeats in both directions;
//! 7. the link is cut: the server's deadman fires, the pre-configured request starts; the client
//!    counts its missed heartbeats (during an attack the session is degraded, not lost);
//! 8. the link comes back: a new DTLS handshake, the session moves onto it, and the
//!    mitigation started by the signal loss is still active;
//! 9. withdrawal: DELETE, active-but-terminating (status 5), then terminated (status 6).
//!
//! Exit status 0 when every step happened; 1 with the reason (on stderr and in the transcript)
//! when one did not within its timeout. Retransmissions, heartbeats, the deadman and the
//! lifetimes all come from the library (`dots-proto`); the demo only moves datagrams and time.
//!
//! - `notes.rs`: the events of the state machines told for people, and the facts the story
//!   checks;
//! - `world.rs`: the sockets, DTLS, the sans-IO server and client sessions, the lossy link and
//!   the event loop;
//! - `story.rs`: the steps and what each waits for;
//! - `transcript.rs`: the timestamped lines and the CoAP messages told for people.

mod notes;
mod story;
#[path = "../support/mod.rs"]
mod support;
mod transcript;
mod world;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let t0 = Instant::now();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo failed: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let transcript = transcript::Transcript::new(t0, Box::new(std::io::stdout()));
    match runtime.block_on(story::run(transcript)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("demo failed: {}", f.0);
            ExitCode::FAILURE
        }
    }
}
