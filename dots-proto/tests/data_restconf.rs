//! RESTCONF behaviour of the data channel: ordering with `insert`/`point`, `content` and
//! `depth`, PATCH, HEAD/OPTIONS, body forms, and Location headers (RFC 8040).

mod data_common;

use data_common::*;
use dots_proto::data::{DataEvent, Method, Request};
use serde_json::{json, Value};

fn acl_named(name: &str) -> Value {
    let mut b = fig36();
    b["ietf-dots-data-channel:acls"]["acl"][0]["name"] = json!(name);
    b
}

fn acl_names(h: &mut H) -> Vec<String> {
    let v = h.get_json(CUID, &format!("{}/acls?depth=3", client_uri(CUID)));
    v["ietf-dots-data-channel:acls"]["acl"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn point(acl: &str) -> String {
    // RFC 8040 Section 4.8.6: a data resource identifier, percent-encoded as a query value.
    format!("%2Fietf-dots-data-channel%3Adots-data%2Fdots-client%3D{CUID}%2Facls%2Facl%3D{acl}")
}

#[test]
fn acls_are_ordered_by_user_with_insert_and_point() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    for n in ["b", "d"] {
        assert_eq!(
            h.send(CUID, Method::Post, &uri, Some(&acl_named(n))).status,
            201
        );
    }
    assert_eq!(
        h.send(
            CUID,
            Method::Post,
            &format!("{uri}?insert=first"),
            Some(&acl_named("a"))
        )
        .status,
        201
    );
    let q = format!("{uri}?insert=after&point={}", point("b"));
    assert_eq!(
        h.send(CUID, Method::Post, &q, Some(&acl_named("c"))).status,
        201
    );
    let q = format!("{uri}?insert=last");
    assert_eq!(
        h.send(CUID, Method::Post, &q, Some(&acl_named("e"))).status,
        201
    );
    assert_eq!(acl_names(&mut h), ["a", "b", "c", "d", "e"]);
    // PUT moves an existing ACL with insert; without it the place is kept
    let put = |n: &str| format!("{uri}/acls/acl={n}");
    let q = format!("{}?insert=before&point={}", put("e"), point("a"));
    assert_eq!(
        h.send(CUID, Method::Put, &q, Some(&acl_named("e"))).status,
        204
    );
    assert_eq!(acl_names(&mut h), ["e", "a", "b", "c", "d"]);
    assert_eq!(
        h.send(CUID, Method::Put, &put("b"), Some(&acl_named("b")))
            .status,
        204
    );
    assert_eq!(acl_names(&mut h), ["e", "a", "b", "c", "d"]);
    // the point may carry the RESTCONF root; it must not be the moved entry itself
    let q = format!(
        "{}?insert=after&point=%2Frestconf%2Fdata{}",
        put("a"),
        &point("d")[..]
    );
    assert_eq!(
        h.send(CUID, Method::Put, &q, Some(&acl_named("a"))).status,
        204
    );
    assert_eq!(acl_names(&mut h), ["e", "b", "c", "d", "a"]);
    let q = format!("{}?insert=after&point={}", put("a"), point("a"));
    assert_eq!(
        h.send(CUID, Method::Put, &q, Some(&acl_named("a"))).status,
        400
    );
    // POST of an ACL list into the acls container (RESTCONF form)
    let body = json!({"ietf-dots-data-channel:acl": [acl_named("x")["ietf-dots-data-channel:acls"]["acl"][0].clone()]});
    let q = format!("{uri}/acls?insert=first");
    let r = h.send(CUID, Method::Post, &q, Some(&body));
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{uri}/acls/acl=x").as_str())
    );
    assert_eq!(acl_names(&mut h), ["x", "e", "b", "c", "d", "a"]);
}

