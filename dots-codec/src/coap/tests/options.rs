//! Typed option accessors and builders, and RFC 7252 §5.4's rules for unrecognised, repeated and
//! wrong-length options.

extern crate std;
use std::vec::Vec;

use crate::coap::{
    BadOptionAction, Block, BuildError, Code, ContentFormat, FormatError, HopLimit, Message,
    MessageRepr, MessageType, OptionError, OptionErrorKind, OptionList, OptionNumber, Options,
    Rejection, Token, MAX_OPTION_VALUE_LEN,
};

/// A message of type `ty` and code `code` with the given options, built through the list.
fn message_with(ty: MessageType, code: Code, options: &[(u16, &[u8])]) -> Vec<u8> {
    let mut repr: MessageRepr<1024, 0> =
        MessageRepr::new(ty, code, 0x0a0b, Token::new(&[5]).unwrap());
    for (n, v) in options {
        repr.options.push(OptionNumber(*n), v).unwrap();
    }
    let mut buf = std::vec![0u8; repr.encoded_len()];
    repr.emit(&mut buf).unwrap();
    buf
}

fn con_get(options: &[(u16, &[u8])]) -> Vec<u8> {
    message_with(MessageType::Confirmable, Code::GET, options)
}

#[test]
fn dots_request_options() {
    let mut list: OptionList<256> = OptionList::new();
    list.set_uri_host("dots.example.com")
        .unwrap()
        .set_uri_port(4646)
        .unwrap()
        .set_uri_path("/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw")
        .unwrap()
        .push_uri_query("c=a")
        .unwrap()
        .set_observe(0)
        .unwrap()
        .set_accept(ContentFormat::DOTS_CBOR)
        .unwrap()
        .set_block2(Block::with_size(0, false, 1024).unwrap())
        .unwrap()
        .set_hop_limit(HopLimit::DEFAULT)
        .unwrap()
        .set_q_block1(Block::with_size(2, true, 512).unwrap())
        .unwrap()
        .push_q_block2(Block::with_size(3, false, 512).unwrap())
        .unwrap()
        .push_q_block2(Block::with_size(5, false, 512).unwrap())
        .unwrap()
        .set_size1(4000)
        .unwrap()
        .set_size2(0)
        .unwrap()
        .push_etag(&[1, 2, 3, 4])
        .unwrap()
        .push_if_match(&[])
        .unwrap()
        .set_if_none_match()
        .unwrap()
        .set_max_age(3600)
        .unwrap()
        .set_content_format(ContentFormat::JSON)
        .unwrap()
        .push_location_path("x")
        .unwrap()
        .push_location_query("y=1")
        .unwrap();
    let o = list.as_options();
    assert_eq!(o.uri_host(), Ok(Some("dots.example.com")));
    assert_eq!(o.uri_port(), Ok(Some(4646)));
    assert!(o.uri_path().eq([
        ".well-known",
        "dots",
        "mitigate",
        "cuid=dz6pHjaADkaFTbjr0JGBpw"
    ]
    .map(Ok)));
    assert!(o.uri_path_is(&[
        ".well-known",
        "dots",
        "mitigate",
        "cuid=dz6pHjaADkaFTbjr0JGBpw"
    ]));
    assert!(!o.uri_path_is(&[".well-known", "dots", "mitigate"]));
    assert!(!o.uri_path_is(&[".well-known", "dots", "mitigate", "cuid=x", "mid=1"]));
    assert!(o.uri_query().eq([Ok("c=a")]));
    assert_eq!(o.observe(), Ok(Some(0)));
    assert_eq!(o.accept(), Ok(Some(ContentFormat::DOTS_CBOR)));
    assert_eq!(o.content_format(), Ok(Some(ContentFormat::JSON)));
    assert_eq!(o.block2(), Ok(Block::new(0, false, 6)));
    assert_eq!(o.block1(), Ok(None));
    assert_eq!(o.hop_limit(), Ok(Some(HopLimit::DEFAULT)));
    assert_eq!(o.q_block1(), Ok(Block::new(2, true, 5)));
    assert_eq!(o.q_block2(), Ok(Block::new(3, false, 5)));
    assert_eq!(o.q_block2_all().count(), 2);
    assert_eq!(o.size1(), Ok(Some(4000)));
    assert_eq!(o.size2(), Ok(Some(0)));
    assert!(o.etags().eq([&[1u8, 2, 3, 4][..]]));
    assert!(o.if_match().eq([&[0u8; 0][..]]));
    assert!(o.if_none_match());
    assert_eq!(o.max_age(), Ok(Some(3600)));
    assert!(o.location_path().eq([Ok("x")]));
    assert!(o.location_query().eq([Ok("y=1")]));
    assert_eq!(o.unrecognized_critical_option(), None);
    // Sorted by number whatever the order of the calls.
    let numbers: Vec<u16> = o.iter().map(|opt| opt.number.0).collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted);
    // A round trip through the wire keeps everything.
    assert_eq!(Options::parse(list.as_bytes()), Ok(o));
}

