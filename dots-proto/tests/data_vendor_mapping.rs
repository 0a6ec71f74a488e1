//! Vendor attack mappings over the data channel (RFC 9244 Section 8.1.6, module
//! `ietf-dots-mapping`): the RFC 9244 figures (30, 32 to 35) driven through the server, the
//! error cases the section names, and the RESTCONF methods on the augment.

mod data_common;

use data_common::*;
use dots_codec::data::{Capabilities, DataBody, ErrorTag, Vendor, VendorMapping};
use dots_proto::data::{DataServer, DataServerConfig, Method, PeerIdentity};
use serde_json::{json, Value};

const MAPPING: &str = "ietf-dots-mapping:vendor-mapping";

fn mapping_uri(cuid: &str) -> String {
    format!("{}/{MAPPING}", client_uri(cuid))
}

/// RFC 9244 Figure 30 (POST to install vendor attack mapping details).
fn fig30() -> Value {
    json!({MAPPING: {"vendor": [{
    "vendor-id": 345, "vendor-name": "mitigator-c", "last-updated": "1629898958",
    "attack-mapping": [
        {"attack-id": 1, "attack-description": "Include a description of this attack"},
        {"attack-id": 2, "attack-description": "Again, include a description of the attack"}
    ]}]}})
}

fn vendor(id: u32, attacks: &[(u32, &str)]) -> Value {
    let attacks: Vec<Value> = attacks
        .iter()
        .map(|(a, d)| json!({"attack-id": a, "attack-description": d}))
        .collect();
    json!({"vendor-id": id, "last-updated": "1700000000", "attack-mapping": attacks})
}

fn registered() -> H {
    let mut h = H::new();
    h.register(CUID);
    h
}

#[test]
fn rfc9244_figure30_post_then_figure35_get() {
    let mut h = registered();
    let r = h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig30()));
    // RFC 9244 Section 8.1.6: "A '201 Created' status-line MUST be returned in the response if
    // the DOTS server has accepted the vendor attack mapping details."
    assert_eq!(r.status, 201, "{}", body_text(&r));
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{}/vendor=345", mapping_uri(CUID)).as_str())
    );
    // Figure 35: GET .../dots-client=C/ietf-dots-mapping:vendor-mapping?content=all
    let got = h.get_json(CUID, &format!("{}?content=all", mapping_uri(CUID)));
    assert_eq!(got, fig30());
    // The whole client shows the augment, module-qualified.
    let client = h.get_json(CUID, &client_uri(CUID));
    assert_eq!(
        client["ietf-dots-data-channel:dots-client"][0][MAPPING],
        fig30()[MAPPING]
    );
    // One entry, inside its container (as aliases and ACLs are returned).
    let one = h.get_json(CUID, &format!("{}/vendor=345", mapping_uri(CUID)));
    assert_eq!(one, fig30());
    // The host reads the descriptions for the client's telemetry.
    assert_eq!(
        h.server.attack_description(CUID, 345, 1),
        Some("Include a description of this attack")
    );
    assert_eq!(h.server.attack_description(CUID, 345, 3), None);
    assert_eq!(h.server.attack_description(CUID2, 345, 1), None);
    assert_eq!(h.server.vendor_mapping(CUID).unwrap().vendor.len(), 1);
    // Installing a mapping is no event for the filtering engine.
    assert_eq!(h.drain(), vec![]);
}

#[test]
fn rfc9244_missing_last_updated_is_400_missing_attribute() {
    // RFC 9244 Section 8.1.6: "If the request is missing a mandatory attribute ... a '400 Bad
    // Request' ... 'missing-attribute'". 'last-updated' is mandatory (Figure 31, no '?').
    let mut h = registered();
    let mut body = fig30();
    body[MAPPING]["vendor"][0]
        .as_object_mut()
        .unwrap()
        .remove("last-updated");
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Post,
        &client_uri(CUID),
        Some(&body),
        400,
        ErrorTag::MissingAttribute,
    );
    let mut body = fig30();
    body[MAPPING]["vendor"][0]["attack-mapping"][0]
        .as_object_mut()
        .unwrap()
        .remove("attack-description");
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
fn rfc9244_invalid_and_unknown_parameters_are_400() {
    let mut h = registered();
    let peer = PeerIdentity::client(CUID);
    let uri = client_uri(CUID);
    let mut unknown = fig30();
    unknown[MAPPING]["vendor"][0]["colour"] = json!("red");
    h.expect_error(
        &peer,
        Method::Post,
        &uri,
        Some(&unknown),
        400,
        ErrorTag::UnknownElement,
    );
    let mut invalid = fig30();
    invalid[MAPPING]["vendor"][0]["vendor-id"] = json!(-1);
    h.expect_error(
        &peer,
        Method::Post,
        &uri,
        Some(&invalid),
        400,
        ErrorTag::InvalidValue,
    );
    let dup = json!({MAPPING: {"vendor": [vendor(7, &[(1, "a"), (1, "b")])]}});
    let r = h.expect_error(
        &peer,
        Method::Post,
        &uri,
        Some(&dup),
        400,
        ErrorTag::InvalidValue,
    );
    let errors = r.errors().unwrap();
    assert_eq!(
        errors.errors[0].error_path.as_deref(),
        Some(
            "/ietf-dots-data-channel:dots-data/dots-client[cuid='dz6pHjaADkaFTbjr0JGBpw']\
             /ietf-dots-mapping:vendor-mapping/vendor[vendor-id='7']/attack-mapping"
        )
    );
    let mut lang = fig30();
    lang[MAPPING]["vendor"][0]["description-lang"] = json!("en_US");
    h.expect_error(
        &peer,
        Method::Post,
        &uri,
        Some(&lang),
        400,
        ErrorTag::InvalidValue,
    );
    let empty = json!({MAPPING: {}});
    h.expect_error(
        &peer,
        Method::Post,
        &uri,
        Some(&empty),
        400,
        ErrorTag::MissingAttribute,
    );
}

