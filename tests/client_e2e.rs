//! The `client` example end to end against a DOTS server composed in this process
//! (`ServerEndpoint` + `SignalServer`, `tests/client_support`) over real sockets on 127.0.0.1:
//! mitigate → status (with Observe) → efficacy → withdraw, the session configuration,
//! heartbeats, over plain UDP, DTLS (PSK and X.509), TLS and the Happy Eyeballs race.
//!
//! Each assertion looks at both sides: what the client printed and returned, and what the
//! server received and holds.

#[path = "../examples/client/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/client/cli.rs"]
#[allow(dead_code)]
mod cli;
#[path = "../examples/client/commands.rs"]
#[allow(dead_code)]
mod commands;
#[path = "../examples/client/connect.rs"]
#[allow(dead_code)]
mod connect;
#[path = "../examples/client/race.rs"]
#[allow(dead_code)]
mod race;
#[path = "../examples/client/session.rs"]
#[allow(dead_code)]
mod session;
#[path = "../examples/support/mod.rs"]
mod support;
#[path = "../examples/client/tap.rs"]
#[allow(dead_code)]
mod tap;

mod client_support;

use std::thread;
use std::time::Duration;

use client_support::{client, DotsServer, Mode};
use dots::codec::coap::Code;
use dots::codec::model::{IntParam, MitigationStatus};
use dots::proto::cuid::Cuid;
use dots::proto::signal::server::{default_session_config, ServerConfig};
use support::creds::Psk;
use support::dtls::ServerConfig as DtlsConfig;
use support::pki::TestPki;
use support::tls::{server_config, ALPN_COAP};

const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";
const PSK: &str = "dots-client-psk:73656372657450534b";

/// RFC 9132 Figure 7 (the JSON body of a mitigation request).
const FIGURE_7: &str = r#"{
  "ietf-dots-signal-channel:mitigation-scope": {
    "scope": [
      {
        "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{"lower-port": 80}, {"lower-port": 443}, {"lower-port": 8080}],
        "target-protocol": [6],
        "lifetime": 3600
      }
    ]
  }
}"#;

/// RFC 9132 Figure 8: Figure 7 in CBOR.
const FIGURE_8: &str = "a101a10281a4068274323030313a6462383a363430313a3a312f31323874323030313a\
                        6462383a363430313a3a322f3132380783a1081850a1081901bba108191f900a81060e190e10";

fn udp_flags(server: &DotsServer) -> Vec<String> {
    vec![
        "--udp".into(),
        server.addr.to_string(),
        "--insecure".into(),
        "--cuid".into(),
        CUID.into(),
        "--timeout".into(),
        "10".into(),
    ]
}

fn run(cmd: &[&str], flags: &[String]) -> (u8, String, String) {
    let mut args: Vec<&str> = cmd.to_vec();
    args.extend(flags.iter().map(String::as_str));
    client(&args)
}

fn psk_server() -> DotsServer {
    DotsServer::start(Mode::Dtls(DtlsConfig {
        x509: None,
        psks: vec![Psk::parse(PSK).unwrap()],
        max_peers: 16,
    }))
}

fn psk_flags(server: &DotsServer) -> Vec<String> {
    vec![
        "--dtls".into(),
        server.addr.to_string(),
        "--psk".into(),
        PSK.into(),
        "--timeout".into(),
        "10".into(),
    ]
}