#[test]
fn content_formats() {
    assert_eq!(ContentFormat::DOTS_CBOR.0, 271);
    assert_eq!(ContentFormat::JSON.0, 50);
    assert_eq!(ContentFormat::CBOR.0, 60);
    assert_eq!(
        ContentFormat::DOTS_CBOR.media_type(),
        Some("application/dots+cbor")
    );
    // 271 takes two bytes: 0x01 0x0f.
    let mut list: OptionList<8> = OptionList::new();
    list.set_content_format(ContentFormat::DOTS_CBOR).unwrap();
    assert_eq!(list.as_bytes(), &[0xc2, 0x01, 0x0f]);
}

#[test]
fn uint_leading_zeros_are_accepted() {
    // RFC 7252 §3.2: "A recipient MUST be prepared to process values with leading zero bytes."
    let bytes = con_get(&[(12, &[0, 50])]);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.options().content_format(), Ok(Some(ContentFormat::JSON)));
}

#[test]
fn uint_too_long() {
    let bytes = con_get(&[(12, &[0, 0, 50])]);
    let m = Message::parse(&bytes).unwrap();
    let e = m.options().content_format().unwrap_err();
    assert_eq!(e.kind, OptionErrorKind::Length { len: 3 });
    assert!(
        e.is_ignorable(),
        "Content-Format is elective (RFC 7252 §5.4.3)"
    );
    // An unknown option read as a uint: at most 4 bytes.
    let bytes = con_get(&[(2000, &[1, 2, 3, 4, 5])]);
    let m = Message::parse(&bytes).unwrap();
    assert!(m.options().uint(OptionNumber(2000)).is_err());
    let bytes = con_get(&[(2000, &[1, 2, 3, 4])]);
    assert_eq!(
        Message::parse(&bytes)
            .unwrap()
            .options()
            .uint(OptionNumber(2000)),
        Ok(Some(0x01020304))
    );
}

#[test]
fn observe_and_block_too_long() {
    let bytes = con_get(&[(6, &[1, 2, 3, 4]), (23, &[1, 2, 3, 4])]);
    let m = Message::parse(&bytes).unwrap();
    assert!(m.options().observe().is_err());
    let e = m.options().block2().unwrap_err();
    assert_eq!(e.response_code(), Code::BAD_OPTION);
    // Block2 is critical: the wrong length makes it unrecognised (RFC 7252 §5.4.3).
    assert_eq!(
        m.options().unrecognized_critical_option(),
        Some(OptionNumber::BLOCK2)
    );
}

#[test]
fn uri_path_not_utf8() {
    let bytes = con_get(&[(11, b"ok"), (11, &[0xc3, 0x28])]);
    let m = Message::parse(&bytes).unwrap();
    let segments: Vec<_> = m.options().uri_path().collect();
    assert_eq!(segments[0], Ok("ok"));
    let e = segments[1].unwrap_err();
    assert_eq!(
        e,
        OptionError {
            number: OptionNumber::URI_PATH,
            kind: OptionErrorKind::Utf8
        }
    );
    assert_eq!(e.response_code(), Code::BAD_REQUEST);
}

