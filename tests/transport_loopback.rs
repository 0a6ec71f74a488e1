//! The example transports against themselves on loopback: DTLS (dimpl) and TLS (rustls) with
//! X.509 mutual authentication and PSK, the server-side `cuid` equal to the one computed from
//! the client's credential (RFC 9132 §4.4.1), and clients of another CA refused.

#[path = "../examples/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use dots::proto::cuid::Cuid;
use support::creds::{CredError, Credential, Identity, Psk, Trust};
use support::dtls::{
    ClientAuth, DtlsError, DtlsVersion, ServerConfig, ServerEvent, UdpDtlsClient, UdpDtlsServer,
};
use support::pki::TestPki;
use support::tls;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PSK: &str = "dots-client-psk:73656372657450534b";

/// A DTLS echo server on 127.0.0.1 that answers `cuid:<cuid>:<payload>`, running until dropped.
struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<Vec<ServerEvent>>>,
}

impl EchoServer {
    fn start(config: ServerConfig) -> EchoServer {
        let mut server = UdpDtlsServer::bind("127.0.0.1:0".parse().unwrap(), config).expect("bind");
        let addr = server.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut seen = Vec::new();
            // Bounded: at most 60 s even if the test forgets to stop it.
            for _ in 0..600 {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                match server
                    .next_event(Duration::from_millis(100))
                    .expect("server")
                {
                    Some(ServerEvent::Datagram {
                        peer,
                        identity,
                        payload,
                    }) => {
                        let mut answer = format!("cuid:{}:", identity.cuid).into_bytes();
                        answer.extend_from_slice(&payload);
                        server.send_to(peer, &answer).expect("send");
                        seen.push(ServerEvent::Datagram {
                            peer,
                            identity,
                            payload,
                        });
                    }
                    Some(e) => seen.push(e),
                    None => {}
                }
            }
            seen
        });
        EchoServer {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> Vec<ServerEvent> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn x509_server(pki: &TestPki) -> ServerConfig {
    ServerConfig {
        x509: Some((pki.server.identity(), pki.trust())),
        psks: vec![Psk::parse(PSK).unwrap()],
        max_peers: 8,
    }
}

fn x509_client(which: &support::pki::Issued, trust: Trust) -> ClientAuth {
    ClientAuth::Certificate {
        identity: which.identity(),
        trust,
        server_name: "localhost".to_owned(),
    }
}

#[test]
fn dtls_x509_and_psk_roundtrip_with_server_side_cuid() {
    let pki = TestPki::generate().unwrap();
    let server = EchoServer::start(x509_server(&pki));

    // X.509: the cuid the server derives equals SHA-256 over the SPKI as rcgen serialized it.
    let expected = Cuid::from_spki(&pki.client.spki);
    let auth = x509_client(&pki.client, pki.trust());
    assert_eq!(auth.cuid().unwrap(), expected);
    let mut client =
        UdpDtlsClient::connect(server.addr, auth, Duration::from_secs(10)).expect("handshake");
    client.send(b"hello").unwrap();
    let answer = client.recv(Duration::from_secs(5)).unwrap().expect("echo");
    assert_eq!(answer, format!("cuid:{expected}:hello").into_bytes());

    // A second client of the same CA has another cuid.
    let expected2 = Cuid::from_spki(&pki.client2.spki);
    assert_ne!(expected, expected2);
    let mut client2 = UdpDtlsClient::connect(
        server.addr,
        x509_client(&pki.client2, pki.trust()),
        Duration::from_secs(10),
    )
    .expect("handshake 2");
    client2.send(b"two").unwrap();
    assert_eq!(
        client2.recv(Duration::from_secs(5)).unwrap().unwrap(),
        format!("cuid:{expected2}:two").into_bytes()
    );

    // PSK on the same port: the cuid is the hash of the PSK identity.
    let psk = Psk::parse(PSK).unwrap();
    assert_eq!(psk.identity, b"dots-client-psk");
    assert_eq!(psk.key, b"secretPSK");
    let mut client3 =
        UdpDtlsClient::connect(server.addr, ClientAuth::Psk(psk), Duration::from_secs(10))
            .expect("psk handshake");
    client3.send(b"psk").unwrap();
    assert_eq!(
        client3.recv(Duration::from_secs(5)).unwrap().unwrap(),
        b"cuid:VKJY5XQNk5HjIRNpNBAdNA:psk".to_vec()
    );

    let events = server.finish();
    let connected: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Connected { identity, .. } => Some(identity.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(connected.len(), 3, "{events:?}");
    assert!(matches!(
        &connected[0].credential,
        Credential::Certificate { spki, .. } if *spki == pki.client.spki
    ));
    assert_eq!(
        connected[2].credential,
        Credential::Psk {
            identity: b"dots-client-psk".to_vec()
        }
    );
}

#[test]
fn dtls_refuses_a_client_of_another_ca_and_a_wrong_psk() {
    let pki = TestPki::generate().unwrap();
    let server = EchoServer::start(x509_server(&pki));

    let rogue = ClientAuth::Certificate {
        identity: pki.rogue_client.identity(),
        trust: pki.trust(),
        server_name: "localhost".to_owned(),
    };
    // Over DTLS 1.2 the rogue handshake never completes (the server drops the peer before its
    // Finished). Over DTLS 1.3 the client sends its certificate after the server's Finished,
    // so it may believe it is connected, but the server has no session and answers nothing.
    match UdpDtlsClient::connect(server.addr, rogue, Duration::from_secs(3)) {
        Err(err) => assert!(matches!(err, DtlsError::Timeout), "{err:?}"),
        Ok(mut c) => {
            c.send(b"hello").unwrap();
            assert_eq!(c.recv(Duration::from_secs(2)).unwrap(), None);
        }
    }

    // Over DTLS 1.2 only: the server refuses the certificate before its Finished, so the
    // handshake cannot complete.
    let rogue12 = ClientAuth::Certificate {
        identity: pki.rogue_client.identity(),
        trust: pki.trust(),
        server_name: "localhost".to_owned(),
    };
    let err = UdpDtlsClient::connect_with(
        server.addr,
        rogue12,
        DtlsVersion::Dtls12,
        Duration::from_secs(3),
    )
    .unwrap_err();
    assert!(matches!(err, DtlsError::Timeout), "{err:?}");

    let wrong = Psk::parse("dots-client-psk:00112233").unwrap();
    let err = UdpDtlsClient::connect(server.addr, ClientAuth::Psk(wrong), Duration::from_secs(3))
        .unwrap_err();
    assert!(
        matches!(err, DtlsError::Timeout | DtlsError::Dtls(_)),
        "{err:?}"
    );

    let events = server.finish();
    let refused = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ServerEvent::Closed { reason, .. } if reason.contains("client certificate refused")
            )
        })
        .count();
    assert_eq!(refused, 2, "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ServerEvent::Connected { .. } | ServerEvent::Datagram { .. }
        )),
        "{events:?}"
    );
}