#[test]
fn mitigate_status_withdraw_over_udp() {
    let server = DotsServer::start(Mode::Udp);
    let flags = udp_flags(&server);

    let (code, out, err) = run(
        &[
            "mitigate",
            "--target",
            "2001:db8:6401::/64",
            "--port",
            "443",
            "--port",
            "8080-8081",
            "--protocol",
            "tcp",
            "--lifetime",
            "1800",
            "--mid",
            "123",
        ],
        &flags,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.is_empty(), "{err}");
    assert!(
        out.contains("response: 2.01 Created (to PUT /.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123)"),
        "{out}"
    );
    // The server's answer {mid, lifetime} printed as RFC 7951 JSON, and the session's event.
    assert!(out.contains("\"mid\": 123"), "{out}");
    assert!(
        out.contains("event: mitigation 123 accepted (2.01 Created, lifetime 1800 s)"),
        "{out}"
    );
    {
        let st = server.state();
        let m = st
            .core
            .mitigation(CUID, 123)
            .expect("the server holds mid 123");
        assert_eq!(m.scope.targets.prefixes.len(), 1);
        assert_eq!(m.scope.targets.port_ranges.len(), 2);
        assert_eq!(m.scope.targets.protocols.as_slice(), &[6]);
        let put = &st.received[0];
        assert_eq!(
            (put.code, put.path.as_str(), put.non),
            (
                Code::PUT,
                "/.well-known/dots/mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=123",
                true
            )
        );
    }

    // Status of that mitigation (another process, another source port).
    let (code, out, err) = run(&["status", "123"], &flags);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("response: 2.05 Content"), "{out}");
    assert!(out.contains("\"target-prefix\""), "{out}");
    assert!(out.contains("2001:db8:6401::/64"), "{out}");
    assert!(
        out.contains("event: mitigation 123 status attack-mitigation-in-progress"),
        "{out}"
    );

    // Withdraw it: DELETE, 2.02, the server keeps it active-but-terminating.
    let (code, out, err) = run(&["withdraw", "123"], &flags);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("event: mitigation 123 withdrawn (2.02 Deleted)"),
        "{out}"
    );
    {
        let st = server.state();
        let del = st.received.last().unwrap();
        assert_eq!((del.code, del.answer), (Code::DELETE, Some(Code::DELETED)));
        assert!(del.non, "DELETE is NON (RFC 9132 Section 4.4)");
        assert_eq!(
            st.core.mitigation(CUID, 123).map(|m| m.status),
            Some(MitigationStatus::ClientWithdrawn)
        );
    }
    let (code, out, _) = run(&["status", "123"], &flags);
    assert_eq!(code, 0);
    assert!(
        out.contains("event: mitigation 123 status dots-client-withdrawn-mitigation"),
        "{out}"
    );
}

#[test]
fn mitigate_from_rfc_json_sends_figure_8() {
    let server = DotsServer::start(Mode::Udp);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fig7.json");
    std::fs::write(&file, FIGURE_7).unwrap();
    let (code, out, err) = run(
        &["mitigate", "--json", file.to_str().unwrap(), "--mid", "123"],
        &udp_flags(&server),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let received = server.received();
    assert_eq!(hex::encode(&received[0].payload), FIGURE_8.replace(' ', ""));
}

#[test]
fn dots_error_answers_exit_1_with_the_reason() {
    let server = DotsServer::start(Mode::Udp);
    let flags = udp_flags(&server);
    let target = ["--target", "203.0.113.0/24"];
    let (code, _, err) = run(&["mitigate", target[0], target[1], "--mid", "200"], &flags);
    assert_eq!(code, 0, "{err}");
    // A lower mid overlapping a higher one: 4.09 (RFC 9132 Section 4.4.1.3).
    let (code, out, err) = run(&["mitigate", target[0], target[1], "--mid", "100"], &flags);
    assert_eq!(code, 1, "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("mitigation 100 refused: 4.09 Conflict"),
        "{err}"
    );
    assert!(out.contains("\"conflict-cause\""), "{out}");
    // Status of a mid the server does not have: 4.04.
    let (code, _, err) = run(&["status", "999"], &flags);
    assert_eq!(code, 1);
    assert!(err.contains("4.04 Not Found"), "{err}");
    // An efficacy update for a mid the server does not have: the GET says 4.04.
    let (code, _, err) = run(
        &["efficacy", "999", "--attack-status", "under-attack"],
        &flags,
    );
    assert_eq!(code, 1);
    assert!(err.contains("4.04"), "{err}");
}

#[test]
fn status_observe_prints_notifications_then_deregisters() {
    let server = DotsServer::start(Mode::Udp);
    let flags = udp_flags(&server);
    let (code, _, err) = run(
        &["mitigate", "--target", "198.51.100.0/24", "--mid", "7"],
        &flags,
    );
    assert_eq!(code, 0, "{err}");
    let observer = {
        let flags = flags.clone();
        thread::spawn(move || run(&["status", "7", "--observe", "3"], &flags))
    };
    // The mitigator reports success once the client observes.
    let t0 = std::time::Instant::now();
    while !server
        .received()
        .iter()
        .any(|r| r.code == Code::GET && r.observe == Some(0))
    {
        assert!(t0.elapsed() < Duration::from_secs(10), "no observation");
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(200));
    server
        .state()
        .set_status(CUID, 7, MitigationStatus::SuccessfullyMitigated);
    let (code, out, err) = observer.join().unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("event: mitigation 7 status attack-mitigation-in-progress"),
        "{out}"
    );
    assert!(out.contains("notification: 2.05 Content"), "{out}");
    assert!(
        out.lines().any(|l| l
            .starts_with("event: mitigation 7 status attack-successfully-mitigated")
            && l.ends_with("(notification)")),
        "{out}"
    );
    assert!(out.contains("\"bytes-dropped\": \"12345\""), "{out}");
    let gets: Vec<Option<u32>> = server
        .received()
        .iter()
        .filter(|r| r.code == Code::GET)
        .map(|r| r.observe)
        .collect();
    // Registered (Observe 0), then deregistered (Observe 1, RFC 7641 Section 3.6).
    assert_eq!(gets, vec![Some(0), Some(1)]);
}

