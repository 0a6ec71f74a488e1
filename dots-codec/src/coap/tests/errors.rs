//! One test per malformed-input case of a UDP message (RFC 7252 §3, §3.1, §4.1–§4.3), with the
//! rejection RFC 7252 prescribes.

use crate::coap::{
    BufferTooSmall, BuildError, Code, FormatError, Header, Message, MessageRepr, MessageType,
    ParseError, Rejection, Token,
};

fn err(bytes: &[u8]) -> ParseError {
    Message::parse(bytes).expect_err("malformed input must not parse")
}

#[test]
fn shorter_than_the_header() {
    for len in 0..4 {
        let e = err(&[0x40, 0x01, 0x00, 0x01][..len]);
        assert_eq!(e.error, FormatError::Truncated);
        assert_eq!(e.header, None);
        assert_eq!(e.rejection(), Rejection::Ignore);
    }
}

#[test]
fn unknown_version_is_silently_ignored() {
    for version in [0u8, 2, 3] {
        let e = err(&[version << 6, 0x01, 0x12, 0x34]);
        assert_eq!(e.error, FormatError::UnknownVersion(version));
        assert_eq!(
            e.rejection(),
            Rejection::Ignore,
            "RFC 7252 §3: silently ignored"
        );
    }
}

#[test]
fn token_length_9_to_15() {
    for tkl in 9..=15u8 {
        let mut bytes = [0u8; 24];
        bytes[..4].copy_from_slice(&[0x40 | tkl, 0x01, 0xbe, 0xef]);
        let e = err(&bytes);
        assert_eq!(e.error, FormatError::ReservedTokenLength(tkl));
        // The header was readable: a CON with a format error gets a Reset (RFC 7252 §4.2).
        assert_eq!(
            e.header,
            Some(Header {
                ty: MessageType::Confirmable,
                code: Code::GET,
                message_id: 0xbeef
            })
        );
        assert_eq!(e.rejection(), Rejection::Reset { message_id: 0xbeef });
    }
}

#[test]
fn token_longer_than_the_datagram() {
    let e = err(&[0x58, 0x01, 0, 7, 1, 2, 3]);
    assert_eq!(e.error, FormatError::Truncated);
    assert_eq!(e.rejection(), Rejection::MayReset { message_id: 7 });
}

#[test]
fn reserved_option_delta_15() {
    // 0xF0 where an option begins, and not the payload marker.
    let e = err(&[0x40, 0x01, 0, 1, 0xf0]);
    assert_eq!(e.error, FormatError::ReservedOptionDelta);
    assert_eq!(e.rejection(), Rejection::Reset { message_id: 1 });
}

#[test]
fn reserved_option_length_15() {
    let e = err(&[0x40, 0x01, 0, 1, 0xbf]);
    assert_eq!(e.error, FormatError::ReservedOptionLength);
}

#[test]
fn payload_marker_with_no_payload() {
    let e = err(&[0x50, 0x45, 0, 1, 0xff]);
    assert_eq!(e.error, FormatError::EmptyPayload);
    assert_eq!(e.rejection(), Rejection::MayReset { message_id: 1 });
    // Also after options.
    assert_eq!(
        err(&[0x40, 0x01, 0, 1, 0xb1, b'a', 0xff]).error,
        FormatError::EmptyPayload
    );
}

#[test]
fn truncated_extended_delta_and_length() {
    for bytes in [
        &[0x40, 0x01, 0, 1, 0xd0][..],       // delta 13, extension byte missing
        &[0x40, 0x01, 0, 1, 0xe0, 0x01][..], // delta 14, one of two extension bytes
        &[0x40, 0x01, 0, 1, 0x0d][..],       // length 13, extension byte missing
        &[0x40, 0x01, 0, 1, 0x0e, 0x00][..], // length 14, one of two extension bytes
        &[0x40, 0x01, 0, 1, 0x03, b'a'][..], // value shorter than its length
        &[0x40, 0x01, 0, 1, 0x0d, 0x00, 0x00][..], // 13-byte value, 1 byte there
    ] {
        assert_eq!(err(bytes).error, FormatError::Truncated, "{bytes:02x?}");
    }
}

#[test]
fn option_number_beyond_65535() {
    // Delta 14 with 0xffff: 65535 + 269 > 65535.
    let e = err(&[0x40, 0x01, 0, 1, 0xe0, 0xff, 0xff]);
    assert_eq!(e.error, FormatError::OptionNumberOverflow);
    // Two options whose deltas add up past 65535.
    let e = err(&[0x40, 0x01, 0, 1, 0xe0, 0xfe, 0xf3, 0xd0, 0xff]);
    assert_eq!(e.error, FormatError::OptionNumberOverflow);
}

#[test]
fn largest_option_number_is_fine() {
    // 269 + 0xfef2 = 65535.
    let m = Message::parse(&[0x40, 0x01, 0, 1, 0xe0, 0xfe, 0xf2]).unwrap();
    assert_eq!(m.options().iter().next().map(|o| o.number.0), Some(65535));
}

