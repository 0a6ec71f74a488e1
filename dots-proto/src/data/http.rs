//! The HTTP surface the data channel needs: methods, a parsed request, a response, media types
//! and percent-encoding (RFC 8040 Section 3.5.3).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use dots_codec::data::{RestconfErrors, MEDIA_TYPE};

/// An HTTP request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH` (plain patch, RFC 8040 Section 4.6.1).
    Patch,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
    /// Any other method token (answered with 501).
    Other,
}

impl Method {
    /// Parses a method token (case-sensitive, RFC 9110 Section 9.1); unknown tokens give
    /// [`Method::Other`].
    #[must_use]
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    /// The method token (`"OTHER"` for [`Method::Other`]).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A RESTCONF request as the caller's HTTP stack parsed it: only the parts the data channel
/// looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path of the request target, still percent-encoded
    /// (`/restconf/data/ietf-dots-data-channel:dots-data/...`).
    pub path: &'a str,
    /// The query string after `?`, still percent-encoded.
    pub query: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `Accept` header (several header lines joined with `,`).
    pub accept: Option<&'a str>,
    /// The `Via` header (several header lines joined with `,`), for loop detection
    /// (RFC 8783 Section 3.4).
    pub via: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// A request without headers or body; `target` is the origin-form request target, split at
    /// the first `?` into path and query.
    #[must_use]
    pub fn new(method: Method, target: &'a str) -> Request<'a> {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        Request {
            method,
            path,
            query,
            content_type: None,
            accept: None,
            via: None,
            body: &[],
        }
    }

    /// With a JSON body (`Content-Type: application/yang-data+json`).
    #[must_use]
    pub fn with_json(mut self, body: &'a [u8]) -> Request<'a> {
        self.content_type = Some(MEDIA_TYPE);
        self.body = body;
        self
    }

    /// With an `Accept` header.
    #[must_use]
    pub fn with_accept(mut self, accept: &'a str) -> Request<'a> {
        self.accept = Some(accept);
        self
    }

    /// With a `Via` header.
    #[must_use]
    pub fn with_via(mut self, via: &'a str) -> Request<'a> {
        self.via = Some(via);
        self
    }
}

/// The response to give back through the caller's HTTP stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, when there is a body (always [`MEDIA_TYPE`]).
    pub content_type: Option<&'static str>,
    /// `Location` of a created resource (201 to a POST).
    pub location: Option<String>,
    /// `Allow` (405 and OPTIONS).
    pub allow: Option<&'static str>,
    /// Body (a data tree, an `ietf-restconf:errors` document, or empty).
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a status only.
    #[must_use]
    pub fn status(status: u16) -> Response {
        Response {
            status,
            content_type: None,
            location: None,
            allow: None,
            body: Vec::new(),
        }
    }

    /// A response carrying a JSON body.
    #[must_use]
    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            content_type: Some(MEDIA_TYPE),
            body,
            ..Response::status(status)
        }
    }

    /// The headers to send, as (name, value) pairs. `Content-Length` is the caller's.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let ct = self.content_type.map(|v| ("Content-Type", v));
        let loc = self.location.as_deref().map(|v| ("Location", v));
        let allow = self.allow.map(|v| ("Allow", v));
        ct.into_iter().chain(loc).chain(allow)
    }

    /// The standard reason phrase of the status.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        reason_phrase(self.status)
    }

    /// Whether the status is 2xx.
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The RESTCONF errors of an error response, if its body is one.
    #[must_use]
    pub fn errors(&self) -> Option<RestconfErrors> {
        if self.is_success() {
            return None;
        }
        RestconfErrors::from_json(&self.body).ok()
    }
}

/// The reason phrase of the statuses RESTCONF uses.
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        508 => "Loop Detected",
        _ => "",
    }
}

/// Whether a `Content-Type` value is `application/yang-data+json` (parameters ignored).
pub(crate) fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(MEDIA_TYPE)
}

/// Whether an `Accept` header admits `application/yang-data+json` (RFC 9110 Section 12.5.1;
/// a range with `q=0` excludes).
pub(crate) fn accepts_json(accept: &str) -> bool {
    if accept.trim().is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("q") && is_zero_q(v))
        });
        !refused
            && (media.eq_ignore_ascii_case(MEDIA_TYPE)
                || media == "*/*"
                || media.eq_ignore_ascii_case("application/*"))
    })
}

fn is_zero_q(v: &str) -> bool {
    let v = v.trim();
    v == "0"
        || v.strip_prefix("0.")
            .is_some_and(|f| f.bytes().all(|b| b == b'0'))
}

/// Decodes `%XX` escapes; `None` on a bad escape or non-UTF-8 result.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(String::from(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a list key value for a URI (RFC 8040 Section 3.5.3): everything but the
/// RFC 3986 unreserved characters.
#[must_use]
pub fn encode_key(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}
