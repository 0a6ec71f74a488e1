//! The `server` example's data channel (RFC 8783, RESTCONF over HTTPS) driven by Debian's `curl`
//! over real TLS with client certificates: registration, aliases, ACLs, capabilities, RESTCONF
//! error bodies, and a client certificate from another CA refused at the handshake. Also the
//! example's command line.
//!
//! The server is the example's own code (`examples/server/*.rs`), started in this process on
//! 127.0.0.1 with a PKI made at run time (`rcgen`, written to a temporary directory).
//!
//! Without `curl` the HTTPS tests are skipped with a message, unless `DOTS_REQUIRE_INTEROP=1`,
//! which makes them fail (CI sets it and installs the package).

// The `server` example's modules, at the crate root as in the example.
include!("server_support/example_modules.rs");

mod server_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser as _;
use serde_json::{json, Value};
use server_support::{tool, Fixture};

const DATA: &str = "/restconf/data/ietf-dots-data-channel:dots-data";
const JSON: &str = "application/yang-data+json";

/// `curl`, or `None` (after saying so) when the test must be skipped.
fn curl() -> Option<PathBuf> {
    tool("curl", "curl")
}

/// The example server serving HTTPS on 127.0.0.1 (a port of its own), until dropped.
struct Server {
    addr: SocketAddr,
    fx: Fixture,
    server: server_support::Server,
}

impl Server {
    fn start() -> Server {
        let fx = Fixture::new();
        let mut args = vec!["--https".to_owned(), "127.0.0.1:0".into()];
        args.extend(fx.server_creds());
        let server = server_support::Server::start(&args, 1);
        Server {
            addr: server.addrs["https"],
            fx,
            server,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.fx.dir.path().join(name)
    }

    fn cuid(&self) -> String {
        self.fx.client_cuid()
    }

    /// A request with curl as the client `who` (`client`, `client2`, `rogue-client`).
    fn curl(
        &self,
        curl: &Path,
        who: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        self.curl_raw(curl, who, method, path, body.map(Value::to_string))
    }

    /// The same with a body sent as it is.
    fn curl_raw(
        &self,
        curl: &Path,
        who: &str,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Reply {
        let mut cmd = Command::new(curl);
        cmd.args(["-sS", "-i", "--max-time", "10", "-X", method])
            .arg("--cacert")
            .arg(self.file("ca.pem"))
            .arg("--cert")
            .arg(self.file(&format!("{who}.pem")))
            .arg("--key")
            .arg(self.file(&format!("{who}.key")))
            .args(["-H", &format!("Accept: {JSON}")]);
        if let Some(b) = body {
            cmd.args(["-H", &format!("Content-Type: {JSON}"), "--data-binary"])
                .arg(b);
        }
        cmd.arg(format!("https://{}{path}", self.addr));
        let out = cmd.output().expect("curl runs");
        Reply::parse(out.status.success(), &out.stdout, &out.stderr)
    }

    fn log_has(&self, line: &str) -> bool {
        self.server.log_has(line)
    }

    fn log_contains(&self, part: &str) -> bool {
        self.server.log_contains(part)
    }

    /// Stops the server as SIGTERM does, and checks that it ended cleanly.
    fn stop(self) {
        self.server.stop();
    }
}

/// What curl got.
#[derive(Debug)]
struct Reply {
    /// Whether curl exited 0 (a TLS or connection failure is not).
    ok: bool,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    stderr: String,
}

impl Reply {
    fn parse(ok: bool, stdout: &[u8], stderr: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(stdout).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Reply {
            ok,
            status,
            headers,
            body: body.to_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some(JSON), "{self:?}");
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// The `error-tag` of a RESTCONF error body (RFC 8040 Section 7.1).
    fn error_tag(&self) -> String {
        let v = self.json();
        v["ietf-restconf:errors"]["error"][0]["error-tag"]
            .as_str()
            .unwrap_or_else(|| panic!("no error-tag: {self:?}"))
            .to_owned()
    }
}

fn register_body(cuid: &str) -> Value {
    json!({"ietf-dots-data-channel:dots-client": [{"cuid": cuid}]})
}

/// RFC 8783 Figure 17.
fn alias_body() -> Value {
    json!({"ietf-dots-data-channel:aliases": {"alias": [{
        "name": "https1", "target-protocol": [6],
        "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{"lower-port": 443}]}]}})
}

/// RFC 8783 Figure 25 (an immediate IPv6 ACL).
fn acl_body() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "test-acl-ipv6-udp", "type": "ipv6-acl-type", "activation-type": "immediate",
        "aces": {"ace": [{"name": "my-test-ace",
            "matches": {
                "ipv6": {"destination-ipv6-network": "2001:db8:6401::2/127",
                         "source-ipv6-network": "2001:db8:1234::/96",
                         "protocol": 17, "flow-label": 10000},
                "udp": {"source-port-range-or-operator": {"operator": "lte", "port": 80},
                        "destination-port-range-or-operator": {"operator": "neq", "port": 1010}}},
            "actions": {"forwarding": "accept"}}]}}]}})
}

#[test]
fn data_channel_over_https_with_curl() {
    let Some(curl) = curl() else { return };
    let server = Server::start();
    let cuid = server.cuid();
    let client = format!("{DATA}/dots-client={cuid}");

    // Registration (RFC 8783 Section 5.1): 201 with the new resource's location; the cuid is
    // the certificate's (RFC 9132 Section 4.4.1).
    let r = server.curl(&curl, "client", "POST", DATA, Some(&register_body(&cuid)));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("location"), Some(client.as_str()));
    assert!(server.log_has(&format!("event client-registered cuid={cuid}")));

    // Again: 409 with a RESTCONF error body (resource-denied).
    let r = server.curl(&curl, "client", "POST", DATA, Some(&register_body(&cuid)));
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(r.error_tag(), "resource-denied");

    // An alias (Figure 17), then read back with its pending lifetime (Section 6.2).
    let r = server.curl(&curl, "client", "POST", &client, Some(&alias_body()));
    assert_eq!(r.status, 201, "{r:?}");
    let r = server.curl(
        &curl,
        "client",
        "GET",
        &format!("{client}/aliases/alias=https1"),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let alias = &r.json()["ietf-dots-data-channel:aliases"]["alias"][0];
    assert_eq!(alias["name"], "https1");
    assert_eq!(alias["pending-lifetime"], 10080);

    // An immediate ACL (Figure 25): 201, and the filtering engine is told to install it.
    let r = server.curl(&curl, "client", "POST", &client, Some(&acl_body()));
    assert_eq!(r.status, 201, "{r:?}");
    assert!(
        server.log_has(&format!(
            "event acl-activated cuid={cuid} acl=test-acl-ipv6-udp"
        )),
        "{:?}",
        server.server.log()
    );

    // Capabilities (Section 7.1).
    let r = server.curl(
        &curl,
        "client",
        "GET",
        &format!("{DATA}/capabilities"),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let caps = &r.json()["ietf-dots-data-channel:capabilities"];
    assert!(
        caps["address-family"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{caps}"
    );

    // An alias without a target (Section 6.1): 400 missing-attribute.
    let bad = json!({"ietf-dots-data-channel:aliases": {"alias": [{"name": "empty"}]}});
    let r = server.curl(&curl, "client", "POST", &client, Some(&bad));
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.error_tag(), "missing-attribute");

    // Not JSON at all: 400 malformed-message.
    let r = server.curl_raw(&curl, "client", "POST", &client, Some("{".into()));
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.error_tag(), "malformed-message");

    // Another client of the same CA may not touch this client's resources (403).
    let r = server.curl(&curl, "client2", "GET", &client, None);
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.error_tag(), "access-denied");

    // Root resource discovery (RFC 8040 Section 3.1).
    let r = server.curl(&curl, "client", "GET", "/.well-known/host-meta", None);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("rel='restconf' href='/restconf'"), "{r:?}");