#[test]
fn post_of_an_existing_vendor_is_409_and_new_vendors_are_added() {
    let mut h = registered();
    let peer = PeerIdentity::client(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig30()))
            .status,
        201
    );
    // RFC 8040 Section 4.4.1: a POST that would create an existing resource is 409.
    h.expect_error(
        &peer,
        Method::Post,
        &client_uri(CUID),
        Some(&fig30()),
        409,
        ErrorTag::ResourceDenied,
    );
    // Another vendor, posted to the container as list entries.
    let more = json!({"ietf-dots-mapping:vendor": [vendor(32473, &[(9, "nine")])]});
    let r = h.send(CUID, Method::Post, &mapping_uri(CUID), Some(&more));
    assert_eq!(r.status, 201, "{}", body_text(&r));
    assert_eq!(h.server.attack_description(CUID, 32473, 9), Some("nine"));
    assert!(h.server.attack_description(CUID, 345, 2).is_some());
}

#[test]
fn put_replaces_tables_and_delete_removes_them() {
    let mut h = registered();
    let peer = PeerIdentity::client(CUID);
    let all = mapping_uri(CUID);
    let one = format!("{all}/vendor=345");
    // PUT of the container creates, then replaces.
    assert_eq!(h.send(CUID, Method::Put, &all, Some(&fig30())).status, 201);
    let replaced = json!({MAPPING: {"vendor": [vendor(345, &[(5, "five")])]}});
    assert_eq!(h.send(CUID, Method::Put, &all, Some(&replaced)).status, 204);
    assert_eq!(h.server.attack_description(CUID, 345, 1), None);
    assert_eq!(h.server.attack_description(CUID, 345, 5), Some("five"));
    // PUT of one entry: as the entry itself or inside its container.
    let entry = json!({"ietf-dots-mapping:vendor": [vendor(345, &[(6, "six")])]});
    assert_eq!(h.send(CUID, Method::Put, &one, Some(&entry)).status, 204);
    assert_eq!(h.server.attack_description(CUID, 345, 6), Some("six"));
    let other = format!("{all}/vendor=99");
    let created = json!({MAPPING: {"vendor": [vendor(99, &[])]}});
    assert_eq!(
        h.send(CUID, Method::Put, &other, Some(&created)).status,
        201
    );
    // The key in the body must be the one in the URI (RFC 8040 Section 4.5).
    h.expect_error(
        &peer,
        Method::Put,
        &one,
        Some(&created),
        400,
        ErrorTag::InvalidValue,
    );
    // DELETE one, then the rest.
    assert_eq!(h.send(CUID, Method::Delete, &other, None).status, 204);
    h.expect_error(
        &peer,
        Method::Delete,
        &other,
        None,
        404,
        ErrorTag::InvalidValue,
    );
    h.expect_error(
        &peer,
        Method::Get,
        &other,
        None,
        404,
        ErrorTag::InvalidValue,
    );
    assert_eq!(h.send(CUID, Method::Delete, &all, None).status, 204);
    h.expect_error(&peer, Method::Get, &all, None, 404, ErrorTag::InvalidValue);
    h.expect_error(
        &peer,
        Method::Delete,
        &all,
        None,
        404,
        ErrorTag::InvalidValue,
    );
    // Not a uint32 key.
    let bad = format!("{all}/vendor=abc");
    h.expect_error(&peer, Method::Get, &bad, None, 400, ErrorTag::InvalidValue);
    // PATCH is not offered on the augment.
    let r = h.send(CUID, Method::Patch, &all, Some(&fig30()));
    assert_eq!(r.status, 405);
    assert_eq!(r.allow, Some("GET, HEAD, POST, PUT, DELETE, OPTIONS"));
}

