//! The DOTS demo. Until the signal-channel sessions exist, it shows the layer that does: the CoAP
//! codes of the RFC 9132 signal channel.

use dots::codec::coap::Code;

fn main() {
    println!("dots demo: CoAP codes used by the DOTS signal channel (RFC 9132 §4)");
    for (what, code) in [
        ("mitigation request (PUT)", Code::PUT),
        ("new mitigation accepted", Code::CREATED),
        ("refresh accepted", Code::CHANGED),
        ("conflict", Code::CONFLICT),
        ("unacceptable session parameter", Code::UNPROCESSABLE_ENTITY),
    ] {
        println!("  {code}  {what}");
    }
}