    // De-registration removes everything: the ACL is uninstalled first.
    let r = server.curl(&curl, "client", "DELETE", &client, None);
    assert_eq!(r.status, 204, "{r:?}");
    assert!(server.log_has(&format!(
        "event acl-deleted cuid={cuid} acl=test-acl-ipv6-udp was-active=true"
    )));
    assert!(server.log_has(&format!("event client-deregistered cuid={cuid}")));
    let r = server.curl(&curl, "client", "GET", &client, None);
    assert_eq!(r.status, 404, "{r:?}");

    server.stop();
}

#[test]
fn certificate_of_another_ca_fails_the_handshake() {
    let Some(curl) = curl() else { return };
    let server = Server::start();
    let r = server.curl(
        &curl,
        "rogue-client",
        "GET",
        &format!("{DATA}/capabilities"),
        None,
    );
    assert!(!r.ok && !r.stderr.is_empty(), "{r:?}");
    assert_eq!(r.status, 0, "no HTTP answer: {r:?}");
    assert!(
        server.log_contains("handshake refused"),
        "{:?}",
        server.server.log()
    );
    // Without any certificate, too.
    let out = Command::new(&curl)
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("--cacert")
        .arg(server.file("ca.pem"))
        .arg(format!("https://{}{DATA}/capabilities", server.addr))
        .output()
        .expect("curl runs");
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "000");
    // The listener still serves legitimate clients.
    let r = server.curl(
        &curl,
        "client",
        "GET",
        &format!("{DATA}/capabilities"),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    server.stop();
}

// ---- the command line ----------------------------------------------------------------------

