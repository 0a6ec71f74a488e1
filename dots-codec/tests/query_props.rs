//! Property tests of the RFC 9244 Uri-Query filter parser: typed values written as Uri-Query
//! options parse back to the same values, and a parsed query written again with
//! `TargetQuery::options` parses to an equal query.

use dots_codec::ipnet::{IpNet, Ipv4Net, Ipv6Net};
use dots_codec::path::Content;
use dots_codec::query::{QuerySet, QueryType, TargetQuery, ValueRange};
use proptest::prelude::*;

fn prefix() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(std::net::Ipv4Addr::from(a), l).unwrap())),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(std::net::Ipv6Addr::from(a), l).unwrap())),
    ]
}

fn ranges<T: Copy + Ord + std::fmt::Debug + 'static>(
    values: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Vec<ValueRange<T>>> {
    prop::collection::vec(
        (values.clone(), values).prop_map(|(a, b)| ValueRange::new(a.min(b), a.max(b))),
        1..5,
    )
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{0,8}"
}

fn fqdn() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(label(), 1..4), label()).prop_map(|(wild, ls, tld)| {
        let mut s = if wild {
            String::from("*.")
        } else {
            String::new()
        };
        s.push_str(&ls.join("."));
        s.push('.');
        s.push_str(&tld);
        s
    })
}

fn list<T: ToString>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

#[derive(Debug, Clone)]
struct Filters {
    target_prefix: Option<Vec<IpNet>>,
    source_prefix: Option<Vec<IpNet>>,
    target_port: Option<Vec<ValueRange<u16>>>,
    source_port: Option<Vec<ValueRange<u16>>>,
    target_protocol: Option<Vec<ValueRange<u8>>>,
    source_icmp_type: Option<Vec<ValueRange<u8>>>,
    mid: Option<Vec<ValueRange<u32>>>,
    target_fqdn: Option<Vec<String>>,
    target_uri: Option<Vec<String>>,
    alias_name: Option<Vec<String>>,
    content: Option<Content>,
}

fn filters() -> impl Strategy<Value = Filters> {
    let prefixes = || prop::option::of(prop::collection::vec(prefix(), 1..4));
    (
        (
            prefixes(),
            prefixes(),
            prop::option::of(ranges(any::<u16>())),
            prop::option::of(ranges(any::<u16>())),
            prop::option::of(ranges(any::<u8>())),
            prop::option::of(ranges(any::<u8>())),
        ),
        (
            prop::option::of(ranges(any::<u32>())),
            prop::option::of(prop::collection::vec(fqdn(), 1..4)),
            prop::option::of(prop::collection::vec(
                (fqdn(), "[a-z0-9/]{0,12}").prop_map(|(h, p)| format!("https://{h}/{p}")),
                1..3,
            )),
            prop::option::of(prop::collection::vec("[A-Za-z0-9_.-]{1,12}", 1..4)),
            prop::option::of(prop_oneof![
                Just(Content::Config),
                Just(Content::NonConfig),
                Just(Content::All)
            ]),
        ),
    )
        .prop_map(
            |((tp, sp, tpo, spo, tpr, sit), (mid, f, u, a, c))| Filters {
                target_prefix: tp,
                source_prefix: sp,
                target_port: tpo,
                source_port: spo,
                target_protocol: tpr,
                source_icmp_type: sit,
                mid,
                target_fqdn: f,
                target_uri: u,
                alias_name: a,
                content: c,
            },
        )
}

fn options(f: &Filters, alias_key: &str) -> Vec<String> {
    let mut o = Vec::new();
    let mut push = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            o.push(format!("{name}={v}"));
        }
    };
    push("target-prefix", f.target_prefix.as_deref().map(list));
    push("source-prefix", f.source_prefix.as_deref().map(list));
    push("target-port", f.target_port.as_deref().map(list));
    push("source-port", f.source_port.as_deref().map(list));
    push("target-protocol", f.target_protocol.as_deref().map(list));
    push("source-icmp-type", f.source_icmp_type.as_deref().map(list));
    push("mid", f.mid.as_deref().map(list));
    push("target-fqdn", f.target_fqdn.as_deref().map(list));
    push("target-uri", f.target_uri.as_deref().map(list));
    push(alias_key, f.alias_name.as_deref().map(list));
    push(
        "c",
        f.content.map(|c| {
            match c {
                Content::Config => "c",
                Content::NonConfig => "n",
                Content::All => "a",
            }
            .to_string()
        }),
    );
    o
}

proptest! {
    #[test]
    fn typed_values_round_trip(f in filters(), alias_key in prop_oneof![Just("alias-name"), Just("target-alias")], rev in any::<bool>()) {
        let mut opts = options(&f, alias_key);
        if rev {
            opts.reverse();
        }
        let q = TargetQuery::parse(opts.iter().map(String::as_str), QuerySet::TELEMETRY).unwrap();
        prop_assert_eq!(q.target_prefixes().collect::<Vec<_>>(), f.target_prefix.clone().unwrap_or_default());
        prop_assert_eq!(q.source_prefixes().collect::<Vec<_>>(), f.source_prefix.clone().unwrap_or_default());
        prop_assert_eq!(q.target_ports().collect::<Vec<_>>(), f.target_port.clone().unwrap_or_default());
        prop_assert_eq!(q.source_ports().collect::<Vec<_>>(), f.source_port.clone().unwrap_or_default());
        prop_assert_eq!(q.target_protocols().collect::<Vec<_>>(), f.target_protocol.clone().unwrap_or_default());
        prop_assert_eq!(q.source_icmp_types().collect::<Vec<_>>(), f.source_icmp_type.clone().unwrap_or_default());
        prop_assert_eq!(q.mids().collect::<Vec<_>>(), f.mid.clone().unwrap_or_default());
        prop_assert_eq!(q.target_fqdns().map(String::from).collect::<Vec<_>>(), f.target_fqdn.clone().unwrap_or_default());
        prop_assert_eq!(q.target_uris().map(String::from).collect::<Vec<_>>(), f.target_uri.clone().unwrap_or_default());
        prop_assert_eq!(q.alias_names().map(String::from).collect::<Vec<_>>(), f.alias_name.clone().unwrap_or_default());
        prop_assert_eq!(q.content_given(), f.content);
        prop_assert_eq!(q.types().contains(QueryType::Content), f.content.is_some());

        // Written again and parsed: the same query.
        let again: Vec<String> = q.options().map(|o| o.to_string()).collect();
        prop_assert_eq!(again.len(), opts.len());
        let q2 = TargetQuery::parse(again.iter().map(String::as_str), QuerySet::TELEMETRY).unwrap();
        prop_assert_eq!(q2, q);
    }

    /// Arbitrary text never panics, and whatever parses writes back to an equal query.
    #[test]
    fn arbitrary_options(opts in prop::collection::vec("[a-z-]{1,16}=[ -~]{0,24}", 0..6)) {
        if let Ok(q) = TargetQuery::parse(opts.iter().map(String::as_str), QuerySet::TELEMETRY) {
            let again: Vec<String> = q.options().map(|o| o.to_string()).collect();
            let q2 = TargetQuery::parse(again.iter().map(String::as_str), QuerySet::TELEMETRY).unwrap();
            prop_assert_eq!(q2, q);
        }
    }
}
