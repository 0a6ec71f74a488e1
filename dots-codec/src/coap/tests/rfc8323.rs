//! RFC 8323 framing: Figures 5, 11 and 12 as golden bytes, the extended Len forms of §3.2, and
//! the signalling messages of §5.

extern crate std;
use std::vec::Vec;

use crate::coap::signal::{
    self, Signal, SignalError, ALTERNATIVE_ADDRESS, BAD_CSM_OPTION, BLOCK_WISE_TRANSFER, CUSTODY,
    HOLD_OFF, MAX_MESSAGE_SIZE,
};
use crate::coap::{
    frame_len, BadOptionAction, Block, Code, FormatError, Frame, FrameRepr, OptionErrorKind,
    OptionNumber, Rejection, Token,
};

fn emit<const O: usize, const P: usize>(repr: &FrameRepr<O, P>) -> Vec<u8> {
    let mut buf = std::vec![0u8; repr.encoded_len()];
    assert_eq!(repr.emit(&mut buf), Ok(buf.len()));
    buf
}

#[test]
fn figure_5_message_with_no_options_or_payload() {
    // Len = 0, TKL = 1 -> 0x01; Code 2.03 -> 0x43; Token 0x7f.
    let bytes = [0x01, 0x43, 0x7f];
    let frame = Frame::parse(&bytes).unwrap();
    assert_eq!(frame.code(), Code::VALID);
    assert_eq!(frame.token_bytes(), &[0x7f]);
    assert!(frame.options().is_empty() && frame.payload().is_empty());
    let built: FrameRepr<0, 0> = FrameRepr::new(Code::VALID, Token::new(&[0x7f]).unwrap());
    assert_eq!(emit(&built), bytes);
    assert_eq!(frame_len(&bytes), Ok(Some(3)));
}

#[test]
fn figures_11_12_ping_pong() {
    let ping = [0x01, 0xe2, 0x42];
    let pong = [0x01, 0xe3, 0x42];
    let frame = Frame::parse(&ping).unwrap();
    assert_eq!(frame.code(), Code::PING);
    assert_eq!(frame.signal(), Ok(Some(Signal::Ping { custody: false })));
    let built: FrameRepr<0, 0> = FrameRepr::ping(Token::new(&[0x42]).unwrap(), false).unwrap();
    assert_eq!(emit(&built), ping);
    let answer: FrameRepr<0, 0> = FrameRepr::pong(&frame, false).unwrap();
    assert_eq!(emit(&answer), pong);
    assert_eq!(
        Frame::parse(&pong).unwrap().signal(),
        Ok(Some(Signal::Pong { custody: false }))
    );
}

/// A frame with `body` bytes of payload (marker included), to exercise each Len form.
fn frame_with_body(body: usize) -> (Vec<u8>, FrameRepr<0, 70000>) {
    let mut repr: FrameRepr<0, 70000> = FrameRepr::new(Code::CONTENT, Token::EMPTY);
    let payload: Vec<u8> = (0..body - 1).map(|i| i as u8).collect();
    repr.set_payload(&payload).unwrap();
    (emit(&repr), repr)
}

#[test]
fn extended_lengths() {
    // RFC 8323 §3.2: Len 0-12 inline; 13: +1 byte (minus 13); 14: +2 bytes (minus 269);
    // 15: +4 bytes (minus 65805).
    let cases: [(usize, &[u8]); 8] = [
        (12, &[0xc0]),
        (13, &[0xd0, 0x00]),
        (268, &[0xd0, 0xff]),
        (269, &[0xe0, 0x00, 0x00]),
        (65804, &[0xe0, 0xff, 0xff]),
        (65805, &[0xf0, 0x00, 0x00, 0x00, 0x00]),
        (65806, &[0xf0, 0x00, 0x00, 0x00, 0x01]),
        (2, &[0x20]),
    ];
    for (body, prefix) in cases {
        let (bytes, repr) = frame_with_body(body);
        assert_eq!(&bytes[..prefix.len()], prefix, "body {body}");
        assert_eq!(bytes[prefix.len()], Code::CONTENT.raw());
        assert_eq!(bytes[prefix.len() + 1], 0xff);
        assert_eq!(bytes.len(), prefix.len() + 1 + body);
        assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!(frame.payload().len(), body - 1);
        assert_eq!(FrameRepr::parse(&frame).as_ref(), Ok(&repr));
    }
}

#[test]
fn frame_len_needs_the_extended_length() {
    assert_eq!(frame_len(&[]), Ok(None));
    assert_eq!(frame_len(&[0xd0]), Ok(None));
    assert_eq!(frame_len(&[0xe1, 0x00]), Ok(None));
    assert_eq!(
        frame_len(&[0xe1, 0x00, 0x01]),
        Ok(Some(1 + 2 + 1 + 1 + 270))
    );
    assert_eq!(frame_len(&[0xf0, 0, 0, 0]), Ok(None));
    assert_eq!(
        frame_len(&[0xf8, 0xff, 0xff, 0xff, 0xff]),
        Ok(Some(1 + 4 + 1 + 8 + 0xffff_ffff + 65805))
    );
}

