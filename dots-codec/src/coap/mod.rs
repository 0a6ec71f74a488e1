//! CoAP (RFC 7252) and CoAP over TCP/TLS (RFC 8323) wire formats.

mod code;

pub use code::Code;
