//! Every `data-*` example and derived vector of RFC 8783 driven through the sans-IO server,
//! after the setup it presupposes, with the status RFC 8783 (or RFC 8040, where RFC 8783 states
//! none) gives.

mod data_common;

use data_common::*;
use dots_codec::data::{ErrorTag, ErrorType, RestconfErrors};
use dots_proto::data::{DataEvent, DataServerConfig, Method, PeerIdentity, Request};
use serde_json::json;

// ---- registration (RFC 8783 Section 5) --------------------------------------------------------

#[test]
fn data_register_post_01_from_a_gateway_keeps_cdid() {
    // Figure 13 is relayed by a server-domain gateway (hence the cdid): 201 Created.
    let mut h = H::new();
    let gw = PeerIdentity::gateway("gateway-spki-hash");
    let r = h.send_as(&gw, Method::Post, DATA, Some(&fig13()));
    assert_eq!(r.status, 201);
    assert_eq!(r.location.as_deref(), Some(client_uri(CUID).as_str()));
    assert_eq!(h.server.cdid(CUID), Some("7eeaf349529eb55ed50113"));
}

#[test]
fn data_register_post_01_from_a_client_ignores_cdid() {
    // RFC 9132 Section 4.4.1.2: "DOTS servers MUST ignore 'cdid' attributes that are directly
    // supplied by source DOTS clients".
    let mut h = H::new();
    let r = h.send(CUID, Method::Post, DATA, Some(&fig13()));
    assert_eq!(r.status, 201);
    assert_eq!(h.server.cdid(CUID), None);
    assert_eq!(
        h.drain(),
        vec![DataEvent::ClientRegistered { cuid: CUID.into() }]
    );
}

#[test]
fn data_register_post_schema_01_and_02() {
    // Figures 11 and 12 with their placeholder values taken literally.
    let mut h = H::new();
    let fig11 = json!({"ietf-dots-data-channel:dots-client": [{"cuid": "string"}]});
    assert_eq!(
        h.send("string", Method::Post, DATA, Some(&fig11)).status,
        201
    );
    let fig12 =
        json!({"ietf-dots-data-channel:dots-client": [{"cuid": "string2", "cdid": "string"}]});
    let gw = PeerIdentity::gateway("gw");
    assert_eq!(h.send_as(&gw, Method::Post, DATA, Some(&fig12)).status, 201);
    assert_eq!(h.server.cdid("string2"), Some("string"));
}

#[test]
fn data_register_post_twice_is_409_resource_denied() {
    // RFC 8783 Section 5.1: "409 Conflict ... if the data resource already exists. The
    // error-tag 'resource-denied' is used in this case."
    let mut h = H::new();
    h.register(CUID);
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        DATA,
        Some(&fig14()),
        409,
        ErrorTag::ResourceDenied,
    );
}

#[test]
fn data_register_put_01() {
    // Figure 14. No status in RFC 8783; RFC 8040 Section 4.5: 201 on creation, 204 after.
    let mut h = H::new();
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Put, &uri, Some(&fig14())).status, 201);
    assert_eq!(h.send(CUID, Method::Put, &uri, Some(&fig14())).status, 204);
    assert!(h.server.is_registered(CUID));
}

#[test]
fn data_deregister_delete_01() {
    // Figure 15: de-registration deletes the client and everything bound to it.
    let mut h = H::new();
    h.register(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig17()))
            .status,
        201
    );
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
    h.drain();
    let r = h.send(CUID, Method::Delete, &client_uri(CUID), None);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert!(!h.server.is_registered(CUID));
    assert_eq!(
        h.drain(),
        vec![
            DataEvent::AclDeleted {
                cuid: CUID.into(),
                acl: "sample-ipv4-acl".into(),
                was_active: false
            },
            DataEvent::ClientDeregistered { cuid: CUID.into() },
        ]
    );
    assert_eq!(
        h.send(CUID, Method::Get, &client_uri(CUID), None).status,
        404
    );
}

// ---- aliases (RFC 8783 Section 6) -----------------------------------------------------------

