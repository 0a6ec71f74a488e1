//! The client helpers against the server: every builder produces a request the server accepts,
//! and the parsers read its answers and its RESTCONF errors.

mod data_common;

use data_common::*;
use dots_codec::data::{
    Ace, Acl, Actions, ActivationType, Alias, ErrorTag, FlagsBitmask, ForwardingAction, Fragment,
    FragmentType, Ipv4Flags, Ipv4Match, L3Match, L4Match, Matches, PortRange, TcpMatch,
};
use dots_proto::data::client::{
    expect_success, parse_aces, parse_acls, parse_aliases, parse_capabilities, parse_client,
    ClientError, DataClient, GetOptions, InsertAt, OwnedRequest,
};
use dots_proto::data::{DataServer, DataServerConfig, PeerIdentity, Response};
use dots_proto::time::Instant;

struct Pair {
    client: DataClient,
    server: DataServer,
    now: Instant,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            client: DataClient::new(CUID),
            server: DataServer::new(DataServerConfig::default()),
            now: Instant::from_secs(1),
        }
    }

    fn send(&mut self, req: &OwnedRequest) -> Response {
        self.server
            .handle_request(self.now, &PeerIdentity::client(CUID), &req.as_request())
    }
}

fn alias() -> Alias {
    Alias {
        target_prefix: vec!["2001:db8:6401::1/128".parse().unwrap()],
        target_port_range: vec![PortRange::single(443)],
        target_protocol: vec![6],
        ..Alias::new("https1")
    }
}

fn acl(name: &str) -> Acl {
    let m = Matches {
        l3: Some(L3Match::Ipv4(Ipv4Match {
            destination_ipv4_network: Some("198.51.100.0/24".parse().unwrap()),
            ..Default::default()
        })),
        l4: None,
    };
    Acl {
        activation_type: Some(ActivationType::Immediate),
        ..Acl::new(
            name,
            vec![Ace::new(
                "rule1",
                m,
                Actions::forwarding(ForwardingAction::Drop),
            )],
        )
    }
}

#[test]
fn requests_carry_the_restconf_headers() {
    let c = DataClient::new(CUID);
    let r = c.register();
    assert_eq!(r.path, DATA);
    assert_eq!(
        r.headers().collect::<Vec<_>>(),
        vec![("Accept", JSON), ("Content-Type", JSON)]
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        fig14(),
        "Figure 11 with the cuid"
    );
    let g = c.get_acl(
        "a b",
        GetOptions {
            depth: Some(2),
            ..GetOptions::nonconfig()
        },
    );
    assert_eq!(
        g.target(),
        format!(
            "{}/acls/acl=a%20b?content=nonconfig&depth=2",
            client_uri(CUID)
        )
    );
    assert!(g.body.is_empty() && g.content_type.is_none());
    let root = DataClient::with_root("/top/", CUID);
    assert_eq!(
        root.deregister().path,
        format!("/top/data/ietf-dots-data-channel:dots-data/dots-client={CUID}")
    );
}

