//! The data-channel server as the signal server's hooks (RFC 9132 Section 4.4.1.3, RFC 8783
//! Section 7.2, RFC 9133 Section 3.2.1): aliases created over RESTCONF resolve in mitigation
//! requests, `activate-when-mitigating` ACLs follow the client's mitigations, and an `acl-list`
//! in a mitigation request controls ACLs.

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{Lifetime, MitigationScope, MitigationStatus};
use dots_proto::data::{
    DataEvent, DataServer, DataServerConfig, Method, PeerIdentity, Request as HttpRequest,
};
use dots_proto::signal::server::{Handled, Request, ServerConfig, ServerEvent, SignalServer};
use dots_proto::time::Instant;

const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";
const DATA: &str = "/restconf/data/ietf-dots-data-channel:dots-data";

fn http(server: &mut DataServer, method: Method, uri: &str, body: &str) -> u16 {
    let req = HttpRequest::new(method, uri).with_json(body.as_bytes());
    server
        .handle_request(Instant::ZERO, &PeerIdentity::client(CUID), &req)
        .status
}

fn cbor(json: &str) -> Vec<u8> {
    let m = dots_codec::json::from_str(json).unwrap();
    let mut buf = vec![0u8; m.encoded_len()];
    let n = m.encode_cbor(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn put(s: &mut SignalServer<DataServer>, now: Instant, mid: u32, json: &str) -> (Code, Vec<u8>) {
    let mid = format!("mid={mid}");
    let cuid = format!("cuid={CUID}");
    let segs = [
        ".well-known",
        "dots",
        "mitigate",
        cuid.as_str(),
        mid.as_str(),
    ];
    let body = cbor(json);
    let req = Request::new(Code::PUT, &segs).with_cbor(&body);
    let mut out = vec![0u8; 4096];
    match s
        .handle_request(now, &PeerIdentity::client(CUID), &req, &mut out)
        .unwrap()
    {
        Handled::Respond(r) => (r.code, out[..r.payload_len].to_vec()),
        _ => panic!("no response"),
    }
}

fn data_events(s: &mut SignalServer<DataServer>) -> Vec<DataEvent> {
    std::iter::from_fn(|| s.hooks_mut().poll_event()).collect()
}

#[test]
fn data_channel_ties_in() {
    let mut data = DataServer::new(DataServerConfig::default());
    let reg = format!(r#"{{"ietf-dots-data-channel:dots-client": [{{"cuid": "{CUID}"}}]}}"#);
    assert_eq!(http(&mut data, Method::Post, DATA, &reg), 201);
    let client = format!("{DATA}/dots-client={CUID}");
    // RFC 8783 Figure 17: alias https1.
    let alias = r#"{"ietf-dots-data-channel:aliases": {"alias": [{"name": "https1",
        "target-protocol": [6], "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{"lower-port": 443}]}]}}"#;
    assert_eq!(http(&mut data, Method::Post, &client, alias), 201);
    // RFC 8783 Figure 24: an activate-when-mitigating ACL.
    let acl = r#"{"ietf-dots-data-channel:acls": {"acl": [{"name": "sample-ipv4-acl",
        "type": "ipv4-acl-type", "activation-type": "activate-when-mitigating",
        "aces": {"ace": [{"name": "rule1", "matches": {"ipv4": {
            "destination-ipv4-network": "198.51.100.0/24", "source-ipv4-network": "192.0.2.0/24"}},
            "actions": {"forwarding": "drop"}}]}}]}}"#;
    assert_eq!(http(&mut data, Method::Post, &client, acl), 201);

    let mut s = SignalServer::with_hooks(ServerConfig::default(), data);
    let now = Instant::from_secs(10);
    data_events(&mut s);

    // A mitigation by alias: resolved through the data channel.
    let by_alias = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "alias-name": ["https1"], "lifetime": 3600}]}}"#;
    let (code, _) = put(&mut s, now, 1, by_alias);
    assert_eq!(code, Code::CREATED);
    let ev: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    match &ev[0] {
        ServerEvent::MitigationRequested { aliases, .. } => {
            assert_eq!(aliases.len(), 1);
            assert_eq!(aliases[0].prefixes.len(), 2);
            assert_eq!(aliases[0].port_ranges, vec![(443, 443)]);
        }
        other => panic!("{other:?}"),
    }
    // The client is mitigating: its activate-when-mitigating ACL is installed.
    assert_eq!(
        data_events(&mut s),
        vec![DataEvent::AclActivated {
            cuid: CUID.into(),
            acl: "sample-ipv4-acl".into()
        }]
    );
    // The alias's addresses overlap a lower-mid request with a direct prefix.
    let direct = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "target-prefix": ["2001:db8:6401::2/128"], "lifetime": 3600}]}}"#;
    assert_eq!(put(&mut s, now, 0, direct).0, Code::CONFLICT);
    // An unknown alias: 4.00.
    let unknown = by_alias.replace("https1", "nope");
    assert_eq!(put(&mut s, now, 2, &unknown).0, Code::BAD_REQUEST);

    // RFC 9133: an acl-list while mitigating deactivates the ACL through the data channel.
    let control = r#"{"ietf-dots-signal-channel:mitigation-scope": {"scope": [{
        "target-prefix": ["198.51.100.0/24"], "lifetime": 3600,
        "ietf-dots-signal-control:acl-list": [{"acl-name": "sample-ipv4-acl", "activation-type": "deactivate"}]}]}}"#;
    let (code, body) = put(&mut s, now, 3, control);
    assert_eq!(code, Code::CREATED);
    let e = MitigationScope::decode_cbor(&body).unwrap().scopes[0].clone();
    assert_eq!(e.scope.lifetime, Some(Lifetime::Seconds(3600)));
    assert_eq!(
        data_events(&mut s),
        vec![DataEvent::AclDeactivated {
            cuid: CUID.into(),
            acl: "sample-ipv4-acl".into()
        }]
    );
    assert_eq!(
        s.hooks().is_acl_active(CUID, "sample-ipv4-acl"),
        Some(false)
    );
    // An ACL the client does not have: 4.04.
    let missing = control.replace("sample-ipv4-acl", "no-such-acl");
    assert_eq!(put(&mut s, now, 4, &missing).0, Code::NOT_FOUND);

    // Back to activate-when-mitigating, then the mitigations end: the ACL goes with them.
    let back = control.replace("deactivate", "activate-when-mitigating");
    assert_eq!(put(&mut s, now, 5, &back).0, Code::CREATED);
    data_events(&mut s);
    s.handle_timeout(now + core::time::Duration::from_secs(3600));
    assert_eq!(s.mitigation_count(), 0);
    assert_eq!(
        data_events(&mut s),
        vec![DataEvent::AclDeactivated {
            cuid: CUID.into(),
            acl: "sample-ipv4-acl".into()
        }]
    );
    assert!(!s.is_mitigating(CUID));
    assert!(s
        .mitigation(CUID, 1)
        .is_none_or(|m| m.status != MitigationStatus::InProgress));
    s.check_invariants().unwrap();
}
