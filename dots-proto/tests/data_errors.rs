//! One test per error case of the data channel: each gets the RFC's status and error-tag and
//! leaves the state as it was (checked by `H::expect_error`).

mod data_common;

use data_common::*;
use dots_codec::data::{ErrorTag, IpNet, RestconfErrors};
use dots_proto::data::{
    DataServer, DataServerConfig, Limits, Method, PeerIdentity, Request, StaticPolicy,
};
use serde_json::{json, Value};

fn me() -> PeerIdentity<'static> {
    PeerIdentity::client(CUID)
}

fn registered() -> H {
    let mut h = H::new();
    h.register(CUID);
    h
}

fn alias_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut b = fig17();
    f(&mut b["ietf-dots-data-channel:aliases"]["alias"][0]);
    b
}

fn acl_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut b = fig24();
    f(&mut b["ietf-dots-data-channel:acls"]["acl"][0]);
    b
}

fn post_client(h: &mut H, body: &Value, status: u16, tag: ErrorTag) {
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(body),
        status,
        tag,
    );
}

// ---- HTTP / RESTCONF layer --------------------------------------------------------------------

#[test]
fn wrong_method_is_405_with_allow() {
    let mut h = registered();
    let r = h.expect_error(
        &me(),
        Method::Delete,
        &format!("{DATA}/capabilities"),
        None,
        405,
        ErrorTag::OperationNotSupported,
    );
    assert_eq!(r.allow, Some("GET, HEAD, OPTIONS"));
    let r = h.expect_error(
        &me(),
        Method::Put,
        DATA,
        Some(&fig14()),
        405,
        ErrorTag::OperationNotSupported,
    );
    assert_eq!(r.allow, Some("GET, HEAD, POST, OPTIONS"));
    h.expect_error(
        &me(),
        Method::Post,
        &format!("{}/aliases/alias=x", client_uri(CUID)),
        Some(&fig17()),
        405,
        ErrorTag::OperationNotSupported,
    );
}

#[test]
fn unknown_method_is_501() {
    let mut h = registered();
    h.expect_error(
        &me(),
        Method::Other,
        DATA,
        None,
        501,
        ErrorTag::OperationNotSupported,
    );
}

#[test]
fn unacceptable_accept_is_406() {
    let mut h = registered();
    for accept in [
        "application/yang-data+xml",
        "text/html",
        "application/yang-data+json;q=0",
    ] {
        let r = h.raw(
            CUID,
            &Request::new(Method::Get, &format!("{DATA}/capabilities")).with_accept(accept),
        );
        assert_eq!(r.status, 406, "{accept}");
        assert!(RestconfErrors::from_json(&r.body).is_ok());
    }
    for accept in [
        "*/*",
        "application/*",
        "text/html, application/yang-data+json;q=0.5",
        "",
    ] {
        let r = h.raw(
            CUID,
            &Request::new(Method::Get, &format!("{DATA}/capabilities")).with_accept(accept),
        );
        assert_eq!(r.status, 200, "{accept}");
    }
}

#[test]
fn wrong_content_type_is_415() {
    let mut h = registered();
    let body = fig17().to_string();
    let uri = client_uri(CUID);
    for ct in [
        Some("application/json"),
        Some("application/yang-data+xml"),
        None,
    ] {
        let mut req = Request::new(Method::Post, &uri).with_json(body.as_bytes());
        req.content_type = ct;
        let r = h.raw(CUID, &req);
        assert_eq!(r.status, 415, "{ct:?}");
    }
    let mut req = Request::new(Method::Post, &uri).with_json(body.as_bytes());
    req.content_type = Some("application/yang-data+json; charset=utf-8");
    assert_eq!(h.raw(CUID, &req).status, 201, "parameters are allowed");
}

#[test]
fn empty_body_is_400_malformed() {
    let mut h = registered();
    let uri = client_uri(CUID);
    let r = h.raw(CUID, &Request::new(Method::Post, &uri).with_json(b""));
    assert_eq!(r.status, 400);
    assert_eq!(
        RestconfErrors::from_json(&r.body).unwrap().errors[0].error_tag,
        ErrorTag::MalformedMessage
    );
}

#[test]
fn oversized_body_is_413() {
    let mut config = DataServerConfig::default();
    config.max_body_len = 100;
    let mut h = H::with_config(config);
    h.register(CUID);
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&fig24()),
        413,
        ErrorTag::TooBig,
    );
}