#[test]
fn csm() {
    let csm: FrameRepr<16, 0> = FrameRepr::csm(Some(8192), true).unwrap();
    let bytes = emit(&csm);
    // Len 4: option 2 (delta 2, length 2, 0x2000), option 4 (delta 2, length 0).
    assert_eq!(bytes, [0x40, 0xe1, 0x22, 0x20, 0x00, 0x20]);
    let frame = Frame::parse(&bytes).unwrap();
    assert_eq!(
        frame.signal(),
        Ok(Some(Signal::Csm {
            max_message_size: Some(8192),
            block_wise_transfer: true
        }))
    );
    // Option 4 in a CSM is Block-Wise-Transfer, not ETag: per-code numbering (RFC 8323 §5.2).
    assert_eq!(frame.check_critical_options(), Ok(()));
    let empty: FrameRepr<0, 0> = FrameRepr::csm(None, false).unwrap();
    assert_eq!(emit(&empty), [0x00, 0xe1]);
    assert_eq!(
        Frame::parse(&[0x00, 0xe1]).unwrap().signal(),
        Ok(Some(Signal::Csm {
            max_message_size: None,
            block_wise_transfer: false
        }))
    );
    assert_eq!(signal::BASE_MAX_MESSAGE_SIZE, 1152);
    assert_eq!((MAX_MESSAGE_SIZE.0, BLOCK_WISE_TRANSFER.0), (2, 4));
}

#[test]
fn custody() {
    let ping: FrameRepr<4, 0> = FrameRepr::ping(Token::new(&[1, 2]).unwrap(), true).unwrap();
    let bytes = emit(&ping);
    assert_eq!(bytes, [0x12, 0xe2, 1, 2, 0x20]);
    let frame = Frame::parse(&bytes).unwrap();
    assert_eq!(frame.signal(), Ok(Some(Signal::Ping { custody: true })));
    let pong: FrameRepr<4, 0> = FrameRepr::pong(&frame, true).unwrap();
    assert_eq!(emit(&pong), [0x12, 0xe3, 1, 2, 0x20]);
    assert_eq!(CUSTODY.0, 2);
}

#[test]
fn release() {
    let release: FrameRepr =
        FrameRepr::release(Some("[2001:db8::1]:4646"), Some(300), "bye").unwrap();
    let bytes = emit(&release);
    let frame = Frame::parse(&bytes).unwrap();
    let Ok(Some(Signal::Release(r))) = frame.signal() else {
        panic!("not a release: {:?}", frame.signal());
    };
    assert_eq!(r.hold_off, Some(300));
    assert!(r.alternative_addresses().eq([Ok("[2001:db8::1]:4646")]));
    assert_eq!(frame.payload(), b"bye");
    assert_eq!((ALTERNATIVE_ADDRESS.0, HOLD_OFF.0), (2, 4));

    // Alternative-Address is repeatable (RFC 8323 §5.5).
    let mut two = release.clone();
    two.options
        .push(ALTERNATIVE_ADDRESS, b"example.net:4646")
        .unwrap();
    let bytes = emit(&two);
    let frame = Frame::parse(&bytes).unwrap();
    let Ok(Some(Signal::Release(r))) = frame.signal() else {
        panic!("not a release");
    };
    assert_eq!(r.alternative_addresses().count(), 2);

    assert!(FrameRepr::<8, 8>::release(Some(""), None, "").is_err());
    assert!(FrameRepr::<8, 8>::release(None, Some(1 << 24), "").is_err());
}

#[test]
fn abort() {
    let abort: FrameRepr<8, 32> =
        FrameRepr::abort(Some(OptionNumber(7)), "unknown critical CSM option").unwrap();
    let bytes = emit(&abort);
    let frame = Frame::parse(&bytes).unwrap();
    assert_eq!(
        frame.signal(),
        Ok(Some(Signal::Abort {
            bad_csm_option: Some(OptionNumber(7))
        }))
    );
    assert_eq!(frame.payload(), b"unknown critical CSM option");
    assert_eq!(BAD_CSM_OPTION.0, 2);
}

