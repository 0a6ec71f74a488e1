//! DOTS signal channel resources: the Uri-Path and Uri-Query of a request (RFC 9132 Sections
//! 4.2, 4.4, 4.5, 4.7; RFC 9244 Sections 7 and 8), parsed without state and without allocation.
//!
//! Every resource lives under `/.well-known/dots` (RFC 8615): one Uri-Path option per segment,
//! then the operation, then its parameters as `name=value` segments in a fixed order:
//!
//! | operation | parameters (in this order) |
//! |---|---|
//! | `mitigate` | `[cdid=]`, `cuid=`, `[mid=]` |
//! | `config` | `[sid=]` |
//! | `hb` | none |
//! | `tm-setup` (RFC 9244) | `[cdid=]`, `cuid=`, `[tsid=]` |
//! | `tm` (RFC 9244) | `[cdid=]`, `cuid=`, `[tmid=]` |
//! | `redirect` (RFC 9066) | `[cdid=]`, `cuid=`, `[mid=]` |
//!
//! Which optional parameter a method needs (a PUT needs `mid`, a GET does not) is the server's
//! business; this module checks the grammar: a wrong prefix or an unknown operation is 4.04 (Not
//! Found); a missing `cuid`, an empty value ("Uri-Path parameters with empty values MUST NOT be
//! present in a request", RFC 9132 Section 4.4.2), a parameter out of order ("'mid' MUST follow
//! 'cuid'", "'cdid' MUST be positioned before 'cuid'"), repeated or unknown, a `cuid` on `config`
//! or on `hb` (RFC 9132 Sections 4.5.2 and 4.7), or a non-numeric identifier is 4.00 (Bad
//! Request). Identifiers are `uint32`, decimal, without sign or leading zeros.
//!
//! ```
//! use dots_codec::path::{parse_path, DotsPath};
//!
//! let path = parse_path([".well-known", "dots", "mitigate", "cuid=dz6pHjaADkaFTbjr0JGBpw", "mid=123"])?;
//! assert_eq!(
//!     path,
//!     DotsPath::Mitigate { cdid: None, cuid: "dz6pHjaADkaFTbjr0JGBpw", mid: Some(123) }
//! );
//! let err = parse_path([".well-known", "dots", "mitigate", "mid=123", "cuid=x"]).unwrap_err();
//! assert_eq!(err.response_code(), dots_codec::coap::Code::BAD_REQUEST);
//! # Ok::<(), dots_codec::path::PathError>(())
//! ```

use crate::coap::Code;

/// The first Uri-Path segment of every DOTS resource (RFC 8615).
pub const WELL_KNOWN: &str = ".well-known";
/// The second Uri-Path segment: the registered well-known name (RFC 9132 Section 10.2).
pub const DOTS: &str = "dots";

/// Largest `mid`, `sid`, `tsid` or `tmid` (`uint32`).
pub const MAX_ID: u32 = u32::MAX;

/// Uri-Query arguments kept by [`parse_query`] besides `c`.
pub const MAX_QUERY_ARGS: usize = 16;