#[test]
fn over_long_option_values() {
    // Uri-Path of 256 bytes (Table 4: 0-255).
    let long = [b'a'; 256];
    let bytes = con_get(&[(11, &long)]);
    let m = Message::parse(&bytes).unwrap();
    assert!(matches!(
        m.options().uri_path().next(),
        Some(Err(OptionError {
            kind: OptionErrorKind::Length { len: 256 },
            ..
        }))
    ));
    let e = m.check_critical_options().unwrap_err();
    assert_eq!(e.number, OptionNumber::URI_PATH);
    assert_eq!(e.action, BadOptionAction::RespondBadOption);
    // ETag of 9 bytes; elective, so not a reason to reject.
    let bytes = con_get(&[(4, &[0; 9])]);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.check_critical_options(), Ok(()));
    // The typed builders refuse them.
    let mut list: OptionList<1024> = OptionList::new();
    assert_eq!(
        list.push_uri_path(core::str::from_utf8(&long).unwrap())
            .err(),
        Some(BuildError::InvalidLength {
            number: OptionNumber::URI_PATH,
            len: 256
        })
    );
    assert!(list.push_etag(&[0; 9]).is_err());
    assert!(list.push_etag(&[]).is_err());
    assert!(list.set_uri_host("").is_err());
    assert!(list.is_empty());
    let mut huge: OptionList<70000> = OptionList::new();
    let value = std::vec![0u8; MAX_OPTION_VALUE_LEN + 1];
    assert!(matches!(
        huge.push(OptionNumber(2000), &value),
        Err(BuildError::InvalidLength { .. })
    ));
    assert!(huge.push(OptionNumber(2000), &value[1..]).is_ok());
}

#[test]
fn hop_limit() {
    // RFC 8768 §3: exactly one byte, 1-255; 0 gets 4.00.
    let zero = con_get(&[(16, &[0])]);
    let e = Message::parse(&zero)
        .unwrap()
        .options()
        .hop_limit()
        .unwrap_err();
    assert_eq!(e.kind, OptionErrorKind::Value);
    assert_eq!(e.response_code(), Code::BAD_REQUEST);
    let empty = con_get(&[(16, &[])]);
    assert!(Message::parse(&empty)
        .unwrap()
        .options()
        .hop_limit()
        .is_err());
    let two = con_get(&[(16, &[0, 1])]);
    assert!(Message::parse(&two).unwrap().options().hop_limit().is_err());
    let ok = con_get(&[(16, &[255])]);
    assert_eq!(
        Message::parse(&ok).unwrap().options().hop_limit(),
        Ok(HopLimit::new(255))
    );
    // A gateway decrements it (RFC 8768 §3).
    let mut repr: MessageRepr = MessageRepr::parse(&Message::parse(&ok).unwrap()).unwrap();
    let next = repr
        .as_options()
        .hop_limit()
        .unwrap()
        .unwrap()
        .decremented()
        .unwrap();
    repr.options.set_hop_limit(next).unwrap();
    assert_eq!(repr.as_options().hop_limit(), Ok(HopLimit::new(254)));
    assert_eq!(repr.options.iter().count(), 1);
}

#[test]
fn block_szx_7_over_udp() {
    // RFC 7959 §2.2: SZX 7 is reserved; a request with it gets 4.00.
    let bytes = con_get(&[(27, &[0x0f])]);
    let m = Message::parse(&bytes).unwrap();
    let e = m.options().block1().unwrap_err();
    assert_eq!(e.kind, OptionErrorKind::Value);
    assert_eq!(e.response_code(), Code::BAD_REQUEST);
    let bytes = con_get(&[(31, &[0x07]), (31, &[0x16])]);
    let all: Vec<_> = Message::parse(&bytes)
        .unwrap()
        .options()
        .q_block2_all()
        .collect();
    assert!(all[0].is_err());
    assert_eq!(all[1], Ok(Block::new(1, false, 6).unwrap()));
}

