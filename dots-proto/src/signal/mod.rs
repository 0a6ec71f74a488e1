//! The DOTS signal channel (RFC 9132).
//!
//! - [`server`] (feature `alloc`): the server core — mitigation table and lifecycle, conflict
//!   detection, session configuration, observers, quotas — independent of the CoAP
//!   transaction layer.

#[cfg(feature = "alloc")]
pub mod server;
