//! The `server` example's signal channel over DTLS (`--dtls ADDR --cert --key --ca --psk`)
//! against libcoap's `coap-client-openssl` and `coap-client-gnutls` (Debian `libcoap3-bin`),
//! with X.509 mutual authentication (certificates made at test time) and PSK:
//!
//! - PUT RFC 9132 Figure 8 (content-format 271) → 2.01; GET with Observe → 2.05 whose body
//!   decodes to the scope with its `mid` and status, then a notification when the in-memory
//!   mitigator moves the request to attack-successfully-mitigated; DELETE → 2.02;
//! - a PUT with an unknown comprehension-required key → 4.00 (RFC 9132 Section 6);
//! - the cuid is the credential's (the certificate's SPKI, the PSK identity): a PSK client
//!   naming the X.509 client's cuid in its Uri-Path gets 4.09 cuid-collision (RFC 9132
//!   Section 4.4.1.1), under its own cuid 2.01;
//! - a client certificate from another CA is refused during the handshake (no answer).
//!
//! The server is the example's own code (`examples/server/*.rs`), started in this process with
//! a command line. Without the libcoap binaries the tests are skipped with a message, unless
//! `DOTS_REQUIRE_INTEROP=1`.

// The `server` example's modules, at the crate root as in the example.
include!("server_support/example_modules.rs");

mod server_support;

use dots::codec::model::MitigationStatus;
use server_support::{coap_client, tool, Fixture, Server, PSK_CUID, PSK_IDENTITY, PSK_KEY};

/// How long the server's mitigator takes here: long enough for the Observe registration to
/// come first, short enough for a fast test.
const MITIGATED_AFTER_S: &str = "3";

fn start(fx: &Fixture) -> Server {
    let mut args = vec!["--dtls".to_owned(), "127.0.0.1:0".into()];
    args.extend(fx.server_creds());
    args.extend([
        "--psk".into(),
        format!("{PSK_IDENTITY}:{}", hex::encode(PSK_KEY)),
        "--mitigated-after".into(),
        MITIGATED_AFTER_S.into(),
    ]);
    Server::start(&args, 1)
}

fn check_library(name: &str) {
    let Some(client) = tool(name, "libcoap3-bin") else {
        return;
    };
    let fx = Fixture::new();
    let server = start(&fx);
    let dir = fx.dir.path();
    let port = server.port("dtls");
    let cuid = fx.client_cuid();
    let uri = |cuid: &str, mid: u32| {
        format!("coaps://127.0.0.1:{port}/.well-known/dots/mitigate/cuid={cuid}/mid={mid}")
    };
    let x509 = ["-c", "client.pem", "-j", "client.key", "-C", "ca.pem"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        x509.iter().chain(extra).copied().collect()
    };
    let psk = ["-u", PSK_IDENTITY, "-k", PSK_KEY];

    // PUT Figure 8 (ct 271) → 2.01, under the certificate's cuid.
    let put = ["-m", "put", "-t", "271", "-f", "fig8.cbor"];
    let run = coap_client(&client, dir, &with(&put), &uri(&cuid, 123), 5);
    assert!(run.has_pdu(&["t:ACK", "c:2.01"]), "{}", run.log);
    assert!(
        server.log_contains(&format!("connected cuid={cuid} (x509)")),
        "{}",
        server.log()
    );
    assert!(server.log_contains(&format!("event mitigation-requested cuid={cuid} mid=123")));

    // GET with Observe → 2.05 with the scope (mid 123, a status), then the notification of
    // the mitigator's attack-successfully-mitigated.
    let get = ["-m", "get", "-A", "271", "-s", "5"];
    let run = coap_client(&client, dir, &with(&get), &uri(&cuid, 123), 6);
    assert!(
        run.has_pdu(&["t:ACK", "c:2.05", "Observe:", "application/dots+cbor"]),
        "{}",
        run.log
    );
    assert!(run.has_pdu(&["t:NON", "c:2.05", "Observe:"]), "{}", run.log);
    let scopes = run.scopes();
    assert!(scopes.len() >= 2, "{}", run.log);
    let first = &scopes[0].scopes[0];
    assert_eq!(first.mid, Some(123));
    // Registered before the mitigator's change (it comes MITIGATED_AFTER_S after the PUT).
    assert!(first.status.is_some(), "{first:?}");
    assert_ne!(
        first.status,
        Some(MitigationStatus::SuccessfullyMitigated),
        "{}",
        run.log
    );
    let last = &scopes[scopes.len() - 1].scopes[0];
    assert_eq!(last.mid, Some(123));
    assert_eq!(last.status, Some(MitigationStatus::SuccessfullyMitigated));
    assert!(server.log_contains(&format!(
        "mitigator cuid={cuid} mid=123 status=attack-successfully-mitigated"
    )));

    // PSK: the cuid is the identity's. Under the certificate's cuid → 4.09 (the record is
    // another client's); under its own → 2.01.
    let psk_put: Vec<&str> = psk.iter().chain(&put).copied().collect();
    let run = coap_client(&client, dir, &psk_put, &uri(&cuid, 124), 5);
    assert!(run.has_pdu(&["t:ACK", "c:4.09"]), "{}", run.log);
    let run = coap_client(&client, dir, &psk_put, &uri(PSK_CUID, 7), 5);
    assert!(run.has_pdu(&["t:ACK", "c:2.01"]), "{}", run.log);
    assert!(server.log_contains(&format!(
        "connected cuid={PSK_CUID} (psk \"{PSK_IDENTITY}\")"
    )));
    assert!(server.log_contains(&format!("event mitigation-requested cuid={PSK_CUID} mid=7")));

    // An unknown comprehension-required key → 4.00.
    let bad = ["-m", "put", "-t", "271", "-f", "unknown-key.cbor"];
    let run = coap_client(&client, dir, &with(&bad), &uri(&cuid, 125), 5);
    assert!(run.has_pdu(&["t:ACK", "c:4.00"]), "{}", run.log);

    // DELETE → 2.02.
    let run = coap_client(&client, dir, &with(&["-m", "delete"]), &uri(&cuid, 123), 5);
    assert!(run.has_pdu(&["t:ACK", "c:2.02"]), "{}", run.log);
    assert!(server.log_contains(&format!("event mitigation-withdrawn cuid={cuid} mid=123")));

    // A certificate from another CA: refused in the handshake, no answer.
    let rogue = [
        "-c",
        "rogue-client.pem",
        "-j",
        "rogue-client.key",
        "-C",
        "ca.pem",
        "-m",
        "get",
    ];
    let run = coap_client(&client, dir, &rogue, &uri(&cuid, 123), 3);
    assert!(
        !run.has_pdu(&["c:2."]) && !run.has_pdu(&["c:4."]) && run.body.is_empty(),
        "the rogue client got an answer:\n{}",
        run.log
    );
    assert!(
        server.log_contains("client certificate refused"),
        "{}",
        server.log()
    );
    server.stop();
}

#[test]
fn coap_client_openssl_over_dtls() {
    check_library("coap-client-openssl");
}

#[test]
fn coap_client_gnutls_over_dtls() {
    check_library("coap-client-gnutls");
}
