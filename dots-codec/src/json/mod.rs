//! The RFC 7951 JSON encoding of the signal channel bodies (feature `json`): the notation the
//! RFCs print their examples in, for logs, tools and tests.
//!
//! Member names are the YANG names; the top-level member and every member augmenting another
//! module's node are namespace-qualified (`ietf-dots-signal-channel:mitigation-scope`,
//! `ietf-dots-call-home:source-prefix`, `ietf-dots-signal-control:acl-list`,
//! `ietf-dots-robust-trans:max-payloads`), uint64 and decimal64 values are strings, enumerations
//! are names. Unknown and duplicate members are errors. Value errors are the same
//! [`DecodeError`]s the CBOR decoder returns (naming the member).
//!
//! ```
//! use dots_codec::{json, model::SignalMessage};
//! let m = json::from_str(r#"{"ietf-dots-signal-channel:heartbeat":{"peer-hb-status":true}}"#)
//!     .unwrap();
//! assert!(matches!(m, SignalMessage::Heartbeat(h) if h.peer_hb_status));
//! ```

mod convert;
mod dto;
mod telemetry;

use alloc::string::{String, ToString};

use crate::cbor::DecodeError;
use crate::model::SignalMessage;

/// Why a JSON body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON, or not of the modules' shape: unknown or duplicate member, wrong JSON type,
    /// missing mandatory member (serde's message).
    #[error("invalid JSON body: {0}")]
    Syntax(String),
    /// A member value the model rejects (bad prefix, unknown enumeration name, limit exceeded...).
    #[error("{0}")]
    Value(#[from] DecodeError),
}

impl JsonError {
    /// The CoAP response code a server would answer (4.13 for exceeded limits, else 4.00).
    pub fn response_code(&self) -> crate::coap::Code {
        match self {
            JsonError::Syntax(_) => crate::coap::Code::BAD_REQUEST,
            JsonError::Value(e) => e.response_code(),
        }
    }
}

/// Parses an RFC 7951 JSON body.
pub fn from_str(s: &str) -> Result<SignalMessage, JsonError> {
    let body: dto::Body = serde_json::from_str(s).map_err(|e| JsonError::Syntax(e.to_string()))?;
    convert::from_body(body)
}

/// Parses an RFC 7951 JSON body from bytes.
pub fn from_slice(s: &[u8]) -> Result<SignalMessage, JsonError> {
    let body: dto::Body =
        serde_json::from_slice(s).map_err(|e| JsonError::Syntax(e.to_string()))?;
    convert::from_body(body)
}

/// Writes a body as compact JSON.
pub fn to_string(m: &SignalMessage) -> String {
    // Serializing these plain structs into a String cannot fail.
    serde_json::to_string(&convert::to_body(m)).unwrap_or_default()
}

/// Writes a body as indented JSON.
pub fn to_string_pretty(m: &SignalMessage) -> String {
    serde_json::to_string_pretty(&convert::to_body(m)).unwrap_or_default()
}
