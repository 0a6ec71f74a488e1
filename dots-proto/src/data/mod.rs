//! The DOTS data channel (RFC 8783), sans-IO: a RESTCONF (RFC 8040) server over the JSON model
//! of [`dots_codec::data`], and client helpers.
//!
//! The caller owns HTTP and TLS. It authenticates the peer (mutual TLS, RFC 8783 Section 10),
//! derives its cuid (RFC 9132 Section 4.4.1.1) and whether it is a trusted server-domain
//! gateway, parses the HTTP request into a [`Request`], and writes back the [`Response`]
//! [`DataServer::handle_request`] returns. The server keeps per-client aliases and filtering
//! rules with their lifetimes (on the caller's clock) and reports what the filtering engine must
//! install through [`DataServer::poll_event`].
//!
//! Resources, under `{restconf-root}/data/ietf-dots-data-channel:dots-data`:
//!
//! | path | methods |
//! |---|---|
//! | (`dots-data`) | GET, POST (register) |
//! | `/capabilities` | GET |
//! | `/dots-client=C` | GET, POST (aliases, acls), PUT (register), PATCH, DELETE |
//! | `/dots-client=C/aliases`, `.../alias=N` | GET, POST, PUT, PATCH (entry), DELETE |
//! | `/dots-client=C/acls`, `.../acl=N` | GET, POST (`insert`/`point`), PUT, PATCH, DELETE |
//! | `.../acl=N/aces`, `.../ace=M` | GET, POST (`insert`/`point`), PUT, PATCH (entry), DELETE |
//!
//! ```
//! use dots_proto::data::{DataServer, DataServerConfig, DataEvent, PeerIdentity, Request, Method};
//! use dots_proto::time::Instant;
//!
//! let mut server = DataServer::new(DataServerConfig::default());
//! let peer = PeerIdentity::client("dz6pHjaADkaFTbjr0JGBpw");
//! let register = br#"{"ietf-dots-data-channel:dots-client": [{"cuid": "dz6pHjaADkaFTbjr0JGBpw"}]}"#;
//! let req = Request::new(Method::Post, "/restconf/data/ietf-dots-data-channel:dots-data")
//!     .with_json(register);
//! let resp = server.handle_request(Instant::ZERO, &peer, &req);
//! assert_eq!(resp.status, 201);
//! assert_eq!(
//!     server.poll_event(),
//!     Some(DataEvent::ClientRegistered { cuid: "dz6pHjaADkaFTbjr0JGBpw".into() })
//! );
//! ```

pub mod client;
mod config;
mod error;
mod event;
mod handlers;
mod http;
mod patch;
mod policy;
mod server;
mod snapshot;
mod state;
mod target;
mod validate;
mod vendor;
mod view;

pub use config::{DataServerConfig, MIN_LIFETIME};
pub use error::{ControlError, RestoreError};
pub use event::DataEvent;
pub use http::{encode_key, reason_phrase, Method, Request, Response};
pub use policy::{AllowAll, ClientRef, DataPolicy, Limits, StaticPolicy};
pub use server::{AclControl, ClientCounts, DataServer, DataStats, PeerIdentity};
pub use snapshot::DataSnapshot;
pub use target::{Content, Insert};
pub use validate::is_special_prefix;