#[test]
fn unknown_resource_is_404() {
    let mut h = registered();
    for path in [
        "/restconf/data/other-module:x".to_string(),
        "/rest/data/ietf-dots-data-channel:dots-data".into(),
        format!("{DATA}/nothing"),
        format!("{}/aliases/alias=a/target-prefix", client_uri(CUID)),
        format!("{}/acls/acl=a/aces/ace=b/matches", client_uri(CUID)),
        format!("{DATA}/dots-client"),
    ] {
        h.expect_error(&me(), Method::Get, &path, None, 404, ErrorTag::InvalidValue);
    }
}

#[test]
fn unknown_client_is_404() {
    let mut h = H::new();
    h.expect_error(
        &me(),
        Method::Get,
        &client_uri(CUID),
        None,
        404,
        ErrorTag::InvalidValue,
    );
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&fig17()),
        404,
        ErrorTag::InvalidValue,
    );
    h.expect_error(
        &me(),
        Method::Delete,
        &client_uri(CUID),
        None,
        404,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn bad_percent_encoding_is_400() {
    let mut h = registered();
    h.expect_error(
        &me(),
        Method::Get,
        &format!("{}/aliases/alias=%zz", client_uri(CUID)),
        None,
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn malformed_json_is_400() {
    let mut h = registered();
    let uri = client_uri(CUID);
    for text in [
        &b"{"[..],
        b"[]",
        b"null",
        b"{\"ietf-dots-data-channel:aliases\": 5}",
    ] {
        let r = h.raw(CUID, &Request::new(Method::Post, &uri).with_json(text));
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(text));
    }
}

// ---- query parameters (RFC 8040 Section 4.8) ----------------------------------------------------

#[test]
fn bad_query_parameters_are_400() {
    let mut h = registered();
    let acls = format!("{}/acls", client_uri(CUID));
    for q in [
        "content=all&content=config",
        "content=everything",
        "depth=0",
        "depth=abc",
        "depth=70000",
        "fields=name",
        "with-defaults=report-all",
        "insert=first",
        "point=x",
    ] {
        h.expect_error(
            &me(),
            Method::Get,
            &format!("{acls}?{q}"),
            None,
            400,
            ErrorTag::InvalidValue,
        );
    }
    // insert/point on POST: before/after need a point naming an existing entry
    post_insert(&mut h, "insert=before", ErrorTag::MissingAttribute);
    post_insert(&mut h, "insert=after&point=%2Fietf-dots-data-channel%3Adots-data%2Fdots-client%3Ddz6pHjaADkaFTbjr0JGBpw%2Facls%2Facl%3Dmissing", ErrorTag::InvalidValue);
    post_insert(&mut h, "insert=last&point=x", ErrorTag::InvalidValue);
    post_insert(&mut h, "insert=middle", ErrorTag::InvalidValue);
    post_insert(&mut h, "content=config", ErrorTag::InvalidValue);
    // insert does not apply to aliases (not ordered by user)
    h.expect_error(
        &me(),
        Method::Post,
        &format!("{}?insert=first", client_uri(CUID)),
        Some(&fig17()),
        400,
        ErrorTag::InvalidValue,
    );
}

fn post_insert(h: &mut H, q: &str, tag: ErrorTag) {
    h.expect_error(
        &me(),
        Method::Post,
        &format!("{}?{q}", client_uri(CUID)),
        Some(&fig24()),
        400,
        tag,
    );
}

// ---- registration ----------------------------------------------------------------------------

#[test]
fn registration_without_cuid_is_missing_attribute() {
    // RFC 8783 Section 5.1: "400 Bad Request ... if the request does not include a 'cuid'
    // parameter. The error-tag 'missing-attribute' is used in this case."
    let mut h = H::new();
    let body = json!({"ietf-dots-data-channel:dots-client": [{"cdid": "x"}]});
    h.expect_error(
        &me(),
        Method::Post,
        DATA,
        Some(&body),
        400,
        ErrorTag::MissingAttribute,
    );
}

#[test]
fn registration_of_two_clients_is_rejected() {
    // RFC 8783 Section 5.1: "Requests with multiple 'dots-client' resources MUST be rejected".
    let mut h = H::new();
    let body = json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID}, {"cuid": CUID2}]});
    h.expect_error(
        &PeerIdentity::gateway("gw"),
        Method::Post,
        DATA,
        Some(&body),
        400,
        ErrorTag::InvalidValue,
    );
    let empty = json!({"ietf-dots-data-channel:dots-client": []});
    h.expect_error(
        &me(),
        Method::Post,
        DATA,
        Some(&empty),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn registration_of_an_empty_cuid_is_invalid() {
    let mut h = H::new();
    let body = json!({"ietf-dots-data-channel:dots-client": [{"cuid": ""}]});
    h.expect_error(
        &PeerIdentity::gateway("gw"),
        Method::Post,
        DATA,
        Some(&body),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn registration_of_another_cuid_is_forbidden() {
    // The cuid comes from the client's credentials (RFC 9132 Section 4.4.1.1).
    let mut h = H::new();
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Post,
        DATA,
        Some(&fig14()),
        403,
        ErrorTag::AccessDenied,
    );
}

#[test]
fn registration_of_a_cuid_in_use_is_409() {
    // RFC 9132 Section 4.4.1.1: 4.09 when "the 'cuid' is already in use by another DOTS client";
    // RFC 8783 Section 5.1: 409 'resource-denied'.
    let mut h = H::new();
    let gw = PeerIdentity::gateway("gw");
    assert_eq!(
        h.send_as(&gw, Method::Post, DATA, Some(&fig14())).status,
        201
    );
    h.expect_error(
        &me(),
        Method::Post,
        DATA,
        Some(&fig14()),
        409,
        ErrorTag::ResourceDenied,
    );
    h.expect_error(
        &me(),
        Method::Put,
        &client_uri(CUID),
        Some(&fig14()),
        409,
        ErrorTag::ResourceDenied,
    );
    // and the direct client may not touch the gateway's registration
    h.expect_error(
        &me(),
        Method::Delete,
        &client_uri(CUID),
        None,
        403,
        ErrorTag::AccessDenied,
    );
}

#[test]
fn put_with_another_key_in_the_body_is_invalid() {
    let mut h = registered();
    let body = json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID2}]});
    h.expect_error(
        &me(),
        Method::Put,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::InvalidValue,
    );
    let alias = format!("{}/aliases/alias=other", client_uri(CUID));
    h.expect_error(
        &me(),
        Method::Put,
        &alias,
        Some(&fig17()),
        400,
        ErrorTag::InvalidValue,
    );
    let acl = format!("{}/acls/acl=other", client_uri(CUID));
    h.expect_error(
        &me(),
        Method::Put,
        &acl,
        Some(&fig24()),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn wrong_body_member_is_unknown_element() {
    let mut h = registered();
    h.expect_error(
        &me(),
        Method::Post,
        DATA,
        Some(&fig17()),
        400,
        ErrorTag::UnknownElement,
    );
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&fig14()),
        400,
        ErrorTag::UnknownElement,
    );
    h.expect_error(
        &me(),
        Method::Put,
        &format!("{}/aliases/alias=https1", client_uri(CUID)),
        Some(&fig24()),
        400,
        ErrorTag::UnknownElement,
    );
}

