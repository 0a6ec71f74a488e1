//! `dots`: a sans-IO implementation of IETF DOTS (DDoS Open Threat Signaling).
//!
//! This facade re-exports the two library crates:
//!
//! - [`codec`] (`dots-codec`): CoAP framing (RFC 7252, RFC 8323) and the DOTS message model with its
//!   CBOR (RFC 9132) and JSON (RFC 7951) encodings. `no_std`, no allocation.
//! - [`proto`] (`dots-proto`): the sans-IO state machines: CoAP transactions, the signal channel client
//!   and server sessions, and the data channel (RFC 8783).
//!
//! Embedded users depend on `dots-codec` / `dots-proto` directly with `default-features = false`.
#![no_std]
#![forbid(unsafe_code)]

pub use dots_codec as codec;
pub use dots_proto as proto;
