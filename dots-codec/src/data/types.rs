//! Small value types of the data-channel model: enumerations, identities, `bits`, decimal64,
//! binary, port ranges, and the schema-constraint error they report.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The namespace of the `ietf-access-control-list` module (RFC 8519), used to qualify its
/// identities in JSON (RFC 7951 Section 6.8).
pub const ACL_MODULE: &str = "ietf-access-control-list";

/// A YANG schema constraint the value breaks (a range, a `must`, a `choice`, a mandatory leaf),
/// found by a `validate` method after parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
#[non_exhaustive]
pub struct SchemaError {
    /// What is wrong.
    pub kind: SchemaErrorKind,
    /// Data path of the offending node, relative to the value validated (e.g.
    /// `aces/ace=rule1/matches/ipv4/dscp`).
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

/// The kind of a [`SchemaError`], which selects the RESTCONF `error-tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaErrorKind {
    /// A mandatory node is absent (`missing-attribute`).
    Missing,
    /// A value is out of range or breaks a constraint (`invalid-value`).
    Invalid,
}

impl SchemaError {
    /// A mandatory node `path` is absent.
    #[must_use]
    pub fn missing(path: impl Into<String>, message: impl Into<String>) -> SchemaError {
        SchemaError {
            kind: SchemaErrorKind::Missing,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The node at `path` has an invalid value.
    #[must_use]
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> SchemaError {
        SchemaError {
            kind: SchemaErrorKind::Invalid,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, with `prefix` prepended to its path.
    #[must_use]
    pub fn within(mut self, prefix: &str) -> SchemaError {
        self.path = if self.path.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}/{}", self.path)
        };
        self
    }
}

/// Splits an identity name into its optional module prefix and its local name.
fn split_identity(s: &str) -> (Option<&str>, &str) {
    match s.split_once(':') {
        Some((module, name)) => (Some(module), name),
        None => (None, s),
    }
}

/// Declares a string-valued enumeration (YANG `enumeration` or `identityref`).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, module = $module:expr, expecting = $expecting:literal,
        { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The YANG name, without module prefix.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the YANG name. Identities also accept the module-qualified form.
            #[must_use]
            pub fn from_name(s: &str) -> Option<$name> {
                let module: Option<&str> = $module;
                let local = match (module, split_identity(s)) {
                    (Some(m), (Some(p), local)) if p == m => local,
                    (_, (Some(_), _)) => return None,
                    (_, (None, local)) => local,
                };
                match local {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let module: Option<&str> = $module;
                match module {
                    Some(m) => write!(f, "{m}:{}", self.name()),
                    None => f.write_str(self.name()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v)
                            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

string_enum! {
    /// `activation-type` of an ACL (RFC 8783 Section 4.3): when the DOTS server enforces it.
    ActivationType, module = None, expecting = "an activation-type",
    {
        /// Installed only while a mitigation is active for the DOTS client (the default).
        ActivateWhenMitigating => "activate-when-mitigating",
        /// Installed at once.
        Immediate => "immediate",
        /// Kept by the server but not enforced.
        Deactivate => "deactivate",
    }
}

impl Default for ActivationType {
    /// `activate-when-mitigating`, the default of RFC 8783 Section 7.2.
    fn default() -> ActivationType {
        ActivationType::ActivateWhenMitigating
    }
}

string_enum! {
    /// `acl-type` identities of `ietf-access-control-list` (RFC 8519 Section 4.1). Written
    /// module-qualified in JSON (RFC 7951 Section 6.8); the unqualified form RFC 8783 prints is
    /// accepted on input.
    AclType, module = Some(ACL_MODULE), expecting = "an acl-type identity",
    {
        /// `ipv4-acl-type`.
        Ipv4 => "ipv4-acl-type",
        /// `ipv6-acl-type`.
        Ipv6 => "ipv6-acl-type",
        /// `eth-acl-type`.
        Eth => "eth-acl-type",
        /// `mixed-eth-ipv4-acl-type`.
        MixedEthIpv4 => "mixed-eth-ipv4-acl-type",
        /// `mixed-eth-ipv6-acl-type`.
        MixedEthIpv6 => "mixed-eth-ipv6-acl-type",
        /// `mixed-eth-ipv4-ipv6-acl-type`.
        MixedEthIpv4Ipv6 => "mixed-eth-ipv4-ipv6-acl-type",
    }
}

impl AclType {
    /// Whether the type is, or derives from, `ipv4-acl-type` (so an `ipv4` match may be used).
    #[must_use]
    pub const fn allows_ipv4(self) -> bool {
        matches!(
            self,
            AclType::Ipv4 | AclType::MixedEthIpv4 | AclType::MixedEthIpv4Ipv6
        )
    }

    /// Whether the type is, or derives from, `ipv6-acl-type` (so an `ipv6` match may be used).
    #[must_use]
    pub const fn allows_ipv6(self) -> bool {
        matches!(
            self,
            AclType::Ipv6 | AclType::MixedEthIpv6 | AclType::MixedEthIpv4Ipv6
        )
    }
}

string_enum! {
    /// `forwarding-action` identities of `ietf-access-control-list` (RFC 8519). RFC 8783
    /// Section 4.1 excludes `reject` from DOTS; the model still parses it so a server can answer
    /// it precisely.
    ForwardingAction, module = Some(ACL_MODULE), expecting = "a forwarding-action identity",
    {
        /// Accept (accept-list) matching traffic.
        Accept => "accept",
        /// Drop matching traffic silently.
        Drop => "drop",
        /// Drop and send an ICMP error (not supported by DOTS).
        Reject => "reject",
    }
}

string_enum! {
    /// An `address-family` of the capabilities (RFC 8783 Section 7.1).
    AddressFamily, module = None, expecting = "ipv4 or ipv6",
    {
        /// IPv4.
        Ipv4 => "ipv4",
        /// IPv6.
        Ipv6 => "ipv6",
    }
}

string_enum! {
    /// Port comparison `operator` of `ietf-packet-fields` (RFC 8519).
    PortOperator, module = None, expecting = "lte, gte, eq or neq",
    {
        /// Less than or equal.
        Lte => "lte",
        /// Greater than or equal.
        Gte => "gte",
        /// Equal (the default).
        Eq => "eq",
        /// Not equal.
        Neq => "neq",
    }
}

#[allow(clippy::derivable_impls)] // the enum is declared by a macro
impl Default for PortOperator {
    fn default() -> PortOperator {
        PortOperator::Eq
    }
}

/// Declares a YANG `bits` type: a bit set written as space-separated bit names.
macro_rules! bits_type {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty), expecting = $expecting:literal,
        { $( $(#[$cmeta:meta])* $konst:ident = $bit:expr => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $konst: $name = $name(1 << $bit); )+

            /// Every defined bit, in position order, with its YANG name.
            pub const BITS: &'static [($name, &'static str)] = &[$(($name::$konst, $text)),+];

            /// The union of every defined bit.
            pub const ALL: $name = $name(0 $(| (1 << $bit))+);

            /// The empty set.
            #[must_use]
            pub const fn empty() -> $name {
                $name(0)
            }

            /// Whether every bit of `other` is set in `self`.
            #[must_use]
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether no bit is set.
            #[must_use]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Whether every set bit is a defined one.
            #[must_use]
            pub const fn is_defined(self) -> bool {
                self.0 & !$name::ALL.0 == 0
            }

            /// Parses the space-separated form; `None` on an unknown or repeated name.
            #[must_use]
            pub fn parse(s: &str) -> Option<$name> {
                let mut set: $repr = 0;
                for word in s.split_ascii_whitespace() {
                    let (bit, _) = $name::BITS.iter().find(|(_, n)| *n == word)?;
                    if set & bit.0 != 0 {
                        return None;
                    }
                    set |= bit.0;
                }
                Some($name(set))
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut first = true;
                for (bit, text) in $name::BITS {
                    if self.contains(*bit) {
                        if !first {
                            f.write_str(" ")?;
                        }
                        f.write_str(text)?;
                        first = false;
                    }
                }
                Ok(())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(v)
                            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

bits_type! {
    /// The DOTS bitmask `operator` (RFC 8783 Section 4.3): `not`, `match`, `any`. `match` and
    /// `any` must not both be set (checked by [`BitmaskOperator::validate`]).
    BitmaskOperator(u8), expecting = "space-separated operator bits (not, match, any)",
    {
        /// Logical negation of the operation.
        NOT = 0 => "not",
        /// `(data & value) == value`.
        MATCH = 1 => "match",
        /// `(data & value) != 0`.
        ANY = 3 => "any",
    }
}

impl BitmaskOperator {
    /// Checks the YANG rule that `any` and `match` are not set together.
    pub fn validate(self) -> Result<(), SchemaError> {
        if self.contains(BitmaskOperator::MATCH | BitmaskOperator::ANY) {
            return Err(SchemaError::invalid(
                "operator",
                "'any' and 'match' bits must not be set simultaneously",
            ));
        }
        Ok(())
    }

    /// Whether `data` matches `mask` under this operator (`match` is the default when neither
    /// `match` nor `any` is set).
    #[must_use]
    pub const fn matches(self, data: u16, mask: u16) -> bool {
        let hit = if self.contains(BitmaskOperator::ANY) {
            data & mask != 0
        } else {
            data & mask == mask
        };
        hit != self.contains(BitmaskOperator::NOT)
    }
}

bits_type! {
    /// The DOTS `fragment-type` bits (RFC 8783 Section 4.3).
    FragmentType(u8), expecting = "space-separated fragment-type bits (df, isf, ff, lf)",
    {
        /// Don't Fragment (IPv4 only).
        DF = 0 => "df",
        /// Is a fragment.
        ISF = 1 => "isf",
        /// First fragment.
        FF = 2 => "ff",
        /// Last fragment.
        LF = 3 => "lf",
    }
}

bits_type! {
    /// IPv4 header `flags` of `ietf-packet-fields` (RFC 8519).
    Ipv4Flags(u8), expecting = "space-separated IPv4 flag bits (reserved, fragment, more)",
    {
        /// Reserved bit.
        RESERVED = 0 => "reserved",
        /// Don't Fragment.
        FRAGMENT = 1 => "fragment",
        /// More Fragments.
        MORE = 2 => "more",
    }
}

bits_type! {
    /// TCP header `flags` of `ietf-packet-fields` (RFC 8519).
    TcpFlags(u16), expecting = "space-separated TCP flag bits",
    {
        /// Congestion Window Reduced.
        CWR = 1 => "cwr",
        /// ECN-Echo.
        ECE = 2 => "ece",
        /// Urgent.
        URG = 3 => "urg",
        /// Acknowledgment.
        ACK = 4 => "ack",
        /// Push.
        PSH = 5 => "psh",
        /// Reset.
        RST = 6 => "rst",
        /// Synchronize.
        SYN = 7 => "syn",
        /// Finish.
        FIN = 8 => "fin",
    }
}

/// A YANG `decimal64` with `fraction-digits 2` (e.g. `rate-limit`), stored in hundredths and
/// written as a JSON string with two fraction digits (`"20.00"`, RFC 7951 Section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Decimal2(pub i64);

impl Decimal2 {
    /// From whole units (saturating).
    #[must_use]
    pub const fn from_units(units: i64) -> Decimal2 {
        Decimal2(units.saturating_mul(100))
    }

    /// Parses `-?digits(.d{1,2})?`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Decimal2> {
        let (neg, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (int, frac) = match rest.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (rest, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut value: i64 = 0;
        for b in int.bytes() {
            value = value.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
        }
        value = value.checked_mul(100)?;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut digits = f.bytes();
            let tenths = digits.next().map_or(0, |b| i64::from(b - b'0'));
            let hundredths = digits.next().map_or(0, |b| i64::from(b - b'0'));
            value = value.checked_sub(tenths * 10 + hundredths)?;
        }
        // accumulated as a negative number so that i64::MIN is reachable
        if neg {
            Some(Decimal2(value))
        } else {
            value.checked_neg().map(Decimal2)
        }
    }
}

impl fmt::Display for Decimal2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = i128::from(self.0);
        let sign = if v < 0 { "-" } else { "" };
        let a = v.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Serialize for Decimal2 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Decimal2, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal2;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal64 string with at most 2 fraction digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal2, E> {
                Decimal2::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// A YANG `binary` value, written as base64 (RFC 7951 Section 6.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Binary(pub Vec<u8>);

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Binary, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Binary;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Binary, E> {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map(Binary)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// A `target-port-range` entry (RFC 8783 Section 6.1): `lower-port`, and `upper-port` when it
/// is a range rather than a single port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PortRange {
    /// Lower bound (the list key).
    pub lower_port: u16,
    /// Upper bound, inclusive; absent for a single port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_port: Option<u16>,
}

impl PortRange {
    /// A single port.
    #[must_use]
    pub const fn single(port: u16) -> PortRange {
        PortRange {
            lower_port: port,
            upper_port: None,
        }
    }

    /// The inclusive range `lower..=upper`.
    #[must_use]
    pub const fn range(lower: u16, upper: u16) -> PortRange {
        PortRange {
            lower_port: lower,
            upper_port: Some(upper),
        }
    }

    /// The inclusive upper bound (the lower port for a single port).
    #[must_use]
    pub fn upper(&self) -> u16 {
        self.upper_port.unwrap_or(self.lower_port)
    }

    /// Checks the YANG `must '. >= ../lower-port'` on `upper-port`.
    pub fn validate(&self) -> Result<(), SchemaError> {
        match self.upper_port {
            Some(u) if u < self.lower_port => Err(SchemaError::invalid(
                "upper-port",
                "the upper-port number must be greater than or equal to the lower-port number",
            )),
            _ => Ok(()),
        }
    }
}

/// serde helpers for YANG 64-bit integers, which RFC 7951 Section 6.1 writes as JSON strings.
pub(crate) mod u64_string {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.collect_str(n),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Option<u64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a uint64 as a decimal string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u64>, E> {
                if v.is_empty()
                    || !v.bytes().all(|b| b.is_ascii_digit())
                    || (v.len() > 1 && v.starts_with('0'))
                {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                v.parse::<u64>()
                    .map(Some)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// Checks `s` against the `inet:domain-name` type of RFC 6991 (labels of letters, digits, `-`
/// and `_`, 1 to 63 characters, not starting or ending with `-`; 1 to 253 characters in all; an
/// optional final dot).
#[must_use]
pub fn is_domain_name(s: &str) -> bool {
    if s == "." {
        return true;
    }
    let body = s.strip_suffix('.').unwrap_or(s);
    if body.is_empty() || s.len() > 253 {
        return false;
    }
    body.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
            && b.first().is_some_and(|c| *c != b'-')
            && b.last().is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A loose check of `inet:uri` (RFC 3986 Section 3): a scheme, a colon, and no whitespace or
/// control characters.
#[must_use]
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    sb.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sb.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Length of `s` in characters, as YANG `length` counts it.
pub(crate) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The string form of a list key in a data path: `name=value`.
pub(crate) fn key_path(list: &str, key: &str) -> String {
    let mut p = list.to_string();
    p.push('=');
    p.push_str(key);
    p
}