/// A DOTS signal channel resource, with its Uri-Path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DotsPath<'a> {
    /// `/.well-known/dots/mitigate[/cdid=D]/cuid=C[/mid=M]` (RFC 9132 Section 4.4).
    Mitigate {
        /// `cdid`, inserted by a server-domain gateway (RFC 9132 Section 4.4.1.2).
        cdid: Option<&'a str>,
        /// `cuid` (mandatory).
        cuid: &'a str,
        /// `mid` (mandatory for PUT and DELETE; absent in a GET means all mitigations).
        mid: Option<u32>,
    },
    /// `/.well-known/dots/config[/sid=S]` (RFC 9132 Section 4.5).
    Config {
        /// `sid` (mandatory for PUT; optional for GET and DELETE).
        sid: Option<u32>,
    },
    /// `/.well-known/dots/hb` (RFC 9132 Section 4.7).
    Heartbeat,
    /// `/.well-known/dots/tm-setup[/cdid=D]/cuid=C[/tsid=T]` (RFC 9244 Section 7).
    TelemetrySetup {
        /// `cdid`.
        cdid: Option<&'a str>,
        /// `cuid` (mandatory).
        cuid: &'a str,
        /// `tsid`.
        tsid: Option<u32>,
    },
    /// `/.well-known/dots/tm[/cdid=D]/cuid=C[/tmid=T]` (RFC 9244 Section 8).
    Telemetry {
        /// `cdid`.
        cdid: Option<&'a str>,
        /// `cuid` (mandatory).
        cuid: &'a str,
        /// `tmid`.
        tmid: Option<u32>,
    },
    /// `/.well-known/dots/redirect[/cdid=D]/cuid=C[/mid=M]`: a Call Home DOTS client's
    /// redirection of its Call Home DOTS server to another client (RFC 9066 Section 5.2.2,
    /// Figure 9).
    Redirect {
        /// `cdid`.
        cdid: Option<&'a str>,
        /// `cuid` (mandatory).
        cuid: &'a str,
        /// `mid`, as Figure 9 prints it.
        mid: Option<u32>,
    },
}

impl<'a> DotsPath<'a> {
    /// The `cuid` Uri-Path parameter, when the resource has one.
    pub fn cuid(&self) -> Option<&'a str> {
        match *self {
            DotsPath::Mitigate { cuid, .. }
            | DotsPath::TelemetrySetup { cuid, .. }
            | DotsPath::Telemetry { cuid, .. }
            | DotsPath::Redirect { cuid, .. } => Some(cuid),
            DotsPath::Config { .. } | DotsPath::Heartbeat => None,
        }
    }

    /// The `cdid` Uri-Path parameter, when present.
    pub fn cdid(&self) -> Option<&'a str> {
        match *self {
            DotsPath::Mitigate { cdid, .. }
            | DotsPath::TelemetrySetup { cdid, .. }
            | DotsPath::Telemetry { cdid, .. }
            | DotsPath::Redirect { cdid, .. } => cdid,
            DotsPath::Config { .. } | DotsPath::Heartbeat => None,
        }
    }
}

/// Why a Uri-Path or Uri-Query was rejected. [`PathError::response_code`] gives the CoAP answer;
/// `Display` gives a short diagnostic payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Not under `/.well-known/dots`, or an unknown operation (4.04).
    #[error("no DOTS resource at this path")]
    NotFound,
    /// A `name=value` segment that the operation does not define, or a segment without `=`.
    #[error("unexpected Uri-Path segment for '{operation}'")]
    UnexpectedSegment {
        /// The operation (`mitigate`, `config`, ...).
        operation: &'static str,
    },
    /// A parameter appears after one it must precede, or twice.
    #[error("Uri-Path parameter '{param}' is out of order or repeated")]
    OutOfOrder {
        /// The parameter.
        param: &'static str,
    },
    /// A mandatory parameter is absent.
    #[error("Uri-Path parameter '{param}' is missing")]
    Missing {
        /// The parameter.
        param: &'static str,
    },
    /// A parameter with an empty value.
    #[error("Uri-Path parameter '{param}' has an empty value")]
    EmptyValue {
        /// The parameter.
        param: &'static str,
    },
    /// An identifier that is not a decimal `uint32`.
    #[error("Uri-Path parameter '{param}' is not a uint32")]
    InvalidNumber {
        /// The parameter.
        param: &'static str,
    },
    /// A parameter that must not be used on this resource (`cuid`, `cdid` or `mid` on `config`
    /// or `hb`).
    #[error("Uri-Path parameter '{param}' must not be used with '{operation}'")]
    NotAllowed {
        /// The parameter.
        param: &'static str,
        /// The operation.
        operation: &'static str,
    },
    /// A Uri-Query argument that is not `name=value`, has an empty name, is repeated, or more
    /// than [`MAX_QUERY_ARGS`] arguments.
    #[error("malformed or repeated Uri-Query argument")]
    InvalidQuery,
    /// A `c` Uri-Query value other than `c`, `n` or `a` (RFC 9132 Table 2).
    #[error("Uri-Query 'c' must be 'c', 'n' or 'a'")]
    InvalidContent,
}

