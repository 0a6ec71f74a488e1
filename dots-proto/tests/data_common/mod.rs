//! Shared harness of the data-channel tests: a server on a virtual clock, request helpers, and
//! the RFC 8783 example bodies restated as test data.
#![allow(dead_code, unreachable_pub)]

use core::time::Duration;

use dots_codec::data::{DataBody, ErrorTag, ErrorType, RestconfErrors};
use dots_proto::data::{
    AllowAll, DataEvent, DataPolicy, DataServer, DataServerConfig, Method, PeerIdentity, Request,
    Response,
};
use dots_proto::time::Instant;
use serde_json::{json, Value};

/// cuid of RFC 8783 Figures 13 to 24 and 32.
pub const CUID: &str = "dz6pHjaADkaFTbjr0JGBpw";
/// cuid of RFC 8783 Figures 25, 28, 30 and 36 to 38.
pub const CUID2: &str = "paL8p4Zqo4SLv64TLPXrxA";
/// `{restconf}/data/ietf-dots-data-channel:dots-data`.
pub const DATA: &str = "/restconf/data/ietf-dots-data-channel:dots-data";
pub const JSON: &str = "application/yang-data+json";

pub fn client_uri(cuid: &str) -> String {
    format!("{DATA}/dots-client={cuid}")
}

pub fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// A server on a virtual clock.
pub struct H<P: DataPolicy = AllowAll> {
    pub server: DataServer<P>,
    pub now: Instant,
}

impl H<AllowAll> {
    pub fn new() -> H<AllowAll> {
        H::with_config(DataServerConfig::default())
    }

    pub fn with_config(config: DataServerConfig) -> H<AllowAll> {
        H {
            server: DataServer::new(config),
            now: Instant::from_secs(1000),
        }
    }
}

impl<P: DataPolicy> H<P> {
    pub fn with_policy(config: DataServerConfig, policy: P) -> H<P> {
        H {
            server: DataServer::with_policy(config, policy),
            now: Instant::from_secs(1000),
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Sends a request as the DOTS client `peer`; `body` is JSON, sent with the RESTCONF media
    /// type.
    pub fn send(
        &mut self,
        peer: &str,
        method: Method,
        target: &str,
        body: Option<&Value>,
    ) -> Response {
        self.send_as(&PeerIdentity::client(peer), method, target, body)
    }

    pub fn send_as(
        &mut self,
        peer: &PeerIdentity<'_>,
        method: Method,
        target: &str,
        body: Option<&Value>,
    ) -> Response {
        let text = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = Request::new(method, target).with_accept(JSON);
        if body.is_some() {
            req = req.with_json(&text);
        }
        self.server.handle_request(self.now, peer, &req)
    }

    pub fn raw(&mut self, peer: &str, req: &Request<'_>) -> Response {
        self.server
            .handle_request(self.now, &PeerIdentity::client(peer), req)
    }

    pub fn register(&mut self, cuid: &str) {
        let r = self.send(
            cuid,
            Method::Post,
            DATA,
            Some(&json!({"ietf-dots-data-channel:dots-client": [{"cuid": cuid}]})),
        );
        assert_eq!(r.status, 201, "registration of {cuid}: {}", body_text(&r));
        self.drain();
    }

    pub fn drain(&mut self) -> Vec<DataEvent> {
        let mut v = Vec::new();
        while let Some(e) = self.server.poll_event() {
            v.push(e);
        }
        v
    }

    /// Sends a request that must fail with `status`/`tag` and change nothing.
    pub fn expect_error(
        &mut self,
        peer: &PeerIdentity<'_>,
        method: Method,
        target: &str,
        body: Option<&Value>,
        status: u16,
        tag: ErrorTag,
    ) -> Response {
        self.drain();
        let before = self.server.snapshot(self.now);
        let r = self.send_as(peer, method, target, body);
        assert_eq!(r.status, status, "{method} {target}: {}", body_text(&r));
        let errors = RestconfErrors::from_json(&r.body).expect("an ietf-restconf:errors body");
        assert_eq!(errors.errors[0].error_tag, tag, "{}", body_text(&r));
        assert_eq!(r.content_type, Some(JSON));
        assert_eq!(
            self.server.snapshot(self.now),
            before,
            "state changed on error"
        );
        assert_eq!(self.drain(), vec![], "events on error");
        r
    }

    pub fn get_json(&mut self, peer: &str, target: &str) -> Value {
        let r = self.send(peer, Method::Get, target, None);
        assert_eq!(r.status, 200, "GET {target}: {}", body_text(&r));
        assert_eq!(r.content_type, Some(JSON));
        serde_json::from_slice(&r.body).unwrap()
    }
}

pub fn body_text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

pub fn error_type(r: &Response) -> ErrorType {
    RestconfErrors::from_json(&r.body).unwrap().errors[0].error_type
}

/// JSON values compared with identities of `ietf-access-control-list` unqualified (RFC 8783
/// prints them so; RFC 7951 Section 6.8 has us write them qualified).
pub fn unqualified(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(
            s.strip_prefix("ietf-access-control-list:")
                .map(str::to_string)
                .unwrap_or(s),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(unqualified).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, unqualified(v))).collect())
        }
        other => other,
    }
}

