//! Heartbeat (RFC 9132 Section 4.7) and redirected signaling (RFC 9132 Section 4.6, with RFC 9066
//! Section 5.2's call-home redirection).

use core::net::IpAddr;

use super::{MAX_ALT_SERVER_RECORDS, MAX_TEXT_LEN};

/// A host name (`inet:domain-name`), bounded by [`MAX_TEXT_LEN`] bytes.
pub type DomainName = heapless::String<MAX_TEXT_LEN, u8>;

/// The `ietf-dots-signal-channel:heartbeat` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    /// `peer-hb-status` (mandatory): whether the sender receives heartbeats from its peer.
    pub peer_hb_status: bool,
}

/// The `ietf-dots-signal-channel:redirected-signal` body: RFC 9132's `alt-server` (5.03 body) or
/// RFC 9066's call-home `alt-ch-client` (PUT body).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RedirectedSignal {
    /// `alt-server` (mandatory in the base signal channel case).
    pub alt_server: Option<DomainName>,
    /// `alt-server-record`.
    pub alt_server_record: heapless::Vec<IpAddr, MAX_ALT_SERVER_RECORDS, u8>,
    /// RFC 9066 `ietf-dots-call-home:alt-ch-client`.
    pub alt_ch_client: Option<DomainName>,
    /// RFC 9066 `ietf-dots-call-home:alt-ch-client-record`.
    pub alt_ch_client_record: heapless::Vec<IpAddr, MAX_ALT_SERVER_RECORDS, u8>,
    /// RFC 9066 `ietf-dots-call-home:ttl` (seconds). The base channel's TTL is the CoAP Max-Age.
    pub ttl: Option<u32>,
}