#[test]
fn another_clients_resources_are_forbidden() {
    let mut h = registered();
    h.register(CUID2);
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Get,
        &client_uri(CUID),
        None,
        403,
        ErrorTag::AccessDenied,
    );
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Post,
        &client_uri(CUID),
        Some(&fig17()),
        403,
        ErrorTag::AccessDenied,
    );
}

#[test]
fn gateway_without_cdid_is_refused_when_cdid_is_expected() {
    // RFC 8783 Sections 6.1 and 7.2: "If the request is received via a server-domain DOTS
    // gateway, but the DOTS server does not maintain a 'cdid' for this 'cuid' while a 'cdid' is
    // expected to be supplied, the DOTS server MUST reply with a '403 Forbidden' status-line
    // and the error-tag 'access-denied'."
    let gw = PeerIdentity::gateway("gw");
    let mut h = H::new();
    assert_eq!(
        h.send_as(&gw, Method::Post, DATA, Some(&fig14())).status,
        201
    );
    let snap = h.server.snapshot(h.now);
    let mut config = DataServerConfig::default();
    config.require_cdid_from_gateways = true;
    let mut h2 = H::new();
    h2.server = DataServer::restore(config, Default::default(), h.now, snap).unwrap();
    h2.now = h.now;
    h2.expect_error(
        &gw,
        Method::Post,
        &client_uri(CUID),
        Some(&fig17()),
        403,
        ErrorTag::AccessDenied,
    );
    // and registering without one is a missing attribute
    h2.expect_error(
        &gw,
        Method::Post,
        DATA,
        Some(&json!({"ietf-dots-data-channel:dots-client": [{"cuid": "new"}]})),
        400,
        ErrorTag::MissingAttribute,
    );
}

