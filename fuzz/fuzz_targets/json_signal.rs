//! RFC 7951 JSON decoding of signal channel bodies; whatever decodes must re-encode to JSON and
//! CBOR and decode to the same value.
#![no_main]

use dots_codec::cbor::CborBody;
use dots_codec::json;
use dots_codec::model::SignalMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = json::from_slice(data) {
        let text = json::to_string(&m);
        assert_eq!(json::from_str(&text).expect("re-encoded JSON decodes"), m);
        let mut buf = vec![0u8; m.encoded_len()];
        let n = m.encode_cbor(&mut buf).expect("exact length");
        assert_eq!(SignalMessage::decode_cbor(&buf[..n]).expect("CBOR decodes"), m);
    }
});