fn parse(args: &[&str]) -> Result<cli::Args, clap::Error> {
    cli::Args::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
}

#[test]
fn plain_coap_requires_insecure() {
    for flag in ["--udp", "--tcp"] {
        let e = parse(&[flag, "127.0.0.1:4646"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--insecure"), "{e}");
    }
}

#[test]
fn every_signal_channel_transport_is_served() {
    let certs = ["--cert", "s.pem", "--key", "s.key", "--ca", "ca.pem"];
    let psk = ["--psk", "dots-client-psk:73656372657450534b"];
    for args in [
        vec!["--udp", "127.0.0.1:4646", "--insecure"],
        vec!["--tcp", "127.0.0.1:4646", "--insecure"],
        [&["--dtls", "127.0.0.1:4646"][..], &certs].concat(),
        [&["--dtls", "127.0.0.1:4646"][..], &psk].concat(),
        [&["--dtls", "127.0.0.1:4646"][..], &certs, &psk].concat(),
        [&["--tls", "127.0.0.1:4646"][..], &certs].concat(),
        [
            &[
                "--https",
                "127.0.0.1:8443",
                "--dtls",
                "127.0.0.1:4646",
                "--tls",
                "127.0.0.1:4646",
                "--udp",
                "127.0.0.1:4647",
                "--tcp",
                "127.0.0.1:4647",
                "--insecure",
            ][..],
            &certs,
            &psk,
        ]
        .concat(),
    ] {
        parse(&args).unwrap().check().unwrap();
    }
    // TLS (rustls has no external PSK) and DTLS without any credential are refused.
    for args in [
        vec!["--tls", "127.0.0.1:4646"],
        [&["--tls", "127.0.0.1:4646"][..], &psk].concat(),
        vec!["--dtls", "127.0.0.1:4646"],
        vec![
            "--dtls",
            "127.0.0.1:4646",
            "--cert",
            "s.pem",
            "--key",
            "s.key",
        ],
    ] {
        let e = parse(&args).unwrap().check().unwrap_err();
        assert!(e.message.contains("--cert"), "{args:?}: {e}");
        assert_eq!(e.into_clap().exit_code(), 2);
    }
    // The mitigator's delay: seconds, bounded.
    let udp = ["--udp", "127.0.0.1:4646", "--insecure"];
    let args = parse(&[&udp[..], &["--mitigated-after", "0.5"]].concat()).unwrap();
    assert_eq!(args.mitigated_after, 0.5);
    for bad in ["-1", "nan", "1e9", "soon"] {
        assert!(parse(&[&udp[..], &["--mitigated-after", bad]].concat()).is_err());
    }
}

#[test]
fn bad_combinations_are_refused() {
    let certs = ["--cert", "s.pem", "--key", "s.key", "--ca", "ca.pem"];
    // Nothing to serve.
    assert!(parse(&[]).unwrap().check().is_err());
    // HTTPS without credentials.
    let e = parse(&["--https", "127.0.0.1:8443"])
        .unwrap()
        .check()
        .unwrap_err();
    assert!(e.message.contains("--cert"), "{e}");
    // --cert and --key go together.
    assert!(parse(&["--https", "127.0.0.1:8443", "--cert", "s.pem"]).is_err());
    // --insecure only for plain CoAP; --psk only for DTLS.
    let https = [&["--https", "127.0.0.1:8443"][..], &certs].concat();
    let e = parse(&[&https[..], &["--insecure"]].concat())
        .unwrap()
        .check()
        .unwrap_err();
    assert!(e.message.contains("--insecure"), "{e}");
    let e = parse(&[&https[..], &["--psk", "id:00ff"]].concat())
        .unwrap()
        .check()
        .unwrap_err();
    assert!(e.message.contains("--psk"), "{e}");
    // A malformed PSK or address is a parse error (exit status 2).
    assert_eq!(
        parse(&["--dtls", "127.0.0.1:1", "--psk", "nohex"])
            .unwrap_err()
            .exit_code(),
        2
    );
    assert_eq!(parse(&["--https", "localhost"]).unwrap_err().exit_code(), 2);
    // The kit's command lines parse; --https alone is served.
    let ok = parse(&https).unwrap();
    ok.check().unwrap();
    let dtls = parse(
        &[
            &["--dtls", "127.0.0.1:4646"][..],
            &certs,
            &["--psk", "dots-client-psk:73656372657450534b"],
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(dtls.psk.unwrap().identity, b"dots-client-psk");
}

#[test]
fn missing_credential_files_fail_to_load() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("server.pem").display().to_string();
    let args = parse(&[
        "--https",
        "127.0.0.1:0",
        "--cert",
        &missing,
        "--key",
        &missing,
        "--ca",
        &missing,
    ])
    .unwrap();
    let e = args.load().unwrap_err();
    assert!(e.to_string().contains(&missing), "{e}");
}