#[test]
fn too_many_clients_is_409() {
    let mut config = DataServerConfig::default();
    config.max_clients = 1;
    let mut h = H::with_config(config);
    h.register(CUID);
    let body = json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID2}]});
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Post,
        DATA,
        Some(&body),
        409,
        ErrorTag::ResourceDenied,
    );
}

#[test]
fn policy_may_refuse_registration() {
    let mut h = H::with_policy(DataServerConfig::default(), StaticPolicy::default());
    h.expect_error(
        &me(),
        Method::Post,
        DATA,
        Some(&fig14()),
        403,
        ErrorTag::AccessDenied,
    );
}

// ---- aliases (RFC 8783 Section 6.1) -------------------------------------------------------------

#[test]
fn alias_targets_loopback_broadcast_multicast_are_invalid() {
    let mut h = registered();
    for p in [
        "127.0.0.1/32",
        "127.0.0.0/8",
        "10.0.0.0/1",
        "255.255.255.255/32",
        "239.1.2.3/32",
        "::1/128",
        "ff02::1/128",
        "::ffff:127.0.0.1/128",
        "::/0",
    ] {
        let body = alias_with(|a| a["target-prefix"] = json!([p]));
        post_client(&mut h, &body, 400, ErrorTag::InvalidValue);
    }
}

#[test]
fn alias_target_outside_the_domain_is_forbidden() {
    let mut policy = StaticPolicy::default();
    policy.prefixes.insert(
        CUID.into(),
        vec!["2001:db8:6401::/48".parse::<IpNet>().unwrap()],
    );
    policy
        .dns_suffixes
        .insert(CUID.into(), vec!["example.com".into()]);
    let mut h = H::with_policy(DataServerConfig::default(), policy);
    h.register(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig17()))
            .status,
        201
    );
    let outside = alias_with(|a| {
        a["name"] = json!("x");
        a["target-prefix"] = json!(["2001:db8:9999::1/128"]);
    });
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&outside),
        403,
        ErrorTag::AccessDenied,
    );
    let fqdn = alias_with(|a| {
        a["name"] = json!("y");
        a["target-fqdn"] = json!(["www.example.org"]);
    });
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&fqdn),
        403,
        ErrorTag::AccessDenied,
    );
    let uri = alias_with(|a| {
        a["name"] = json!("z");
        a["target-uri"] = json!(["https://[2001:db8:9999::1]/"]);
    });
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&uri),
        403,
        ErrorTag::AccessDenied,
    );
    let ok = alias_with(|a| {
        a["name"] = json!("w");
        a["target-fqdn"] = json!(["www.example.com"]);
        a["target-uri"] = json!(["https://api.example.com:8443/x"]);
    });
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&ok))
            .status,
        201
    );
}

#[test]
fn alias_without_name_is_missing_attribute() {
    let mut h = registered();
    let body = alias_with(|a| {
        a.as_object_mut().unwrap().remove("name");
    });
    post_client(&mut h, &body, 400, ErrorTag::MissingAttribute);
}

#[test]
fn alias_with_empty_name_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &alias_with(|a| a["name"] = json!("")),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn alias_unknown_member_is_unknown_element() {
    let mut h = registered();
    post_client(
        &mut h,
        &alias_with(|a| a["target-vendor"] = json!(1)),
        400,
        ErrorTag::UnknownElement,
    );
    post_client(
        &mut h,
        &alias_with(|a| a["ietf-dots-data-channel:name"] = json!("x")),
        400,
        ErrorTag::UnknownElement,
    );
}