#[test]
fn data_alias_post_01() {
    let mut h = H::new();
    h.register(CUID);
    let r = h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig17()));
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{}/aliases/alias=https1", client_uri(CUID)).as_str())
    );
    let a = h.server.alias(CUID, "https1").unwrap();
    assert_eq!(a.target_prefix.len(), 2);
    // "A '409 Conflict' status-line MUST be returned ... if the request is conflicting with an
    // existing alias name. The error-tag 'resource-denied' is used in this case."
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&fig17()),
        409,
        ErrorTag::ResourceDenied,
    );
}

#[test]
fn data_alias_post_schema_01_is_not_json() {
    // Figure 16 is a schema: its placeholders (`integer`) are not JSON.
    let mut h = H::new();
    h.register(CUID);
    let text = br#"{"ietf-dots-data-channel:aliases": {"alias": [{"name": "string",
        "target-port-range": [{"lower-port": integer, "upper-port": integer}]}]}}"#;
    let uri = client_uri(CUID);
    let r = h.raw(CUID, &Request::new(Method::Post, &uri).with_json(text));
    assert_eq!(r.status, 400);
    let e = RestconfErrors::from_json(&r.body).unwrap();
    assert_eq!(e.errors[0].error_tag, ErrorTag::MalformedMessage);
}

#[test]
fn data_alias_get_01_and_response_01() {
    // Figure 18 after creating the aliases of Figure 19 at such times that the pending
    // lifetimes are those printed (3596 and 9869 minutes of 10080).
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    let fig19 = fig19();
    let mut server1 = fig19["ietf-dots-data-channel:aliases"]["alias"][0].clone();
    let mut server2 = fig19["ietf-dots-data-channel:aliases"]["alias"][1].clone();
    server1.as_object_mut().unwrap().remove("pending-lifetime");
    server2.as_object_mut().unwrap().remove("pending-lifetime");
    let post = |a| json!({"ietf-dots-data-channel:aliases": {"alias": [a]}});
    assert_eq!(
        h.send(CUID, Method::Post, &uri, Some(&post(server1)))
            .status,
        201
    );
    h.advance(minutes(9869 - 3596));
    assert_eq!(
        h.send(CUID, Method::Post, &uri, Some(&post(server2)))
            .status,
        201
    );
    h.advance(minutes(10080 - 9869));
    let got = h.get_json(CUID, &format!("{uri}/aliases?content=all"));
    assert_eq!(got, fig19);
}

#[test]
fn data_alias_get_02() {
    // Figure 20 (after an alias named Server2 is created).
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &uri, Some(&fig17_named("Server2")))
            .status,
        201
    );
    let got = h.get_json(CUID, &format!("{uri}/aliases/alias=Server2?content=all"));
    let mut want = fig17_named("Server2");
    want["ietf-dots-data-channel:aliases"]["alias"][0]["pending-lifetime"] = json!(10080);
    assert_eq!(got, want);
}

#[test]
fn data_alias_delete_01() {
    // Figure 21: 204; a second DELETE finds nothing: 404.
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &uri, Some(&fig17_named("Server1")))
            .status,
        201
    );
    h.drain();
    let del = format!("{uri}/aliases/alias=Server1");
    assert_eq!(h.send(CUID, Method::Delete, &del, None).status, 204);
    assert_eq!(
        h.drain(),
        vec![DataEvent::AliasDeleted {
            cuid: CUID.into(),
            alias: "Server1".into()
        }]
    );
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Delete,
        &del,
        None,
        404,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn data_neg_alias_get_unknown_01() {
    let mut h = H::new();
    h.register(CUID);
    let uri = format!(
        "{}/aliases/alias=Unknown-Alias?content=all",
        client_uri(CUID)
    );
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Get,
        &uri,
        None,
        404,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn data_neg_alias_multicast_01() {
    let mut h = H::new();
    h.register(CUID);
    let mut body = fig17();
    body["ietf-dots-data-channel:aliases"]["alias"][0]["target-prefix"] = json!(["224.0.0.1/32"]);
    let r = h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::InvalidValue,
    );
    let e = RestconfErrors::from_json(&r.body).unwrap();
    assert_eq!(
        e.errors[0].error_path.as_deref(),
        Some("/ietf-dots-data-channel:dots-data/dots-client[cuid='dz6pHjaADkaFTbjr0JGBpw']/aliases/alias[name='https1']/target-prefix")
    );
}