impl PathError {
    /// The CoAP response code a DOTS server answers with: 4.04 for [`PathError::NotFound`],
    /// 4.00 for everything else (RFC 9132 Sections 4.4.1.3 and 9).
    pub fn response_code(&self) -> Code {
        match self {
            PathError::NotFound => Code::NOT_FOUND,
            _ => Code::BAD_REQUEST,
        }
    }
}

/// The parameters an operation accepts, in their required order.
#[derive(Clone, Copy)]
struct Grammar {
    operation: &'static str,
    /// `cdid` then `cuid` allowed/required.
    client: bool,
    /// The trailing identifier parameter, if any.
    id: Option<&'static str>,
}

/// `s.split_once('=')` for the short names of Uri-Path segments: a byte loop finds the `=`
/// after a few bytes, where the general search sets up a scan of the whole segment.
#[inline]
fn split_eq(s: &str) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == b'=')?;
    // `=` is ASCII: both sides are on character boundaries.
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Parses the Uri-Path segments of a request (each Uri-Path option, in order).
pub fn parse_path<'a, I>(segments: I) -> Result<DotsPath<'a>, PathError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut it = segments.into_iter();
    if it.next() != Some(WELL_KNOWN) || it.next() != Some(DOTS) {
        return Err(PathError::NotFound);
    }
    let op = it.next().ok_or(PathError::NotFound)?;
    let g = match op {
        "mitigate" => Grammar {
            operation: "mitigate",
            client: true,
            id: Some("mid"),
        },
        "config" => Grammar {
            operation: "config",
            client: false,
            id: Some("sid"),
        },
        "hb" => Grammar {
            operation: "hb",
            client: false,
            id: None,
        },
        "tm-setup" => Grammar {
            operation: "tm-setup",
            client: true,
            id: Some("tsid"),
        },
        "tm" => Grammar {
            operation: "tm",
            client: true,
            id: Some("tmid"),
        },
        "redirect" => Grammar {
            operation: "redirect",
            client: true,
            id: Some("mid"),
        },
        _ => return Err(PathError::NotFound),
    };
    // Position reached in the grammar: 0 nothing, 1 after cdid, 2 after cuid, 3 after the id.
    let mut pos = 0u8;
    let (mut cdid, mut cuid, mut id) = (None, None, None);
    for seg in it {
        let (name, value) = split_eq(seg).ok_or(PathError::UnexpectedSegment {
            operation: g.operation,
        })?;
        let (param, at) = match name {
            n if Some(n) == g.id => (g.id.unwrap_or(""), 3),
            "cdid" if g.client => ("cdid", 1),
            "cuid" if g.client => ("cuid", 2),
            "cdid" | "cuid" | "mid" => {
                return Err(PathError::NotAllowed {
                    param: static_name(name),
                    operation: g.operation,
                })
            }
            _ => {
                return Err(PathError::UnexpectedSegment {
                    operation: g.operation,
                })
            }
        };
        if at <= pos {
            return Err(PathError::OutOfOrder { param });
        }
        if at == 3 && g.client && pos < 2 {
            // The identifier must follow `cuid`.
            return Err(PathError::OutOfOrder { param });
        }
        pos = at;
        if value.is_empty() {
            return Err(PathError::EmptyValue { param });
        }
        match at {
            1 => cdid = Some(value),
            2 => cuid = Some(value),
            _ => id = Some(parse_u32(value).ok_or(PathError::InvalidNumber { param })?),
        }
    }
    if g.client && cuid.is_none() {
        return Err(PathError::Missing { param: "cuid" });
    }
    let cuid = cuid.unwrap_or("");
    Ok(match g.operation {
        "mitigate" => DotsPath::Mitigate {
            cdid,
            cuid,
            mid: id,
        },
        "config" => DotsPath::Config { sid: id },
        "hb" => DotsPath::Heartbeat,
        "tm-setup" => DotsPath::TelemetrySetup {
            cdid,
            cuid,
            tsid: id,
        },
        "redirect" => DotsPath::Redirect {
            cdid,
            cuid,
            mid: id,
        },
        _ => DotsPath::Telemetry {
            cdid,
            cuid,
            tmid: id,
        },
    })
}