#[test]
fn empty_message_with_content() {
    // RFC 7252 §4.1: 0.00 with a token, options or payload is a format error.
    for bytes in [
        &[0x41, 0x00, 0, 9, 0x01][..],
        &[0x60, 0x00, 0, 9, 0x60][..],
        &[0x60, 0x00, 0, 9, 0xff, 0x01][..],
    ] {
        let e = err(bytes);
        assert_eq!(e.error, FormatError::NonEmptyEmptyMessage);
        assert!(e.header.is_some());
    }
    let e = err(&[0x41, 0x00, 0, 9, 0x01]);
    assert_eq!(e.rejection(), Rejection::Reset { message_id: 9 });
    let e = err(&[0x60, 0x00, 0, 9, 0x60]);
    assert_eq!(e.rejection(), Rejection::Ignore, "an ACK is never answered");
}

#[test]
fn reserved_code_classes() {
    for class in [1u8, 3, 6, 7] {
        let code = Code::new(class, 1);
        let e = err(&[0x40, code.raw(), 0, 5]);
        assert_eq!(e.error, FormatError::ReservedClass(code));
        assert_eq!(e.rejection(), Rejection::Reset { message_id: 5 });
    }
}

#[test]
fn type_and_code_combinations() {
    // RFC 7252 §4.3: a NON is never Empty.
    let e = err(&[0x50, 0x00, 0, 5]);
    assert!(matches!(e.error, FormatError::TypeCodeMismatch { .. }));
    assert_eq!(e.rejection(), Rejection::MayReset { message_id: 5 });
    // §4.2: an ACK carrying a request, a non-Empty RST: silently ignored.
    let e = err(&[0x60, 0x01, 0, 5]);
    assert!(matches!(e.error, FormatError::TypeCodeMismatch { .. }));
    assert_eq!(e.rejection(), Rejection::Ignore);
    let e = err(&[0x70, 0x45, 0, 5]);
    assert!(matches!(e.error, FormatError::TypeCodeMismatch { .. }));
    assert_eq!(e.rejection(), Rejection::Ignore);
    // Table 1 allows: Empty CON (ping), Empty ACK, Empty RST, responses in ACK.
    for ok in [
        [0x40, 0x00, 0, 5],
        [0x60, 0x00, 0, 5],
        [0x70, 0x00, 0, 5],
        [0x60, 0x45, 0, 5],
    ] {
        assert!(Message::parse(&ok).is_ok(), "{ok:02x?}");
    }
}

#[test]
fn emit_into_a_small_buffer() {
    let mut repr: MessageRepr<16, 16> = MessageRepr::new(
        MessageType::Confirmable,
        Code::GET,
        1,
        Token::new(&[1, 2]).unwrap(),
    );
    repr.options.push_uri_path("hb").unwrap();
    repr.set_payload(b"x").unwrap();
    let needed = repr.encoded_len();
    assert_eq!(needed, 4 + 2 + 3 + 2);
    let mut buf = [0xaau8; 10];
    assert_eq!(repr.emit(&mut buf), Err(BufferTooSmall { needed }));
    assert_eq!(buf, [0xaa; 10], "nothing written");
    let mut buf = [0u8; 11];
    assert_eq!(repr.emit(&mut buf), Ok(needed));
}

#[test]
fn owned_form_capacities() {
    let m = Message::parse(&[0x40, 0x01, 0, 1, 0xb3, b'a', b'b', b'c', 0xff, 1, 2]).unwrap();
    assert_eq!(
        MessageRepr::<3, 8>::parse(&m),
        Err(BuildError::OptionsFull {
            needed: 4,
            capacity: 3
        })
    );
    assert_eq!(
        MessageRepr::<4, 1>::parse(&m),
        Err(BuildError::PayloadFull {
            needed: 2,
            capacity: 1
        })
    );
    assert!(MessageRepr::<4, 2>::parse(&m).is_ok());
    // Adding options beyond the capacity fails and leaves the list as it was.
    let mut repr: MessageRepr<8, 0> =
        MessageRepr::new(MessageType::Confirmable, Code::GET, 1, Token::EMPTY);
    repr.options.push_uri_path("abcdef").unwrap();
    let before = repr.options.clone();
    assert_eq!(
        repr.options.push_uri_path("x").err(),
        Some(BuildError::OptionsFull {
            needed: 9,
            capacity: 8
        })
    );
    assert_eq!(repr.options, before);
    assert_eq!(Token::new(&[0; 9]), Err(BuildError::TokenTooLong(9)));
}

#[test]
fn valid_message_rejection_helpers() {
    let con = Message::parse(&[0x40, 0x01, 0x12, 0x34]).unwrap();
    assert_eq!(con.rejection(), Rejection::Reset { message_id: 0x1234 });
    let reset: MessageRepr<0, 0> = MessageRepr::reset(0x1234);
    let mut buf = [0u8; 4];
    reset.emit(&mut buf).unwrap();
    assert_eq!(buf, [0x70, 0x00, 0x12, 0x34]);
    let ping: MessageRepr<0, 0> = MessageRepr::ping(7);
    ping.emit(&mut buf).unwrap();
    assert_eq!(buf, [0x40, 0x00, 0x00, 0x07]);
}