#[test]
fn aces_are_ordered_by_user() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig35())).status, 201);
    let acl = format!("{uri}/acls/acl=dns-fragments");
    let new_ace = |n: &str| json!({"name": n, "matches": {"ipv6": {"destination-ipv6-network": "2001:db8::/32"}}, "actions": {"forwarding": "drop"}});
    // POST to the ACL with an aces container, first in the list
    let body = json!({"ietf-dots-data-channel:aces": {"ace": [new_ace("first")]}});
    let r = h.send(
        CUID,
        Method::Post,
        &format!("{acl}?insert=first"),
        Some(&body),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{acl}/aces/ace=first").as_str())
    );
    // POST to the aces container, before allow-dns-packets
    let p = format!("%2Fietf-dots-data-channel%3Adots-data%2Fdots-client%3D{CUID}%2Facls%2Facl%3Ddns-fragments%2Faces%2Face%3Dallow-dns-packets");
    let body = json!({"ietf-dots-data-channel:ace": [new_ace("middle")]});
    assert_eq!(
        h.send(
            CUID,
            Method::Post,
            &format!("{acl}/aces?insert=before&point={p}"),
            Some(&body)
        )
        .status,
        201
    );
    // PUT of an ACE (new, then replacing)
    let body = json!({"ietf-dots-data-channel:ace": [new_ace("last")]});
    assert_eq!(
        h.send(
            CUID,
            Method::Put,
            &format!("{acl}/aces/ace=last"),
            Some(&body)
        )
        .status,
        201
    );
    assert_eq!(
        h.send(
            CUID,
            Method::Put,
            &format!("{acl}/aces/ace=last"),
            Some(&body)
        )
        .status,
        204
    );
    let v = h.get_json(CUID, &format!("{acl}/aces"));
    let names: Vec<&str> = v["ietf-dots-data-channel:aces"]["ace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "first",
            "drop-all-fragments",
            "middle",
            "allow-dns-packets",
            "last"
        ]
    );
    let one = h.get_json(CUID, &format!("{acl}/aces/ace=middle"));
    assert_eq!(
        unqualified(one),
        json!({"ietf-dots-data-channel:aces": {"ace": [new_ace("middle")]}})
    );
    // DELETE of one ACE, then of all
    assert_eq!(
        h.send(
            CUID,
            Method::Delete,
            &format!("{acl}/aces/ace=middle"),
            None
        )
        .status,
        204
    );
    assert_eq!(
        h.server
            .acl(CUID, "dns-fragments")
            .unwrap()
            .ace_list()
            .len(),
        4
    );
    assert_eq!(
        h.send(CUID, Method::Delete, &format!("{acl}/aces"), None)
            .status,
        204
    );
    assert_eq!(
        h.server
            .acl(CUID, "dns-fragments")
            .unwrap()
            .ace_list()
            .len(),
        0
    );
    // PUT of the whole aces container
    let body = json!({"ietf-dots-data-channel:aces": {"ace": [new_ace("z"), new_ace("y")]}});
    assert_eq!(
        h.send(CUID, Method::Put, &format!("{acl}/aces"), Some(&body))
            .status,
        204
    );
    assert_eq!(
        h.server.acl(CUID, "dns-fragments").unwrap().ace_list()[1].name,
        "y"
    );
}

#[test]
fn depth_limits_the_subtree() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig24())).status, 201);
    let acls = format!("{uri}/acls");
    assert_eq!(
        h.get_json(CUID, &format!("{acls}?depth=1")),
        json!({"ietf-dots-data-channel:acls": {}})
    );
    assert_eq!(
        h.get_json(CUID, &format!("{acls}?depth=2")),
        json!({"ietf-dots-data-channel:acls": {"acl": [{"name": "sample-ipv4-acl"}]}})
    );
    let d3 = h.get_json(CUID, &format!("{acls}?depth=3"));
    assert_eq!(
        unqualified(d3),
        json!({"ietf-dots-data-channel:acls": {"acl": [{"name": "sample-ipv4-acl",
            "type": "ipv4-acl-type", "activation-type": "activate-when-mitigating",
            "pending-lifetime": 10080, "aces": {}}]}})
    );
    assert_eq!(
        h.get_json(CUID, &format!("{acls}?depth=unbounded")),
        h.get_json(CUID, &acls)
    );
    let top = h.get_json(CUID, &format!("{DATA}?depth=2&content=config"));
    assert_eq!(
        top,
        json!({"ietf-dots-data-channel:dots-data": {"dots-client": [{"cuid": CUID}]}})
    );
}

