//! # dots-codec
//!
//! Wire formats for DOTS (DDoS Open Threat Signaling), with no I/O, no state, no clock and no
//! allocation:
//!
//! - [`coap`]: CoAP messages over UDP (RFC 7252) and over TCP/TLS (RFC 8323), the options DOTS uses
//!   (Block1/Block2 of RFC 7959, Hop-Limit of RFC 8768, Q-Block1/Q-Block2 of RFC 9177), as a
//!   zero-copy borrowed view and an owned, heapless representation.
//! - [`data`] (feature `json`): the DOTS data channel model (RFC 8783) with its RFC 7951 JSON
//!   encoding and the RESTCONF error body (RFC 8040), and RFC 9244's vendor attack mapping.
//! - [`model`]: the typed signal channel bodies (RFC 9132, RFC 9133 `acl-list`, RFC 9066 call
//!   home, RFC 9362 Q-Block parameters, RFC 9244 telemetry), bounded, with stateless validation.
//! - [`cbor`]: their CBOR encoding (content-format 271) with the integer keys of [`keys`].
//! - `json` (feature `json`): their RFC 7951 JSON encoding, as printed in the RFCs.
//! - [`path`] and [`query`]: the Uri-Path of DOTS resources and the RFC 9244 Uri-Query filters.
//!
//! ```
//! use dots_codec::cbor::CborBody;
//! use dots_codec::model::MitigationRequest;
//!
//! // RFC 9132 Figure 8.
//! let fig8 = [
//!     0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa4, 0x06, 0x82, 0x74, b'2', b'0', b'0', b'1', b':', b'd',
//!     b'b', b'8', b':', b'6', b'4', b'0', b'1', b':', b':', b'1', b'/', b'1', b'2', b'8', 0x74,
//!     b'2', b'0', b'0', b'1', b':', b'd', b'b', b'8', b':', b'6', b'4', b'0', b'1', b':', b':',
//!     b'2', b'/', b'1', b'2', b'8', 0x07, 0x83, 0xa1, 0x08, 0x18, 0x50, 0xa1, 0x08, 0x19, 0x01,
//!     0xbb, 0xa1, 0x08, 0x19, 0x1f, 0x90, 0x0a, 0x81, 0x06, 0x0e, 0x19, 0x0e, 0x10,
//! ];
//! let request = MitigationRequest::decode_cbor(&fig8).unwrap();
//! request.validate().unwrap();
//! assert_eq!(request.entry.scope.targets.prefixes.len(), 2);
//!
//! let mut buf = [0u8; 128];
//! let n = request.encode_cbor(&mut buf).unwrap();
//! assert_eq!(&buf[..n], &fig8[..]);
//! ```
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

pub mod cbor;
pub mod coap;
#[cfg(feature = "json")]
pub mod data;
#[cfg(feature = "json")]
pub mod json;
pub mod keys;
pub mod model;
pub mod path;
pub mod query;

/// The `ipnet` crate, whose prefix types the model uses.
pub use ipnet;
