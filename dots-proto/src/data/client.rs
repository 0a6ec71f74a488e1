//! Client helpers: build the RESTCONF requests of every data-channel operation and read the
//! responses (RFC 8783 Sections 5 to 7).
//!
//! ```
//! use dots_proto::data::client::DataClient;
//! use dots_proto::data::{DataServer, DataServerConfig, PeerIdentity};
//! use dots_proto::time::Instant;
//!
//! let client = DataClient::new("dz6pHjaADkaFTbjr0JGBpw");
//! let mut server = DataServer::new(DataServerConfig::default());
//! let peer = PeerIdentity::client("dz6pHjaADkaFTbjr0JGBpw");
//! let req = client.register();
//! let resp = server.handle_request(Instant::ZERO, &peer, &req.as_request());
//! assert_eq!(resp.status, 201);
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use dots_codec::data::{
    Ace, Acl, Acls, Alias, Aliases, Capabilities, DataBody, DecodeError, DotsClient, L3Match,
    L4Match, RestconfError, RestconfErrors, SchemaError, MEDIA_TYPE,
};

use super::http::{encode_key, Method, Request};
use super::target::{Content, DOTS_DATA};

/// A request built by [`DataClient`], owning its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRequest {
    /// Method.
    pub method: Method,
    /// Path (percent-encoded).
    pub path: String,
    /// Query string, without `?`.
    pub query: Option<String>,
    /// `Content-Type` (set when there is a body).
    pub content_type: Option<&'static str>,
    /// `Accept` (always `application/yang-data+json`).
    pub accept: Option<&'static str>,
    /// Body.
    pub body: Vec<u8>,
}

impl OwnedRequest {
    /// The borrowed form a [`DataServer`](super::DataServer) takes.
    #[must_use]
    pub fn as_request(&self) -> Request<'_> {
        Request {
            method: self.method,
            path: &self.path,
            query: self.query.as_deref(),
            content_type: self.content_type,
            accept: self.accept,
            via: None,
            body: &self.body,
        }
    }

    /// The origin-form request target (`path?query`).
    #[must_use]
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The headers to send, as (name, value) pairs (`Host` and `Content-Length` are the
    /// caller's).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        let accept = self.accept.map(|v| ("Accept", v));
        let ct = self.content_type.map(|v| ("Content-Type", v));
        accept.into_iter().chain(ct)
    }
}

/// Options of a GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GetOptions {
    /// `content` (default `all`, left out of the query).
    pub content: Content,
    /// `depth` (unbounded when `None`).
    pub depth: Option<u16>,
}

impl GetOptions {
    /// `content=config`.
    #[must_use]
    pub fn config() -> GetOptions {
        GetOptions {
            content: Content::Config,
            depth: None,
        }
    }

    /// `content=nonconfig`.
    #[must_use]
    pub fn nonconfig() -> GetOptions {
        GetOptions {
            content: Content::Nonconfig,
            depth: None,
        }
    }

    fn query(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if self.content != Content::All {
            parts.push(format!("content={}", self.content.as_str()));
        }
        if let Some(d) = self.depth {
            parts.push(format!("depth={d}"));
        }
        (!parts.is_empty()).then(|| parts.join("&"))
    }
}

/// Where to put a new or moved ACL or ACE (RFC 8040 `insert`/`point`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertAt {
    /// First in the list.
    First,
    /// Last in the list (the server's default).
    Last,
    /// Before the named entry.
    Before(String),
    /// After the named entry.
    After(String),
}

/// Errors of the client helpers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request would break the YANG module or a client-side rule of RFC 8783.
    #[error("invalid request: {0}")]
    Invalid(SchemaError),
    /// The server refused the request.
    #[error("server answered {status}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The RESTCONF errors of the body (empty when it held none).
        errors: Vec<RestconfError>,
    },
    /// The response body could not be decoded.
    #[error("bad response body: {0}")]
    Decode(DecodeError),
    /// The response body holds another data node than expected.
    #[error("unexpected response body '{0}'")]
    UnexpectedBody(&'static str),
}

/// Builds the requests of one DOTS client (or of a gateway acting for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataClient {
    root: String,
    cuid: String,
}

impl DataClient {
    /// A client with cuid `cuid` and the RESTCONF root `/restconf`.
    #[must_use]
    pub fn new(cuid: impl Into<String>) -> DataClient {
        DataClient::with_root("/restconf", cuid)
    }

    /// A client with a discovered RESTCONF root (RFC 8040 Section 3.1).
    #[must_use]
    pub fn with_root(root: impl Into<String>, cuid: impl Into<String>) -> DataClient {
        let mut root = root.into();
        while root.ends_with('/') {
            root.pop();
        }
        DataClient {
            root,
            cuid: cuid.into(),
        }
    }