#[test]
fn content_selects_config_or_state() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig17())).status, 201);
    let nonconfig = h.get_json(CUID, &format!("{uri}?content=nonconfig"));
    assert_eq!(
        nonconfig,
        json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID,
            "aliases": {"alias": [{"name": "https1", "pending-lifetime": 10080}]}}]})
    );
    let config = h.get_json(CUID, &format!("{uri}?content=config"));
    assert_eq!(
        config,
        json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID,
            "aliases": fig17()["ietf-dots-data-channel:aliases"].clone()}]})
    );
    // the dots-data container: own clients plus capabilities (state data)
    let all = h.get_json(CUID, DATA);
    assert!(all["ietf-dots-data-channel:dots-data"]["capabilities"].is_object());
    assert_eq!(
        all["ietf-dots-data-channel:dots-data"]["dots-client"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let cfg = h.get_json(CUID, &format!("{DATA}?content=config"));
    assert!(cfg["ietf-dots-data-channel:dots-data"]
        .get("capabilities")
        .is_none());
    assert_eq!(
        h.get_json(CUID, &format!("{DATA}/capabilities?content=config")),
        json!({"ietf-dots-data-channel:capabilities": {}})
    );
    // other clients are not listed
    h.register(CUID2);
    let other = h.get_json(CUID2, DATA);
    assert_eq!(
        other["ietf-dots-data-channel:dots-data"]["dots-client"],
        json!([{"cuid": CUID2}])
    );
}

#[test]
fn patch_merges_into_the_configuration() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig17())).status, 201);
    let alias = format!("{uri}/aliases/alias=https1");
    h.advance(minutes(10));
    // a leaf-list grows, other leaves stay; the container form is accepted too
    let patch = json!({"ietf-dots-data-channel:aliases": {"alias": [{"name": "https1",
        "target-prefix": ["2001:db8:6401::3/128"], "target-port-range": [{"lower-port": 443, "upper-port": 444}]}]}});
    assert_eq!(
        h.send(CUID, Method::Patch, &alias, Some(&patch)).status,
        204
    );
    let a = h.server.alias(CUID, "https1").unwrap();
    assert_eq!(a.target_prefix.len(), 3);
    assert_eq!(
        a.target_port_range,
        vec![dots_codec::data::PortRange::range(443, 444)]
    );
    assert_eq!(a.target_protocol, vec![6]);
    let got = h.get_json(CUID, &alias);
    assert_eq!(
        got["ietf-dots-data-channel:aliases"]["alias"][0]["pending-lifetime"],
        json!(10080),
        "refreshed"
    );
    // PATCH of one ACE's action
    assert_eq!(h.send(CUID, Method::Post, &uri, Some(&fig36())).status, 201);
    h.drain();
    let ace = format!("{uri}/acls/acl=tcp-flags-example/aces/ace=null-attack");
    let patch = json!({"ietf-dots-data-channel:ace": [{"name": "null-attack", "actions": {"forwarding": "accept", "rate-limit": "5.50"}}]});
    assert_eq!(h.send(CUID, Method::Patch, &ace, Some(&patch)).status, 204);
    assert_eq!(
        h.drain(),
        vec![DataEvent::AclUpdated {
            cuid: CUID.into(),
            acl: "tcp-flags-example".into()
        }]
    );
    let acl = h.server.acl(CUID, "tcp-flags-example").unwrap();
    assert_eq!(
        acl.ace_list()[0].actions.unwrap().rate_limit,
        Some(dots_codec::data::Decimal2(550))
    );
    // PATCH of the client adds an alias, keeping the others
    let patch = json!({"ietf-dots-data-channel:dots-client": [{"cuid": CUID, "aliases": fig17_named("second")["ietf-dots-data-channel:aliases"].clone()}]});
    assert_eq!(h.send(CUID, Method::Patch, &uri, Some(&patch)).status, 204);
    assert_eq!(h.server.aliases(CUID).count(), 2);
    assert_eq!(h.server.acls(CUID).count(), 1);
}

