//! Request targets under `{+restconf}/data/ietf-dots-data-channel:dots-data` and query
//! parameters (RFC 8040 Sections 3.5.3 and 4.8).

use alloc::format;
use alloc::string::String;

use super::error::Failure;
use super::http::{percent_decode, Method};
// The RFC 9244 augment of `dots-data` and `dots-client`: a node of another module, hence
// qualified in the path (RFC 8040 Section 3.5.3).
use super::vendor::MEMBER as VENDOR_MAPPING;

/// The data resources of the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    DotsData,
    Capabilities,
    Client(String),
    Aliases(String),
    Alias(String, String),
    Acls(String),
    Acl(String, String),
    Aces(String, String),
    Ace(String, String, String),
    /// The server's vendor attack mappings (RFC 9244), or one vendor's.
    ServerVendors(Option<u32>),
    /// A client's vendor attack mappings (RFC 9244), or one vendor's.
    Vendors(String, Option<u32>),
}

/// The path of the `dots-data` container under the datastore.
pub(crate) const DOTS_DATA: &str = "/ietf-dots-data-channel:dots-data";

impl Target {
    /// The methods each resource supports.
    pub(crate) fn allowed(&self) -> &'static [Method] {
        use Method::*;
        match self {
            Target::DotsData => &[Get, Head, Post, Options],
            Target::Capabilities => &[Get, Head, Options],
            Target::Client(_) | Target::Acl(..) => &[Get, Head, Post, Put, Patch, Delete, Options],
            Target::Aliases(_) | Target::Acls(_) | Target::Aces(..) => {
                &[Get, Head, Post, Put, Delete, Options]
            }
            Target::Alias(..) | Target::Ace(..) => &[Get, Head, Put, Patch, Delete, Options],
            Target::ServerVendors(_) => &[Get, Head, Options],
            Target::Vendors(_, None) => &[Get, Head, Post, Put, Delete, Options],
            Target::Vendors(_, Some(_)) => &[Get, Head, Put, Delete, Options],
        }
    }

    /// The `Allow` header value for this resource.
    pub(crate) fn allow_header(&self) -> &'static str {
        match self {
            Target::DotsData => "GET, HEAD, POST, OPTIONS",
            Target::Capabilities => "GET, HEAD, OPTIONS",
            Target::Client(_) | Target::Acl(..) => "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
            Target::Aliases(_) | Target::Acls(_) | Target::Aces(..) => {
                "GET, HEAD, POST, PUT, DELETE, OPTIONS"
            }
            Target::Alias(..) | Target::Ace(..) => "GET, HEAD, PUT, PATCH, DELETE, OPTIONS",
            Target::ServerVendors(_) => "GET, HEAD, OPTIONS",
            Target::Vendors(_, None) => "GET, HEAD, POST, PUT, DELETE, OPTIONS",
            Target::Vendors(_, Some(_)) => "GET, HEAD, PUT, DELETE, OPTIONS",
        }
    }

    /// The cuid the target belongs to.
    pub(crate) fn cuid(&self) -> Option<&str> {
        match self {
            Target::DotsData | Target::Capabilities | Target::ServerVendors(_) => None,
            Target::Client(c)
            | Target::Aliases(c)
            | Target::Alias(c, _)
            | Target::Acls(c)
            | Target::Acl(c, _)
            | Target::Aces(c, _)
            | Target::Ace(c, _, _)
            | Target::Vendors(c, _) => Some(c),
        }
    }
}

/// A `vendor-id` list key (`uint32`, decimal).
fn vendor_id(key: &str) -> Result<u32, Failure> {
    key.parse::<u32>()
        .ok()
        .filter(|_| key.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| Failure::protocol(format!("'{key}' is not a vendor-id (uint32)")))
}

/// Parses the request path. `root` is the RESTCONF API root (`/restconf`).
pub(crate) fn parse_target(root: &str, path: &str) -> Result<Target, Failure> {
    let not_found = || Failure::not_found(format!("no data resource at '{path}'"));
    let rest = path
        .strip_prefix(root)
        .and_then(|p| p.strip_prefix("/data"))
        .and_then(|p| p.strip_prefix(DOTS_DATA))
        .ok_or_else(not_found)?;
    if rest.is_empty() {
        return Ok(Target::DotsData);
    }
    let rest = rest.strip_prefix('/').ok_or_else(not_found)?;
    let mut segs = rest.split('/');
    let mut next = || -> Result<Option<(&str, Option<String>)>, Failure> {
        let Some(seg) = segs.next() else {
            return Ok(None);
        };
        match seg.split_once('=') {
            Some((name, key)) => {
                let key = percent_decode(key)
                    .ok_or_else(|| Failure::protocol("bad percent-encoding in a list key"))?;
                Ok(Some((name, Some(key))))
            }
            None => Ok(Some((seg, None))),
        }
    };
    let target = match next()? {
        Some(("capabilities", None)) => match next()? {
            None => Target::Capabilities,
            Some(_) => return Err(not_found()),
        },
        Some((VENDOR_MAPPING, None)) => match next()? {
            None => Target::ServerVendors(None),
            Some(("vendor", Some(id))) => match next()? {
                None => Target::ServerVendors(Some(vendor_id(&id)?)),
                Some(_) => return Err(not_found()),
            },
            Some(_) => return Err(not_found()),
        },
        Some(("dots-client", Some(cuid))) => match next()? {
            None => Target::Client(cuid),
            Some(("aliases", None)) => match next()? {
                None => Target::Aliases(cuid),
                Some(("alias", Some(name))) => match next()? {
                    None => Target::Alias(cuid, name),
                    Some(_) => return Err(not_found()),
                },
                Some(_) => return Err(not_found()),
            },
            Some((VENDOR_MAPPING, None)) => match next()? {
                None => Target::Vendors(cuid, None),
                Some(("vendor", Some(id))) => match next()? {
                    None => Target::Vendors(cuid, Some(vendor_id(&id)?)),
                    Some(_) => return Err(not_found()),
                },
                Some(_) => return Err(not_found()),
            },
            Some(("acls", None)) => match next()? {
                None => Target::Acls(cuid),
                Some(("acl", Some(name))) => match next()? {
                    None => Target::Acl(cuid, name),
                    Some(("aces", None)) => match next()? {
                        None => Target::Aces(cuid, name),
                        Some(("ace", Some(ace))) => match next()? {
                            None => Target::Ace(cuid, name, ace),
                            Some(_) => return Err(not_found()),
                        },
                        Some(_) => return Err(not_found()),
                    },
                    Some(_) => return Err(not_found()),
                },
                Some(_) => return Err(not_found()),
            },
            Some(_) => return Err(not_found()),
        },
        _ => return Err(not_found()),
    };
    Ok(target)
}