    /// The cuid.
    #[must_use]
    pub fn cuid(&self) -> &str {
        &self.cuid
    }

    fn data_path(&self) -> String {
        format!("{}/data{DOTS_DATA}", self.root)
    }

    fn client_path(&self) -> String {
        format!(
            "{}/dots-client={}",
            self.data_path(),
            encode_key(&self.cuid)
        )
    }

    fn req(&self, method: Method, path: String, query: Option<String>) -> OwnedRequest {
        OwnedRequest {
            method,
            path,
            query,
            content_type: None,
            accept: Some(MEDIA_TYPE),
            body: Vec::new(),
        }
    }

    fn with_body(
        &self,
        method: Method,
        path: String,
        query: Option<String>,
        body: &DataBody,
    ) -> OwnedRequest {
        OwnedRequest {
            content_type: Some(MEDIA_TYPE),
            body: body.to_json(),
            ..self.req(method, path, query)
        }
    }

    fn insert_query(
        &self,
        at: Option<&InsertAt>,
        point_of: impl Fn(&str) -> String,
    ) -> Option<String> {
        let enc = |s: &str| encode_key(s);
        match at? {
            InsertAt::First => Some(String::from("insert=first")),
            InsertAt::Last => Some(String::from("insert=last")),
            InsertAt::Before(n) => Some(format!("insert=before&point={}", enc(&point_of(n)))),
            InsertAt::After(n) => Some(format!("insert=after&point={}", enc(&point_of(n)))),
        }
    }

    // ---- registration (RFC 8783 Section 5) -----------------------------------------------

    /// `POST` registration (Figure 11).
    #[must_use]
    pub fn register(&self) -> OwnedRequest {
        let body = DataBody::DotsClient(vec![DotsClient::new(self.cuid.clone())]);
        self.with_body(Method::Post, self.data_path(), None, &body)
    }

    /// `POST` registration relayed by a server-domain gateway, with the `cdid` it inserts
    /// (Figure 12). DOTS clients themselves never send a cdid (RFC 9132 Section 4.4.1.2).
    #[must_use]
    pub fn register_via_gateway(&self, cdid: &str) -> OwnedRequest {
        let mut entry = DotsClient::new(self.cuid.clone());
        entry.cdid = Some(String::from(cdid));
        self.with_body(
            Method::Post,
            self.data_path(),
            None,
            &DataBody::DotsClient(vec![entry]),
        )
    }

    /// `PUT` registration (Figure 14). Note that a PUT replaces the client, so its aliases and
    /// ACLs are removed.
    #[must_use]
    pub fn register_put(&self) -> OwnedRequest {
        let body = DataBody::DotsClient(vec![DotsClient::new(self.cuid.clone())]);
        self.with_body(Method::Put, self.client_path(), None, &body)
    }

    /// `DELETE` de-registration (Figure 15).
    #[must_use]
    pub fn deregister(&self) -> OwnedRequest {
        self.req(Method::Delete, self.client_path(), None)
    }

    /// `GET` of the whole client.
    #[must_use]
    pub fn get_client(&self, opts: GetOptions) -> OwnedRequest {
        self.req(Method::Get, self.client_path(), opts.query())
    }

    /// `GET` of the capabilities (Figure 22).
    #[must_use]
    pub fn get_capabilities(&self) -> OwnedRequest {
        self.req(
            Method::Get,
            format!("{}/capabilities", self.data_path()),
            None,
        )
    }

    // ---- aliases (RFC 8783 Section 6) ----------------------------------------------------

    fn check_alias(a: &Alias) -> Result<(), ClientError> {
        a.validate().map_err(ClientError::Invalid)?;
        if !a.has_target() {
            return Err(ClientError::Invalid(SchemaError::missing(
                "target-prefix",
                "at least one of target-prefix, target-fqdn or target-uri is required",
            )));
        }
        if a.pending_lifetime.is_some() {
            return Err(ClientError::Invalid(SchemaError::invalid(
                "pending-lifetime",
                "read-only",
            )));
        }
        Ok(())
    }

    /// `POST` of new aliases (Figure 17).
    pub fn create_aliases(&self, aliases: &[Alias]) -> Result<OwnedRequest, ClientError> {
        aliases.iter().try_for_each(DataClient::check_alias)?;
        let body = DataBody::Aliases(Aliases {
            alias: aliases.to_vec(),
        });
        Ok(self.with_body(Method::Post, self.client_path(), None, &body))
    }