fn static_name(name: &str) -> &'static str {
    match name {
        "cdid" => "cdid",
        "cuid" => "cuid",
        _ => "mid",
    }
}

/// A decimal `uint32` without sign or leading zeros (`0` itself is fine).
fn parse_u32(s: &str) -> Option<u32> {
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
    u32::try_from(v).ok()
}

/// The `c` (content) Uri-Query value (RFC 9132 Section 4.4.2, Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Content {
    /// `c=c`: configuration data nodes only.
    Config,
    /// `c=n`: non-configuration data nodes only (status, counters).
    NonConfig,
    /// `c=a` (the default): everything.
    #[default]
    All,
}

/// One Uri-Query argument other than `c`, kept as text (RFC 9244 filters such as
/// `target-prefix=...` are interpreted by whoever supports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryArg<'a> {
    /// The name before `=`.
    pub name: &'a str,
    /// The value after `=` (possibly empty).
    pub value: &'a str,
}

/// The Uri-Query options of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query<'a> {
    /// The `c` argument, when given.
    pub content: Option<Content>,
    /// The other arguments, in order.
    pub args: heapless::Vec<QueryArg<'a>, MAX_QUERY_ARGS, u8>,
}

impl Query<'_> {
    /// The effective content selection (`c=a` when absent).
    pub fn content(&self) -> Content {
        self.content.unwrap_or_default()
    }
}

