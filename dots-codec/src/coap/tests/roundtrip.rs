//! Property tests: `parse(emit(m)) == m` and `encoded_len() == bytes written` for both framings,
//! byte-exact re-encoding of anything that parses, and the stream decoder fed the same bytes in
//! random pieces.

extern crate std;
use std::boxed::Box;
use std::vec::Vec;

use proptest::prelude::*;

use crate::coap::{
    Code, FormatError, Frame, FrameRepr, Message, MessageRepr, MessageType, OptionList,
    OptionNumber, StreamDecoder, Token,
};

const OPTS: usize = 2048;
const PAYLOAD: usize = 70_000;

fn option_number() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => prop::sample::select(std::vec![1u16, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 19, 20, 23, 27, 28, 31, 35, 39, 60]),
        1 => 0u16..=300,
        1 => any::<u16>(),
    ]
}

fn option_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..=16),
        1 => prop::collection::vec(any::<u8>(), 0..=300),
    ]
}

fn options() -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
    prop::collection::vec((option_number(), option_value()), 0..=8)
}

fn token() -> impl Strategy<Value = Token> {
    prop::collection::vec(any::<u8>(), 0..=8).prop_map(|t| Token::new(&t).unwrap())
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..=64),
        2 => prop::collection::vec(any::<u8>(), 0..=1200),
        1 => (65_000usize..=PAYLOAD).prop_map(|n| std::vec![0x5a; n]),
    ]
}

fn option_list(options: &[(u16, Vec<u8>)]) -> OptionList<OPTS> {
    let mut list = OptionList::new();
    for (n, v) in options {
        list.push(OptionNumber(*n), v).unwrap();
    }
    list
}

/// A message RFC 7252 §4 allows: Empty (CON ping, ACK, RST), a request (CON, NON) or a response
/// (CON, NON, ACK).
fn message() -> impl Strategy<Value = Box<MessageRepr<OPTS, PAYLOAD>>> {
    let empty = (
        prop::sample::select(std::vec![
            MessageType::Confirmable,
            MessageType::Acknowledgement,
            MessageType::Reset
        ]),
        any::<u16>(),
    )
        .prop_map(|(ty, mid)| Box::new(MessageRepr::new(ty, Code::EMPTY, mid, Token::EMPTY)));
    let code = prop_oneof![
        (1u8..=31).prop_map(|d| Code::new(0, d)),
        (prop::sample::select(std::vec![2u8, 4, 5]), 0u8..=31).prop_map(|(c, d)| Code::new(c, d)),
    ];
    let full = (code, any::<u16>(), token(), options(), payload(), 0u8..3).prop_map(
        |(code, mid, token, opts, payload, t)| {
            let ty = match (code.is_request(), t) {
                (_, 0) => MessageType::Confirmable,
                (true, _) | (false, 1) => MessageType::NonConfirmable,
                (false, _) => MessageType::Acknowledgement,
            };
            let mut m = Box::new(MessageRepr::new(ty, code, mid, token));
            m.options = option_list(&opts);
            m.set_payload(&payload).unwrap();
            m
        },
    );
    prop_oneof![1 => empty, 6 => full]
}

fn frame() -> impl Strategy<Value = Box<FrameRepr<OPTS, PAYLOAD>>> {
    (any::<u8>(), token(), options(), payload()).prop_map(|(code, token, opts, payload)| {
        let mut f = Box::new(FrameRepr::new(Code::from_raw(code), token));
        f.options = option_list(&opts);
        f.set_payload(&payload).unwrap();
        f
    })
}

fn emit_message(m: &MessageRepr<OPTS, PAYLOAD>) -> Vec<u8> {
    let mut buf = std::vec![0u8; m.encoded_len() + 3];
    let n = m.emit(&mut buf).unwrap();
    assert_eq!(n, m.encoded_len());
    buf.truncate(n);
    buf
}

