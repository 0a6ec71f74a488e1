//! RFC 9244 Uri-Query filters: the target and source filters of a telemetry GET (`/tm`, Section
//! 8.3) and of a mitigation status GET (`/mitigate`, Section 9.2), parsed without state and
//! without allocation.
//!
//! Each filter is one Uri-Query option `name=value`:
//!
//! | name | values |
//! |---|---|
//! | `target-prefix`, `source-prefix` | IP prefixes (`2001:db8::/32`) |
//! | `target-port`, `source-port` | port numbers or ranges (`80`, `8000-8080`) |
//! | `target-protocol` | protocol numbers or ranges (`6`, `6-17`) |
//! | `source-icmp-type` | ICMP types or ranges |
//! | `mid` | `mid`s or ranges |
//! | `target-fqdn` | domain names, the leftmost label may be `*` (`*.example.com`) |
//! | `target-uri` | URIs, the leftmost label of the host may be `*` |
//! | `alias-name` (also `target-alias`, RFC 9244 Figure 48 and the `query-type` enumeration) | alias names |
//! | `c` | `c`, `n` or `a` (RFC 9132 Section 4.4.2) |
//!
//! "If multiple values of a query parameter are to be included in a request, these values MUST
//! be included in the same Uri-Query option and separated by a ',' character without any
//! spaces"; "Range values ... by indicating the two boundary values separated by a '-'
//! character"; "DOTS clients MUST NOT include a name in which the '*' character is included in
//! a label other than the leftmost label" (Section 8.3). Anything else — an unknown or
//! unsupported name, a repeated name, an empty value or item, a reversed range, a misplaced
//! wildcard — is [`QueryError`], answered 4.00 ("Requests with invalid query types (e.g., not
//! supported, malformed) received by the DOTS server MUST be rejected with a 4.00 (Bad
//! Request) Response Code").
//!
//! Values are validated once by [`TargetQuery::parse`] and kept as the borrowed text; the
//! accessors iterate over the parsed values.
//!
//! ```
//! use dots_codec::query::{QuerySet, TargetQuery, ValueRange};
//!
//! let q = TargetQuery::parse(["target-port=80,8000-8080", "target-protocol=17"], QuerySet::TELEMETRY)?;
//! let ports: Vec<ValueRange<u16>> = q.target_ports().collect();
//! assert_eq!(ports, [ValueRange::single(80), ValueRange::new(8000, 8080)]);
//! assert!(q.target_protocols().any(|p| p.contains(17)));
//! # Ok::<(), dots_codec::query::QueryError>(())
//! ```

use core::fmt;

use ipnet::IpNet;

use crate::coap::Code;
pub use crate::model::telemetry::QueryType;
use crate::path::Content;

/// Why a Uri-Query was rejected; always answered 4.00 ([`QueryError::response_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// An option that is not `name=value`.
    #[error("malformed Uri-Query option")]
    Malformed,
    /// A name that is no RFC 9244 filter.
    #[error("unknown Uri-Query parameter")]
    Unknown,
    /// A filter this resource (or server) does not support.
    #[error("Uri-Query parameter '{query}' is not supported here")]
    NotSupported {
        /// The filter.
        query: QueryType,
    },
    /// A filter given twice (multiple values belong in one option).
    #[error("Uri-Query parameter '{query}' is repeated")]
    Repeated {
        /// The filter.
        query: QueryType,
    },
    /// An empty value, or an empty item between commas.
    #[error("Uri-Query parameter '{query}' has an empty value")]
    EmptyValue {
        /// The filter.
        query: QueryType,
    },
    /// A value that does not parse (prefix, number, name).
    #[error("invalid value for Uri-Query parameter '{query}'")]
    InvalidValue {
        /// The filter.
        query: QueryType,
    },
    /// A range whose upper bound is below its lower bound.
    #[error("reversed range in Uri-Query parameter '{query}'")]
    ReversedRange {
        /// The filter.
        query: QueryType,
    },
    /// A `*` anywhere but as the whole leftmost label of a name.
    #[error("'*' is allowed only as the leftmost label in '{query}'")]
    Wildcard {
        /// The filter.
        query: QueryType,
    },
}