#[test]
fn alias_bad_port_range_is_invalid() {
    let mut h = registered();
    let body =
        alias_with(|a| a["target-port-range"] = json!([{"lower-port": 443, "upper-port": 80}]));
    post_client(&mut h, &body, 400, ErrorTag::InvalidValue);
    let dup =
        alias_with(|a| a["target-port-range"] = json!([{"lower-port": 443}, {"lower-port": 443}]));
    post_client(&mut h, &dup, 400, ErrorTag::InvalidValue);
    let big = alias_with(|a| a["target-port-range"] = json!([{"lower-port": 65536}]));
    post_client(&mut h, &big, 400, ErrorTag::InvalidValue);
}

#[test]
fn alias_with_bad_fqdn_or_uri_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &alias_with(|a| a["target-fqdn"] = json!(["bad name"])),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &alias_with(|a| a["target-uri"] = json!(["no-scheme"])),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn alias_with_pending_lifetime_is_invalid() {
    // pending-lifetime is read-only (config false): a refresh strips it (RFC 8783 Section 7.2).
    let mut h = registered();
    post_client(
        &mut h,
        &alias_with(|a| a["pending-lifetime"] = json!(10)),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn duplicate_alias_names_in_one_request_are_invalid() {
    let mut h = registered();
    let mut body = fig17();
    let a = body["ietf-dots-data-channel:aliases"]["alias"][0].clone();
    body["ietf-dots-data-channel:aliases"]["alias"] = json!([a.clone(), a]);
    post_client(&mut h, &body, 400, ErrorTag::InvalidValue);
}

#[test]
fn empty_alias_list_is_missing_attribute() {
    let mut h = registered();
    post_client(
        &mut h,
        &json!({"ietf-dots-data-channel:aliases": {}}),
        400,
        ErrorTag::MissingAttribute,
    );
}

fn limited(limits: Limits) -> H<StaticPolicy> {
    let mut policy = StaticPolicy {
        allow_unknown_clients: true,
        limits,
        ..StaticPolicy::default()
    };
    policy.prefixes.insert(
        CUID.into(),
        vec!["::/0".parse().unwrap(), "0.0.0.0/0".parse().unwrap()],
    );
    let mut h = H::with_policy(DataServerConfig::default(), policy);
    h.register(CUID);
    h
}

#[test]
fn alias_quota_is_409() {
    let mut h = limited(Limits {
        max_aliases: 1,
        ..Limits::default()
    });
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig17()))
            .status,
        201
    );
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&fig17_named("b")),
        409,
        ErrorTag::ResourceDenied,
    );
    h.expect_error(
        &me(),
        Method::Put,
        &format!("{}/aliases/alias=b", client_uri(CUID)),
        Some(&fig17_named("b")),
        409,
        ErrorTag::ResourceDenied,
    );
    // replacing the one alias is fine
    assert_eq!(
        h.send(
            CUID,
            Method::Put,
            &format!("{}/aliases/alias=https1", client_uri(CUID)),
            Some(&fig17())
        )
        .status,
        204
    );
}

#[test]
fn too_many_targets_is_413() {
    let mut h = limited(Limits {
        max_targets_per_alias: 2,
        ..Limits::default()
    });
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&fig17()),
        413,
        ErrorTag::TooBig,
    );
}

// ---- filtering rules (RFC 8783 Section 7.2) -------------------------------------------------------

fn ace_with(f: impl FnOnce(&mut Value)) -> Value {
    acl_with(|acl| f(&mut acl["aces"]["ace"][0]))
}

#[test]
fn acl_reject_action_is_invalid() {
    // RFC 8783 Section 4.1: "'reject' action ... is not supported".
    let mut h = registered();
    post_client(
        &mut h,
        &ace_with(|a| a["actions"]["forwarding"] = json!("reject")),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_unknown_action_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &ace_with(|a| a["actions"]["forwarding"] = json!("log")),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_missing_forwarding_is_missing_attribute() {
    let mut h = registered();
    post_client(
        &mut h,
        &ace_with(|a| a["actions"] = json!({})),
        400,
        ErrorTag::MissingAttribute,
    );
}

#[test]
fn acl_rate_limit_with_drop_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &ace_with(|a| a["actions"]["rate-limit"] = json!("10.00")),
        400,
        ErrorTag::InvalidValue,
    );
    let neg = ace_with(|a| a["actions"] = json!({"forwarding": "accept", "rate-limit": "-1.00"}));
    post_client(&mut h, &neg, 400, ErrorTag::InvalidValue);
}