#[test]
fn efficacy_update_after_reading_the_scope() {
    let server = DotsServer::start(Mode::Udp);
    let flags = udp_flags(&server);
    let (code, _, err) = run(
        &[
            "mitigate",
            "--target",
            "2001:db8:abcd::/48",
            "--fqdn",
            "www.example.com",
            "--mid",
            "300",
        ],
        &flags,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        &[
            "efficacy",
            "300",
            "--attack-status",
            "attack-successfully-mitigated",
        ],
        &flags,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("event: mitigation 300: efficacy update accepted"),
        "{out}"
    );
    let received = server.received();
    let tail: Vec<(Code, bool, Option<Code>)> = received[1..]
        .iter()
        .map(|r| (r.code, r.if_match, r.answer))
        .collect();
    // GET the scope, refresh it (the session now holds it), then the efficacy update.
    assert_eq!(
        tail,
        vec![
            (Code::GET, false, Some(Code::CONTENT)),
            (Code::PUT, false, Some(Code::CHANGED)),
            (Code::PUT, true, Some(Code::CHANGED)),
        ]
    );
}

#[test]
fn config_get_put_delete_over_dtls_psk() {
    let server = psk_server();
    let flags = psk_flags(&server);
    let cuid = Psk::parse(PSK).unwrap().cuid().to_string();

    let (code, out, err) = run(&["config"], &flags);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("connected: DTLS"), "{out}");
    assert!(
        out.contains("\"ietf-dots-signal-channel:signal-config\""),
        "{out}"
    );
    assert!(out.contains("\"heartbeat-interval\""), "{out}");

    let (code, out, err) = run(
        &[
            "config",
            "put",
            "--heartbeat-interval",
            "60",
            "--missing-hb-allowed",
            "5",
            "--sid",
            "10",
        ],
        &flags,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("configuration 10 in force: heartbeat-interval 60 s, missing-hb-allowed 5"),
        "{out}"
    );
    {
        let st = server.state();
        let put = st.received.iter().find(|r| r.code == Code::PUT).unwrap();
        assert_eq!(put.path, "/.well-known/dots/config/sid=10");
        assert_eq!(put.cuid, cuid);
        assert!(
            !put.non,
            "configuration requests are CON (RFC 9132 Section 4.5)"
        );
        let p = st
            .core
            .session_params(&dots::proto::signal::server::PeerIdentity::client(&cuid));
        assert_eq!(
            p.current().heartbeat_interval.and_then(|h| h.current_value),
            Some(60)
        );
    }
    // Out of the server's range: clamped by the client into it (RFC 9132 Section 4.5.1).
    let (code, out, err) = run(
        &[
            "config",
            "put",
            "--heartbeat-interval",
            "9999",
            "--sid",
            "11",
        ],
        &flags,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("heartbeat-interval 240 s"), "{out}");

    let (code, out, err) = run(&["config", "delete"], &flags);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("configuration applied (2.02 Deleted)"),
        "{out}"
    );
}