impl QueryError {
    /// The CoAP answer: 4.00 (RFC 9244 Sections 8.3 and 10).
    pub fn response_code(&self) -> Code {
        Code::BAD_REQUEST
    }
}

/// A set of [`QueryType`]s: what a resource (or a server) supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QuerySet(u16);

impl QuerySet {
    /// No filter.
    pub const EMPTY: QuerySet = QuerySet(0);
    /// Every filter: what `/tm` accepts (RFC 9244 Section 8.3).
    pub const TELEMETRY: QuerySet = QuerySet(0x0ffe);
    /// The filters of a mitigation status GET (RFC 9244 Section 9.2): `target-prefix`,
    /// `target-port`, `target-protocol`, `target-fqdn`, `target-uri`, `alias-name` and `c`.
    pub const MITIGATION: QuerySet = QuerySet::EMPTY
        .with(QueryType::TargetPrefix)
        .with(QueryType::TargetPort)
        .with(QueryType::TargetProtocol)
        .with(QueryType::TargetFqdn)
        .with(QueryType::TargetUri)
        .with(QueryType::TargetAlias)
        .with(QueryType::Content);

    /// This set and `q`.
    pub const fn with(self, q: QueryType) -> QuerySet {
        QuerySet(self.0 | (1 << q.value()))
    }

    /// The filters in both sets.
    pub const fn intersection(self, other: QuerySet) -> QuerySet {
        QuerySet(self.0 & other.0)
    }

    /// Whether `q` is in the set.
    pub const fn contains(self, q: QueryType) -> bool {
        self.0 & (1 << q.value()) != 0
    }

    /// The members, in `query-type` order.
    pub fn iter(self) -> impl Iterator<Item = QueryType> {
        QueryType::ALL
            .iter()
            .copied()
            .filter(move |q| self.contains(*q))
    }
}

impl FromIterator<QueryType> for QuerySet {
    fn from_iter<I: IntoIterator<Item = QueryType>>(iter: I) -> QuerySet {
        iter.into_iter().fold(QuerySet::EMPTY, QuerySet::with)
    }
}

/// The Uri-Query name of a filter (`alias-name` for [`QueryType::TargetAlias`], `c` for
/// [`QueryType::Content`]).
pub const fn query_name(q: QueryType) -> &'static str {
    match q {
        QueryType::TargetAlias => "alias-name",
        QueryType::Content => "c",
        other => other.name(),
    }
}

fn query_type(name: &str) -> Option<QueryType> {
    Some(match name {
        "target-prefix" => QueryType::TargetPrefix,
        "target-port" => QueryType::TargetPort,
        "target-protocol" => QueryType::TargetProtocol,
        "target-fqdn" => QueryType::TargetFqdn,
        "target-uri" => QueryType::TargetUri,
        // The text of RFC 9244 says 'alias-name'; Figure 48 and the 'query-type' enumeration
        // say 'target-alias'. Both are understood.
        "alias-name" | "target-alias" => QueryType::TargetAlias,
        "mid" => QueryType::Mid,
        "source-prefix" => QueryType::SourcePrefix,
        "source-port" => QueryType::SourcePort,
        "source-icmp-type" => QueryType::SourceIcmpType,
        "c" => QueryType::Content,
        _ => return None,
    })
}

/// An inclusive range of values (`lower` = `upper` for a single value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueRange<T> {
    /// First value.
    pub lower: T,
    /// Last value.
    pub upper: T,
}

impl<T: Copy + Ord> ValueRange<T> {
    /// One value.
    pub const fn single(v: T) -> ValueRange<T> {
        ValueRange { lower: v, upper: v }
    }

    /// `lower..=upper`.
    pub const fn new(lower: T, upper: T) -> ValueRange<T> {
        ValueRange { lower, upper }
    }

    /// Whether `v` is in the range.
    pub fn contains(&self, v: T) -> bool {
        self.lower <= v && v <= self.upper
    }

    /// Whether the two ranges share a value.
    pub fn overlaps(&self, lower: T, upper: T) -> bool {
        self.lower <= upper && lower <= self.upper
    }
}

impl<T: fmt::Display + PartialEq> fmt::Display for ValueRange<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lower == self.upper {
            write!(f, "{}", self.lower)
        } else {
            write!(f, "{}-{}", self.lower, self.upper)
        }
    }
}