/// Parses the Uri-Query options of a request: each `name=value`, names unique; `c` must be
/// `c`, `n` or `a`.
pub fn parse_query<'a, I>(args: I) -> Result<Query<'a>, PathError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut q = Query::default();
    for arg in args {
        let (name, value) = arg.split_once('=').ok_or(PathError::InvalidQuery)?;
        if name.is_empty() {
            return Err(PathError::InvalidQuery);
        }
        if name == "c" {
            if q.content.is_some() {
                return Err(PathError::InvalidQuery);
            }
            q.content = Some(match value {
                "c" => Content::Config,
                "n" => Content::NonConfig,
                "a" => Content::All,
                _ => return Err(PathError::InvalidContent),
            });
            continue;
        }
        if q.args.iter().any(|a| a.name == name) {
            return Err(PathError::InvalidQuery);
        }
        q.args
            .push(QueryArg { name, value })
            .map_err(|_| PathError::InvalidQuery)?;
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "cuid=dz6pHjaADkaFTbjr0JGBpw";

    fn p<'a>(rest: &[&'a str]) -> Result<DotsPath<'a>, PathError> {
        parse_path(
            [WELL_KNOWN, DOTS]
                .iter()
                .copied()
                .chain(rest.iter().copied()),
        )
    }

    proptest::proptest! {
        #[test]
        fn split_eq_is_split_once(s in "[a-zé=]{0,12}") {
            proptest::prop_assert_eq!(split_eq(&s), s.split_once('='));
        }
    }

    #[test]
    fn split_eq_edges() {
        for s in ["", "=", "==", "a=", "=b", "cuid=x=y", "é=é", "no-equals"] {
            assert_eq!(split_eq(s), s.split_once('='), "{s:?}");
        }
    }

    #[test]
    fn mitigate_forms() {
        assert_eq!(
            p(&["mitigate", C, "mid=123"]),
            Ok(DotsPath::Mitigate {
                cdid: None,
                cuid: "dz6pHjaADkaFTbjr0JGBpw",
                mid: Some(123)
            })
        );
        assert_eq!(
            p(&["mitigate", "cdid=7eeaf349529eb55ed50113", C, "mid=0"]),
            Ok(DotsPath::Mitigate {
                cdid: Some("7eeaf349529eb55ed50113"),
                cuid: "dz6pHjaADkaFTbjr0JGBpw",
                mid: Some(0)
            })
        );
        assert_eq!(
            p(&["mitigate", C]),
            Ok(DotsPath::Mitigate {
                cdid: None,
                cuid: "dz6pHjaADkaFTbjr0JGBpw",
                mid: None
            })
        );
        assert_eq!(
            p(&["mitigate", C, "mid=4294967295"]).map(|d| d.cuid()),
            Ok(Some("dz6pHjaADkaFTbjr0JGBpw"))
        );
    }

    #[test]
    fn mitigate_errors() {
        let bad =
            |r: Result<DotsPath<'static>, PathError>| r.map(|_| ()).map_err(|e| e.response_code());
        assert_eq!(bad(p(&["mitigate"])), Err(Code::BAD_REQUEST));
        assert_eq!(bad(p(&["mitigate", "mid=1"])), Err(Code::BAD_REQUEST));
        assert_eq!(
            p(&["mitigate", "mid=1", C]),
            Err(PathError::OutOfOrder { param: "mid" })
        );
        assert_eq!(
            p(&["mitigate", C, "cdid=x"]),
            Err(PathError::OutOfOrder { param: "cdid" })
        );
        assert_eq!(
            p(&["mitigate", C, C]),
            Err(PathError::OutOfOrder { param: "cuid" })
        );
        assert_eq!(
            p(&["mitigate", "cuid=", "mid=1"]),
            Err(PathError::EmptyValue { param: "cuid" })
        );
        assert_eq!(
            p(&["mitigate", "cdid=", C]),
            Err(PathError::EmptyValue { param: "cdid" })
        );
        assert_eq!(
            p(&["mitigate", C, "mid="]),
            Err(PathError::EmptyValue { param: "mid" })
        );
        for m in [
            "mid=-1",
            "mid=01",
            "mid=4294967296",
            "mid=1a",
            "mid=+1",
            "mid= 1",
        ] {
            assert_eq!(
                p(&["mitigate", C, m]),
                Err(PathError::InvalidNumber { param: "mid" }),
                "{m}"
            );
        }
        assert_eq!(
            p(&["mitigate", C, "mid=1", "x=1"]),
            Err(PathError::UnexpectedSegment {
                operation: "mitigate"
            })
        );
        assert_eq!(
            p(&["mitigate", C, "mid=1", "mid=2"]),
            Err(PathError::OutOfOrder { param: "mid" })
        );
        assert_eq!(
            p(&["mitigate", C, "sid=1"]),
            Err(PathError::UnexpectedSegment {
                operation: "mitigate"
            })
        );
        assert_eq!(
            p(&["mitigate", "dz6pHjaADkaFTbjr0JGBpw"]),
            Err(PathError::UnexpectedSegment {
                operation: "mitigate"
            })
        );
    }

    #[test]
    fn config_and_heartbeat() {
        assert_eq!(p(&["config"]), Ok(DotsPath::Config { sid: None }));
        assert_eq!(
            p(&["config", "sid=123"]),
            Ok(DotsPath::Config { sid: Some(123) })
        );
        assert_eq!(
            p(&["config", C, "sid=1"]),
            Err(PathError::NotAllowed {
                param: "cuid",
                operation: "config"
            })
        );
        assert_eq!(
            p(&["config", "sid="]),
            Err(PathError::EmptyValue { param: "sid" })
        );
        assert_eq!(p(&["hb"]), Ok(DotsPath::Heartbeat));
        for seg in [C, "cdid=x", "mid=1"] {
            assert_eq!(
                p(&["hb", seg]).map_err(|e| e.response_code()),
                Err(Code::BAD_REQUEST),
                "{seg}"
            );
        }
        assert_eq!(
            p(&["hb", "sid=1"]),
            Err(PathError::UnexpectedSegment { operation: "hb" })
        );
        assert_eq!(DotsPath::Heartbeat.cuid(), None);
        assert_eq!(DotsPath::Config { sid: None }.cdid(), None);
    }

    #[test]
    fn telemetry_paths() {
        assert_eq!(
            p(&["tm-setup", C, "tsid=7"]),
            Ok(DotsPath::TelemetrySetup {
                cdid: None,
                cuid: "dz6pHjaADkaFTbjr0JGBpw",
                tsid: Some(7)
            })
        );
        assert_eq!(
            p(&["tm", "cdid=d", C, "tmid=9"]).map(|x| x.cdid()),
            Ok(Some("d"))
        );
        assert_eq!(
            p(&["tm", C, "tsid=9"]),
            Err(PathError::UnexpectedSegment { operation: "tm" })
        );
        assert_eq!(
            p(&["tm", "tmid=9"]),
            Err(PathError::OutOfOrder { param: "tmid" })
        );
    }

    #[test]
    fn call_home_redirect_path() {
        // RFC 9066 Figure 9.
        let r = p(&["redirect", C, "mid=123"]);
        assert_eq!(
            r,
            Ok(DotsPath::Redirect {
                cdid: None,
                cuid: "dz6pHjaADkaFTbjr0JGBpw",
                mid: Some(123)
            })
        );
        assert_eq!(
            r.map(|x| (x.cuid(), x.cdid())),
            Ok((Some("dz6pHjaADkaFTbjr0JGBpw"), None))
        );
        assert_eq!(p(&["redirect"]), Err(PathError::Missing { param: "cuid" }));
    }

    #[test]
    fn not_found() {
        assert_eq!(p(&[]), Err(PathError::NotFound));
        assert_eq!(p(&["v1", "mitigate"]), Err(PathError::NotFound));
        assert_eq!(p(&["Mitigate", C]), Err(PathError::NotFound));
        assert_eq!(parse_path(["dots", "mitigate"]), Err(PathError::NotFound));
        assert_eq!(
            parse_path([".well-known", "other", "mitigate"]),
            Err(PathError::NotFound)
        );
        assert_eq!(
            PathError::NotFound.response_code(),
            Code::NOT_FOUND,
            "unknown resource"
        );
    }

    #[test]
    fn queries() {
        let q = parse_query(["c=n", "target-prefix=2001:db8::/32"]).unwrap();
        assert_eq!(q.content(), Content::NonConfig);
        assert_eq!(
            q.args.as_slice(),
            &[QueryArg {
                name: "target-prefix",
                value: "2001:db8::/32"
            }]
        );
        assert_eq!(parse_query([]).unwrap().content(), Content::All);
        // The server builds this value itself when a request has no Uri-Query.
        assert_eq!(parse_query([]), Ok(Query::default()));
        assert_eq!(parse_query(["c=c"]).unwrap().content, Some(Content::Config));
        assert_eq!(parse_query(["c=a"]).unwrap().content, Some(Content::All));
        assert_eq!(parse_query(["c=x"]), Err(PathError::InvalidContent));
        assert_eq!(parse_query(["c=a", "c=n"]), Err(PathError::InvalidQuery));
        assert_eq!(parse_query(["novalue"]), Err(PathError::InvalidQuery));
        assert_eq!(parse_query(["=x"]), Err(PathError::InvalidQuery));
        assert_eq!(parse_query(["a=1", "a=2"]), Err(PathError::InvalidQuery));
        let many = [
            "a=1", "b=1", "d=1", "e=1", "f=1", "g=1", "h=1", "i=1", "j=1", "k=1", "l=1", "m=1",
            "o=1", "p=1", "q=1", "r=1", "s=1",
        ];
        assert_eq!(parse_query(many), Err(PathError::InvalidQuery));
        assert!(parse_query(many[..16].iter().copied()).is_ok());
    }
}