fn emit_frame(f: &FrameRepr<OPTS, PAYLOAD>) -> Vec<u8> {
    let mut buf = std::vec![0u8; f.encoded_len() + 3];
    let n = f.emit(&mut buf).unwrap();
    assert_eq!(n, f.encoded_len());
    buf.truncate(n);
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn udp_round_trip(m in message()) {
        let bytes = emit_message(&m);
        let parsed = Message::parse(&bytes).unwrap();
        prop_assert!(*Box::new(MessageRepr::<OPTS, PAYLOAD>::parse(&parsed).unwrap()) == *m);
        prop_assert_eq!(parsed.payload(), &m.payload[..]);
        // Too small a buffer: the exact need.
        let mut short = std::vec![0u8; bytes.len() - 1];
        prop_assert_eq!(m.emit(&mut short).unwrap_err().needed, bytes.len());
    }

    #[test]
    fn tcp_round_trip(f in frame()) {
        let bytes = emit_frame(&f);
        let parsed = Frame::parse(&bytes).unwrap();
        prop_assert!(*Box::new(FrameRepr::<OPTS, PAYLOAD>::parse(&parsed).unwrap()) == *f);
        prop_assert_eq!(crate::coap::frame_len(&bytes), Ok(Some(bytes.len())));
    }

    #[test]
    fn options_keep_their_order(opts in options()) {
        let list = option_list(&opts);
        let mut expected = opts.clone();
        expected.sort_by_key(|(n, _)| *n); // stable: equal numbers keep their order
        let got: Vec<(u16, Vec<u8>)> = list.iter().map(|o| (o.number.0, o.value.to_vec())).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn option_removal(opts in options(), victim in option_number()) {
        let mut list = option_list(&opts);
        list.remove(OptionNumber(victim));
        let kept: Vec<(u16, Vec<u8>)> = opts.iter().filter(|(n, _)| *n != victim).cloned().collect();
        prop_assert_eq!(list, option_list(&kept));
    }

    #[test]
    fn any_bytes_udp(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        // Never panics; what parses re-encodes to the same bytes (the encoding is canonical).
        if let Ok(m) = Message::parse(&bytes) {
            let repr = MessageRepr::<OPTS, PAYLOAD>::parse(&m).unwrap();
            prop_assert_eq!(emit_message(&repr), bytes.clone());
            let _ = m.check_critical_options();
        }
    }

    #[test]
    fn any_bytes_tcp(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(f) = Frame::parse(&bytes) {
            let repr = FrameRepr::<OPTS, PAYLOAD>::parse(&f).unwrap();
            prop_assert_eq!(emit_frame(&repr), bytes.clone());
            let _ = f.signal();
        }
    }

    #[test]
    fn stream_in_random_pieces(
        frames in prop::collection::vec(frame(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let frames: Vec<_> = frames.into_iter().filter(|f| f.encoded_len() <= 4096).collect();
        let stream: Vec<u8> = frames.iter().flat_map(|f| emit_frame(f)).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut decoder = StreamDecoder::<4096>::new();
        let mut got = Vec::new();
        for w in points.windows(2) {
            decoder
                .feed(&stream[w[0]..w[1]], |f| got.push(Box::new(FrameRepr::<OPTS, PAYLOAD>::parse(&f).unwrap())))
                .unwrap();
        }
        prop_assert!(got == frames);
        prop_assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn stream_of_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), piece in 1usize..16) {
        // Whatever the bytes, the decoder neither panics nor holds more than its maximum.
        let mut decoder = StreamDecoder::<64>::new();
        for chunk in bytes.chunks(piece) {
            let _ = decoder.feed(chunk, |f| { let _ = f.signal(); });
            prop_assert!(decoder.buffered() <= 64);
        }
    }
}

#[test]
fn stream_frame_too_large() {
    // A 200-byte frame against a 64-byte maximum: refused as soon as the length is read.
    let mut big: FrameRepr<8, 256> = FrameRepr::new(Code::CONTENT, Token::EMPTY);
    big.set_payload(&[1; 195]).unwrap();
    let mut bytes = std::vec![0u8; big.encoded_len()];
    big.emit(&mut bytes).unwrap();
    let small = [0x01, 0xe2, 0x42]; // a Ping first
    let mut stream = small.to_vec();
    stream.extend_from_slice(&bytes);

    let mut decoder = StreamDecoder::<64>::new();
    let mut seen = Vec::new();
    // The Ping and the first byte of the big frame: its length is not known yet.
    decoder.feed(&stream[..4], |f| seen.push(f.code())).unwrap();
    assert_eq!(decoder.buffered(), 1);
    // Its extended length: refused before the body arrives.
    let err = decoder
        .feed(&stream[4..5], |f| seen.push(f.code()))
        .unwrap_err();
    assert_eq!(seen, [Code::PING]);
    assert!(
        matches!(err, FormatError::FrameTooLarge { len, max: 64 } if len == bytes.len() as u64)
    );
    // Sticky until reset.
    assert_eq!(decoder.feed(&small, |_| {}), Err(err));
    decoder.reset();
    let mut codes = Vec::new();
    decoder.feed(&small, |f| codes.push(f.code())).unwrap();
    assert_eq!(codes, [Code::PING]);

    // A runtime maximum below the buffer size.
    let mut decoder = StreamDecoder::<64>::with_max_frame_size(2);
    assert_eq!(decoder.max_frame_size(), 2);
    assert!(matches!(
        decoder.feed(&small, |_| {}),
        Err(FormatError::FrameTooLarge { len: 3, max: 2 })
    ));
}

#[test]
fn stream_format_errors_are_reported() {
    let mut decoder = StreamDecoder::<64>::new();
    // TKL 9: refused from the first byte.
    assert_eq!(
        decoder.feed(&[0x09], |_| {}),
        Err(FormatError::ReservedTokenLength(9))
    );
    assert_eq!(decoder.error(), Some(FormatError::ReservedTokenLength(9)));
    // A bad option inside a complete frame, delivered in two pieces.
    let mut decoder = StreamDecoder::<64>::new();
    assert_eq!(decoder.feed(&[0x10, 0x45], |_| {}), Ok(()));
    assert_eq!(decoder.buffered(), 2);
    assert_eq!(
        decoder.feed(&[0xff], |_| {}),
        Err(FormatError::EmptyPayload)
    );
}

#[test]
fn stream_decode_step_by_step() {
    let stream = [0x01, 0xe2, 0x42, 0x01, 0xe3, 0x42, 0xd0];
    let mut decoder = StreamDecoder::<32>::new();
    // Whole frames straight from the input.
    let d = decoder.decode(&stream).unwrap();
    assert_eq!(
        (d.consumed, d.frame.map(|f| f.code())),
        (3, Some(Code::PING))
    );
    let d = decoder.decode(&stream[3..]).unwrap();
    assert_eq!(
        (d.consumed, d.frame.map(|f| f.code())),
        (3, Some(Code::PONG))
    );
    // The start of a third: buffered.
    let d = decoder.decode(&stream[6..]).unwrap();
    assert_eq!((d.consumed, d.frame), (1, None));
    assert_eq!(decoder.buffered(), 1);
    // Len 13 + 0 = 13 bytes of body: the rest of the header, a code, and the body.
    let mut rest = std::vec![0x00, 0x45, 0xff];
    rest.extend_from_slice(&[9; 12]);
    let d = decoder.decode(&rest).unwrap();
    assert_eq!(d.consumed, rest.len());
    let f = d.frame.unwrap();
    assert_eq!(f.payload(), &[9; 12]);
    assert_eq!(decoder.buffered(), 0);
    let d = decoder.decode(&[]).unwrap();
    assert_eq!((d.consumed, d.frame), (0, None));
}