#[test]
fn signal_errors() {
    // A critical option no signalling code defines: abort (RFC 8323 §5.2).
    let csm = [0x10, 0xe1, 0x30];
    let frame = Frame::parse(&csm).unwrap();
    assert_eq!(
        frame.signal(),
        Err(SignalError::UnrecognizedCriticalOption(OptionNumber(3)))
    );
    let err = frame.check_critical_options().unwrap_err();
    assert_eq!(err.number, OptionNumber(3));
    assert_eq!(err.action, BadOptionAction::Abort);
    // An unknown elective one is ignored.
    assert!(Frame::parse(&[0x10, 0xe1, 0x60]).unwrap().signal().is_ok());
    // Max-Message-Size of 5 bytes.
    let long = [0x60, 0xe1, 0x25, 1, 2, 3, 4, 5];
    assert!(matches!(
        Frame::parse(&long).unwrap().signal(),
        Err(SignalError::Option(e)) if e.number == MAX_MESSAGE_SIZE
            && e.kind == OptionErrorKind::Length { len: 5 }
    ));
    // Block-Wise-Transfer with a value.
    assert!(Frame::parse(&[0x20, 0xe1, 0x41, 0])
        .unwrap()
        .signal()
        .is_err());
    // 7.00 and 7.06 are not defined.
    assert_eq!(
        Frame::parse(&[0x00, 0xe0]).unwrap().signal(),
        Err(SignalError::UnknownCode(Code::new(7, 0)))
    );
    assert_eq!(
        Frame::parse(&[0x00, 0xe6]).unwrap().signal(),
        Err(SignalError::UnknownCode(Code::new(7, 6)))
    );
    // Not a signal.
    assert_eq!(Frame::parse(&[0x00, 0x01]).unwrap().signal(), Ok(None));
    // Empty Alternative-Address.
    assert!(Frame::parse(&[0x10, 0xe4, 0x20]).unwrap().signal().is_err());
}

#[test]
fn requests_and_responses_over_tcp() {
    let mut request: FrameRepr = FrameRepr::new(Code::GET, Token::new(&[9]).unwrap());
    request
        .options
        .set_uri_path(".well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw")
        .unwrap()
        .set_observe(0)
        .unwrap()
        .set_block2(Block::new(1, false, 7).unwrap())
        .unwrap();
    let bytes = emit(&request);
    let frame = Frame::parse(&bytes).unwrap();
    assert_eq!(frame.check_critical_options(), Ok(()));
    // SZX 7 is BERT over TCP (RFC 8323 §6).
    assert!(frame.options().block2().unwrap().unwrap().is_bert());
    assert_eq!(frame.options().observe(), Ok(Some(0)));
    let response: FrameRepr<8, 8> = FrameRepr::response_to(&frame, Code::CONTENT);
    assert_eq!(response.token, frame.token());
    // The same content as a UDP message and back.
    let message = request
        .clone()
        .into_message(crate::coap::MessageType::Confirmable, 7);
    assert_eq!(FrameRepr::from_message(message), request);

    // An unknown critical option in a request: 4.02; in a response: ignore it.
    let bad_request = [0x11, 0x01, 9, 0x90];
    let err = Frame::parse(&bad_request)
        .unwrap()
        .check_critical_options()
        .unwrap_err();
    assert_eq!(err.action, BadOptionAction::RespondBadOption);
    let bad_response = [0x11, 0x45, 9, 0x90];
    let err = Frame::parse(&bad_response)
        .unwrap()
        .check_critical_options()
        .unwrap_err();
    assert_eq!(err.action, BadOptionAction::Reject(Rejection::Ignore));

    // Empty messages are keepalives over TCP and may carry anything (RFC 8323 §3.4).
    assert!(Frame::parse(&[0x11, 0x00, 1, 0x60]).is_ok());
}

#[test]
fn frame_format_errors() {
    assert_eq!(Frame::parse(&[]), Err(FormatError::Truncated));
    assert_eq!(Frame::parse(&[0xd0]), Err(FormatError::Truncated));
    assert_eq!(Frame::parse(&[0x01, 0x45]), Err(FormatError::Truncated));
    assert_eq!(
        Frame::parse(&[0x00, 0x45, 0x00]),
        Err(FormatError::TrailingBytes)
    );
    for tkl in 9..=15u8 {
        assert_eq!(
            Frame::parse(&[tkl, 0x45, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(FormatError::ReservedTokenLength(tkl))
        );
        assert_eq!(
            frame_len(&[tkl]),
            Err(FormatError::ReservedTokenLength(tkl))
        );
    }
    assert_eq!(
        Frame::parse(&[0x10, 0x45, 0xff]),
        Err(FormatError::EmptyPayload)
    );
    assert_eq!(
        Frame::parse(&[0x10, 0x45, 0xf0]),
        Err(FormatError::ReservedOptionDelta)
    );
    assert_eq!(
        Frame::parse(&[0x10, 0x45, 0x0f]),
        Err(FormatError::ReservedOptionLength)
    );
    assert_eq!(
        Frame::parse(&[0x20, 0x45, 0x02, 0x00]),
        Err(FormatError::Truncated)
    );
}
