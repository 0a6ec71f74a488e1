//! Real transports for the DOTS examples and the `transport_*` integration tests: DTLS over UDP,
//! TLS over TCP, certificates and the peer identities (with their RFC 9132 `cuid`).
//!
//! This is example code, not part of the library crates: the library stays sans-IO and leaves
//! (D)TLS to its caller; this module is such a caller. Include it with
//!
//! ```ignore
//! #[path = "support/mod.rs"]              // from examples/*.rs
//! #[path = "../examples/support/mod.rs"]  // from tests/*.rs
//! mod support;
//! ```
//!
//! - [`creds`]: certificates, keys, trust anchors and PSKs, loaded from PEM files or made at run
//!   time ([`pki::TestPki`]); peer chain validation with `rustls-webpki` and the peer's
//!   [`PeerIdentity`](creds::PeerIdentity) with its `cuid`.
//! - [`dtls`]: DTLS 1.2/1.3 with `dimpl` (sans-IO, pure-Rust crypto): a server endpoint that
//!   serves many peers over one UDP socket, and a client. X.509 mutual authentication and PSK.
//! - [`tls`]: TLS 1.2/1.3 with `rustls` and `tokio-rustls`: acceptor and connector with client
//!   certificate verification, for CoAP over TLS (RFC 8323) and the HTTPS data channel (RFC 8783).
//! - [`pki`]: a throwaway PKI made with `rcgen` (CA, server, clients, a rogue CA and client).
//!
//! Every binary that includes this module uses a different part of it.
#![allow(dead_code, unreachable_pub)]

pub mod creds;
pub mod dtls;
pub mod pki;
pub mod tls;
pub mod transport;
