//! # dots-codec
//!
//! Wire formats for DOTS (DDoS Open Threat Signaling), with no I/O, no state, no clock and no
//! allocation:
//!
//! - [`coap`]: CoAP messages over UDP (RFC 7252) and over TCP/TLS (RFC 8323), the options DOTS uses
//!   (Block1/Block2 of RFC 7959, Hop-Limit of RFC 8768, Q-Block1/Q-Block2 of RFC 9177), as a
//!   zero-copy borrowed view and an owned, heapless representation.
//! - [`data`] (feature `json`): the DOTS data channel model (RFC 8783) with its RFC 7951 JSON
//!   encoding and the RESTCONF error body (RFC 8040).
//!
//! The crate is `#![no_std]` unconditionally. The `alloc` and `std` features only add
//! conveniences; the `json` feature adds the RFC 7951 JSON encoding through serde.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod coap;
#[cfg(feature = "json")]
pub mod data;