    /// `PUT` of one alias (creates or refreshes it).
    pub fn put_alias(&self, alias: &Alias) -> Result<OwnedRequest, ClientError> {
        DataClient::check_alias(alias)?;
        let body = DataBody::Alias(vec![alias.clone()]);
        Ok(self.with_body(Method::Put, self.alias_path(&alias.name), None, &body))
    }

    fn alias_path(&self, name: &str) -> String {
        format!("{}/aliases/alias={}", self.client_path(), encode_key(name))
    }

    /// `GET` of all aliases (Figure 18).
    #[must_use]
    pub fn get_aliases(&self, opts: GetOptions) -> OwnedRequest {
        self.req(
            Method::Get,
            format!("{}/aliases", self.client_path()),
            opts.query(),
        )
    }

    /// `GET` of one alias (Figure 20).
    #[must_use]
    pub fn get_alias(&self, name: &str, opts: GetOptions) -> OwnedRequest {
        self.req(Method::Get, self.alias_path(name), opts.query())
    }

    /// `DELETE` of one alias (Figure 21).
    #[must_use]
    pub fn delete_alias(&self, name: &str) -> OwnedRequest {
        self.req(Method::Delete, self.alias_path(name), None)
    }

    // ---- filtering rules (RFC 8783 Section 7) --------------------------------------------

    fn check_acl(acl: &Acl) -> Result<(), ClientError> {
        acl.validate().map_err(ClientError::Invalid)?;
        if acl.pending_lifetime.is_some() {
            return Err(ClientError::Invalid(SchemaError::invalid(
                "pending-lifetime",
                "read-only",
            )));
        }
        acl.ace_list().iter().try_for_each(DataClient::check_ace)
    }

    fn check_ace(ace: &Ace) -> Result<(), ClientError> {
        let err = |path: &str, msg: &str| {
            Err(ClientError::Invalid(
                SchemaError::invalid(path, msg).within(&format!("ace={}", ace.name)),
            ))
        };
        if ace.actions.is_none() {
            return Err(ClientError::Invalid(SchemaError::missing(
                format!("ace={}/actions", ace.name),
                "'actions' is mandatory",
            )));
        }
        if ace.statistics.is_some() {
            return err("statistics", "read-only");
        }
        let Some(m) = &ace.matches else {
            return Ok(());
        };
        // RFC 8783 Section 4.2: clients "MUST NOT set these fields in the same request".
        if let Some(L3Match::Ipv4(v4)) = &m.l3 {
            if v4.flags.is_some() && v4.fragment.is_some() {
                return err(
                    "matches/ipv4",
                    "'fragment' and 'flags' must not be set together",
                );
            }
        }
        if let Some(L4Match::Tcp(t)) = &m.l4 {
            if t.flags.is_some() && t.flags_bitmask.is_some() {
                return err(
                    "matches/tcp",
                    "'flags-bitmask' and 'flags' must not be set together",
                );
            }
        }
        Ok(())
    }

    fn acl_path(&self, name: &str) -> String {
        format!("{}/acls/acl={}", self.client_path(), encode_key(name))
    }

    fn acl_point(&self, name: &str) -> String {
        format!(
            "{DOTS_DATA}/dots-client={}/acls/acl={}",
            encode_key(&self.cuid),
            encode_key(name)
        )
    }

    /// `POST` of new ACLs (Figure 24), optionally placed with `insert`/`point`.
    pub fn create_acls(
        &self,
        acls: &[Acl],
        at: Option<&InsertAt>,
    ) -> Result<OwnedRequest, ClientError> {
        acls.iter().try_for_each(DataClient::check_acl)?;
        let body = DataBody::Acls(Acls { acl: acls.to_vec() });
        let q = self.insert_query(at, |n| self.acl_point(n));
        Ok(self.with_body(Method::Post, self.client_path(), q, &body))
    }

    /// `PUT` of one ACL (creates, replaces or refreshes it; Figure 25).
    pub fn put_acl(&self, acl: &Acl, at: Option<&InsertAt>) -> Result<OwnedRequest, ClientError> {
        DataClient::check_acl(acl)?;
        let body = DataBody::Acl(vec![acl.clone()]);
        let q = self.insert_query(at, |n| self.acl_point(n));
        Ok(self.with_body(Method::Put, self.acl_path(&acl.name), q, &body))
    }

    /// `GET` of all ACLs (Figure 26).
    #[must_use]
    pub fn get_acls(&self, opts: GetOptions) -> OwnedRequest {
        self.req(
            Method::Get,
            format!("{}/acls", self.client_path()),
            opts.query(),
        )
    }

