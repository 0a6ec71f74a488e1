//! RESTCONF error bodies (RFC 8040 Section 7.1, `ietf-restconf:errors`).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::DecodeError;

/// Declares a plain string enumeration (no module prefix) with serde support.
macro_rules! string_enum_local {
    (
        $(#[$meta:meta])* $name:ident, $expecting:literal,
        { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string form.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the string form.
            #[must_use]
            pub fn from_name(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
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

string_enum_local! {
    /// `error-type` (RFC 8040 Section 7.1): the layer where the error occurred.
    ErrorType, "an error-type",
    {
        /// Secure transport layer.
        Transport => "transport",
        /// Operation (RPC) layer.
        Rpc => "rpc",
        /// RESTCONF protocol operation layer.
        Protocol => "protocol",
        /// Server application layer.
        Application => "application",
    }
}

string_enum_local! {
    /// `error-tag` (RFC 8040 Section 7).
    ErrorTag, "an error-tag",
    {
        /// The resource is in use.
        InUse => "in-use",
        /// Invalid value in the request (400; 404 for a missing target; 406 for Accept).
        InvalidValue => "invalid-value",
        /// Request or response too large (413).
        TooBig => "too-big",
        /// A mandatory attribute is missing (400).
        MissingAttribute => "missing-attribute",
        /// An attribute value is not correct (400).
        BadAttribute => "bad-attribute",
        /// An unexpected attribute is present (400).
        UnknownAttribute => "unknown-attribute",
        /// An element value is not correct (400).
        BadElement => "bad-element",
        /// An unexpected element is present (400).
        UnknownElement => "unknown-element",
        /// An unexpected namespace is present (400).
        UnknownNamespace => "unknown-namespace",
        /// Access denied by the access control (401 or 403).
        AccessDenied => "access-denied",
        /// A lock cannot be granted (409).
        LockDenied => "lock-denied",
        /// Insufficient resources, or a conflict (409).
        ResourceDenied => "resource-denied",
        /// Rollback failed (500).
        RollbackFailed => "rollback-failed",
        /// The data already exists (409).
        DataExists => "data-exists",
        /// Expected data is missing (409).
        DataMissing => "data-missing",
        /// The operation is not supported (405 or 501).
        OperationNotSupported => "operation-not-supported",
        /// The operation failed for another reason (412 or 500; 508 for a loop).
        OperationFailed => "operation-failed",
        /// Partial operation (500).
        PartialOperation => "partial-operation",
        /// The message could not be parsed (400).
        MalformedMessage => "malformed-message",
    }
}

/// One `error` entry of an `ietf-restconf:errors` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RestconfError {
    /// Layer of the error.
    pub error_type: ErrorType,
    /// The error tag.
    pub error_tag: ErrorTag,
    /// Application-specific tag (e.g. `loop-detected`, RFC 8783 Section 3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_app_tag: Option<String>,
    /// Instance identifier of the offending node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Additional information (YANG `anydata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info: Option<serde_json::Value>,
}

impl RestconfError {
    /// An error with only a type and a tag.
    #[must_use]
    pub fn new(error_type: ErrorType, error_tag: ErrorTag) -> RestconfError {
        RestconfError {
            error_type,
            error_tag,
            error_app_tag: None,
            error_path: None,
            error_message: None,
            error_info: None,
        }
    }

    /// With an `error-message`.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> RestconfError {
        self.error_message = Some(message.into());
        self
    }

    /// With an `error-path`.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> RestconfError {
        self.error_path = Some(path.into());
        self
    }

    /// With an `error-app-tag`.
    #[must_use]
    pub fn with_app_tag(mut self, tag: impl Into<String>) -> RestconfError {
        self.error_app_tag = Some(tag.into());
        self
    }
}

impl fmt::Display for RestconfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.error_type, self.error_tag)?;
        if let Some(t) = &self.error_app_tag {
            write!(f, " ({t})")?;
        }
        if let Some(p) = &self.error_path {
            write!(f, " at {p}")?;
        }
        if let Some(m) = &self.error_message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// An `ietf-restconf:errors` body: one or more errors.
#[derive(Debug, Clone, PartialEq)]
pub struct RestconfErrors {
    /// The errors (at least one in a valid body).
    pub errors: Vec<RestconfError>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorsWire {
    #[serde(rename = "ietf-restconf:errors")]
    errors: ErrorList,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorList {
    error: Vec<RestconfError>,
}

impl RestconfErrors {
    /// A body with one error.
    #[must_use]
    pub fn single(error: RestconfError) -> RestconfErrors {
        RestconfErrors {
            errors: vec![error],
        }
    }

    /// Parses an error body (media type [`MEDIA_TYPE`](super::MEDIA_TYPE)); it must hold at least one error.
    pub fn from_json(body: &[u8]) -> Result<RestconfErrors, DecodeError> {
        let w: ErrorsWire = super::from_json(body)?;
        if w.errors.error.is_empty() {
            return Err(DecodeError::invalid(
                "an errors body holds at least one error",
            ));
        }
        Ok(RestconfErrors {
            errors: w.errors.error,
        })
    }

    /// The JSON text of the body.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        super::to_json(&ErrorsWireRef {
            errors: ErrorListRef {
                error: &self.errors,
            },
        })
    }
}

#[derive(Serialize)]
struct ErrorsWireRef<'a> {
    #[serde(rename = "ietf-restconf:errors")]
    errors: ErrorListRef<'a>,
}

#[derive(Serialize)]
struct ErrorListRef<'a> {
    error: &'a [RestconfError],
}
