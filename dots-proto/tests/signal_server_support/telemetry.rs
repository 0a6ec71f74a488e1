//! Requests of the RFC 9244 telemetry tests: Uri-Paths, PUTs of setups and telemetry, GETs,
//! and the notifications the server has.

use dots_codec::coap::Code;
use dots_proto::signal::server::Notification;

use super::{cbor, Harness, Opts, Reply, CUID};

/// `/.well-known/dots/tm-setup/cuid=C[/tsid=T]`.
pub fn setup_uri(cuid: &str, tsid: Option<u32>) -> String {
    match tsid {
        Some(t) => format!("/.well-known/dots/tm-setup/cuid={cuid}/tsid={t}"),
        None => format!("/.well-known/dots/tm-setup/cuid={cuid}"),
    }
}

/// `/.well-known/dots/tm/cuid=C[/tmid=T]`.
pub fn tm_uri(cuid: &str, tmid: Option<u32>) -> String {
    match tmid {
        Some(t) => format!("/.well-known/dots/tm/cuid={cuid}/tmid={t}"),
        None => format!("/.well-known/dots/tm/cuid={cuid}"),
    }
}

/// PUT of a telemetry setup (`json`: RFC 7951 JSON, sent as CBOR).
pub fn put_setup(h: &mut Harness, cuid: &str, tsid: u32, json: &str) -> Reply {
    h.send(
        cuid,
        Code::PUT,
        &setup_uri(cuid, Some(tsid)),
        &cbor(json),
        &Opts::default(),
    )
}

/// PUT of pre-or-ongoing-mitigation telemetry (`json` sent as CBOR).
pub fn put_tm(h: &mut Harness, cuid: &str, tmid: u32, json: &str) -> Reply {
    h.send(
        cuid,
        Code::PUT,
        &tm_uri(cuid, Some(tmid)),
        &cbor(json),
        &Opts::default(),
    )
}

/// GET `uri` as [`CUID`] with Uri-Query `query` and, if given, Observe.
pub fn get(h: &mut Harness, uri: &str, query: &[&str], observe: Option<u32>) -> Reply {
    h.send(
        CUID,
        Code::GET,
        uri,
        &[],
        &Opts {
            query,
            observe,
            ..Opts::default()
        },
    )
}

/// Every pending notification with its raw payload.
pub fn raw_notifications(h: &mut Harness) -> Vec<(Notification, Vec<u8>)> {
    let mut v = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    while let Some(n) = h.s.poll_notification(h.now, &mut buf).unwrap() {
        let body = buf[..n.payload_len].to_vec();
        v.push((n, body));
    }
    v
}
