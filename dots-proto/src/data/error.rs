//! Errors: the internal failure that becomes a RESTCONF error response, and the typed errors of
//! the host-facing API.

use alloc::boxed::Box;
use alloc::string::String;

use dots_codec::data::{
    DecodeError, ErrorTag, ErrorType, RestconfError, RestconfErrors, SchemaError, SchemaErrorKind,
};

use super::http::Response;

/// A request that fails: a status and one RESTCONF error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) status: u16,
    pub(crate) error: Box<RestconfError>,
    pub(crate) allow: Option<&'static str>,
}

impl Failure {
    pub(crate) fn new(
        status: u16,
        error_type: ErrorType,
        tag: ErrorTag,
        message: impl Into<String>,
    ) -> Failure {
        Failure {
            status,
            error: Box::new(RestconfError::new(error_type, tag).with_message(message)),
            allow: None,
        }
    }

    /// 400 with an application-layer tag.
    pub(crate) fn bad(tag: ErrorTag, message: impl Into<String>) -> Failure {
        Failure::new(400, ErrorType::Application, tag, message)
    }

    /// 400 invalid-value.
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::bad(ErrorTag::InvalidValue, message)
    }

    /// 400 missing-attribute.
    pub(crate) fn missing(message: impl Into<String>) -> Failure {
        Failure::bad(ErrorTag::MissingAttribute, message)
    }

    /// 400 invalid-value at the protocol layer (query parameters, URI).
    pub(crate) fn protocol(message: impl Into<String>) -> Failure {
        Failure::new(400, ErrorType::Protocol, ErrorTag::InvalidValue, message)
    }

    /// 404: the target resource does not exist (RFC 8040 Section 7: invalid-value).
    pub(crate) fn not_found(message: impl Into<String>) -> Failure {
        Failure::new(404, ErrorType::Protocol, ErrorTag::InvalidValue, message)
    }

    /// 403 access-denied.
    pub(crate) fn forbidden(message: impl Into<String>) -> Failure {
        Failure::new(403, ErrorType::Protocol, ErrorTag::AccessDenied, message)
    }

    /// 409 resource-denied (name conflicts, quotas; RFC 8783 Sections 5.1, 6.1, 7.2).
    pub(crate) fn conflict(message: impl Into<String>) -> Failure {
        Failure::new(
            409,
            ErrorType::Application,
            ErrorTag::ResourceDenied,
            message,
        )
    }

    pub(crate) fn with_path(mut self, path: impl Into<String>) -> Failure {
        self.error.error_path = Some(path.into());
        self
    }

    pub(crate) fn from_decode(e: &DecodeError) -> Failure {
        let error_type = if e.kind == dots_codec::data::DecodeErrorKind::Malformed {
            ErrorType::Rpc
        } else {
            ErrorType::Application
        };
        Failure::new(400, error_type, e.kind.error_tag(), e.message.clone())
    }

    /// A schema error at `base` (an instance-identifier prefix).
    pub(crate) fn from_schema(e: &SchemaError, base: &str) -> Failure {
        let tag = match e.kind {
            SchemaErrorKind::Missing => ErrorTag::MissingAttribute,
            _ => ErrorTag::InvalidValue,
        };
        Failure::bad(tag, e.message.clone()).with_path(instance_path(base, &e.path))
    }

    pub(crate) fn into_response(self) -> Response {
        let mut r = Response::json(self.status, RestconfErrors::single(*self.error).to_json());
        r.allow = self.allow;
        r
    }
}

/// Joins `base` and a relative data path (`alias=x/target-prefix`) into an RFC 7951
/// instance-identifier (`.../alias[name='x']/target-prefix`).
pub(crate) fn instance_path(base: &str, rel: &str) -> String {
    let mut out = String::from(base);
    if rel.is_empty() {
        return out;
    }
    for seg in rel.split('/') {
        out.push('/');
        match seg.split_once('=') {
            Some((list, key)) => {
                out.push_str(list);
                push_predicate(&mut out, key_leaf(list), key);
            }
            None => out.push_str(seg),
        }
    }
    out
}

/// The key leaf of each list of the module.
pub(crate) fn key_leaf(list: &str) -> &'static str {
    match list {
        "dots-client" => "cuid",
        "target-port-range" => "lower-port",
        "vendor" => "vendor-id",
        "attack-mapping" => "attack-id",
        _ => "name",
    }
}

/// Appends `[leaf='value']` (double quotes when the value holds a single quote).
pub(crate) fn push_predicate(out: &mut String, leaf: &str, value: &str) {
    let q = if value.contains('\'') { '"' } else { '\'' };
    out.push('[');
    out.push_str(leaf);
    out.push('=');
    out.push(q);
    out.push_str(value);
    out.push(q);
    out.push(']');
}

/// Error of the host-facing commands (the hooks the signal channel calls).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No DOTS client with this cuid is registered on the data channel.
    #[error("unknown DOTS client '{cuid}'")]
    UnknownClient {
        /// The cuid asked for.
        cuid: String,
    },
    /// The DOTS client has no ACL of this name (RFC 9133 Section 3.2.1: answer 4.04).
    #[error("unknown ACL '{name}'")]
    UnknownAcl {
        /// The ACL name asked for.
        name: String,
    },
    /// The ACL has no ACE of this name.
    #[error("unknown ACE '{name}'")]
    UnknownAce {
        /// The ACE name asked for.
        name: String,
    },
}

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The snapshot was written by an incompatible version.
    #[error("unsupported snapshot version {0}")]
    Version(u32),
    /// Two clients, aliases, ACLs or ACEs share a key.
    #[error("duplicate entry '{0}'")]
    Duplicate(String),
    /// An entry breaks the schema.
    #[error("invalid entry: {0}")]
    Invalid(SchemaError),
    /// More clients than the configuration allows.
    #[error("more clients than max_clients")]
    TooManyClients,
}
