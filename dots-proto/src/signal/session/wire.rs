//! The messages the session writes itself, without an endpoint: its heartbeats (RFC 9132
//! Section 4.7), Observe notifications (RFC 7641, NON per RFC 9132 Section 4.4.2.1) and empty
//! ACKs, as UDP datagrams or TCP frames (RFC 8323).

use dots_codec::cbor::CborBody;
use dots_codec::coap::{
    BufferTooSmall, Code, ContentFormat, FrameRepr, MessageRepr, MessageType, Token,
};
use dots_codec::model::Heartbeat;

use super::config::MAX_MESSAGE_SIZE;
use crate::coap::Transport;

type Repr = MessageRepr<32, MAX_MESSAGE_SIZE>;

fn emit(repr: Repr, transport: Transport, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    match transport {
        Transport::Udp => repr.emit(buf),
        Transport::Tcp => FrameRepr::from_message(repr).emit(buf),
    }
}

/// A server heartbeat: NON PUT `/.well-known/dots/hb` with `peer-hb-status` (Figure 27).
pub(crate) fn heartbeat(
    transport: Transport,
    mid: u16,
    token: Token,
    peer_hb_status: bool,
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut m = Repr::new(MessageType::NonConfirmable, Code::PUT, mid, token);
    let mut body = [0u8; 16];
    let len = Heartbeat { peer_hb_status }
        .encode_cbor(&mut body)
        .unwrap_or(0);
    // The options and the 8-byte body always fit their capacities.
    let _ = m
        .options
        .set_uri_path("/.well-known/dots/hb")
        .and_then(|o| o.set_content_format(ContentFormat::DOTS_CBOR));
    let _ = m.set_payload(body.get(..len).unwrap_or(&[]));
    emit(m, transport, buf)
}

/// The size of a notification with `payload_len` bytes of payload and an 8-byte token, at
/// most (header, token, Observe, Content-Format, payload marker).
pub(crate) const fn notification_len(payload_len: usize) -> usize {
    4 + 8 + 4 + 3 + 1 + payload_len
}

/// An Observe notification: NON 2.05 with the registration's token, Observe `sequence` and
/// Content-Format `application/dots+cbor`.
pub(crate) fn notification(
    transport: Transport,
    mid: u16,
    token: Token,
    sequence: u32,
    code: Code,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut m = Repr::new(MessageType::NonConfirmable, code, mid, token);
    let _ = m.options.set_observe(sequence & 0x00ff_ffff);
    if code.is_success() {
        let _ = m.options.set_content_format(ContentFormat::DOTS_CBOR);
    }
    if m.set_payload(payload).is_err() {
        return Err(BufferTooSmall {
            needed: notification_len(payload.len()),
        });
    }
    emit(m, transport, buf)
}

/// An empty ACK (UDP only).
pub(crate) fn empty_ack(mid: u16, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    MessageRepr::<0, 0>::empty_ack(mid).emit(buf)
}

#[cfg(test)]
mod tests {
    use dots_codec::coap::{Frame, Message};

    use super::*;

    #[test]
    fn heartbeat_is_figure_27() {
        let mut buf = [0u8; 64];
        let token = Token::new(&[1, 2, 3, 4]).unwrap();
        let n = heartbeat(Transport::Udp, 0x1234, token, true, &mut buf).unwrap();
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(m.ty(), MessageType::NonConfirmable);
        assert_eq!(m.code(), Code::PUT);
        assert_eq!(m.message_id(), 0x1234);
        assert_eq!(m.token(), token);
        assert!(m.options().uri_path_is(&[".well-known", "dots", "hb"]));
        assert_eq!(
            m.options().content_format().unwrap(),
            Some(ContentFormat::DOTS_CBOR)
        );
        // {"ietf-dots-signal-channel:heartbeat": {"peer-hb-status": true}}
        assert_eq!(m.payload(), [0xa1, 0x18, 0x31, 0xa1, 0x18, 0x33, 0xf5]);
        let n = heartbeat(Transport::Tcp, 0, token, false, &mut buf).unwrap();
        let f = Frame::parse(&buf[..n]).unwrap();
        assert_eq!(f.code(), Code::PUT);
        assert_eq!(f.payload().last(), Some(&0xf4));
    }

    #[test]
    fn notification_carries_observe_and_format() {
        let mut buf = [0u8; MAX_MESSAGE_SIZE];
        let token = Token::new(&[9; 8]).unwrap();
        let payload = [0xa1, 0x01, 0xa0];
        let n = notification(
            Transport::Udp,
            7,
            token,
            0x0100_0003,
            Code::CONTENT,
            &payload,
            &mut buf,
        )
        .unwrap();
        assert!(n <= notification_len(payload.len()));
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(m.code(), Code::CONTENT);
        assert_eq!(m.ty(), MessageType::NonConfirmable);
        assert_eq!(m.options().observe().unwrap(), Some(3));
        assert_eq!(m.payload(), payload);
        let big = [0u8; MAX_MESSAGE_SIZE + 1];
        assert!(notification(Transport::Udp, 7, token, 1, Code::CONTENT, &big, &mut buf).is_err());
        assert!(notification(
            Transport::Udp,
            7,
            token,
            1,
            Code::CONTENT,
            &payload,
            &mut buf[..5]
        )
        .is_err());
        // An observation ended by an error (a removed `/tm` entry, RFC 9244 Section 8.3): the
        // code is carried and no Content-Format is claimed for the empty payload.
        let n = notification(Transport::Udp, 8, token, 4, Code::NOT_FOUND, &[], &mut buf).unwrap();
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(m.code(), Code::NOT_FOUND);
        assert_eq!(m.options().observe().unwrap(), Some(4));
        assert_eq!(m.options().content_format().unwrap(), None);
        let n = empty_ack(0xbeef, &mut buf).unwrap();
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(m.ty(), MessageType::Acknowledgement);
        assert!(m.code().is_empty());
    }
}