#[test]
fn block_values_on_the_wire() {
    // RFC 7959 §2.2: 0, 1, 2 or 3 bytes.
    let mut list: OptionList<32> = OptionList::new();
    list.set_block2(Block::new(0, false, 0).unwrap()).unwrap();
    assert_eq!(list.as_options().first(OptionNumber::BLOCK2), Some(&[][..]));
    list.set_block2(Block::new(1, true, 6).unwrap()).unwrap();
    assert_eq!(
        list.as_options().first(OptionNumber::BLOCK2),
        Some(&[0x1e][..])
    );
    list.set_block2(Block::new(Block::MAX_NUM, true, 6).unwrap())
        .unwrap();
    assert_eq!(
        list.as_options().first(OptionNumber::BLOCK2),
        Some(&[0xff, 0xff, 0xfe][..])
    );
    assert_eq!(list.iter().count(), 1);
}

#[test]
fn unknown_critical_options() {
    // RFC 7252 §5.4.1: CON request -> 4.02; NON request -> reject; responses -> reject.
    let cases = [
        (
            MessageType::Confirmable,
            Code::GET,
            BadOptionAction::RespondBadOption,
        ),
        (
            MessageType::NonConfirmable,
            Code::PUT,
            BadOptionAction::Reject(Rejection::MayReset { message_id: 0x0a0b }),
        ),
        (
            MessageType::Confirmable,
            Code::CONTENT,
            BadOptionAction::Reject(Rejection::Reset { message_id: 0x0a0b }),
        ),
        (
            MessageType::Acknowledgement,
            Code::CONTENT,
            BadOptionAction::Reject(Rejection::Ignore),
        ),
        (
            MessageType::NonConfirmable,
            Code::CONTENT,
            BadOptionAction::Reject(Rejection::MayReset { message_id: 0x0a0b }),
        ),
    ];
    for (ty, code, action) in cases {
        let bytes = message_with(ty, code, &[(11, b"x"), (9, b"?"), (2049, b"")]);
        let m = Message::parse(&bytes).unwrap();
        let e = m.check_critical_options().unwrap_err();
        assert_eq!(e.number, OptionNumber(9), "the first one");
        assert_eq!(e.action, action, "{ty:?} {code}");
    }
    // An unknown elective option is skipped.
    let bytes = con_get(&[(11, b"x"), (2048, b"zzz")]);
    assert_eq!(
        Message::parse(&bytes).unwrap().check_critical_options(),
        Ok(())
    );
    // The caller may recognise fewer options (no proxy here) or more.
    let bytes = con_get(&[(35, b"coap://example.net/")]);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.check_critical_options(), Ok(()));
    assert_eq!(
        m.check_critical_options_with(|n| n != OptionNumber::PROXY_URI)
            .map_err(|e| e.number),
        Err(OptionNumber::PROXY_URI)
    );
    let bytes = con_get(&[(9, b"")]);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.check_critical_options_with(|n| n.0 == 9), Ok(()));
}

#[test]
fn repeated_non_repeatable_options() {
    // RFC 7252 §5.4.5: each supernumerary occurrence is treated as unrecognised.
    let bytes = con_get(&[(7, &[0x12, 0x36]), (7, &[0x12, 0x37])]);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(
        m.options().unrecognized_critical_option(),
        Some(OptionNumber::URI_PORT)
    );
    // The accessor reads the first.
    assert_eq!(m.options().uri_port(), Ok(Some(4662)));
    // Repeatable critical options are fine; repeated elective ones are ignored.
    let bytes = con_get(&[
        (11, b"a"),
        (11, b"b"),
        (12, &[]),
        (12, &[50]),
        (31, &[1]),
        (31, &[2]),
    ]);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.check_critical_options(), Ok(()));
    assert_eq!(
        m.options().content_format(),
        Ok(Some(ContentFormat::TEXT_PLAIN))
    );
    // Q-Block1 is not repeatable (RFC 9177 §4.1).
    let bytes = con_get(&[(19, &[1]), (19, &[2])]);
    assert!(Message::parse(&bytes)
        .unwrap()
        .check_critical_options()
        .is_err());
}

#[test]
fn uri_port_as_libcoap_sends_it() {
    // libcoap adds Uri-Host and Uri-Port for non-default ports.
    let mut repr: MessageRepr =
        MessageRepr::new(MessageType::Confirmable, Code::PUT, 1, Token::EMPTY);
    repr.options
        .set_uri_host("127.0.0.1")
        .unwrap()
        .set_uri_port(40123)
        .unwrap()
        .set_uri_path(".well-known/dots/hb")
        .unwrap();
    let mut buf = [0u8; 64];
    let n = repr.emit(&mut buf).unwrap();
    let m = Message::parse(&buf[..n]).unwrap();
    assert_eq!(m.check_critical_options(), Ok(()));
    assert_eq!(m.options().uri_port(), Ok(Some(40123)));
    assert!(m.options().uri_path_is(&[".well-known", "dots", "hb"]));
}

