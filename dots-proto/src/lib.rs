//! # dots-proto
//!
//! Sans-IO state machines for DOTS (DDoS Open Threat Signaling). Nothing here opens a socket,
//! reads a clock, spawns a thread or sleeps: the caller feeds bytes and the current time in, and
//! takes bytes, timer deadlines and events out.
//!
//! - [`time`]: the caller-supplied monotonic [`Instant`](time::Instant) every state machine takes.
//! - [`coap`]: the CoAP transaction layer (RFC 7252, 7641, 7959, 9177, 8323, 8768) under the sessions.
//! - [`rng`]: the seeded pseudo-random generator for message ids, tokens and jitter.
//! - [`cuid`]: the RFC 9132 §4.4.1 derivation of a client's `cuid` from its credential.
//! - [`happy_eyeballs`]: the RFC 9132 §4.3 connection race over UDP/TCP and IPv6/IPv4.
//! - [`data`] (feature `alloc`): the DOTS data channel (RFC 8783) server and client helpers.
//! - [`signal`]: the DOTS signal channel (RFC 9132): [`signal::client`] is the client session
//!   (no allocation), [`signal::server`] (feature `alloc`) the server core.
//!
//! The crate is `#![no_std]` unconditionally; the client side needs no allocator. The `alloc`
//! feature enables the server-side state, and `std` adds adapters to `std::time`.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod coap;
pub mod cuid;
#[cfg(feature = "alloc")]
pub mod data;
pub mod happy_eyeballs;
pub mod rng;
pub mod signal;
pub mod time;