pub fn parse_body(v: &Value) -> DataBody {
    DataBody::from_json(v.to_string().as_bytes()).unwrap()
}

// ---- RFC 8783 example bodies ----------------------------------------------------------------

/// Figure 13 (registration relayed by a gateway, with cdid).
pub fn fig13() -> Value {
    json!({"ietf-dots-data-channel:dots-client": [
        {"cuid": CUID, "cdid": "7eeaf349529eb55ed50113"}]})
}

/// Figure 14 (PUT registration).
pub fn fig14() -> Value {
    json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID}]})
}

/// Figure 17 (alias "https1"), with another name if asked.
pub fn fig17_named(name: &str) -> Value {
    json!({"ietf-dots-data-channel:aliases": {"alias": [{
        "name": name, "target-protocol": [6],
        "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{"lower-port": 443}]}]}})
}

pub fn fig17() -> Value {
    fig17_named("https1")
}

/// Figure 19 (aliases Server1 and Server2 with their pending lifetimes).
pub fn fig19() -> Value {
    json!({"ietf-dots-data-channel:aliases": {"alias": [
        {"name": "Server1", "target-protocol": [6],
         "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
         "target-port-range": [{"lower-port": 443}], "pending-lifetime": 3596},
        {"name": "Server2", "target-protocol": [6],
         "target-prefix": ["2001:db8:6401::10/128", "2001:db8:6401::20/128"],
         "target-port-range": [{"lower-port": 80}], "pending-lifetime": 9869}]}})
}

/// Figure 23 (capabilities).
pub fn fig23() -> Value {
    json!({"ietf-dots-data-channel:capabilities": {
        "address-family": ["ipv4", "ipv6"], "forwarding-actions": ["drop", "accept"],
        "rate-limit": true, "transport-protocols": [1, 6, 17, 58],
        "ipv4": {"length": true, "protocol": true, "destination-prefix": true,
                 "source-prefix": true, "fragment": true},
        "ipv6": {"length": true, "protocol": true, "destination-prefix": true,
                 "source-prefix": true, "fragment": true},
        "tcp": {"flags-bitmask": true, "source-port": true, "destination-port": true,
                "port-range": true},
        "udp": {"length": true, "source-port": true, "destination-port": true,
                "port-range": true},
        "icmp": {"type": true, "code": true}}})
}

/// The ACE of Figure 24.
pub fn fig24_ace() -> Value {
    json!({"name": "rule1",
        "matches": {"ipv4": {"destination-ipv4-network": "198.51.100.0/24",
                             "source-ipv4-network": "192.0.2.0/24"}},
        "actions": {"forwarding": "drop"}})
}

/// Figure 24 (ACL "sample-ipv4-acl").
pub fn fig24() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "sample-ipv4-acl", "type": "ipv4-acl-type",
        "activation-type": "activate-when-mitigating",
        "aces": {"ace": [fig24_ace()]}}]}})
}

