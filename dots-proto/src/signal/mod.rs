//! The DOTS signal channel (RFC 9132).
//!
//! - [`client`]: the client session — mitigation requests, session configuration, heartbeats,
//!   redirection, telemetry — without allocation, on a CoAP endpoint.
//! - [`server`] (feature `alloc`): the server core — mitigation table and lifecycle, conflict
//!   detection, session configuration, observers, quotas — independent of the CoAP
//!   transaction layer.
//! - [`session`] (feature `alloc`): the server session for many peers — CoAP endpoints lent per
//!   exchange, heartbeats and the deadman, Observe notifications, session parameters — in
//!   front of the core.

pub mod client;
#[cfg(feature = "alloc")]
pub mod server;
#[cfg(feature = "alloc")]
pub mod session;