#[test]
fn large_option_numbers_and_values() {
    // Deltas of 13-268 and 269+ take 1 and 2 extension bytes; lengths too.
    let v300 = [7u8; 300];
    let bytes = con_get(&[(60, &[1, 0]), (258, &v300), (1000, &[]), (65535, b"end")]);
    let m = Message::parse(&bytes).unwrap();
    let got: Vec<(u16, usize)> = m
        .options()
        .iter()
        .map(|o| (o.number.0, o.value.len()))
        .collect();
    assert_eq!(got, [(60, 2), (258, 300), (1000, 0), (65535, 3)]);
    assert_eq!(m.options().size1(), Ok(Some(256)));
    // Option 60 after nothing: delta 60 = 13 + 47.
    let one = con_get(&[(60, &[1])]);
    assert_eq!(&one[5..], &[0xd1, 47, 1]);
}

#[test]
fn list_insert_remove_set() {
    let mut list: OptionList<64> = OptionList::new();
    list.push(OptionNumber(20), b"b").unwrap();
    list.push(OptionNumber(5), b"").unwrap();
    list.push(OptionNumber(300), b"z").unwrap();
    list.push(OptionNumber(20), b"c").unwrap();
    list.push(OptionNumber(11), b"a").unwrap();
    let seen = |l: &OptionList<64>| -> Vec<(u16, Vec<u8>)> {
        l.iter().map(|o| (o.number.0, o.value.to_vec())).collect()
    };
    assert_eq!(
        seen(&list),
        [
            (5, std::vec![]),
            (11, b"a".to_vec()),
            (20, b"b".to_vec()),
            (20, b"c".to_vec()),
            (300, b"z".to_vec())
        ]
    );
    assert!(Options::parse(list.as_bytes()).is_ok());
    assert!(list.remove(OptionNumber(20)));
    assert!(!list.remove(OptionNumber(21)));
    assert_eq!(
        seen(&list),
        [(5, std::vec![]), (11, b"a".to_vec()), (300, b"z".to_vec())]
    );
    list.set(OptionNumber(5), b"q").unwrap();
    list.set_uint(OptionNumber(300), 0).unwrap();
    assert_eq!(
        seen(&list),
        [(5, b"q".to_vec()), (11, b"a".to_vec()), (300, std::vec![])]
    );
    assert!(list.remove(OptionNumber(5)));
    assert!(list.remove(OptionNumber(300)));
    assert!(list.remove(OptionNumber(11)));
    assert!(list.is_empty());
    // The encoding equals the one of the same options added in order.
    let mut a: OptionList<64> = OptionList::new();
    a.push(OptionNumber(300), b"1")
        .unwrap()
        .push(OptionNumber(3), b"h")
        .unwrap();
    let mut b: OptionList<64> = OptionList::new();
    b.push(OptionNumber(3), b"h")
        .unwrap()
        .push(OptionNumber(300), b"1")
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn options_parse_rejects_a_payload_marker() {
    assert_eq!(
        Options::parse(&[0xff, 1]),
        Err(FormatError::ReservedOptionDelta)
    );
    assert_eq!(Options::parse(&[0xb1]), Err(FormatError::Truncated));
    assert!(Options::parse(&[]).unwrap().is_empty());
}

#[test]
fn display() {
    let bytes = con_get(&[(11, b"hb"), (12, &[1, 15]), (23, &[0x1e]), (4, &[0xab])]);
    let m = Message::parse(&bytes).unwrap();
    let text = std::format!("{m}");
    assert_eq!(
        text,
        "CON 0.01 GET mid=0x0a0b token=0x05, ETag: 0xab, Uri-Path: \"hb\", \
         Content-Format: 271 (application/dots+cbor), Block2: 1/1/1024"
    );
}