#[test]
fn head_and_options() {
    let mut h = H::new();
    h.register(CUID);
    let r = h.send(CUID, Method::Head, &format!("{DATA}/capabilities"), None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.content_type, Some(JSON));
    let r = h.send(CUID, Method::Options, &client_uri(CUID), None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.allow,
        Some("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
    );
    assert_eq!(
        r.headers().collect::<Vec<_>>(),
        vec![("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")]
    );
}

#[test]
fn put_bodies_in_restconf_and_rfc8783_forms() {
    let mut h = H::new();
    h.register(CUID2);
    let uri = format!("{}/acls/acl=test-acl-ipv6-udp", client_uri(CUID2));
    // RFC 8783 Figure 25 form: inside the acls container
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&fig25())).status, 201);
    // RFC 8040 form: the list entry itself
    let entry = json!({"ietf-dots-data-channel:acl": [fig25_acl()]});
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&entry)).status, 204);
    let two = json!({"ietf-dots-data-channel:acl": [fig25_acl(), fig25_acl()]});
    assert_eq!(h.send(CUID2, Method::Put, &uri, Some(&two)).status, 400);
    // PUT of whole containers
    let aliases = format!("{}/aliases", client_uri(CUID2));
    assert_eq!(
        h.send(
            CUID2,
            Method::Put,
            &aliases,
            Some(&fig19_without_lifetimes())
        )
        .status,
        204
    );
    assert_eq!(h.server.aliases(CUID2).count(), 2);
    assert_eq!(h.send(CUID2, Method::Delete, &aliases, None).status, 204);
    assert_eq!(h.server.aliases(CUID2).count(), 0);
    let acls = format!("{}/acls", client_uri(CUID2));
    assert_eq!(
        h.send(CUID2, Method::Put, &acls, Some(&fig35())).status,
        204
    );
    assert_eq!(
        h.server
            .acls(CUID2)
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["dns-fragments"]
    );
    assert_eq!(h.send(CUID2, Method::Delete, &acls, None).status, 204);
    assert_eq!(h.server.acls(CUID2).count(), 0);
}

fn fig19_without_lifetimes() -> Value {
    let mut v = fig19();
    for a in v["ietf-dots-data-channel:aliases"]["alias"]
        .as_array_mut()
        .unwrap()
    {
        a.as_object_mut().unwrap().remove("pending-lifetime");
    }
    v
}

#[test]
fn keys_are_percent_encoded_in_uris() {
    let mut h = H::new();
    h.register(CUID);
    let uri = client_uri(CUID);
    let r = h.send(CUID, Method::Post, &uri, Some(&fig17_named("a/b c,d")));
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{uri}/aliases/alias=a%2Fb%20c%2Cd").as_str())
    );
    assert_eq!(
        h.send(
            CUID,
            Method::Get,
            &format!("{uri}/aliases/alias=a%2Fb%20c%2Cd"),
            None
        )
        .status,
        200
    );
}

#[test]
fn restconf_root_is_configurable() {
    let mut config = dots_proto::data::DataServerConfig::default();
    config.restconf_root = "/api/rc/".into();
    let mut h = H::with_config(config);
    let body = fig14().to_string();
    let r = h.raw(
        CUID,
        &Request::new(
            Method::Post,
            "/api/rc/data/ietf-dots-data-channel:dots-data",
        )
        .with_json(body.as_bytes()),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/api/rc/data/ietf-dots-data-channel:dots-data/dots-client={CUID}").as_str())
    );
    assert_eq!(
        h.raw(CUID, &Request::new(Method::Get, &client_uri(CUID)))
            .status,
        404
    );
}
