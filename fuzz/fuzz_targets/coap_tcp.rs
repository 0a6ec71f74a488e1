//! CoAP over TCP/TLS (RFC 8323): parse arbitrary bytes as one frame (re-encode and re-parse what
//! parses), and feed the same bytes to the stream decoder in arbitrary pieces, checking that it
//! yields the frames a one-piece feed yields.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use dots_codec::coap::{Frame, FrameRepr, StreamDecoder};
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 2048;

fn check_frame(frame: &Frame<'_>, data: &[u8]) {
    let _ = frame.check_critical_options();
    let _ = frame.signal();
    let options = frame.options();
    let _ = (options.uri_path().count(), options.content_format(), options.block2());
    let repr = Box::new(FrameRepr::<MAX_FRAME, MAX_FRAME>::parse(frame).expect("fits"));
    let mut buf = vec![0u8; repr.encoded_len()];
    assert_eq!(repr.emit(&mut buf), Ok(buf.len()));
    assert_eq!(buf, data, "the encoding is canonical: re-encoding gives the same bytes");
    let again = Frame::parse(&buf).expect("re-encoded frame parses");
    assert_eq!(&again, frame);
}

/// The frames (as bytes) and the final error of decoding `data` cut at `cuts`.
fn decode(data: &[u8], cuts: &[usize]) -> (Vec<Vec<u8>>, Option<dots_codec::coap::FormatError>) {
    let mut decoder = StreamDecoder::<MAX_FRAME>::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(core::iter::once(&data.len())) {
        let result = decoder.feed(&data[start..end], |f| frames.push(f.as_bytes().to_vec()));
        assert!(decoder.buffered() <= MAX_FRAME);
        if let Err(e) = result {
            return (frames, Some(e));
        }
        start = end;
    }
    (frames, None)
}

fuzz_target!(|input: &[u8]| {
    let mut u = Unstructured::new(input);
    let Ok(split) = u8::arbitrary(&mut u) else { return };
    let data = u.take_rest();

    if let Ok(frame) = Frame::parse(data) {
        if data.len() <= MAX_FRAME {
            check_frame(&frame, data);
        }
    }

    // Cut points derived from the data, so the same bytes arrive in different pieces.
    let step = usize::from(split % 17) + 1;
    let cuts: Vec<usize> = (step..data.len()).step_by(step).collect();
    let (whole, whole_err) = decode(data, &[]);
    let (pieces, pieces_err) = decode(data, &cuts);
    assert_eq!(whole, pieces, "the same frames whatever the pieces");
    assert_eq!(whole_err.is_some(), pieces_err.is_some());
    for f in &whole {
        check_frame(&Frame::parse(f).expect("decoder frames parse"), f);
    }
});
