//! CBOR decoding of every top-level signal channel body (RFC 9244 telemetry included). The first byte selects the decoder;
//! whatever decodes must re-encode (with the exact announced length) and decode to the same value.
#![no_main]

use dots_codec::cbor::CborBody;
use dots_codec::model::{
    EfficacyUpdate, Heartbeat, MitigationRequest, MitigationScope, RedirectedSignal, SignalConfig,
    SignalMessage, Telemetry, TelemetrySetup,
};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: CborBody + PartialEq + core::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = T::decode_cbor(data) {
        let len = v.encoded_len();
        let mut buf = vec![0u8; len];
        assert_eq!(v.encode_cbor(&mut buf), Ok(len));
        let again = T::decode_cbor(&buf).expect("re-encoded body decodes");
        assert_eq!(again, v);
        if len > 0 {
            assert!(v.encode_cbor(&mut buf[..len - 1]).is_err());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 9 {
        0 => round_trip::<SignalMessage>(body),
        1 => {
            round_trip::<MitigationRequest>(body);
            if let Ok(r) = MitigationRequest::decode_cbor(body) {
                let _ = r.validate();
                let _ = r.validate_efficacy_update();
            }
        }
        2 => {
            round_trip::<MitigationScope>(body);
            if let Ok(m) = MitigationScope::decode_cbor(body) {
                let _ = m.validate_response();
            }
        }
        3 => {
            round_trip::<SignalConfig>(body);
            if let Ok(c) = SignalConfig::decode_cbor(body) {
                let _ = c.validate_request();
                let _ = c.check_against(&c);
            }
        }
        4 => round_trip::<Heartbeat>(body),
        5 => {
            round_trip::<TelemetrySetup>(body);
            if let Ok(s) = TelemetrySetup::decode_cbor(body) {
                let _ = s.validate_request();
                let _ = s.validate_response();
                let _ = s.check_against(&s);
            }
        }
        6 => {
            round_trip::<Telemetry>(body);
            if let Ok(t) = Telemetry::decode_cbor(body) {
                let _ = t.validate_request();
                let _ = t.validate_response();
            }
        }
        7 => {
            round_trip::<EfficacyUpdate>(body);
            if let Ok(u) = EfficacyUpdate::decode_cbor(body) {
                let _ = u.validate();
                // The telemetry-unaware decoder reads the same request.
                let r = MitigationRequest::decode_cbor(body).expect("same request");
                assert_eq!(r, u.request);
            }
        }
        _ => {
            round_trip::<RedirectedSignal>(body);
            if let Ok(r) = RedirectedSignal::decode_cbor(body) {
                let _ = r.validate();
            }
        }
    }
});
