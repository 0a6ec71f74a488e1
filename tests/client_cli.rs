//! The `client` example's command line: usage errors (exit status 2, one message, nothing
//! sent), the `--insecure` rule, failures (exit status 1 with a one-line reason), and the
//! built binary's exit statuses.

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

use std::io::Write as _;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Command;

use client_support::client;

const PLAIN: [&str; 5] = ["--udp", "127.0.0.1:9", "--insecure", "--cuid", "abc"];

/// Asserts a usage error: exit status 2 and a message on stderr containing `needle`.
fn usage_error(args: &[&str], needle: &str) {
    let (code, out, err) = client(args);
    assert_eq!(code, 2, "{args:?}: {out}{err}");
    assert!(out.is_empty(), "{args:?}: nothing on stdout, got {out}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
}

fn with<'a>(cmd: &[&'a str], flags: &[&'a str]) -> Vec<&'a str> {
    cmd.iter().chain(flags).copied().collect()
}

#[test]
fn transport_flags() {
    usage_error(&["status"], "no server given");
    usage_error(
        &["status", "--udp", "127.0.0.1:4646", "--cuid", "abc"],
        "--cuid needs --insecure",
    );
    usage_error(
        &["status", "--udp", "127.0.0.1:4646"],
        "plain CoAP without any security: add --insecure",
    );
    usage_error(
        &["status", "--tcp", "127.0.0.1:4646"],
        "plain CoAP without any security: add --insecure",
    );
    usage_error(
        &["status", "--udp", "127.0.0.1:4646", "--insecure"],
        "no credentials to derive the cuid from: give --cuid",
    );
    usage_error(
        &["status", "--dtls", "127.0.0.1", "--tls", "127.0.0.1"],
        "--dtls and --tls exclude each other",
    );
    usage_error(&["status", "--dtls", "dots.example"], "--dtls needs --cert");
    usage_error(
        &["status", "--tls", "dots.example", "--psk", "id:00"],
        "TLS here is X.509 only",
    );
    usage_error(&["status", "--server", "dots.example"], "--server needs");
    usage_error(
        &["status", "--dtls", "dots.example", "--cert", "c.pem"],
        "--cert, --key and --ca go together",
    );
    usage_error(
        &["status", "--dtls", "dots.example", "--psk", "nohex"],
        "IDENTITY:HEXKEY",
    );
    usage_error(&["status", "--dtls", "dots:example:x"], "invalid address");
    usage_error(&["status", "--dtls", "[::1]:0"], "invalid address");
    usage_error(&with(&["status", "--timeout", "0"], &PLAIN), "--timeout");
}

#[test]
fn host_and_port_forms() {
    use cli::parse_host_port;
    let hp = |s: &str| {
        let h = parse_host_port(s).unwrap();
        (h.host, h.port)
    };
    assert_eq!(hp("dots.example"), ("dots.example".into(), 4646));
    assert_eq!(hp("dots.example:5000"), ("dots.example".into(), 5000));
    assert_eq!(hp("192.0.2.1"), ("192.0.2.1".into(), 4646));
    assert_eq!(hp("2001:db8::1"), ("2001:db8::1".into(), 4646));
    assert_eq!(hp("[2001:db8::1]"), ("2001:db8::1".into(), 4646));
    assert_eq!(hp("[2001:db8::1]:4647"), ("2001:db8::1".into(), 4647));
    for bad in [
        "",
        ":4646",
        "host:",
        "host:99999",
        "[::1",
        "[nope]:1",
        "a b",
    ] {
        assert!(parse_host_port(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn mitigation_scopes_are_checked_before_anything_is_sent() {
    usage_error(&with(&["mitigate"], &PLAIN), "mitigate needs a target");
    usage_error(
        &with(&["mitigate", "--target", "not-an-address"], &PLAIN),
        "invalid --target",
    );
    // RFC 9132 Section 4.4.1.1: no loopback, broadcast or multicast targets.
    usage_error(
        &with(&["mitigate", "--target", "127.0.0.0/8"], &PLAIN),
        "invalid mitigation request",
    );
    usage_error(
        &with(
            &["mitigate", "--target", "192.0.2.0/24", "--port", "90-80"],
            &PLAIN,
        ),
        "reversed",
    );
    usage_error(
        &with(
            &["mitigate", "--target", "192.0.2.0/24", "--lifetime", "0"],
            &PLAIN,
        ),
        "invalid mitigation request",
    );
    usage_error(
        &with(
            &["mitigate", "--target", "192.0.2.0/24", "--lifetime", "-2"],
            &PLAIN,
        ),
        "invalid --lifetime",
    );
    usage_error(
        &with(
            &[
                "mitigate",
                "--target",
                "192.0.2.0/24",
                "--protocol",
                "bogus",
            ],
            &PLAIN,
        ),
        "invalid --protocol",
    );
    usage_error(
        &with(
            &["mitigate", "--json", "f.json", "--target", "192.0.2.0/24"],
            &PLAIN,
        ),
        "cannot be used with",
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let two = write(
        "two.json",
        r#"{"ietf-dots-signal-channel:mitigation-scope":{"scope":[
            {"target-prefix":["192.0.2.0/24"],"lifetime":60},
            {"target-prefix":["198.51.100.0/24"],"lifetime":60}]}}"#,
    );
    usage_error(
        &with(&["mitigate", "--json", &two], &PLAIN),
        "exactly one scope",
    );
    let with_mid = write(
        "mid.json",
        r#"{"ietf-dots-signal-channel:mitigation-scope":{"scope":[
            {"mid":5,"target-prefix":["192.0.2.0/24"],"lifetime":60}]}}"#,
    );
    usage_error(
        &with(&["mitigate", "--json", &with_mid], &PLAIN),
        "'mid' is sent by servers only",
    );
    let hb = write(
        "hb.json",
        r#"{"ietf-dots-signal-channel:heartbeat":{"peer-hb-status":true}}"#,
    );
    usage_error(
        &with(&["mitigate", "--json", &hb], &PLAIN),
        "not a mitigation request",
    );
    let junk = write("junk.json", "{");
    usage_error(
        &with(&["mitigate", "--json", &junk], &PLAIN),
        "invalid JSON",
    );
    usage_error(
        &with(&["mitigate", "--json", "/nonexistent/x.json"], &PLAIN),
        "/nonexistent/x.json",
    );
}