#[test]
fn full_cycle_through_the_server() {
    let mut p = Pair::new();
    let reg = p.client.register();
    assert_eq!(p.send(&reg).status, 201);
    let r = p.send(&p.client.get_capabilities());
    let caps = parse_capabilities(r.status, &r.body).unwrap();
    assert!(caps.forwarding_actions.contains(&ForwardingAction::Drop));

    let r = p.send(&p.client.create_aliases(&[alias()]).unwrap());
    expect_success(r.status, &r.body).unwrap();
    let r = p.send(&p.client.get_aliases(GetOptions::config()));
    assert_eq!(parse_aliases(r.status, &r.body).unwrap(), vec![alias()]);
    let r = p.send(&p.client.get_alias("https1", GetOptions::default()));
    assert_eq!(
        parse_aliases(r.status, &r.body).unwrap()[0].pending_lifetime,
        Some(10080)
    );
    let r = p.send(&p.client.put_alias(&alias()).unwrap());
    assert_eq!(r.status, 204);

    let r = p.send(&p.client.create_acls(&[acl("b")], None).unwrap());
    assert_eq!(r.status, 201);
    let r = p.send(
        &p.client
            .create_acls(&[acl("a")], Some(&InsertAt::Before("b".into())))
            .unwrap(),
    );
    assert_eq!(r.status, 201);
    let r = p.send(&p.client.put_acl(&acl("c"), Some(&InsertAt::First)).unwrap());
    assert_eq!(r.status, 201);
    let r = p.send(&p.client.get_acls(GetOptions::config()));
    let acls = parse_acls(r.status, &r.body).unwrap();
    assert_eq!(
        acls.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["c", "a", "b"]
    );
    assert_eq!(acls[1], acl("a"));

    let mut ace2 = acl("x").ace_list()[0].clone();
    ace2.name = "rule2".into();
    let r = p.send(
        &p.client
            .create_aces("a", &[ace2.clone()], Some(&InsertAt::After("rule1".into())))
            .unwrap(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = p.send(&p.client.put_ace("a", &ace2).unwrap());
    assert_eq!(r.status, 204);
    let r = p.send(&p.client.get_acl("a", GetOptions::config()));
    let got = parse_acls(r.status, &r.body).unwrap();
    assert_eq!(got[0].ace_list().len(), 2);
    let r = p.send(&p.client.delete_ace("a", "rule2"));
    assert_eq!(r.status, 204);
    let r = p.send(&p.client.delete_acl("b"));
    assert_eq!(r.status, 204);
    let r = p.send(&p.client.delete_alias("https1"));
    assert_eq!(r.status, 204);

    let r = p.send(&p.client.get_client(GetOptions::config()));
    let c = parse_client(r.status, &r.body).unwrap();
    assert_eq!(c.cuid, CUID);
    assert_eq!(c.acls.unwrap().acl.len(), 2);
    assert_eq!(p.send(&p.client.register_put()).status, 204);
    assert_eq!(p.send(&p.client.deregister()).status, 204);
    assert_eq!(p.send(&p.client.deregister()).status, 404);
}

#[test]
fn errors_are_parsed_into_typed_results() {
    let mut p = Pair::new();
    let r = p.send(&p.client.get_aliases(GetOptions::default()));
    match parse_aliases(r.status, &r.body) {
        Err(ClientError::Refused {
            status: 404,
            errors,
        }) => {
            assert_eq!(errors[0].error_tag, ErrorTag::InvalidValue);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.send(&p.client.register()).status, 201);
    let r = p.send(&p.client.register());
    match expect_success(r.status, &r.body) {
        Err(ClientError::Refused {
            status: 409,
            errors,
        }) => assert_eq!(errors[0].error_tag, ErrorTag::ResourceDenied),
        other => panic!("{other:?}"),
    }
    // a body of another node than expected
    let r = p.send(&p.client.get_capabilities());
    assert!(matches!(
        parse_acls(r.status, &r.body),
        Err(ClientError::UnexpectedBody(_))
    ));
    assert!(matches!(parse_aces(200, b"{"), Err(ClientError::Decode(_))));
}

#[test]
fn gateway_registration_carries_cdid() {
    let c = DataClient::new(CUID);
    let mut server = DataServer::new(DataServerConfig::default());
    let r = server.handle_request(
        Instant::ZERO,
        &PeerIdentity::gateway("gw"),
        &c.register_via_gateway("domain").as_request(),
    );
    assert_eq!(r.status, 201);
    assert_eq!(server.cdid(CUID), Some("domain"));
}

#[test]
fn builders_refuse_what_a_client_must_not_send() {
    let c = DataClient::new(CUID);
    // RFC 8783 Section 6.1: an alias needs a prefix, FQDN or URI
    let mut no_target = alias();
    no_target.target_prefix.clear();
    assert!(matches!(
        c.create_aliases(&[no_target]),
        Err(ClientError::Invalid(_))
    ));
    // read-only nodes
    let mut ro = alias();
    ro.pending_lifetime = Some(3);
    assert!(c.put_alias(&ro).is_err());
    // RFC 8783 Section 4.2: 'fragment' and 'flags' never together (data-client-fragment-and-flags-01)
    let mut both = acl("f");
    if let Some(L3Match::Ipv4(v4)) = &mut both.aces.as_mut().unwrap().ace[0]
        .matches
        .as_mut()
        .unwrap()
        .l3
    {
        v4.fragment = Some(Fragment {
            operator: None,
            fragment_type: FragmentType::ISF,
        });
        v4.flags = Some(Ipv4Flags::MORE);
    }
    assert!(matches!(
        c.create_acls(&[both], None),
        Err(ClientError::Invalid(_))
    ));
    // nor 'flags' with 'flags-bitmask'
    let tcp = Matches {
        l3: None,
        l4: Some(L4Match::Tcp(TcpMatch {
            flags: Some(dots_codec::data::TcpFlags::SYN),
            flags_bitmask: Some(FlagsBitmask {
                operator: None,
                bitmask: 2,
            }),
            ..Default::default()
        })),
    };
    let ace = Ace::new("t", tcp, Actions::forwarding(ForwardingAction::Drop));
    assert!(c.put_ace("x", &ace).is_err());
    // missing actions, schema errors
    let mut no_actions = acl("n");
    no_actions.aces.as_mut().unwrap().ace[0].actions = None;
    assert!(c.put_acl(&no_actions, None).is_err());
    assert!(c.put_acl(&acl(&"x".repeat(65)), None).is_err());
}
