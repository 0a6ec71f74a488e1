//! RFC 7252 Appendix A (Figures 16–23) as golden bytes, built from the figures' header fields,
//! plus a DOTS mitigation request (RFC 9132 Figures 7 and 8).

extern crate std;
use std::vec::Vec;

use crate::coap::{Code, ContentFormat, Message, MessageRepr, MessageType, OptionNumber, Token};

/// `Ver=1 | T | TKL`, code, message ID, token, then the rest, as the figures draw them.
fn datagram(ty: u8, tkl: u8, code: u8, mid: u16, rest: &[u8]) -> Vec<u8> {
    let mut v = std::vec![0x40 | (ty << 4) | tkl, code];
    v.extend_from_slice(&mid.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

/// A GET for "temperature": one Uri-Path option, delta 11, length 11 (Figure 16's `11 | 11`).
fn get_temperature(ty: u8, mid: u16, token: &[u8]) -> Vec<u8> {
    let mut rest = token.to_vec();
    rest.push(0xbb);
    rest.extend_from_slice(b"temperature");
    datagram(ty, token.len() as u8, 0x01, mid, &rest)
}

/// A 2.05 response with payload "22.3 C" after the 0xFF marker.
fn content(ty: u8, mid: u16, token: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut rest = token.to_vec();
    rest.push(0xff);
    rest.extend_from_slice(payload);
    datagram(ty, token.len() as u8, 0x45, mid, &rest)
}

fn reemit(bytes: &[u8]) -> Vec<u8> {
    let message = Message::parse(bytes).expect("golden message parses");
    let repr: MessageRepr = MessageRepr::parse(&message).expect("fits");
    assert_eq!(repr.encoded_len(), bytes.len());
    let mut buf = [0u8; 64];
    let n = repr.emit(&mut buf).expect("fits");
    buf[..n].to_vec()
}

#[test]
fn figure_16_confirmable_request_piggybacked_response() {
    let request = get_temperature(0, 0x7d34, &[]);
    assert_eq!(
        request.len(),
        16,
        "RFC 7252: 'This request is a total of 16 bytes long'"
    );
    let m = Message::parse(&request).unwrap();
    assert_eq!(m.ty(), MessageType::Confirmable);
    assert_eq!(m.code(), Code::GET);
    assert_eq!(m.message_id(), 0x7d34);
    assert!(m.token().is_empty());
    assert!(m.options().uri_path().eq([Ok("temperature")]));
    assert!(m.payload().is_empty());

    // Built from the fields, the request is the figure's bytes.
    let mut built: MessageRepr<32, 16> =
        MessageRepr::new(MessageType::Confirmable, Code::GET, 0x7d34, Token::EMPTY);
    built.options.push_uri_path("temperature").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(built.emit(&mut buf), Ok(16));
    assert_eq!(&buf[..], &request[..]);

    let response = content(2, 0x7d34, &[], b"22.3 C");
    assert_eq!(response.len(), 11, "RFC 7252: 'is 11 bytes long'");
    let r = Message::parse(&response).unwrap();
    assert_eq!(r.ty(), MessageType::Acknowledgement);
    assert_eq!(r.code(), Code::CONTENT);
    assert_eq!(r.code().raw(), 69);
    assert_eq!(r.payload(), b"22.3 C");

    // The piggybacked response built with the helper is the figure's bytes.
    let mut answer: MessageRepr<8, 16> = MessageRepr::response_to(&m, Code::CONTENT, 0xffff);
    answer.set_payload(b"22.3 C").unwrap();
    let mut buf = [0u8; 11];
    assert_eq!(answer.emit(&mut buf), Ok(11));
    assert_eq!(&buf[..], &response[..]);
}

#[test]
fn figure_17_token() {
    let request = get_temperature(0, 0x7d35, &[0x20]);
    assert_eq!(request.len(), 17);
    let m = Message::parse(&request).unwrap();
    assert_eq!(m.token().as_bytes(), &[0x20]);
    assert_eq!(reemit(&request), request);

    let response = content(2, 0x7d35, &[0x20], b"22.3 C");
    assert_eq!(response.len(), 12);
    let mut answer: MessageRepr = MessageRepr::response_to(&m, Code::CONTENT, 0);
    answer.set_payload(b"22.3 C").unwrap();
    let mut buf = [0u8; 12];
    answer.emit(&mut buf).unwrap();
    assert_eq!(&buf[..], &response[..]);
}

#[test]
fn figures_18_19_retransmissions_have_the_same_bytes() {
    for (mid, token) in [(0x7d36, 0x31), (0x7d37, 0x42)] {
        let request = get_temperature(0, mid, &[token]);
        let m = Message::parse(&request).unwrap();
        assert_eq!((m.message_id(), m.token_bytes()), (mid, &[token][..]));
        assert_eq!(reemit(&request), request);
        let response = content(2, mid, &[token], b"22.3 C");
        assert_eq!(reemit(&response), response);
    }
}

#[test]
fn figure_20_separate_response() {
    let request = get_temperature(0, 0x7d38, &[0x53]);
    let m = Message::parse(&request).unwrap();

    let ack = datagram(2, 0, 0x00, 0x7d38, &[]);
    let built: MessageRepr<0, 0> = MessageRepr::empty_ack(m.message_id());
    let mut buf = [0u8; 4];
    built.emit(&mut buf).unwrap();
    assert_eq!(&buf[..], &ack[..]);
    assert!(Message::parse(&ack).unwrap().is_empty());

    let separate = content(0, 0xad7b, &[0x53], b"22.3 C");
    let mut built: MessageRepr<0, 8> =
        MessageRepr::separate_response_to(&m, Code::CONTENT, true, 0xad7b);
    built.set_payload(b"22.3 C").unwrap();
    let mut buf = [0u8; 12];
    built.emit(&mut buf).unwrap();
    assert_eq!(&buf[..], &separate[..]);

    let client_ack = datagram(2, 0, 0x00, 0xad7b, &[]);
    assert_eq!(reemit(&client_ack), client_ack);
}

#[test]
fn figure_21_reset() {
    let rst = datagram(3, 0, 0x00, 0xad7c, &[]);
    let m = Message::parse(&rst).unwrap();
    assert_eq!(m.ty(), MessageType::Reset);
    assert!(m.is_empty());
    let built: MessageRepr<0, 0> = MessageRepr::reset(0xad7c);
    let mut buf = [0u8; 4];
    built.emit(&mut buf).unwrap();
    assert_eq!(&buf[..], &rst[..]);
}

#[test]
fn figure_22_non_confirmable() {
    let request = get_temperature(1, 0x7d40, &[0x75]);
    let m = Message::parse(&request).unwrap();
    assert_eq!(m.ty(), MessageType::NonConfirmable);
    let response = content(1, 0xad7d, &[0x75], b"22.3 C");
    let mut built: MessageRepr = MessageRepr::response_to(&m, Code::CONTENT, 0xad7d);
    built.set_payload(b"22.3 C").unwrap();
    let mut buf = [0u8; 12];
    built.emit(&mut buf).unwrap();
    assert_eq!(&buf[..], &response[..]);
}

#[test]
fn figure_23_multicast_responses() {
    let request = get_temperature(1, 0x7d41, &[0x86]);
    assert_eq!(reemit(&request), request);
    let a = content(1, 0x60b1, &[0x86], b"22.3 C");
    let b = content(1, 0x01a0, &[0x86], b"20.9 C");
    let c = datagram(1, 1, 0x84, 0x952a, &[0x86]);
    for bytes in [&a, &b, &c] {
        assert_eq!(&reemit(bytes), bytes);
    }
    let not_found = Message::parse(&c).unwrap();
    assert_eq!(not_found.code(), Code::NOT_FOUND);
    assert!(not_found.payload().is_empty());
}

/// RFC 9132 Figure 8, the CBOR body of the Figure 7 mitigation request.
pub(crate) const FIGURE_8: [u8; 73] = [
    0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa4, 0x06, 0x82, 0x74, 0x32, 0x30, 0x30, 0x31, 0x3a, 0x64, 0x62,
    0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x31, 0x2f, 0x31, 0x32, 0x38, 0x74, 0x32, 0x30,
    0x30, 0x31, 0x3a, 0x64, 0x62, 0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x32, 0x2f, 0x31,
    0x32, 0x38, 0x07, 0x83, 0xa1, 0x08, 0x18, 0x50, 0xa1, 0x08, 0x19, 0x01, 0xbb, 0xa1, 0x08, 0x19,
    0x1f, 0x90, 0x0a, 0x81, 0x06, 0x0e, 0x19, 0x0e, 0x10,
];

#[test]
fn dots_mitigation_request_figure_7() {
    // RFC 9132 Figure 7 header and options, encoded by hand from RFC 7252 §3.1.
    let mut bytes = datagram(1, 2, 0x03, 0x0102, &[0xab, 0xcd]);
    bytes.extend_from_slice(&[0xbb]); // delta 11 (Uri-Path), length 11
    bytes.extend_from_slice(b".well-known");
    bytes.push(0x04); // delta 0, length 4
    bytes.extend_from_slice(b"dots");
    bytes.push(0x08);
    bytes.extend_from_slice(b"mitigate");
    bytes.extend_from_slice(&[0x0d, 27 - 13]); // length 27: extended by one byte
    bytes.extend_from_slice(b"cdid=7eeaf349529eb55ed50113");
    bytes.extend_from_slice(&[0x0d, 27 - 13]);
    bytes.extend_from_slice(b"cuid=dz6pHjaADkaFTbjr0JGBpw");
    bytes.push(0x07);
    bytes.extend_from_slice(b"mid=123");
    bytes.extend_from_slice(&[0x12, 0x01, 0x0f]); // delta 1 (Content-Format), 271
    bytes.push(0xff);
    bytes.extend_from_slice(&FIGURE_8);

    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.code(), Code::PUT);
    assert!(m.options().uri_path_is(&[
        ".well-known",
        "dots",
        "mitigate",
        "cdid=7eeaf349529eb55ed50113",
        "cuid=dz6pHjaADkaFTbjr0JGBpw",
        "mid=123",
    ]));
    assert_eq!(
        m.options().content_format(),
        Ok(Some(ContentFormat::DOTS_CBOR))
    );
    assert_eq!(m.payload(), &FIGURE_8[..]);
    assert_eq!(m.check_critical_options(), Ok(()));

    let mut built: MessageRepr = MessageRepr::new(
        MessageType::NonConfirmable,
        Code::PUT,
        0x0102,
        Token::new(&[0xab, 0xcd]).unwrap(),
    );
    // Added out of order: the list keeps option order and re-encodes the deltas.
    built
        .options
        .set_content_format(ContentFormat::DOTS_CBOR)
        .unwrap()
        .set_uri_path(
            "/.well-known/dots/mitigate/cdid=7eeaf349529eb55ed50113/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123",
        )
        .unwrap();
    built.set_payload(&FIGURE_8).unwrap();
    let mut buf = [0u8; 256];
    let n = built.emit(&mut buf).unwrap();
    assert_eq!(&buf[..n], &bytes[..]);
    assert_eq!(
        built.options.iter().map(|o| o.number).last(),
        Some(OptionNumber::CONTENT_FORMAT)
    );
}