#[test]
fn other_commands_are_checked() {
    usage_error(&with(&["config", "put"], &PLAIN), "at least one value");
    usage_error(
        &with(&["config", "put", "--ack-timeout", "x"], &PLAIN),
        "--ack-timeout",
    );
    usage_error(&with(&["heartbeat", "--for", "0"], &PLAIN), "--for");
    usage_error(&with(&["withdraw"], &PLAIN), "MID");
    usage_error(&with(&["withdraw", "-3"], &PLAIN), "");
    usage_error(
        &with(&["efficacy", "5", "--attack-status", "fine"], &PLAIN),
        "attack-status",
    );
    usage_error(&with(&["frobnicate"], &PLAIN), "unrecognized subcommand");
    usage_error(&[], "Usage");
}

#[test]
fn help_goes_to_stdout_with_status_0() {
    let (code, out, err) = client(&["--help"]);
    assert_eq!(code, 0);
    assert!(err.is_empty());
    for word in [
        "mitigate",
        "status",
        "withdraw",
        "config",
        "efficacy",
        "heartbeat",
    ] {
        assert!(out.contains(word), "{out}");
    }
    let (code, out, _) = client(&["mitigate", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--trigger-mitigation"), "{out}");
}

#[test]
fn no_answer_is_a_failure_with_one_line() {
    // A UDP port nobody answers on: the session sends (and repeats) the NON PUT, the command
    // gives up after --timeout.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let (code, out, err) = client(&[
        "mitigate",
        "--target",
        "192.0.2.0/24",
        "--mid",
        "5",
        "--udp",
        &addr,
        "--insecure",
        "--cuid",
        "abc",
        "--timeout",
        "2",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err.trim_end(),
        "error: no answer to mitigation request 5 within 2 s"
    );
    let mut buf = [0u8; 1500];
    silent
        .set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let (n, _) = silent.recv_from(&mut buf).expect("the PUT arrived");
    assert_eq!(buf[1], 0x03, "a PUT");
    assert_eq!(buf[0] >> 4 & 0b11, 1, "NON (RFC 9132 Section 4.4.1)");
    assert!(n > 4);
}

#[test]
fn credential_files_that_cannot_be_read_fail_with_status_1() {
    let (code, _, err) = client(&[
        "status",
        "--dtls",
        "127.0.0.1:9",
        "--cert",
        "/nonexistent/client.pem",
        "--key",
        "/nonexistent/client.key",
        "--ca",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot load --cert/--key"), "{err}");
}

/// The binary `cargo test` built next to the test executables, if any.
fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let bin = dir
        .join("examples")
        .join(format!("client{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        return Some(bin);
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: the client example binary is not built ({}); `cargo test` builds it",
        bin.display()
    );
    None
}

#[test]
fn the_binary_exits_with_the_documented_statuses() {
    let Some(bin) = binary() else { return };
    let status = |args: &[&str]| {
        let o = Command::new(&bin).args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(status(&["--help"]).0, Some(0));
    let (code, err) = status(&["status", "--udp", "127.0.0.1:9"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--insecure"), "{err}");
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let (code, err) = status(&[
        "withdraw",
        "5",
        "--udp",
        &addr,
        "--insecure",
        "--cuid",
        "abc",
        "--timeout",
        "1",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
}