#[test]
fn heartbeats_are_sent_and_answered() {
    let mut config = ServerConfig::default();
    let mut session = default_session_config();
    for p in [&mut session.idle_config, &mut session.mitigating_config]
        .into_iter()
        .flatten()
    {
        p.heartbeat_interval = Some(IntParam::range(1, 240, 30));
    }
    config.session = session;
    let server = DotsServer::start_with(
        Mode::Dtls(DtlsConfig {
            x509: None,
            psks: vec![Psk::parse(PSK).unwrap()],
            max_peers: 16,
        }),
        config,
    );
    let (code, out, err) = run(
        &["heartbeat", "--for", "4", "--heartbeat-interval", "1"],
        &psk_flags(&server),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("heartbeat-interval 1 s"), "{out}");
    assert!(out.contains("heartbeat 2 sent"), "{out}");
    assert!(out.contains("heartbeat answered (2.04 Changed)"), "{out}");
    let hbs = server
        .received()
        .iter()
        .filter(|r| r.path == "/.well-known/dots/hb")
        .inspect(|r| assert!(r.non && r.answer == Some(Code::CHANGED)))
        .count();
    assert!((2..=5).contains(&hbs), "{hbs} heartbeats in 4 s at 1 s");
}

#[test]
fn x509_over_dtls_tls_and_the_happy_eyeballs_race() {
    let pki = TestPki::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem(dir.path()).unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let cuid = Cuid::from_spki(&pki.client.spki).to_string();
    let creds = |flag: &str, addr: String| -> Vec<String> {
        vec![
            flag.into(),
            addr,
            "--cert".into(),
            p("client.pem"),
            "--key".into(),
            p("client.key"),
            "--ca".into(),
            p("ca.pem"),
            "--timeout".into(),
            "5".into(),
        ]
    };

    // DTLS with X.509: the cuid comes from the certificate (RFC 9132 Section 4.4.1).
    let dtls = DotsServer::start(Mode::Dtls(DtlsConfig {
        x509: Some((pki.server.identity(), pki.trust())),
        psks: vec![],
        max_peers: 16,
    }));
    let (code, out, err) = run(
        &["mitigate", "--target", "192.0.2.0/24", "--mid", "1"],
        &creds("--dtls", dtls.addr.to_string()),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("(cuid {cuid})")), "{out}");
    assert!(dtls.state().core.mitigation(&cuid, 1).is_some());

    // The race to "localhost" where only DTLS on 127.0.0.1 answers.
    let port = dtls.addr.port();
    let (code, out, err) = run(
        &["status", "1"],
        &creds("--server", format!("localhost:{port}")),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("happy eyeballs: DTLS 127.0.0.1:{port} won")),
        "{out}"
    );
    assert!(out.contains("event: mitigation 1 status"), "{out}");

    // TLS (CoAP over TLS, RFC 8323).
    let config = server_config(&pki.server.identity(), &pki.trust(), &[ALPN_COAP]).unwrap();
    let tls = DotsServer::start(Mode::Tls(config));
    let (code, out, err) = run(
        &["mitigate", "--target", "192.0.2.0/24", "--mid", "2"],
        &creds("--tls", tls.addr.to_string()),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("connected: TLS"), "{out}");
    assert!(tls.state().core.mitigation(&cuid, 2).is_some());
    let (code, out, err) = run(&["withdraw", "2"], &creds("--tls", tls.addr.to_string()));
    assert_eq!(code, 0, "{out}\n{err}");

    // The race where only TLS answers: the DTLS candidates fail, TLS wins.
    let port = tls.addr.port();
    let (code, out, err) = run(
        &["status", "2"],
        &creds("--server", format!("127.0.0.1:{port}")),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("happy eyeballs: trying DTLS"), "{out}");
    assert!(
        out.contains(&format!("happy eyeballs: TLS 127.0.0.1:{port} won")),
        "{out}"
    );
    assert!(
        out.contains("event: mitigation 2 status dots-client-withdrawn-mitigation"),
        "{out}"
    );
}