#[test]
fn data_neg_alias_no_target_01() {
    let mut h = H::new();
    h.register(CUID);
    let mut body = fig17();
    body["ietf-dots-data-channel:aliases"]["alias"][0]
        .as_object_mut()
        .unwrap()
        .remove("target-prefix");
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::MissingAttribute,
    );
}

// ---- capabilities and filtering rules (RFC 8783 Section 7) -----------------------------------

#[test]
fn data_capabilities_get_01_and_response_01() {
    // Figure 23 is the answer of a server that supports the mandatory set of Section 4.2.
    let mut config = DataServerConfig::default();
    config.capabilities = dots_codec::data::Capabilities::rfc8783_mandatory();
    let mut h = H::with_config(config);
    h.register(CUID);
    let got = h.get_json(CUID, &format!("{DATA}/capabilities"));
    assert_eq!(unqualified(got.clone()), fig23());
    // identities are module-qualified on the wire (RFC 7951 Section 6.8)
    assert_eq!(
        got["ietf-dots-data-channel:capabilities"]["forwarding-actions"],
        json!([
            "ietf-access-control-list:drop",
            "ietf-access-control-list:accept"
        ])
    );
}

#[test]
fn data_acl_post_01() {
    let mut h = H::new();
    h.register(CUID);
    let r = h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()));
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{}/acls/acl=sample-ipv4-acl", client_uri(CUID)).as_str())
    );
    // activate-when-mitigating: stored, not enforced while idle
    assert_eq!(h.server.is_acl_active(CUID, "sample-ipv4-acl"), Some(false));
    assert_eq!(h.drain(), vec![]);
}

#[test]
fn data_acl_post_02_figure34_is_rejected() {
    // RFC 8783 Appendix A, Figure 34 nests "actions" inside "matches" (FIELDS.md; compare
    // Figure 35). The module has no such node: 400 with 'unknown-element' (RFC 8783 Section
    // 7.2: "contains an invalid or unknown parameter").
    let mut h = H::new();
    h.register(CUID);
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&fig34()),
        400,
        ErrorTag::UnknownElement,
    );
    // With "actions" where Figure 35 has it, the IPv4 version is accepted.
    let mut fixed = fig34();
    let ace = &mut fixed["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][1];
    let actions = ace["matches"]
        .as_object_mut()
        .unwrap()
        .remove("actions")
        .unwrap();
    ace["actions"] = actions;
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fixed))
            .status,
        201
    );
}

#[test]
fn data_acl_post_03() {
    let mut h = H::new();
    h.register(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig35()))
            .status,
        201
    );
    assert_eq!(
        h.server
            .acl(CUID, "dns-fragments")
            .unwrap()
            .ace_list()
            .len(),
        2
    );
}

#[test]
fn data_acl_put_01() {
    // Figure 25: an immediate ACL, enforced at once. No status printed ("a positive response");
    // RFC 8040 Section 4.5: 201 on creation.
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=test-acl-ipv6-udp", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 201);
    assert_eq!(
        h.drain(),
        vec![DataEvent::AclActivated {
            cuid: CUID2.into(),
            acl: "test-acl-ipv6-udp".into()
        }]
    );
    // A refresh with the same content: 204, no event for the filtering engine.
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 204);
    assert_eq!(h.drain(), vec![]);
}

#[test]
fn data_acl_put_02_figure36() {
    // Figure 36: an immediate ACL matching only TCP flags. RFC 8783 Section 7.2 makes the
    // destination network "mandatory ... in requests with an 'activation-type' set to
    // 'immediate'"; the figure has no IPv4/IPv6 match at all. We apply the rule to ACEs that
    // have an IPv4/IPv6 match (see data-neg-acl-immediate-no-destination-01), so the figure is
    // accepted as printed and covers the whole client domain.
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=tcp-flags-example", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig36())).status, 201);
    assert_eq!(
        h.server.is_acl_active(CUID2, "tcp-flags-example"),
        Some(true)
    );
}

#[test]
fn data_acl_put_03_and_04() {
    // Figures 37 and 38 replace the same ACL in turn: 201, then 204.
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=tcp-flags-example", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig37())).status, 201);
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig38())).status, 204);
    let acl = h.server.acl(CUID2, "tcp-flags-example").unwrap();
    assert_eq!(acl.ace_list()[0].name, "rate-limit-ack");
}