/// The filters with values, indexed by `QueryType::value() - 1` (content excluded).
const SLOTS: usize = 10;

/// Parsed Uri-Query filters of a GET (RFC 9244 Sections 8.3 and 9.2).
///
/// Equality compares the filters as parsed (the name `target-alias` equals `alias-name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TargetQuery<'a> {
    values: [Option<&'a str>; SLOTS],
    content: Option<Content>,
}

fn slot(q: QueryType) -> Option<usize> {
    match q {
        QueryType::Content => None,
        other => Some(usize::from(other.value()) - 1),
    }
}

/// A decimal number without sign or leading zeros, at most `max`.
fn number(s: &str, max: u64) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 10 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    (v <= max).then_some(v)
}

/// A value or `lower-upper`, each at most `max`.
fn range(s: &str, max: u64) -> Option<(u64, u64)> {
    match s.split_once('-') {
        Some((a, b)) => Some((number(a, max)?, number(b, max)?)),
        None => number(s, max).map(|v| (v, v)),
    }
}

/// Whether `name` is a domain name whose labels are 1–63 letters, digits, `-` or `_`, the
/// leftmost label possibly `*`.
fn domain(name: &str) -> bool {
    let n = name.strip_suffix('.').unwrap_or(name);
    let n = n.strip_prefix("*.").unwrap_or(n);
    !n.is_empty()
        && name.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The host part of a URI (`scheme://[userinfo@]host[:port]/...`), if any.
fn uri_host(uri: &str) -> Option<(usize, &str)> {
    let start = uri.find("://")? + 3;
    let rest = uri.get(start..)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let (skip, host) = match authority.rfind('@') {
        Some(i) => (i + 1, authority.get(i + 1..)?),
        None => (0, authority),
    };
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or(host)
    };
    Some((start + skip, host))
}

/// Whether a URI is acceptable as a filter: a scheme, no whitespace or control characters, and
/// a `*` only as the leftmost label of its host.
fn uri_ok(uri: &str) -> Result<(), bool> {
    let Some((scheme, _)) = uri.split_once(':') else {
        return Err(false);
    };
    let mut b = scheme.bytes();
    let scheme_ok = b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok
        || uri
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(false);
    }
    if uri.contains('*') {
        let ok = uri_host(uri).is_some_and(|(at, host)| {
            host.starts_with("*.")
                && host.len() > 2
                && uri.get(at + 1..).is_some_and(|r| !r.contains('*'))
        });
        if !ok {
            return Err(true);
        }
    }
    Ok(())
}

fn check(q: QueryType, value: &str) -> Result<(), QueryError> {
    let invalid = QueryError::InvalidValue { query: q };
    if value.is_empty() {
        return Err(QueryError::EmptyValue { query: q });
    }
    for item in value.split(',') {
        if item.is_empty() {
            return Err(QueryError::EmptyValue { query: q });
        }
        let max = match q {
            QueryType::TargetPort | QueryType::SourcePort => Some(u64::from(u16::MAX)),
            QueryType::TargetProtocol | QueryType::SourceIcmpType => Some(u64::from(u8::MAX)),
            QueryType::Mid => Some(u64::from(u32::MAX)),
            _ => None,
        };
        if let Some(max) = max {
            let (l, u) = range(item, max).ok_or(invalid)?;
            if u < l {
                return Err(QueryError::ReversedRange { query: q });
            }
            continue;
        }
        match q {
            QueryType::TargetPrefix | QueryType::SourcePrefix => {
                crate::cbor::parse_prefix(item).ok_or(invalid)?;
            }
            QueryType::TargetFqdn => {
                if !domain(item) {
                    return Err(if item.contains('*') {
                        QueryError::Wildcard { query: q }
                    } else {
                        invalid
                    });
                }
            }
            QueryType::TargetUri => {
                uri_ok(item).map_err(|wild| {
                    if wild {
                        QueryError::Wildcard { query: q }
                    } else {
                        invalid
                    }
                })?;
            }
            // Alias names: any text without the separator (RFC 8783 Section 6.1 'name' is a
            // string) and without whitespace.
            _ => {
                if item
                    .bytes()
                    .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
                {
                    return Err(invalid);
                }
            }
        }
    }
    Ok(())
}