#[test]
fn dtls_client_checks_the_server_certificate() {
    let pki = TestPki::generate().unwrap();
    let server = EchoServer::start(x509_server(&pki));
    // Trusting only the rogue CA, the client refuses the server.
    let auth = x509_client(
        &pki.client,
        Trust::from_der(vec![pki.rogue_ca.cert.clone()]),
    );
    let err = UdpDtlsClient::connect(server.addr, auth, Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(err, DtlsError::Creds(CredError::Untrusted(_))),
        "{err:?}"
    );
    // A name the server certificate does not carry.
    let auth = ClientAuth::Certificate {
        identity: pki.client.identity(),
        trust: pki.trust(),
        server_name: "dots.example.net".to_owned(),
    };
    let err = UdpDtlsClient::connect(server.addr, auth, Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(err, DtlsError::Creds(CredError::WrongName { .. })),
        "{err:?}"
    );
    drop(server);
}

#[test]
fn psk_parsing() {
    assert!(Psk::parse("id:zz").is_err());
    assert!(Psk::parse("id:abc").is_err());
    assert!(Psk::parse(":abcd").is_err());
    assert!(Psk::parse("nohex").is_err());
    let p = Psk::parse("a:b:0aFF").unwrap();
    assert_eq!(
        (p.identity.as_slice(), p.key.as_slice()),
        (&b"a:b"[..], &[10u8, 255][..])
    );
}

