//! The CoAP code byte (RFC 7252 §3, §12.1): method, response or signalling code.

use core::fmt;

/// A CoAP code: a 3-bit class and a 5-bit detail, written `c.dd` (RFC 7252 §3).
///
/// Class 0 holds the methods (and 0.00 for the empty message), classes 2, 4 and 5 hold the
/// response codes, and class 7 the RFC 8323 signalling codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(u8);

impl Code {
    /// 0.00, the code of an empty message (RFC 7252 §4.1).
    pub const EMPTY: Code = Code::new(0, 0);
    /// 0.01 GET.
    pub const GET: Code = Code::new(0, 1);
    /// 0.02 POST.
    pub const POST: Code = Code::new(0, 2);
    /// 0.03 PUT.
    pub const PUT: Code = Code::new(0, 3);
    /// 0.04 DELETE.
    pub const DELETE: Code = Code::new(0, 4);
    /// 0.05 FETCH (RFC 8132).
    pub const FETCH: Code = Code::new(0, 5);
    /// 0.06 PATCH (RFC 8132).
    pub const PATCH: Code = Code::new(0, 6);
    /// 0.07 iPATCH (RFC 8132).
    pub const IPATCH: Code = Code::new(0, 7);

    /// 2.01 Created.
    pub const CREATED: Code = Code::new(2, 1);
    /// 2.02 Deleted.
    pub const DELETED: Code = Code::new(2, 2);
    /// 2.03 Valid.
    pub const VALID: Code = Code::new(2, 3);
    /// 2.04 Changed.
    pub const CHANGED: Code = Code::new(2, 4);
    /// 2.05 Content.
    pub const CONTENT: Code = Code::new(2, 5);
    /// 2.31 Continue (RFC 7959 §2.9.1).
    pub const CONTINUE: Code = Code::new(2, 31);

    /// 4.00 Bad Request.
    pub const BAD_REQUEST: Code = Code::new(4, 0);
    /// 4.01 Unauthorized.
    pub const UNAUTHORIZED: Code = Code::new(4, 1);
    /// 4.02 Bad Option.
    pub const BAD_OPTION: Code = Code::new(4, 2);
    /// 4.03 Forbidden.
    pub const FORBIDDEN: Code = Code::new(4, 3);
    /// 4.04 Not Found.
    pub const NOT_FOUND: Code = Code::new(4, 4);
    /// 4.05 Method Not Allowed.
    pub const METHOD_NOT_ALLOWED: Code = Code::new(4, 5);
    /// 4.06 Not Acceptable.
    pub const NOT_ACCEPTABLE: Code = Code::new(4, 6);
    /// 4.08 Request Entity Incomplete (RFC 7959 §2.9.2).
    pub const REQUEST_ENTITY_INCOMPLETE: Code = Code::new(4, 8);
    /// 4.09 Conflict (RFC 8132).
    pub const CONFLICT: Code = Code::new(4, 9);
    /// 4.12 Precondition Failed.
    pub const PRECONDITION_FAILED: Code = Code::new(4, 12);
    /// 4.13 Request Entity Too Large.
    pub const REQUEST_ENTITY_TOO_LARGE: Code = Code::new(4, 13);
    /// 4.15 Unsupported Content-Format.
    pub const UNSUPPORTED_CONTENT_FORMAT: Code = Code::new(4, 15);
    /// 4.22 Unprocessable Entity (RFC 8132).
    pub const UNPROCESSABLE_ENTITY: Code = Code::new(4, 22);
    /// 4.29 Too Many Requests (RFC 8516).
    pub const TOO_MANY_REQUESTS: Code = Code::new(4, 29);

    /// 5.00 Internal Server Error.
    pub const INTERNAL_SERVER_ERROR: Code = Code::new(5, 0);
    /// 5.01 Not Implemented.
    pub const NOT_IMPLEMENTED: Code = Code::new(5, 1);
    /// 5.02 Bad Gateway.
    pub const BAD_GATEWAY: Code = Code::new(5, 2);
    /// 5.03 Service Unavailable.
    pub const SERVICE_UNAVAILABLE: Code = Code::new(5, 3);
    /// 5.04 Gateway Timeout.
    pub const GATEWAY_TIMEOUT: Code = Code::new(5, 4);
    /// 5.05 Proxying Not Supported.
    pub const PROXYING_NOT_SUPPORTED: Code = Code::new(5, 5);
    /// 5.08 Hop Limit Reached (RFC 8768 §3).
    pub const HOP_LIMIT_REACHED: Code = Code::new(5, 8);

    /// 7.01 CSM, Capabilities and Settings Message (RFC 8323 §5.3).
    pub const CSM: Code = Code::new(7, 1);
    /// 7.02 Ping (RFC 8323 §5.4).
    pub const PING: Code = Code::new(7, 2);
    /// 7.03 Pong (RFC 8323 §5.4).
    pub const PONG: Code = Code::new(7, 3);
    /// 7.04 Release (RFC 8323 §5.5).
    pub const RELEASE: Code = Code::new(7, 4);
    /// 7.05 Abort (RFC 8323 §5.6).
    pub const ABORT: Code = Code::new(7, 5);