impl<'a> TargetQuery<'a> {
    /// Parses the Uri-Query options of a request, accepting the filters in `allowed` (an
    /// unknown name, or a filter outside `allowed`, is an error).
    pub fn parse<I>(options: I, allowed: QuerySet) -> Result<TargetQuery<'a>, QueryError>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut out = TargetQuery::default();
        for opt in options {
            let (name, value) = opt.split_once('=').ok_or(QueryError::Malformed)?;
            let q = query_type(name).ok_or(QueryError::Unknown)?;
            if !allowed.contains(q) {
                return Err(QueryError::NotSupported { query: q });
            }
            match slot(q) {
                None => {
                    if out.content.is_some() {
                        return Err(QueryError::Repeated { query: q });
                    }
                    out.content = Some(match value {
                        "c" => Content::Config,
                        "n" => Content::NonConfig,
                        "a" => Content::All,
                        "" => return Err(QueryError::EmptyValue { query: q }),
                        _ => return Err(QueryError::InvalidValue { query: q }),
                    });
                }
                Some(i) => {
                    let s = out.values.get_mut(i).ok_or(QueryError::Unknown)?;
                    if s.is_some() {
                        return Err(QueryError::Repeated { query: q });
                    }
                    check(q, value)?;
                    *s = Some(value);
                }
            }
        }
        Ok(out)
    }

    /// The `c` filter, when given.
    pub fn content_given(&self) -> Option<Content> {
        self.content
    }

    /// The effective content selection (`a` when absent).
    pub fn content(&self) -> Content {
        self.content.unwrap_or_default()
    }

    /// The raw value of a filter, when given.
    pub fn raw(&self, q: QueryType) -> Option<&'a str> {
        slot(q).and_then(|i| self.values.get(i).copied().flatten())
    }

    /// Whether no filter but `c` is given.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// Whether a filter on the target's addresses or names is given (`target-prefix`,
    /// `target-fqdn`, `target-uri`, `alias-name`).
    pub fn has_address_filter(&self) -> bool {
        [
            QueryType::TargetPrefix,
            QueryType::TargetFqdn,
            QueryType::TargetUri,
            QueryType::TargetAlias,
        ]
        .into_iter()
        .any(|q| self.raw(q).is_some())
    }

    /// Whether a source filter is given (`source-prefix`, `source-port`, `source-icmp-type`).
    pub fn has_source_filter(&self) -> bool {
        [
            QueryType::SourcePrefix,
            QueryType::SourcePort,
            QueryType::SourceIcmpType,
        ]
        .into_iter()
        .any(|q| self.raw(q).is_some())
    }

    /// The filters given (`c` included), in `query-type` order.
    pub fn types(&self) -> QuerySet {
        let set: QuerySet = QueryType::ALL
            .iter()
            .copied()
            .filter(|q| self.raw(*q).is_some())
            .collect();
        match self.content {
            Some(_) => set.with(QueryType::Content),
            None => set,
        }
    }

    fn items(&self, q: QueryType) -> impl Iterator<Item = &'a str> + Clone + 'a {
        self.raw(q).into_iter().flat_map(|v| v.split(','))
    }

    fn prefixes(&self, q: QueryType) -> impl Iterator<Item = IpNet> + Clone + 'a {
        self.items(q).filter_map(crate::cbor::parse_prefix)
    }

    fn ranges(&self, q: QueryType, max: u64) -> impl Iterator<Item = (u64, u64)> + Clone + 'a {
        self.items(q).filter_map(move |i| range(i, max))
    }

    /// `target-prefix` values.
    pub fn target_prefixes(&self) -> impl Iterator<Item = IpNet> + Clone + 'a {
        self.prefixes(QueryType::TargetPrefix)
    }

    /// `source-prefix` values.
    pub fn source_prefixes(&self) -> impl Iterator<Item = IpNet> + Clone + 'a {
        self.prefixes(QueryType::SourcePrefix)
    }

    /// `target-port` values and ranges.
    pub fn target_ports(&self) -> impl Iterator<Item = ValueRange<u16>> + Clone + 'a {
        self.ranges(QueryType::TargetPort, u64::from(u16::MAX))
            .map(|(l, u)| ValueRange::new(l as u16, u as u16))
    }

    /// `source-port` values and ranges.
    pub fn source_ports(&self) -> impl Iterator<Item = ValueRange<u16>> + Clone + 'a {
        self.ranges(QueryType::SourcePort, u64::from(u16::MAX))
            .map(|(l, u)| ValueRange::new(l as u16, u as u16))
    }

    /// `target-protocol` values and ranges.
    pub fn target_protocols(&self) -> impl Iterator<Item = ValueRange<u8>> + Clone + 'a {
        self.ranges(QueryType::TargetProtocol, u64::from(u8::MAX))
            .map(|(l, u)| ValueRange::new(l as u8, u as u8))
    }

    /// `source-icmp-type` values and ranges.
    pub fn source_icmp_types(&self) -> impl Iterator<Item = ValueRange<u8>> + Clone + 'a {
        self.ranges(QueryType::SourceIcmpType, u64::from(u8::MAX))
            .map(|(l, u)| ValueRange::new(l as u8, u as u8))
    }

    /// `mid` values and ranges.
    pub fn mids(&self) -> impl Iterator<Item = ValueRange<u32>> + Clone + 'a {
        self.ranges(QueryType::Mid, u64::from(u32::MAX))
            .map(|(l, u)| ValueRange::new(l as u32, u as u32))
    }

    /// `target-fqdn` values (possibly wildcards; see [`fqdn_matches`]).
    pub fn target_fqdns(&self) -> impl Iterator<Item = &'a str> + Clone + 'a {
        self.items(QueryType::TargetFqdn)
    }

    /// `target-uri` values (possibly wildcards; see [`uri_matches`]).
    pub fn target_uris(&self) -> impl Iterator<Item = &'a str> + Clone + 'a {
        self.items(QueryType::TargetUri)
    }

    /// `alias-name` values.
    pub fn alias_names(&self) -> impl Iterator<Item = &'a str> + Clone + 'a {
        self.items(QueryType::TargetAlias)
    }

    /// The filters as Uri-Query options (`name=value`, `Display`), in `query-type` order, `c`
    /// last: parsing them again gives an equal query.
    pub fn options(&self) -> impl Iterator<Item = QueryOption<'a>> + 'a {
        let values = self.values;
        let content = self.content;
        QueryType::ALL
            .iter()
            .filter_map(move |q| {
                slot(*q)
                    .and_then(|i| values.get(i).copied().flatten())
                    .map(|value| QueryOption {
                        query: *q,
                        value: OptionValue::Text(value),
                    })
            })
            .chain(content.map(|c| QueryOption {
                query: QueryType::Content,
                value: OptionValue::Content(c),
            }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptionValue<'a> {
    Text(&'a str),
    Content(Content),
}

/// One Uri-Query option of a [`TargetQuery`]; `Display` writes `name=value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryOption<'a> {
    query: QueryType,
    value: OptionValue<'a>,
}

impl QueryOption<'_> {
    /// The filter.
    pub fn query(&self) -> QueryType {
        self.query
    }
}

impl fmt::Display for QueryOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(query_name(self.query))?;
        f.write_str("=")?;
        match self.value {
            OptionValue::Text(t) => f.write_str(t),
            OptionValue::Content(Content::Config) => f.write_str("c"),
            OptionValue::Content(Content::NonConfig) => f.write_str("n"),
            OptionValue::Content(Content::All) => f.write_str("a"),
        }
    }
}