    /// `GET` of one ACL (Figures 28 and 30).
    #[must_use]
    pub fn get_acl(&self, name: &str, opts: GetOptions) -> OwnedRequest {
        self.req(Method::Get, self.acl_path(name), opts.query())
    }

    /// `DELETE` of one ACL (Figure 32).
    #[must_use]
    pub fn delete_acl(&self, name: &str) -> OwnedRequest {
        self.req(Method::Delete, self.acl_path(name), None)
    }

    fn ace_path(&self, acl: &str, ace: &str) -> String {
        format!("{}/aces/ace={}", self.acl_path(acl), encode_key(ace))
    }

    /// `POST` of new ACEs into an ACL, optionally placed with `insert`/`point`.
    pub fn create_aces(
        &self,
        acl: &str,
        aces: &[Ace],
        at: Option<&InsertAt>,
    ) -> Result<OwnedRequest, ClientError> {
        aces.iter().try_for_each(DataClient::check_ace)?;
        let body = DataBody::Ace(aces.to_vec());
        let q = self.insert_query(at, |n| {
            format!("{}/aces/ace={}", self.acl_point(acl), encode_key(n))
        });
        Ok(self.with_body(
            Method::Post,
            format!("{}/aces", self.acl_path(acl)),
            q,
            &body,
        ))
    }

    /// `PUT` of one ACE.
    pub fn put_ace(&self, acl: &str, ace: &Ace) -> Result<OwnedRequest, ClientError> {
        DataClient::check_ace(ace)?;
        let body = DataBody::Ace(vec![ace.clone()]);
        Ok(self.with_body(Method::Put, self.ace_path(acl, &ace.name), None, &body))
    }

    /// `DELETE` of one ACE.
    #[must_use]
    pub fn delete_ace(&self, acl: &str, ace: &str) -> OwnedRequest {
        self.req(Method::Delete, self.ace_path(acl, ace), None)
    }
}

// ---- responses --------------------------------------------------------------------------

/// The errors of an error response (empty when its body is not an `ietf-restconf:errors`
/// document).
#[must_use]
pub fn parse_errors(body: &[u8]) -> Vec<RestconfError> {
    RestconfErrors::from_json(body)
        .map(|e| e.errors)
        .unwrap_or_default()
}

/// Succeeds on a 2xx status; otherwise the server's errors.
pub fn expect_success(status: u16, body: &[u8]) -> Result<(), ClientError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(ClientError::Refused {
            status,
            errors: parse_errors(body),
        })
    }
}

fn data(status: u16, body: &[u8]) -> Result<DataBody, ClientError> {
    expect_success(status, body)?;
    DataBody::from_json(body).map_err(ClientError::Decode)
}

/// Reads a GET response of aliases (the whole list, or one alias in either form).
pub fn parse_aliases(status: u16, body: &[u8]) -> Result<Vec<Alias>, ClientError> {
    match data(status, body)? {
        DataBody::Aliases(a) => Ok(a.alias),
        DataBody::Alias(a) => Ok(a),
        other => Err(ClientError::UnexpectedBody(other.member())),
    }
}

/// Reads a GET response of ACLs (the whole list, or one ACL in either form).
pub fn parse_acls(status: u16, body: &[u8]) -> Result<Vec<Acl>, ClientError> {
    match data(status, body)? {
        DataBody::Acls(a) => Ok(a.acl),
        DataBody::Acl(a) => Ok(a),
        other => Err(ClientError::UnexpectedBody(other.member())),
    }
}

/// Reads a GET response of ACEs.
pub fn parse_aces(status: u16, body: &[u8]) -> Result<Vec<Ace>, ClientError> {
    match data(status, body)? {
        DataBody::Aces(a) => Ok(a.ace),
        DataBody::Ace(a) => Ok(a),
        other => Err(ClientError::UnexpectedBody(other.member())),
    }
}

/// Reads a GET response of the capabilities.
pub fn parse_capabilities(status: u16, body: &[u8]) -> Result<Capabilities, ClientError> {
    match data(status, body)? {
        DataBody::Capabilities(c) => Ok(c),
        other => Err(ClientError::UnexpectedBody(other.member())),
    }
}

/// Reads a GET response of a client.
pub fn parse_client(status: u16, body: &[u8]) -> Result<DotsClient, ClientError> {
    match data(status, body)? {
        DataBody::DotsClient(mut v) if v.len() == 1 => {
            v.pop().ok_or(ClientError::UnexpectedBody("dots-client"))
        }
        other => Err(ClientError::UnexpectedBody(other.member())),
    }
}