#[test]
fn tls_mutual_auth_with_server_side_cuid() {
    let pki = TestPki::generate().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server_cfg =
            tls::server_config(&pki.server.identity(), &pki.trust(), &[tls::ALPN_COAP]).unwrap();
        let server = tls::TlsServer::bind("127.0.0.1:0".parse().unwrap(), server_cfg)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let serve = tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..2 {
                match server.accept().await {
                    Ok((mut stream, _, identity)) => {
                        let mut buf = [0u8; 5];
                        stream.read_exact(&mut buf).await.unwrap();
                        let answer = format!("cuid:{}:", identity.cuid);
                        stream.write_all(answer.as_bytes()).await.unwrap();
                        stream.write_all(&buf).await.unwrap();
                        stream.shutdown().await.unwrap();
                        out.push(Ok(identity));
                    }
                    Err(e) => out.push(Err(e.to_string())),
                }
            }
            out
        });

        let expected = Cuid::from_spki(&pki.client.spki);
        let cfg = tls::client_config(
            Some(&pki.client.identity()),
            &pki.trust(),
            &[tls::ALPN_COAP],
        )
        .unwrap();
        let mut stream = tls::connect(addr, "localhost", cfg).await.unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(tls::ALPN_COAP));
        stream.write_all(b"hello").await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, format!("cuid:{expected}:hello").into_bytes());

        // A client of another CA: the server's handshake fails.
        let cfg = tls::client_config(
            Some(&pki.rogue_client.identity()),
            &pki.trust(),
            &[tls::ALPN_COAP],
        )
        .unwrap();
        let rogue = async {
            let mut s = tls::connect(addr, "127.0.0.1", cfg).await?;
            // TLS 1.3: the client learns of the refusal when it reads.
            s.write_all(b"hello").await?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await?;
            Ok::<_, Box<dyn std::error::Error>>(buf)
        };
        assert!(rogue.await.is_err(), "rogue client was answered");

        let results = serve.await.unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].as_ref().unwrap().cuid, expected);
        assert!(results[1].is_err(), "{results:?}");
    });
}

#[test]
fn dtls_12_with_credentials_loaded_from_pem_files() {
    let pki = TestPki::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem(dir.path()).unwrap();
    let p = |name: &str| dir.path().join(name);
    let server_id = Identity::from_pem_files(&p("server.pem"), &p("server.key")).unwrap();
    let trust = Trust::from_pem_file(&p("ca.pem")).unwrap();
    assert_eq!(trust.certs(), std::slice::from_ref(&pki.ca.cert));
    let server = EchoServer::start(ServerConfig {
        x509: Some((server_id, trust.clone())),
        psks: Vec::new(),
        max_peers: 4,
    });
    let client_id = Identity::from_pem_files(&p("client.pem"), &p("client.key")).unwrap();
    let expected = Cuid::from_spki(&pki.client.spki);
    assert_eq!(client_id.cuid().unwrap(), expected);
    let auth = ClientAuth::Certificate {
        identity: client_id,
        trust,
        server_name: "127.0.0.1".to_owned(),
    };
    let mut client = UdpDtlsClient::connect_with(
        server.addr,
        auth,
        DtlsVersion::Dtls12,
        Duration::from_secs(10),
    )
    .expect("DTLS 1.2 handshake");
    client.send(b"pem").unwrap();
    assert_eq!(
        client.recv(Duration::from_secs(5)).unwrap().unwrap(),
        format!("cuid:{expected}:pem").into_bytes()
    );

    // Bad files are typed errors.
    assert!(matches!(
        Identity::from_pem_files(&p("missing.pem"), &p("client.key")),
        Err(CredError::Pem { .. })
    ));
    assert!(matches!(
        Trust::from_pem_file(&p("client.key")),
        Err(CredError::Pem { .. })
    ));
    // A server with neither a certificate nor a PSK cannot be built.
    assert!(matches!(
        UdpDtlsServer::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()),
        Err(DtlsError::Config(_))
    ));
}