#[test]
fn data_acl_get_01() {
    // Figure 26 after Figure 24 (the kit's setup; see data_acl_get_response_01 for Figure 27).
    let mut h = H::new();
    h.register(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
    let got = h.get_json(CUID, &format!("{}/acls?content=all", client_uri(CUID)));
    let mut want = fig24();
    want["ietf-dots-data-channel:acls"]["acl"][0]["pending-lifetime"] = json!(10080);
    assert_eq!(unqualified(got), want);
}

#[test]
fn data_acl_get_response_01() {
    // Figure 27 answers Figure 26 for the ACL of Figure 25. Figure 26's URI names cuid
    // dz6pHjaADkaFTbjr0JGBpw although Figure 25 created the ACL under paL8p4Zqo4SLv64TLPXrxA
    // (FIELDS.md): we ask under the creator's cuid; the other cuid does not see it.
    let mut h = H::new();
    h.register(CUID2);
    h.register(CUID);
    let uri = format!("{}/acls/acl=test-acl-ipv6-udp", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 201);
    h.advance(minutes(10080 - 9080));
    let got = h.get_json(CUID2, &format!("{}/acls?content=all", client_uri(CUID2)));
    assert_eq!(unqualified(got), fig27());
    assert_eq!(
        h.get_json(CUID, &format!("{}/acls?content=all", client_uri(CUID))),
        json!({"ietf-dots-data-channel:acls": {}})
    );
}

#[test]
fn data_acl_get_02_and_response_02() {
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=test-acl-ipv6-udp", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 201);
    let got = h.get_json(CUID2, &format!("{uri}?content=config"));
    assert_eq!(unqualified(got), fig25(), "Figure 29");
}

#[test]
fn data_acl_get_03_and_response_03() {
    // Figure 30 prints "content=non-config"; RFC 8040 Section 4.8.1 spells it "nonconfig".
    // Both are accepted.
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=test-acl-ipv6-udp", client_uri(CUID2));
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 201);
    h.advance(minutes(10080 - 8000));
    assert_eq!(
        h.get_json(CUID2, &format!("{uri}?content=non-config")),
        fig31(),
        "Figure 31"
    );
    assert_eq!(
        h.get_json(CUID2, &format!("{uri}?content=nonconfig")),
        fig31()
    );
}