/// The ACL entry of Figure 25 / Figure 29.
pub fn fig25_acl() -> Value {
    json!({"name": "test-acl-ipv6-udp", "type": "ipv6-acl-type", "activation-type": "immediate",
        "aces": {"ace": [{"name": "my-test-ace",
            "matches": {
                "ipv6": {"destination-ipv6-network": "2001:db8:6401::2/127",
                         "source-ipv6-network": "2001:db8:1234::/96",
                         "protocol": 17, "flow-label": 10000},
                "udp": {"source-port-range-or-operator": {"operator": "lte", "port": 80},
                        "destination-port-range-or-operator": {"operator": "neq", "port": 1010}}},
            "actions": {"forwarding": "accept"}}]}})
}

/// Figure 25 (PUT body of "test-acl-ipv6-udp"), also the body of Figure 29.
pub fn fig25() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [fig25_acl()]}})
}

/// Figure 27 (GET response with a pending lifetime of 9080 minutes).
pub fn fig27() -> Value {
    let mut acl = fig25_acl();
    acl["pending-lifetime"] = json!(9080);
    json!({"ietf-dots-data-channel:acls": {"acl": [acl]}})
}

/// Figure 31 (non-configuration data, pending lifetime 8000 minutes).
pub fn fig31() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "test-acl-ipv6-udp", "pending-lifetime": 8000,
        "aces": {"ace": [{"name": "my-test-ace"}]}}]}})
}

/// Figure 34 as printed: "actions" of the second ACE inside "matches".
pub fn fig34() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "dns-fragments", "type": "ipv4-acl-type",
        "aces": {"ace": [
            {"name": "drop-all-fragments",
             "matches": {"ipv4": {"fragment": {"operator": "match", "type": "isf"}}},
             "actions": {"forwarding": "drop"}},
            {"name": "allow-dns-packets",
             "matches": {"ipv4": {"destination-ipv4-network": "198.51.100.0/24"},
                         "udp": {"destination-port-range-or-operator": {"operator": "eq", "port": 53}},
                         "actions": {"forwarding": "accept"}}}]}}]}})
}

/// Figure 35 (IPv6 fragments).
pub fn fig35() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "dns-fragments", "type": "ipv6-acl-type",
        "aces": {"ace": [
            {"name": "drop-all-fragments",
             "matches": {"ipv6": {"fragment": {"operator": "match", "type": "isf"}}},
             "actions": {"forwarding": "drop"}},
            {"name": "allow-dns-packets",
             "matches": {"ipv6": {"destination-ipv6-network": "2001:db8::/32"},
                         "udp": {"destination-port-range-or-operator": {"operator": "eq", "port": 53}}},
             "actions": {"forwarding": "accept"}}]}}]}})
}

/// Figure 36 (immediate drop of TCP null attacks).
pub fn fig36() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "tcp-flags-example", "activation-type": "immediate",
        "aces": {"ace": [{"name": "null-attack",
            "matches": {"tcp": {"flags-bitmask": {"operator": "not any", "bitmask": 4095}}},
            "actions": {"forwarding": "drop"}}]}}]}})
}

/// Figure 37 (rate-limit SYN).
pub fn fig37() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "tcp-flags-example", "activation-type": "activate-when-mitigating",
        "aces": {"ace": [{"name": "rate-limit-syn",
            "matches": {"tcp": {"flags-bitmask": {"operator": "match", "bitmask": 2}}},
            "actions": {"forwarding": "accept", "rate-limit": "20.00"}}]}}]}})
}

/// Figure 38 (rate-limit ACK).
pub fn fig38() -> Value {
    json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "tcp-flags-example", "type": "ipv4-acl-type",
        "activation-type": "activate-when-mitigating",
        "aces": {"ace": [{"name": "rate-limit-ack",
            "matches": {"tcp": {"flags-bitmask": {"operator": "match", "bitmask": 16}}},
            "actions": {"forwarding": "accept", "rate-limit": "20.00"}}]}}]}})
}
