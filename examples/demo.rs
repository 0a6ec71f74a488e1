//! The DOTS demo. Until the signal-channel sessions exist, it shows the layer that does: the CoAP
//! codec. It builds the RFC 9132 Figure 7 mitigation request (with the Figure 8 CBOR body),
//! prints its bytes, decodes them again as a server would, and builds the response.

use dots::codec::coap::{
    Code, ContentFormat, Frame, FrameRepr, Message, MessageRepr, MessageType, Token,
};

/// RFC 9132 Figure 8: the CBOR body of the mitigation request of Figure 7.
const FIGURE_8: [u8; 73] = [
    0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa4, 0x06, 0x82, 0x74, 0x32, 0x30, 0x30, 0x31, 0x3a, 0x64, 0x62,
    0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x31, 0x2f, 0x31, 0x32, 0x38, 0x74, 0x32, 0x30,
    0x30, 0x31, 0x3a, 0x64, 0x62, 0x38, 0x3a, 0x36, 0x34, 0x30, 0x31, 0x3a, 0x3a, 0x32, 0x2f, 0x31,
    0x32, 0x38, 0x07, 0x83, 0xa1, 0x08, 0x18, 0x50, 0xa1, 0x08, 0x19, 0x01, 0xbb, 0xa1, 0x08, 0x19,
    0x1f, 0x90, 0x0a, 0x81, 0x06, 0x0e, 0x19, 0x0e, 0x10,
];

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            let words: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            format!("    {}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("dots demo: the CoAP codec under the DOTS signal channel (RFC 9132, RFC 7252)\n");

    // The client: a Non-confirmable PUT (RFC 9132 §4.4.1) for mitigation 123.
    let mut request: MessageRepr = MessageRepr::new(
        MessageType::NonConfirmable,
        Code::PUT,
        0x2a51,
        Token::new(&[0x4e, 0x1a, 0x9c, 0x33])?,
    );
    request
        .options
        .set_uri_path("/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123")?
        .set_content_format(ContentFormat::DOTS_CBOR)?;
    request.set_payload(&FIGURE_8)?;
    let mut datagram = [0u8; 1280];
    let len = request.emit(&mut datagram)?;
    println!("mitigation request, {len} bytes on the wire (UDP/DTLS):");
    println!("{}\n", hex(&datagram[..len]));

    // The server: parse in place, check the critical options, read what DOTS needs.
    let received = Message::parse(&datagram[..len])?;
    received.check_critical_options()?;
    println!("decoded:");
    println!(
        "  {} {} {}  message id 0x{:04x}  token {}",
        received.ty(),
        received.code(),
        received.code().name().unwrap_or("?"),
        received.message_id(),
        received.token()
    );
    for option in received.options() {
        println!("  {option}");
    }
    println!(
        "  payload: {} bytes of {}",
        received.payload().len(),
        received
            .options()
            .content_format()?
            .map_or_else(|| "(no Content-Format)".to_string(), |cf| cf.to_string())
    );
    let path: Vec<&str> = received.options().uri_path().collect::<Result<_, _>>()?;
    println!("  Uri-Path as a server matches it: /{}\n", path.join("/"));

    // The response: same token; a NON request gets a NON response with a fresh message id.
    let mut response: MessageRepr = MessageRepr::response_to(&received, Code::CREATED, 0x7d01);
    response
        .options
        .set_content_format(ContentFormat::DOTS_CBOR)?;
    // {"ietf-dots-signal-channel:mitigation-scope": {"scope": [{"mid": 123, "lifetime": 3600}]}}
    response.set_payload(&[
        0xa1, 0x01, 0xa1, 0x02, 0x81, 0xa2, 0x05, 0x18, 0x7b, 0x0e, 0x19, 0x0e, 0x10,
    ])?;
    let len = response.emit(&mut datagram)?;
    println!("response: {response}");
    println!("{}\n", hex(&datagram[..len]));

    // The same request over TCP/TLS (RFC 8323): no type or message id, a length prefix instead.
    let frame = FrameRepr::from_message(request);
    let mut stream = [0u8; 1280];
    let len = frame.emit(&mut stream)?;
    println!("the request as a CoAP-over-TLS frame, {len} bytes:");
    println!("{}", hex(&stream[..len]));
    println!("decoded: {}", Frame::parse(&stream[..len])?);
    Ok(())
}
