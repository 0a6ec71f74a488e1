//! CoAP over UDP (RFC 7252): parse arbitrary datagrams; whatever parses must re-encode to the
//! same bytes and re-parse to the same message, and every reader must run without panicking.
#![no_main]

use dots_codec::coap::{Message, MessageRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let message = match Message::parse(data) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.rejection();
            return;
        }
    };
    let _ = message.check_critical_options();
    let options = message.options();
    for segment in options.uri_path().chain(options.uri_query()) {
        let _ = segment;
    }
    let _ = (options.content_format(), options.observe(), options.block1(), options.block2());
    let _ = (options.q_block1(), options.q_block2_all().count(), options.hop_limit());
    let _ = (options.size1(), options.size2(), options.uri_host(), options.uri_port());

    // Every datagram of up to 64 KiB fits these capacities.
    if data.len() > 65536 {
        return;
    }
    let repr = Box::new(MessageRepr::<65536, 65536>::parse(&message).expect("fits"));
    let mut buf = vec![0u8; repr.encoded_len()];
    assert_eq!(repr.emit(&mut buf), Ok(buf.len()));
    assert_eq!(buf, data, "the encoding is canonical: re-encoding gives the same bytes");
    let again = Message::parse(&buf).expect("re-encoded message parses");
    assert_eq!(again, message);
    assert!(*Box::new(MessageRepr::<65536, 65536>::parse(&again).expect("fits")) == *repr);
});