#[test]
fn acl_unsupported_match_field_is_unknown_element() {
    // RFC 8783 Section 7.2: "(e.g., a match field not supported by the DOTS server)".
    let mut config = DataServerConfig::default();
    config.capabilities = dots_codec::data::Capabilities::rfc8783_mandatory();
    let mut h = H::with_config(config);
    h.register(CUID);
    post_client(
        &mut h,
        &ace_with(|a| a["matches"]["ipv4"]["ttl"] = json!(3)),
        400,
        ErrorTag::UnknownElement,
    );
    let lte = ace_with(|a| {
        a["matches"]["udp"] =
            json!({"source-port-range-or-operator": {"operator": "lte", "port": 80}})
    });
    let mut config = DataServerConfig::default();
    config.capabilities.udp.as_mut().unwrap().port_range = None;
    let mut h2 = H::with_config(config);
    h2.register(CUID);
    h2.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(&lte),
        400,
        ErrorTag::UnknownElement,
    );
}

#[test]
fn acl_rate_limit_unsupported_is_unknown_element() {
    let mut config = DataServerConfig::default();
    config.capabilities.rate_limit = Some(false);
    let mut h = H::with_config(config);
    h.register(CUID);
    let body = ace_with(|a| a["actions"] = json!({"forwarding": "accept", "rate-limit": "1.00"}));
    post_client(&mut h, &body, 400, ErrorTag::UnknownElement);
}