/// The `content` query parameter (RFC 8040 Section 4.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Content {
    /// Configuration and state data (the default).
    #[default]
    All,
    /// Configuration data only.
    Config,
    /// State (non-configuration) data only, with the list keys that locate it.
    Nonconfig,
}

impl Content {
    /// The query value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Content::All => "all",
            Content::Config => "config",
            Content::Nonconfig => "nonconfig",
        }
    }
}

/// Where the `insert` query parameter puts a new or moved entry of a user-ordered list
/// (RFC 8040 Section 4.8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insert {
    /// At the start.
    First,
    /// At the end (the default).
    Last,
    /// Before the entry named by `point`.
    Before,
    /// After the entry named by `point`.
    After,
}

impl Insert {
    /// The query value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Insert::First => "first",
            Insert::Last => "last",
            Insert::Before => "before",
            Insert::After => "after",
        }
    }
}

/// The parsed query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pub(crate) content: Content,
    /// `None` is "unbounded".
    pub(crate) depth: Option<u16>,
    pub(crate) insert: Option<Insert>,
    /// The `point` value: a data resource identifier (decoded once).
    pub(crate) point: Option<String>,
}

/// Parses a query string. Each parameter may appear once and only with the methods RFC 8040
/// Section 4.8 lists for it.
pub(crate) fn parse_query(query: Option<&str>, method: Method) -> Result<Query, Failure> {
    let mut q = Query::default();
    let Some(query) = query else {
        return Ok(q);
    };
    let (mut seen_content, mut seen_depth) = (false, false);
    let is_get = matches!(method, Method::Get | Method::Head);
    let is_edit = matches!(method, Method::Post | Method::Put);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k).ok_or_else(|| Failure::protocol("bad percent-encoding"))?;
        let v = percent_decode(v).ok_or_else(|| Failure::protocol("bad percent-encoding"))?;
        let dup = || Failure::protocol(format!("query parameter '{k}' given twice"));
        let wrong_method = || {
            Failure::protocol(format!(
                "query parameter '{k}' is not allowed with {method}"
            ))
        };
        match k.as_str() {
            "content" => {
                if !is_get {
                    return Err(wrong_method());
                }
                if seen_content {
                    return Err(dup());
                }
                seen_content = true;
                q.content = match v.as_str() {
                    "all" => Content::All,
                    "config" => Content::Config,
                    // RFC 8040 spells it "nonconfig"; RFC 8783 Figure 30 prints "non-config".
                    // Both are accepted so that the RFC 8783 example works as printed.
                    "nonconfig" | "non-config" => Content::Nonconfig,
                    _ => return Err(Failure::protocol(format!("bad content value '{v}'"))),
                };
            }
            "depth" => {
                if !is_get {
                    return Err(wrong_method());
                }
                if seen_depth {
                    return Err(dup());
                }
                seen_depth = true;
                q.depth = if v == "unbounded" {
                    None
                } else {
                    match v.parse::<u16>() {
                        Ok(d) if d >= 1 && v.bytes().all(|b| b.is_ascii_digit()) => Some(d),
                        _ => return Err(Failure::protocol(format!("bad depth value '{v}'"))),
                    }
                };
            }
            "insert" => {
                if !is_edit {
                    return Err(wrong_method());
                }
                if q.insert.is_some() {
                    return Err(dup());
                }
                q.insert = Some(match v.as_str() {
                    "first" => Insert::First,
                    "last" => Insert::Last,
                    "before" => Insert::Before,
                    "after" => Insert::After,
                    _ => return Err(Failure::protocol(format!("bad insert value '{v}'"))),
                });
            }
            "point" => {
                if !is_edit {
                    return Err(wrong_method());
                }
                if q.point.is_some() {
                    return Err(dup());
                }
                q.point = Some(v);
            }
            _ => {
                return Err(Failure::protocol(format!(
                    "query parameter '{k}' is not supported"
                )))
            }
        }
    }
    match (q.insert, &q.point) {
        (Some(Insert::Before | Insert::After), None) => Err(Failure::bad(
            dots_codec::data::ErrorTag::MissingAttribute,
            "insert=before/after needs a point parameter",
        )),
        (Some(Insert::First | Insert::Last) | None, Some(_)) => Err(Failure::protocol(
            "point is only allowed with insert=before or insert=after",
        )),
        _ => Ok(q),
    }
}