#[test]
fn registration_carries_tables_and_deregistration_drops_them() {
    let mut h = H::new();
    let entry = json!({"ietf-dots-data-channel:dots-client": [{
        "cuid": CUID, MAPPING: fig30()[MAPPING].clone()}]});
    assert_eq!(
        h.send(CUID, Method::Put, &client_uri(CUID), Some(&entry))
            .status,
        201
    );
    assert!(h.server.attack_description(CUID, 345, 1).is_some());
    // A PATCH of the client merges vendor entries by their key.
    let patch = json!({"ietf-dots-data-channel:dots-client": [{
        "cuid": CUID, MAPPING: {"vendor": [vendor(345, &[(3, "three")])]}}]});
    let r = h.send(CUID, Method::Patch, &client_uri(CUID), Some(&patch));
    assert_eq!(r.status, 204, "{}", body_text(&r));
    assert!(h.server.attack_description(CUID, 345, 1).is_some());
    assert_eq!(h.server.attack_description(CUID, 345, 3), Some("three"));
    assert_eq!(h.server.vendor_mapping(CUID).unwrap().vendor.len(), 1);
    assert_eq!(
        h.send(CUID, Method::Delete, &client_uri(CUID), None).status,
        204
    );
    assert_eq!(h.server.vendor_mapping(CUID), None);
}

#[test]
fn only_the_owner_reaches_its_tables() {
    let mut h = registered();
    h.register(CUID2);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig30()))
            .status,
        201
    );
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Get,
        &mapping_uri(CUID),
        None,
        403,
        ErrorTag::AccessDenied,
    );
    h.expect_error(
        &PeerIdentity::client(CUID2),
        Method::Delete,
        &mapping_uri(CUID),
        None,
        403,
        ErrorTag::AccessDenied,
    );
}

#[test]
fn content_nonconfig_leaves_nothing() {
    let mut h = registered();
    h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig30()));
    let got = h.get_json(CUID, &format!("{}?content=nonconfig", mapping_uri(CUID)));
    assert_eq!(got, json!({MAPPING: {}}));
    let client = h.get_json(CUID, &format!("{}?content=nonconfig", client_uri(CUID)));
    assert!(client["ietf-dots-data-channel:dots-client"][0]
        .get(MAPPING)
        .is_none());
}

#[test]
fn quotas_are_409() {
    let mut config = DataServerConfig::default();
    config.max_vendors = 1;
    config.max_attack_mappings = 2;
    let mut h = H::with_config(config);
    h.register(CUID);
    let peer = PeerIdentity::client(CUID);
    assert_eq!(
        h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig30()))
            .status,
        201
    );
    let more = json!({"ietf-dots-mapping:vendor": [vendor(1, &[])]});
    h.expect_error(
        &peer,
        Method::Post,
        &mapping_uri(CUID),
        Some(&more),
        409,
        ErrorTag::ResourceDenied,
    );
    let big = json!({MAPPING: {"vendor": [vendor(345, &[(1, "a"), (2, "b"), (3, "c")])]}});
    h.expect_error(
        &peer,
        Method::Put,
        &mapping_uri(CUID),
        Some(&big),
        409,
        ErrorTag::ResourceDenied,
    );
}

/// The server's tables of RFC 9244 Figure 34.
fn server_tables() -> VendorMapping {
    let mut v = Vendor::new(32473, 1_629_898_758);
    v.vendor_name = Some("mitigator-s".into());
    v.attack_mapping = vec![dots_codec::data::AttackMapping {
        attack_id: 1,
        attack_description: "flood".into(),
    }];
    VendorMapping { vendor: vec![v] }
}