#[test]
fn acl_match_outside_the_acl_type_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &acl_with(|acl| acl["type"] = json!("ipv6-acl-type")),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &acl_with(|acl| acl["type"] = json!("other:ipv4-acl-type")),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_two_l3_matches_are_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &ace_with(|a| a["matches"]["ipv6"] = json!({})),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_protocol_contradicting_l4_is_invalid() {
    let mut h = registered();
    let body = ace_with(|a| {
        a["matches"]["ipv4"]["protocol"] = json!(17);
        a["matches"]["tcp"] = json!({"flags-bitmask": {"bitmask": 2}});
    });
    post_client(&mut h, &body, 400, ErrorTag::InvalidValue);
    post_client(
        &mut h,
        &ace_with(|a| a["matches"]["ipv4"]["protocol"] = json!(47)),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_out_of_range_fields_are_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &ace_with(|a| a["matches"]["ipv4"]["dscp"] = json!(64)),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &ace_with(|a| a["matches"]["ipv4"]["ihl"] = json!(4)),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &ace_with(|a| a["matches"]["tcp"] = json!({"data-offset": 16})),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &ace_with(|a| {
            a["matches"]["tcp"] = json!({"flags-bitmask": {"operator": "match any", "bitmask": 1}})
        }),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_name_too_long_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &acl_with(|acl| acl["name"] = json!("a".repeat(65))),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &ace_with(|a| a["name"] = json!("")),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_duplicate_ace_names_are_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &acl_with(|acl| acl["aces"]["ace"] = json!([fig24_ace(), fig24_ace()])),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_with_read_only_nodes_is_invalid() {
    let mut h = registered();
    post_client(
        &mut h,
        &acl_with(|acl| acl["pending-lifetime"] = json!(5)),
        400,
        ErrorTag::InvalidValue,
    );
    post_client(
        &mut h,
        &ace_with(|a| a["statistics"] = json!({"matched-packets": "5"})),
        400,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn acl_flags_with_flags_bitmask_is_invalid() {
    // RFC 8783 Section 4.2: 'flags-bitmask' and 'flags' must not be set in the same request.
    let mut h = registered();
    let body = ace_with(|a| {
        a["matches"]["tcp"] = json!({"flags": "syn", "flags-bitmask": {"bitmask": 2}})
    });
    post_client(&mut h, &body, 400, ErrorTag::InvalidValue);
}

#[test]
fn acl_ipv6_fragment_df_is_invalid() {
    let mut h = registered();
    let mut body = fig35();
    body["ietf-dots-data-channel:acls"]["acl"][0]["aces"]["ace"][0]["matches"]["ipv6"]
        ["fragment"]["type"] = json!("df isf");
    post_client(&mut h, &body, 400, ErrorTag::InvalidValue);
}

#[test]
fn acl_destination_outside_the_domain_is_forbidden() {
    let mut policy = StaticPolicy::default();
    policy
        .prefixes
        .insert(CUID.into(), vec!["203.0.113.0/24".parse().unwrap()]);
    let mut h = H::with_policy(DataServerConfig::default(), policy);
    h.register(CUID);
    post_client_generic(&mut h, &fig24(), 403, ErrorTag::AccessDenied);
}

fn post_client_generic<P: dots_proto::data::DataPolicy>(
    h: &mut H<P>,
    body: &Value,
    status: u16,
    tag: ErrorTag,
) {
    h.expect_error(
        &me(),
        Method::Post,
        &client_uri(CUID),
        Some(body),
        status,
        tag,
    );
}

#[test]
fn acl_quota_is_409() {
    let mut h = limited(Limits {
        max_acls: 1,
        max_aces: 2,
        ..Limits::default()
    });
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
    let second = acl_with(|acl| acl["name"] = json!("b"));
    post_client_generic(&mut h, &second, 409, ErrorTag::ResourceDenied);
    // ACEs: one more fits in the ACL, two more do not
    let aces = format!("{}/acls/acl=sample-ipv4-acl/aces", client_uri(CUID));
    let mut ace2 = fig24_ace();
    ace2["name"] = json!("rule2");
    let mut ace3 = fig24_ace();
    ace3["name"] = json!("rule3");
    h.expect_error(
        &me(),
        Method::Post,
        &aces,
        Some(&json!({"ietf-dots-data-channel:ace": [ace2.clone(), ace3]})),
        409,
        ErrorTag::ResourceDenied,
    );
    assert_eq!(
        h.send(
            CUID,
            Method::Post,
            &aces,
            Some(&json!({"ietf-dots-data-channel:ace": [ace2]}))
        )
        .status,
        201
    );
}

#[test]
fn acl_name_conflict_on_post_is_409() {
    let mut h = registered();
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
    post_client(&mut h, &fig24(), 409, ErrorTag::ResourceDenied);
    let aces = format!("{}/acls/acl=sample-ipv4-acl/aces", client_uri(CUID));
    h.expect_error(
        &me(),
        Method::Post,
        &aces,
        Some(&json!({"ietf-dots-data-channel:ace": [fig24_ace()]})),
        409,
        ErrorTag::ResourceDenied,
    );
}

#[test]
fn ace_operations_on_unknown_entries_are_404() {
    let mut h = registered();
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig24()))
            .status,
        201
    );
    let acl = format!("{}/acls/acl=sample-ipv4-acl", client_uri(CUID));
    h.expect_error(
        &me(),
        Method::Delete,
        &format!("{acl}/aces/ace=none"),
        None,
        404,
        ErrorTag::InvalidValue,
    );
    h.expect_error(
        &me(),
        Method::Get,
        &format!("{acl}/aces/ace=none"),
        None,
        404,
        ErrorTag::InvalidValue,
    );
    h.expect_error(
        &me(),
        Method::Post,
        &format!("{}/acls/acl=none/aces", client_uri(CUID)),
        Some(&json!({"ietf-dots-data-channel:ace": [fig24_ace()]})),
        404,
        ErrorTag::InvalidValue,
    );
}

#[test]
fn patch_errors() {
    let mut h = registered();
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig17()))
            .status,
        201
    );
    let alias = format!("{}/aliases/alias=https1", client_uri(CUID));
    // the target must exist
    h.expect_error(
        &me(),
        Method::Patch,
        &format!("{}/aliases/alias=none", client_uri(CUID)),
        Some(&fig17()),
        404,
        ErrorTag::InvalidValue,
    );
    // the result must be valid
    let bad = json!({"ietf-dots-data-channel:alias": [{"name": "https1", "target-prefix": ["127.0.0.1/32"]}]});
    h.expect_error(
        &me(),
        Method::Patch,
        &alias,
        Some(&bad),
        400,
        ErrorTag::InvalidValue,
    );
    // a patch of another entry adds a second one: refused
    let other = json!({"ietf-dots-data-channel:alias": [{"name": "other"}]});
    h.expect_error(
        &me(),
        Method::Patch,
        &alias,
        Some(&other),
        400,
        ErrorTag::InvalidValue,
    );
    // an unrelated member
    h.expect_error(
        &me(),
        Method::Patch,
        &alias,
        Some(&fig24()),
        400,
        ErrorTag::UnknownElement,
    );
}