    /// Builds `class.detail`. Bits beyond the 3-bit class and 5-bit detail are masked off.
    #[must_use]
    #[inline]
    pub const fn new(class: u8, detail: u8) -> Code {
        Code(((class & 0x07) << 5) | (detail & 0x1f))
    }

    /// The code from its wire byte.
    #[must_use]
    #[inline]
    pub const fn from_raw(raw: u8) -> Code {
        Code(raw)
    }

    /// The wire byte.
    #[must_use]
    #[inline]
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// The class (0–7).
    #[must_use]
    #[inline]
    pub const fn class(self) -> u8 {
        self.0 >> 5
    }

    /// The detail (0–31).
    #[must_use]
    #[inline]
    pub const fn detail(self) -> u8 {
        self.0 & 0x1f
    }

    /// 0.00: an empty message.
    #[must_use]
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A method code (0.01–0.31).
    #[must_use]
    #[inline]
    pub const fn is_request(self) -> bool {
        self.class() == 0 && self.detail() != 0
    }

    /// A response code (classes 2–5).
    #[must_use]
    #[inline]
    pub const fn is_response(self) -> bool {
        matches!(self.class(), 2..=5)
    }

    /// A success response (class 2).
    #[must_use]
    #[inline]
    pub const fn is_success(self) -> bool {
        self.class() == 2
    }

    /// A client or server error response (class 4 or 5).
    #[must_use]
    #[inline]
    pub const fn is_error(self) -> bool {
        matches!(self.class(), 4 | 5)
    }

    /// An RFC 8323 signalling code (class 7).
    #[must_use]
    #[inline]
    pub const fn is_signaling(self) -> bool {
        self.class() == 7
    }

    /// The registered name of the codes above (`"PUT"`, `"Created"`, `"CSM"`, …), `None` for
    /// others.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match (self.class(), self.detail()) {
            (0, 0) => "Empty",
            (0, 1) => "GET",
            (0, 2) => "POST",
            (0, 3) => "PUT",
            (0, 4) => "DELETE",
            (0, 5) => "FETCH",
            (0, 6) => "PATCH",
            (0, 7) => "iPATCH",
            (2, 1) => "Created",
            (2, 2) => "Deleted",
            (2, 3) => "Valid",
            (2, 4) => "Changed",
            (2, 5) => "Content",
            (2, 31) => "Continue",
            (4, 0) => "Bad Request",
            (4, 1) => "Unauthorized",
            (4, 2) => "Bad Option",
            (4, 3) => "Forbidden",
            (4, 4) => "Not Found",
            (4, 5) => "Method Not Allowed",
            (4, 6) => "Not Acceptable",
            (4, 8) => "Request Entity Incomplete",
            (4, 9) => "Conflict",
            (4, 12) => "Precondition Failed",
            (4, 13) => "Request Entity Too Large",
            (4, 15) => "Unsupported Content-Format",
            (4, 22) => "Unprocessable Entity",
            (4, 29) => "Too Many Requests",
            (5, 0) => "Internal Server Error",
            (5, 1) => "Not Implemented",
            (5, 2) => "Bad Gateway",
            (5, 3) => "Service Unavailable",
            (5, 4) => "Gateway Timeout",
            (5, 5) => "Proxying Not Supported",
            (5, 8) => "Hop Limit Reached",
            (7, 1) => "CSM",
            (7, 2) => "Ping",
            (7, 3) => "Pong",
            (7, 4) => "Release",
            (7, 5) => "Abort",
            _ => return None,
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.class(), self.detail())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({self})")
    }
}

impl From<u8> for Code {
    fn from(raw: u8) -> Code {
        Code(raw)
    }
}

impl From<Code> for u8 {
    fn from(code: Code) -> u8 {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn class_and_detail() {
        assert_eq!(Code::CONTENT.raw(), 0x45);
        assert_eq!(Code::UNPROCESSABLE_ENTITY.raw(), 0x96);
        assert_eq!(Code::HOP_LIMIT_REACHED.raw(), 0xa8);
        assert_eq!(Code::CSM.raw(), 0xe1);
        assert_eq!(Code::from_raw(0x84), Code::NOT_FOUND);
        assert_eq!(Code::new(4, 9).class(), 4);
        assert_eq!(Code::new(4, 9).detail(), 9);
    }

    #[test]
    fn display() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Code::CREATED.to_string(), "2.01");
        assert_eq!(Code::REQUEST_ENTITY_TOO_LARGE.to_string(), "4.13");
        assert_eq!(Code::EMPTY.to_string(), "0.00");
    }

    #[test]
    fn kinds() {
        assert!(Code::EMPTY.is_empty() && !Code::EMPTY.is_request());
        assert!(Code::PUT.is_request());
        assert!(Code::CONFLICT.is_response() && Code::CONFLICT.is_error());
        assert!(Code::CHANGED.is_success());
        assert!(Code::PONG.is_signaling() && !Code::PONG.is_response());
    }

    #[test]
    fn names() {
        assert_eq!(Code::PUT.name(), Some("PUT"));
        assert_eq!(Code::HOP_LIMIT_REACHED.name(), Some("Hop Limit Reached"));
        assert_eq!(Code::new(3, 1).name(), None);
    }
}