#[test]
fn rfc9244_figures_32_to_34_the_servers_tables() {
    let mut config = DataServerConfig::default();
    config.vendor_mapping = server_tables();
    let mut h = H::with_config(config);
    h.register(CUID);
    let uri = format!("{DATA}/{MAPPING}");
    // Figure 32: every table of the server.
    let got = h.get_json(CUID, &uri);
    assert_eq!(parse_body(&got), DataBody::VendorMapping(server_tables()));
    // Figures 33 and 34: depth=3 gives the vendors without their attacks.
    let got = h.get_json(CUID, &format!("{uri}?depth=3"));
    assert_eq!(
        got,
        json!({MAPPING: {"vendor": [{"vendor-id": 32473, "vendor-name": "mitigator-s",
            "last-updated": "1629898758", "attack-mapping": []}]}})
    );
    let one = h.get_json(CUID, &format!("{uri}/vendor=32473"));
    assert_eq!(one, got_all(&h));
    // The dots-data container shows them too (state data).
    let all = h.get_json(CUID, DATA);
    assert_eq!(
        all["ietf-dots-data-channel:dots-data"][MAPPING]["vendor"][0]["vendor-id"],
        json!(32473)
    );
    // Read-only.
    let r = h.send(CUID, Method::Post, &uri, Some(&fig30()));
    assert_eq!(r.status, 405);
    assert_eq!(r.allow, Some("GET, HEAD, OPTIONS"));
    let peer = PeerIdentity::client(CUID);
    h.expect_error(
        &peer,
        Method::Get,
        &format!("{uri}/vendor=1"),
        None,
        404,
        ErrorTag::InvalidValue,
    );
}

fn got_all(h: &H) -> Value {
    let body = DataBody::VendorMapping(h.server.config().vendor_mapping.clone());
    serde_json::from_slice(&body.to_json()).unwrap()
}

#[test]
fn servers_tables_absent_is_404() {
    let mut h = registered();
    h.expect_error(
        &PeerIdentity::client(CUID),
        Method::Get,
        &format!("{DATA}/{MAPPING}"),
        None,
        404,
        ErrorTag::InvalidValue,
    );
    assert!(h.get_json(CUID, DATA)["ietf-dots-data-channel:dots-data"]
        .get(MAPPING)
        .is_none());
}

#[test]
fn capabilities_announce_vendor_mapping_enabled() {
    // RFC 9244 Section 8.1.6: clients check 'vendor-mapping-enabled' in the capabilities.
    let mut h = H::new();
    let caps = h.get_json(CUID, &format!("{DATA}/capabilities"));
    assert_eq!(
        caps["ietf-dots-data-channel:capabilities"]["ietf-dots-mapping:vendor-mapping-enabled"],
        json!(true)
    );
}

#[test]
fn without_the_feature_the_nodes_do_not_exist() {
    let mut config = DataServerConfig::default();
    config.capabilities = Capabilities::rfc8783_mandatory();
    config.vendor_mapping = server_tables();
    let mut h = H::with_config(config);
    h.register(CUID);
    let peer = PeerIdentity::client(CUID);
    h.expect_error(
        &peer,
        Method::Post,
        &client_uri(CUID),
        Some(&fig30()),
        400,
        ErrorTag::UnknownElement,
    );
    h.expect_error(
        &peer,
        Method::Get,
        &mapping_uri(CUID),
        None,
        404,
        ErrorTag::InvalidValue,
    );
    h.expect_error(
        &peer,
        Method::Get,
        &format!("{DATA}/{MAPPING}"),
        None,
        404,
        ErrorTag::InvalidValue,
    );
    let entry = json!({"ietf-dots-data-channel:dots-client": [{
        "cuid": CUID, MAPPING: fig30()[MAPPING].clone()}]});
    h.expect_error(
        &peer,
        Method::Put,
        &client_uri(CUID),
        Some(&entry),
        400,
        ErrorTag::UnknownElement,
    );
    let caps = h.get_json(CUID, &format!("{DATA}/capabilities"));
    assert!(caps["ietf-dots-data-channel:capabilities"]
        .get("ietf-dots-mapping:vendor-mapping-enabled")
        .is_none());
    assert!(h.get_json(CUID, DATA)["ietf-dots-data-channel:dots-data"]
        .get(MAPPING)
        .is_none());
}

#[test]
fn snapshot_keeps_the_tables() {
    let mut h = registered();
    h.send(CUID, Method::Post, &client_uri(CUID), Some(&fig30()));
    let snap = h.server.snapshot(h.now);
    let text = serde_json::to_string(&snap).unwrap();
    let back = serde_json::from_str(&text).unwrap();
    let restored = DataServer::restore(
        DataServerConfig::default(),
        dots_proto::data::AllowAll,
        h.now,
        back,
    )
    .unwrap();
    assert_eq!(
        restored.attack_description(CUID, 345, 2),
        Some("Again, include a description of the attack")
    );
    // A snapshot written before vendor mappings existed still restores.
    let mut old: Value = serde_json::from_str(&text).unwrap();
    old["clients"][0].as_object_mut().unwrap().remove("vendors");
    let restored = DataServer::restore(
        DataServerConfig::default(),
        dots_proto::data::AllowAll,
        h.now,
        serde_json::from_value(old).unwrap(),
    )
    .unwrap();
    assert_eq!(
        restored.vendor_mapping(CUID),
        Some(VendorMapping::default())
    );
}