fn eq_ignore_dot(a: &str, b: &str) -> bool {
    let a = a.strip_suffix('.').unwrap_or(a);
    let b = b.strip_suffix('.').unwrap_or(b);
    a.eq_ignore_ascii_case(b)
}

/// Whether domain name `name` matches the `target-fqdn` filter `pattern`, case-insensitively
/// and ignoring a trailing dot. A pattern `*.example.com` matches names with one or more labels
/// in place of `*` (`www.example.com`, `a.b.example.com`), not `example.com` itself (a DNS
/// wildcard, RFC 4592).
pub fn fqdn_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => {
            let suffix = suffix.strip_suffix('.').unwrap_or(suffix);
            let name = name.strip_suffix('.').unwrap_or(name);
            name.len() > suffix.len()
                && name
                    .get(name.len() - suffix.len()..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
                && name
                    .get(..name.len() - suffix.len())
                    .is_some_and(|head| !head.is_empty() && !head.ends_with('.'))
        }
        None => eq_ignore_dot(pattern, name),
    }
}

/// Whether URI `uri` matches the `target-uri` filter `pattern`: equal, or, when the leftmost
/// label of the pattern's host is `*`, equal but for that label (one or more labels in `uri`;
/// the host compared case-insensitively).
pub fn uri_matches(pattern: &str, uri: &str) -> bool {
    if pattern == uri {
        return true;
    }
    let (Some((pa, ph)), Some((ua, uh))) = (uri_host(pattern), uri_host(uri)) else {
        return false;
    };
    if !ph.starts_with('*') {
        return false;
    }
    let before_ok = pattern
        .get(..pa)
        .zip(uri.get(..ua))
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
    let after_ok = pattern
        .get(pa + ph.len()..)
        .zip(uri.get(ua + uh.len()..))
        .is_some_and(|(a, b)| a == b);
    before_ok && after_ok && fqdn_matches(ph, uh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&'static str]) -> Result<TargetQuery<'static>, QueryError> {
        TargetQuery::parse(opts.iter().copied(), QuerySet::TELEMETRY)
    }

    #[test]
    fn rfc9244_examples() {
        // Figure 42.
        let q = parse(&["target-protocol=17"]).unwrap();
        assert_eq!(
            q.target_protocols().collect::<heapless::Vec<_, 4>>(),
            [ValueRange::single(17)]
        );
        // Figure 48 (and the text's name).
        let a = parse(&["target-alias=https1"]).unwrap();
        let b = parse(&["alias-name=https1"]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.alias_names().next(), Some("https1"));
        // tm-neg-query-target-mismatch-01.
        let q =
            TargetQuery::parse(["target-prefix=2001:db8:ffff::/48"], QuerySet::MITIGATION).unwrap();
        assert_eq!(
            q.target_prefixes().next(),
            Some("2001:db8:ffff::/48".parse().unwrap())
        );
        // tm-neg-invalid-query-01.
        assert_eq!(
            parse(&["example-unknown-query=1"]),
            Err(QueryError::Unknown)
        );
    }

    #[test]
    fn values_ranges_and_lists() {
        let q = parse(&[
            "target-port=80,443,8000-8080",
            "mid=1-100,4294967295",
            "source-icmp-type=0-8",
            "source-port=53",
            "source-prefix=192.0.2.0/24,2001:db8::/32",
            "target-fqdn=*.example.com,www.example.net",
            "target-uri=https://*.example.com/path",
            "c=n",
        ])
        .unwrap();
        assert_eq!(q.target_ports().count(), 3);
        assert!(q.mids().any(|r| r.contains(u32::MAX)));
        assert!(q.source_icmp_types().any(|r| r.contains(3)));
        assert_eq!(q.source_prefixes().count(), 2);
        assert_eq!(q.content(), Content::NonConfig);
        assert!(q.has_address_filter() && q.has_source_filter());
        assert!(!TargetQuery::default().has_address_filter());
        assert!(TargetQuery::default().is_empty());
    }

    #[test]
    fn one_error_per_rule() {
        use QueryType as Q;
        let cases: &[(&str, QueryError)] = &[
            ("target-port", QueryError::Malformed),
            ("x=1", QueryError::Unknown),
            (
                "target-port=",
                QueryError::EmptyValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=80,,81",
                QueryError::EmptyValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=80,",
                QueryError::EmptyValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=80, 81",
                QueryError::InvalidValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=65536",
                QueryError::InvalidValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=080",
                QueryError::InvalidValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=90-80",
                QueryError::ReversedRange {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-port=1-2-3",
                QueryError::InvalidValue {
                    query: Q::TargetPort,
                },
            ),
            (
                "target-protocol=256",
                QueryError::InvalidValue {
                    query: Q::TargetProtocol,
                },
            ),
            ("mid=-1", QueryError::InvalidValue { query: Q::Mid }),
            ("mid=4294967296", QueryError::InvalidValue { query: Q::Mid }),
            (
                "target-prefix=2001:db8::",
                QueryError::InvalidValue {
                    query: Q::TargetPrefix,
                },
            ),
            (
                "target-prefix=10.0.0.0/33",
                QueryError::InvalidValue {
                    query: Q::TargetPrefix,
                },
            ),
            (
                "source-prefix=x/8",
                QueryError::InvalidValue {
                    query: Q::SourcePrefix,
                },
            ),
            (
                "target-fqdn=www.*.example.com",
                QueryError::Wildcard {
                    query: Q::TargetFqdn,
                },
            ),
            (
                "target-fqdn=w*.example.com",
                QueryError::Wildcard {
                    query: Q::TargetFqdn,
                },
            ),
            (
                "target-fqdn=*",
                QueryError::Wildcard {
                    query: Q::TargetFqdn,
                },
            ),
            (
                "target-fqdn=a..b",
                QueryError::InvalidValue {
                    query: Q::TargetFqdn,
                },
            ),
            (
                "target-uri=https://www.*.com/",
                QueryError::Wildcard {
                    query: Q::TargetUri,
                },
            ),
            (
                "target-uri=https://*.example.com/*",
                QueryError::Wildcard {
                    query: Q::TargetUri,
                },
            ),
            (
                "target-uri=no-scheme",
                QueryError::InvalidValue {
                    query: Q::TargetUri,
                },
            ),
            (
                "alias-name=a b",
                QueryError::InvalidValue {
                    query: Q::TargetAlias,
                },
            ),
            ("c=x", QueryError::InvalidValue { query: Q::Content }),
            ("c=", QueryError::EmptyValue { query: Q::Content }),
        ];
        for (opt, err) in cases {
            assert_eq!(parse(&[opt]), Err(*err), "{opt}");
        }
        assert_eq!(
            parse(&["target-port=80", "target-port=81"]),
            Err(QueryError::Repeated {
                query: Q::TargetPort
            })
        );
        assert_eq!(
            parse(&["alias-name=a", "target-alias=b"]),
            Err(QueryError::Repeated {
                query: Q::TargetAlias
            })
        );
        assert_eq!(
            parse(&["c=a", "c=n"]),
            Err(QueryError::Repeated { query: Q::Content })
        );
        assert_eq!(
            TargetQuery::parse(["mid=1"], QuerySet::MITIGATION),
            Err(QueryError::NotSupported { query: Q::Mid })
        );
        assert_eq!(
            TargetQuery::parse(["source-port=1"], QuerySet::MITIGATION),
            Err(QueryError::NotSupported {
                query: Q::SourcePort
            })
        );
        assert_eq!(QueryError::Unknown.response_code(), Code::BAD_REQUEST);
    }

    #[test]
    fn wildcards() {
        assert!(fqdn_matches("*.example.com", "www.example.com"));
        assert!(fqdn_matches("*.example.com", "a.b.EXAMPLE.com."));
        assert!(!fqdn_matches("*.example.com", "example.com"));
        assert!(!fqdn_matches("*.example.com", "wwwexample.com"));
        assert!(fqdn_matches("WWW.example.com.", "www.example.com"));
        assert!(!fqdn_matches("www.example.com", "www.example.org"));
        assert!(uri_matches(
            "https://*.example.com/a",
            "https://www.Example.com/a"
        ));
        assert!(!uri_matches(
            "https://*.example.com/a",
            "https://www.example.com/b"
        ));
        assert!(!uri_matches(
            "https://*.example.com/a",
            "http://www.example.com/a"
        ));
        assert!(uri_matches("https://h.example/x", "https://h.example/x"));
        assert!(!uri_matches("https://h.example/x", "https://g.example/x"));
    }

    #[test]
    fn sets() {
        assert!(QuerySet::TELEMETRY.contains(QueryType::SourceIcmpType));
        assert!(QuerySet::TELEMETRY.contains(QueryType::Content));
        assert_eq!(QuerySet::TELEMETRY.iter().count(), 11);
        assert_eq!(QuerySet::MITIGATION.iter().count(), 7);
        assert!(!QuerySet::MITIGATION.contains(QueryType::Mid));
        let q = parse(&["mid=1", "c=a"]).unwrap();
        assert_eq!(
            q.types(),
            QuerySet::EMPTY
                .with(QueryType::Mid)
                .with(QueryType::Content)
        );
    }
}