#[test]
fn data_neg_acl_get_unknown_01() {
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=unknown-acl?content=config", client_uri(CUID2));
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Get,
        &uri,
        None,
        404,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn data_acl_delete_01_and_response_01() {
    let mut h = H::new();
    h.register(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
    let r = h.send(
        CUID,
        Method::Delete,
        &format!("{}/acls/acl=sample-ipv4-acl", client_uri(CUID)),
        None,
    );
    // Figure 33: 204 No Content, no body.
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(
        h.drain(),
        vec![DataEvent::AclDeleted {
            cuid: CUID.into(),
            acl: "sample-ipv4-acl".into(),
            was_active: false
        }]
    );
}

#[test]
fn data_neg_acl_delete_unknown_01() {
    let mut h = H::new();
    h.register(CUID);
    let uri = format!("{}/acls/acl=unknown-acl", client_uri(CUID));
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Delete,
        &uri,
        None,
        404,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn data_neg_acl_immediate_no_destination_01() {
    let mut h = H::new();
    h.register(CUID);
    let body = json!({"ietf-dots-data-channel:acls": {"acl": [{
        "name": "sample-ipv4-acl", "type": "ipv4-acl-type", "activation-type": "immediate",
        "aces": {"ace": [{"name": "rule1",
            "matches": {"ipv4": {"source-ipv4-network": "192.0.2.0/24"}},
            "actions": {"forwarding": "drop"}}]}}]}});
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::MissingAttribute,
    );
}

#[test]
fn data_neg_acl_missing_actions_01() {
    let mut h = H::new();
    h.register(CUID);
    let mut body = fig24();
    body["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]
        .as_object_mut()
        .unwrap()
        .remove("actions");
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::MissingAttribute,
    );
}

#[test]
fn data_neg_acl_conflict_01() {
    // Two clients of one domain (same cdid, relayed by a trusted gateway). The first
    // accept-lists what the vector drop-lists: RFC 8783 Section 7.2 answers 409
    // 'resource-denied' absent local policy.
    let mut h = H::new();
    let gw = PeerIdentity::gateway("gw");
    for cuid in [CUID2, CUID] {
        let reg =
            json!({"ietf-dots-data-channel:dots-client": [{"cuid": cuid, "cdid": "domain-a"}]});
        assert_eq!(h.send_as(&gw, Method::Post, DATA, Some(&reg)).status, 201);
    }
    let mut accept = fig24();
    accept["ietf-dots-data-channel:acls"]["acl"][0]["name"] = json!("partner");
    accept["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["actions"]["forwarding"] =
        json!("accept");
    assert_eq!(
        h.send_as(&gw, Method::Post, &client_uri(CUID2), Some(&accept))
            .status,
        201
    );
    h.expect_error(
        &gw,
        Method::Post,
        &client_uri(CUID),
        Some(&fig24()),
        409,
        ErrorTag::ResourceDenied,
    );
    // The same filter with the same action is no conflict.
    let mut same = fig24();
    same["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["actions"]["forwarding"] =
        json!("accept");
    assert_eq!(
        h.send_as(&gw, Method::Post, &client_uri(CUID), Some(&same))
            .status,
        201
    );
}

#[test]
fn data_neg_acl_conflict_01_other_domains_do_not_conflict() {
    let mut h = H::new();
    h.register(CUID2);
    h.register(CUID);
    let mut accept = fig24();
    accept["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["actions"]["forwarding"] =
        json!("accept");
    assert_eq!(
        h.send(CUID2, Method::Post, &client_uri(CUID2), Some(&accept))
            .status,
        201
    );
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
}

#[test]
fn data_client_fragment_and_flags_01() {
    // RFC 8783 Section 4.2: clients "MUST NOT set these fields in the same request"; the
    // server reaction is unspecified. We refuse it (400 invalid-value) rather than guess which
    // of the two the client meant. The client helpers never build it (see data_client.rs).
    let mut h = H::new();
    h.register(CUID);
    let mut body = fig24();
    let v4 =
        &mut body["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["matches"]["ipv4"];
    v4["fragment"] = json!({"operator": "match", "type": "isf"});
    v4["flags"] = json!("more");
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::InvalidValue,
    );
    // A server whose capabilities do not list 'flags' (Figure 23) finds an unsupported field.
    let mut config = DataServerConfig::default();
    config.capabilities = dots_codec::data::Capabilities::rfc8783_mandatory();
    let mut h2 = H::with_config(config);
    h2.register(CUID);
    h2.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::UnknownElement,
    );
}

#[test]
fn data_neg_loop_detected_01() {
    // RFC 8783 Section 3.4, Figure 3: 508 with error-app-tag 'loop-detected', error-tag
    // 'operation-failed' and a copy of the Via header in error-info. Figure 3 lists the
    // error-type as "transport, application"; RESTCONF allows one value: we use "transport".
    let mut config = DataServerConfig::default();
    config.via_names = vec!["<this-gateway>".into()];
    let mut h = H::with_config(config);
    h.register(CUID);
    let body = fig24().to_string();
    let uri = client_uri(CUID);
    let req = Request::new(Method::Post, &uri)
        .with_json(body.as_bytes())
        .with_via("1.1 <this-gateway>");
    let before = h.server.snapshot(h.now);
    let r = h.raw(CUID, &req);
    assert_eq!(r.status, 508);
    let e = &RestconfErrors::from_json(&r.body).unwrap().errors[0];
    assert_eq!(e.error_tag, ErrorTag::OperationFailed);
    assert_eq!(e.error_app_tag.as_deref(), Some("loop-detected"));
    assert_eq!(e.error_type, ErrorType::Transport);
    assert_eq!(
        e.error_info,
        Some(json!({"via-header": "1.1 <this-gateway>"}))
    );
    assert_eq!(h.server.snapshot(h.now), before);
    // Another agent in Via is no loop.
    let req = Request::new(Method::Post, &uri)
        .with_json(body.as_bytes())
        .with_via("1.1 other-gw, 1.0 proxy (comment)");
    assert_eq!(h.raw(CUID, &req).status, 201);
}
