//! The RESTCONF methods on each data resource.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use dots_codec::data::{
    Ace, Aces, Acl, Acls, Alias, Aliases, Capabilities, DataBody, DotsClient, DotsData, ErrorTag,
};

use super::error::{push_predicate, Failure};
use super::event::DataEvent;
use super::http::{encode_key, is_json_media_type, Request, Response};
use super::policy::{ClientRef, DataPolicy};
use super::server::{DataServer, PeerIdentity};
use super::state::{position, same_config, should_be_active, AclEntry, AliasEntry, ClientState};
use super::target::{parse_target, Content, Insert, Query, Target, DOTS_DATA};
use super::validate::{aces_conflict, check_acl, check_alias, Ctx};
use super::view;
use crate::time::Instant;

/// Instance path of a client (`/ietf-dots-data-channel:dots-data/dots-client[cuid='c']`).
pub(crate) fn client_path(cuid: &str) -> String {
    let mut p = format!("{DOTS_DATA}/dots-client");
    push_predicate(&mut p, "cuid", cuid);
    p
}

fn unique_names<'a>(names: impl Iterator<Item = &'a str>, what: &str) -> Result<(), Failure> {
    let mut seen: Vec<&str> = Vec::new();
    for n in names {
        if seen.contains(&n) {
            return Err(Failure::invalid(format!("{what} '{n}' appears twice")));
        }
        seen.push(n);
    }
    Ok(())
}

fn single<T>(mut v: Vec<T>, what: &str) -> Result<T, Failure> {
    if v.len() != 1 {
        return Err(Failure::invalid(format!(
            "the body must hold exactly one {what}"
        )));
    }
    v.pop().ok_or_else(|| Failure::invalid("empty body"))
}

fn wrong_member(body: &DataBody) -> Failure {
    Failure::bad(
        ErrorTag::UnknownElement,
        format!("'{}' is not expected at this resource", body.member()),
    )
}

fn no_insert(q: &Query) -> Result<(), Failure> {
    if q.insert.is_some() || q.point.is_some() {
        return Err(Failure::protocol(
            "insert/point only apply to ACLs and ACEs (lists ordered by user)",
        ));
    }
    Ok(())
}

fn key_mismatch() -> Failure {
    // RFC 8040 Section 4.5: the key in the body must equal the key in the URI.
    Failure::invalid("the list key in the body differs from the one in the request URI")
}

/// Parses the body of POST, PUT and PATCH: media type first (415), then JSON (400).
pub(crate) fn parse_body(req: &Request<'_>) -> Result<DataBody, Failure> {
    check_media(req)?;
    DataBody::from_json(req.body).map_err(|e| Failure::from_decode(&e))
}

pub(crate) fn check_media(req: &Request<'_>) -> Result<(), Failure> {
    if !req.content_type.is_some_and(is_json_media_type) {
        return Err(Failure::new(
            415,
            dots_codec::data::ErrorType::Protocol,
            ErrorTag::InvalidValue,
            "the body must be application/yang-data+json",
        ));
    }
    if req.body.is_empty() {
        return Err(Failure::new(
            400,
            dots_codec::data::ErrorType::Rpc,
            ErrorTag::MalformedMessage,
            "a message body is required",
        ));
    }
    Ok(())
}

impl<P: DataPolicy> DataServer<P> {
    fn ctx<'a>(&'a self, client: ClientRef<'a>) -> Ctx<'a, P> {
        Ctx {
            config: &self.config,
            policy: &self.policy,
            client,
        }
    }

    fn location(&self, tail: &str) -> String {
        format!("{}/data{DOTS_DATA}{tail}", self.config.restconf_root)
    }

    fn loc_client(&self, cuid: &str) -> String {
        self.location(&format!("/dots-client={}", encode_key(cuid)))
    }

    // ---- GET -----------------------------------------------------------------------------

    pub(crate) fn get(
        &self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        target: &Target,
        q: &Query,
    ) -> Result<Response, Failure> {
        let content = q.content;
        let caps = || {
            if content == Content::Config {
                Capabilities::default()
            } else {
                self.config.capabilities.clone()
            }
        };
        let body = match target {
            Target::DotsData => DataBody::DotsData(DotsData {
                dots_client: self
                    .clients
                    .values()
                    .filter(|c| c.owner == peer.cuid)
                    .map(|c| view::render_client(c, now, content))
                    .collect(),
                capabilities: (content != Content::Config).then(caps),
                vendor_mapping: (content != Content::Config
                    && self.vendor_mapping_enabled()
                    && !self.config.vendor_mapping.vendor.is_empty())
                .then(|| self.config.vendor_mapping.clone()),
            }),
            Target::Capabilities => DataBody::Capabilities(caps()),
            Target::Client(cuid) => {
                let c = self.owned_client(peer, cuid)?;
                DataBody::DotsClient(vec![view::render_client(c, now, content)])
            }
            Target::Aliases(cuid) => {
                let c = self.owned_client(peer, cuid)?;
                DataBody::Aliases(view::render_aliases(c, now, content))
            }
            Target::Alias(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let e = c
                    .aliases
                    .iter()
                    .find(|e| e.alias.name == *name)
                    .ok_or_else(|| Failure::not_found(format!("no alias '{name}'")))?;
                // As RFC 8783 prints single-entry responses (Figure 29): inside the container.
                DataBody::Aliases(Aliases {
                    alias: vec![view::render_alias(e, now, content)],
                })
            }
            Target::Acls(cuid) => {
                let c = self.owned_client(peer, cuid)?;
                DataBody::Acls(view::render_acls(c, now, content))
            }
            Target::Acl(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let e = find_acl(c, name)?;
                DataBody::Acls(Acls {
                    acl: vec![view::render_acl(e, now, content)],
                })
            }
            Target::Aces(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let e = find_acl(c, name)?;
                DataBody::Aces(Aces {
                    ace: e
                        .acl
                        .ace_list()
                        .iter()
                        .map(|a| view::render_ace(a, content))
                        .collect(),
                })
            }
            Target::Ace(cuid, name, ace) => {
                let c = self.owned_client(peer, cuid)?;
                let e = find_acl(c, name)?;
                let a = find_ace(&e.acl, ace)?;
                DataBody::Aces(Aces {
                    ace: vec![view::render_ace(a, content)],
                })
            }
            Target::ServerVendors(id) => self.get_server_vendors(*id)?,
            Target::Vendors(cuid, id) => {
                let c = self.owned_client(peer, cuid)?;
                self.get_client_vendors(c, *id, content)?
            }
        };
        Ok(Response::json(200, view::finish(&body, q.depth)))
    }

    // ---- POST ----------------------------------------------------------------------------

    pub(crate) fn post(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        target: &Target,
        q: &Query,
        req: &Request<'_>,
    ) -> Result<Response, Failure> {
        let body = parse_body(req)?;
        match (target, body) {
            (Target::DotsData, DataBody::DotsClient(entries)) => {
                no_insert(q)?;
                let entry = single(entries, "dots-client")?;
                self.register(now, peer, entry)
            }
            (Target::Client(cuid), DataBody::Aliases(a)) => {
                no_insert(q)?;
                self.create_aliases(now, peer, cuid, a.alias)
            }
            (Target::Aliases(cuid), DataBody::Alias(a)) => {
                no_insert(q)?;
                self.create_aliases(now, peer, cuid, a)
            }
            (Target::Client(cuid), DataBody::Acls(a)) => {
                self.create_acls(now, peer, cuid, a.acl, q)
            }
            (Target::Acls(cuid), DataBody::Acl(a)) => self.create_acls(now, peer, cuid, a, q),
            (Target::Acl(cuid, acl), DataBody::Aces(a)) => {
                self.edit_aces(now, peer, cuid, acl, q, AceEdit::Add(a.ace))
            }
            (Target::Aces(cuid, acl), DataBody::Ace(a)) => {
                self.edit_aces(now, peer, cuid, acl, q, AceEdit::Add(a))
            }
            (Target::Client(cuid), DataBody::VendorMapping(m)) => {
                no_insert(q)?;
                self.create_vendors(peer, cuid, m.vendor)
            }
            (Target::Vendors(cuid, None), DataBody::Vendor(v)) => {
                no_insert(q)?;
                self.create_vendors(peer, cuid, v)
            }
            (_, body) => Err(wrong_member(&body)),
        }
    }

    fn register(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        entry: DotsClient,
    ) -> Result<Response, Failure> {
        let cdid = self.check_entry(peer, &entry)?;
        if let Some(c) = self.clients.get(&entry.cuid) {
            // RFC 8783 Section 5.1: 409 when the resource exists; RFC 9132 Section 4.4.1.1:
            // 409 when the cuid is in use by another client.
            let why = if c.owner == peer.cuid {
                "the DOTS client is already registered"
            } else {
                "the cuid is in use by another DOTS client"
            };
            return Err(Failure::conflict(why));
        }
        let location = self.loc_client(&entry.cuid);
        self.create_or_replace_client(now, peer, entry, cdid)?;
        let mut r = Response::status(201);
        r.location = Some(location);
        Ok(r)
    }

    /// Checks a `dots-client` entry of a registration; returns the cdid to keep.
    fn check_entry(
        &self,
        peer: &PeerIdentity<'_>,
        entry: &DotsClient,
    ) -> Result<Option<String>, Failure> {
        let base = format!("{DOTS_DATA}/dots-client");
        if entry.cuid.is_empty() || entry.cuid.len() > self.config.max_id_len {
            return Err(Failure::invalid("bad cuid length").with_path(format!("{base}/cuid")));
        }
        if !peer.trusted_gateway && self.config.bind_cuid_to_identity && entry.cuid != peer.cuid {
            return Err(Failure::forbidden(
                "the cuid does not belong to the requesting DOTS client",
            ));
        }
        // RFC 9132 Section 4.4.1.2: "DOTS servers MUST ignore 'cdid' attributes that are
        // directly supplied by source DOTS clients".
        let cdid = entry.cdid.clone().filter(|_| peer.trusted_gateway);
        if let Some(d) = &cdid {
            if d.is_empty() || d.len() > self.config.max_id_len {
                return Err(Failure::invalid("bad cdid length").with_path(format!("{base}/cdid")));
            }
        }
        if peer.trusted_gateway && self.config.require_cdid_from_gateways && cdid.is_none() {
            return Err(
                Failure::missing("a cdid is expected from this DOTS gateway")
                    .with_path(format!("{base}/cdid")),
            );
        }
        Ok(cdid)
    }

    /// Registration by POST or PUT: validates the whole entry, then commits it.
    /// Returns whether the client was created.
    fn create_or_replace_client(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        entry: DotsClient,
        cdid: Option<String>,
    ) -> Result<bool, Failure> {
        let existing = self.clients.get(&entry.cuid);
        if let Some(c) = existing {
            if c.owner != peer.cuid {
                return Err(Failure::conflict(
                    "the cuid is in use by another DOTS client",
                ));
            }
        } else {
            if self.clients.len() >= self.config.max_clients {
                return Err(Failure::conflict("no more DOTS clients can be registered"));
            }
            let r = ClientRef {
                cuid: &entry.cuid,
                cdid: cdid.as_deref(),
            };
            if !self.policy.may_register(r) {
                return Err(Failure::forbidden("this DOTS client may not register"));
            }
        }
        let aliases = entry.aliases.map(|a| a.alias).unwrap_or_default();
        let acls = entry.acls.map(|a| a.acl).unwrap_or_default();
        self.check_vendor_feature(entry.vendor_mapping.is_some())?;
        let vendors = entry.vendor_mapping.map(|m| m.vendor).unwrap_or_default();
        self.check_vendor_set(&entry.cuid, &vendors)?;
        {
            let r = ClientRef {
                cuid: &entry.cuid,
                cdid: cdid.as_deref(),
            };
            self.check_alias_set(r, &aliases)?;
            self.check_acl_set(r, &acls, 0)?;
        }
        let created = existing.is_none();
        if created {
            self.clients.insert(
                entry.cuid.clone(),
                ClientState::new(entry.cuid.clone(), cdid.clone(), String::from(peer.cuid)),
            );
            self.events.push(DataEvent::ClientRegistered {
                cuid: entry.cuid.clone(),
            });
        }
        if let Some(c) = self.clients.get_mut(&entry.cuid) {
            c.cdid = cdid;
        }
        self.commit_aliases(now, &entry.cuid, aliases);
        self.commit_acls(now, &entry.cuid, acls);
        self.commit_vendors(&entry.cuid, vendors);
        Ok(created)
    }

    /// Checks a full set of aliases for one client (PUT of a container or a client).
    fn check_alias_set(&self, client: ClientRef<'_>, aliases: &[Alias]) -> Result<(), Failure> {
        // quotas first: they bound the work of the other checks
        if aliases.len() > self.policy.limits(client).max_aliases {
            return Err(Failure::conflict("too many aliases for this DOTS client"));
        }
        unique_names(aliases.iter().map(|a| a.name.as_str()), "alias")?;
        let base = format!("{}/aliases", client_path(client.cuid));
        for a in aliases {
            check_alias(&self.ctx(client), a, &base)?;
        }
        Ok(())
    }

    /// Checks a set of ACLs for one client; `other_aces` counts the ACEs the client keeps
    /// besides them.
    fn check_acl_set(
        &self,
        client: ClientRef<'_>,
        acls: &[Acl],
        other_aces: usize,
    ) -> Result<(), Failure> {
        let limits = self.policy.limits(client);
        if acls.len() > limits.max_acls {
            return Err(Failure::conflict("too many ACLs for this DOTS client"));
        }
        let aces: usize = acls.iter().map(|a| a.ace_list().len()).sum();
        if aces.saturating_add(other_aces) > limits.max_aces {
            return Err(Failure::conflict("too many ACEs for this DOTS client"));
        }
        unique_names(acls.iter().map(|a| a.name.as_str()), "ACL")?;
        let base = format!("{}/acls", client_path(client.cuid));
        for a in acls {
            check_acl(&self.ctx(client), a, &base)?;
        }
        for a in acls {
            self.check_conflicts(client, a)?;
        }
        Ok(())
    }

    /// RFC 8783 Section 7.2: "If the request is conflicting with an existing filtering
    /// installed by another DOTS client of the domain, absent any local policy, the DOTS server
    /// returns a '409 Conflict' status-line ... 'resource-denied'".
    fn check_conflicts(&self, client: ClientRef<'_>, acl: &Acl) -> Result<(), Failure> {
        if !self.config.reject_conflicting_acls {
            return Ok(());
        }
        for other in self.clients.values() {
            if other.cuid == client.cuid || !self.policy.same_domain(client, other.client_ref()) {
                continue;
            }
            for e in &other.acls {
                for theirs in e.acl.ace_list() {
                    if let Some(mine) = acl.ace_list().iter().find(|m| aces_conflict(m, theirs)) {
                        return Err(Failure::conflict(format!(
                            "ACE '{}' conflicts with a filter of another DOTS client of the domain",
                            mine.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn create_aliases(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        aliases: Vec<Alias>,
    ) -> Result<Response, Failure> {
        let c = self.owned_client(peer, cuid)?;
        if aliases.is_empty() {
            return Err(Failure::missing("no alias in the request"));
        }
        let r = c.client_ref();
        if c.aliases.len().saturating_add(aliases.len()) > self.policy.limits(r).max_aliases {
            return Err(Failure::conflict("too many aliases for this DOTS client"));
        }
        unique_names(aliases.iter().map(|a| a.name.as_str()), "alias")?;
        let base = format!("{}/aliases", client_path(cuid));
        for a in &aliases {
            check_alias(&self.ctx(r), a, &base)?;
            if c.alias_index(&a.name).is_some() {
                // RFC 8783 Section 6.1: 409 'resource-denied' on an existing alias name.
                return Err(Failure::conflict(format!(
                    "alias '{}' already exists",
                    a.name
                )));
            }
        }
        let first = aliases.first().map(|a| a.name.clone()).unwrap_or_default();
        let expires = self.expiry(now);
        if let Some(c) = self.clients.get_mut(cuid) {
            c.aliases.extend(
                aliases
                    .into_iter()
                    .map(|alias| AliasEntry { alias, expires }),
            );
        }
        let mut r = Response::status(201);
        r.location = Some(format!(
            "{}/aliases/alias={}",
            self.loc_client(cuid),
            encode_key(&first)
        ));
        Ok(r)
    }

    /// Resolves `point` to the index of an entry among `names`.
    fn resolve_point(
        &self,
        q: &Query,
        names: &[&str],
        expect: impl Fn(&Target) -> Option<String>,
    ) -> Result<Option<usize>, Failure> {
        if !matches!(q.insert, Some(Insert::Before | Insert::After)) {
            return Ok(None);
        }
        let point = q.point.as_deref().unwrap_or_default();
        let root = &self.config.restconf_root;
        let full = if point.starts_with(root.as_str()) {
            String::from(point)
        } else {
            format!("{root}/data{point}")
        };
        let bad = || Failure::protocol("the point parameter does not name an entry of this list");
        let t = parse_target(root, &full).map_err(|_| bad())?;
        let name = expect(&t).ok_or_else(bad)?;
        names
            .iter()
            .position(|n| *n == name)
            .map(Some)
            .ok_or_else(bad)
    }

    fn create_acls(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        acls: Vec<Acl>,
        q: &Query,
    ) -> Result<Response, Failure> {
        let c = self.owned_client(peer, cuid)?;
        if acls.is_empty() {
            return Err(Failure::missing("no ACL in the request"));
        }
        for a in &acls {
            if c.acl_index(&a.name).is_some() {
                return Err(Failure::conflict(format!(
                    "ACL '{}' already exists",
                    a.name
                )));
            }
        }
        let r = c.client_ref();
        if c.acls.len().saturating_add(acls.len()) > self.policy.limits(r).max_acls {
            return Err(Failure::conflict("too many ACLs for this DOTS client"));
        }
        self.check_acl_set(r, &acls, c.ace_count())?;
        let names: Vec<&str> = c.acls.iter().map(|e| e.acl.name.as_str()).collect();
        let point = self.resolve_point(q, &names, |t| match t {
            Target::Acl(pc, n) if pc == cuid => Some(n.clone()),
            _ => None,
        })?;
        let at = position(names.len(), q.insert, point);
        let first = acls.first().map(|a| a.name.clone()).unwrap_or_default();
        for (i, acl) in acls.into_iter().enumerate() {
            self.commit_acl(now, cuid, acl, Some(at.saturating_add(i)));
        }
        let mut r = Response::status(201);
        r.location = Some(format!(
            "{}/acls/acl={}",
            self.loc_client(cuid),
            encode_key(&first)
        ));
        Ok(r)
    }

    /// Stores an ACL (new or replacing the one of the same name) at `at` (an index in the list
    /// without that ACL; `None` keeps the old place or appends), with the activation events.
    fn commit_acl(&mut self, now: Instant, cuid: &str, acl: Acl, at: Option<usize>) {
        let expires = self.expiry(now);
        let Some(c) = self.clients.get_mut(cuid) else {
            return;
        };
        let want = should_be_active(acl.effective_activation_type(), c.mitigating);
        let (entry, old_at) = match c.acl_index(&acl.name) {
            Some(i) => {
                let old = c.acls.remove(i);
                let changed = !same_config(&old.acl, &acl);
                self.events
                    .transition(cuid, &acl.name, old.active, want, changed);
                let acl = if changed { acl } else { old.acl };
                (
                    AclEntry {
                        acl,
                        expires,
                        active: want,
                    },
                    Some(i),
                )
            }
            None => {
                self.events.transition(cuid, &acl.name, false, want, true);
                (
                    AclEntry {
                        acl,
                        expires,
                        active: want,
                    },
                    None,
                )
            }
        };
        let idx = at.or(old_at).unwrap_or(c.acls.len()).min(c.acls.len());
        c.acls.insert(idx, entry);
    }

    /// Replaces all the ACLs of a client, in the given order.
    fn commit_acls(&mut self, now: Instant, cuid: &str, acls: Vec<Acl>) {
        let Some(c) = self.clients.get_mut(cuid) else {
            return;
        };
        let gone: Vec<AclEntry> = {
            let (keep, gone): (Vec<AclEntry>, Vec<AclEntry>) = core::mem::take(&mut c.acls)
                .into_iter()
                .partition(|e| acls.iter().any(|a| a.name == e.acl.name));
            c.acls = keep;
            gone
        };
        for e in gone {
            self.events.push(DataEvent::AclDeleted {
                cuid: String::from(cuid),
                acl: e.acl.name,
                was_active: e.active,
            });
        }
        for (i, acl) in acls.into_iter().enumerate() {
            self.commit_acl(now, cuid, acl, Some(i));
        }
    }

    /// Replaces all the aliases of a client.
    fn commit_aliases(&mut self, now: Instant, cuid: &str, aliases: Vec<Alias>) {
        let expires = if aliases.is_empty() {
            now + self.config.lifetime
        } else {
            self.expiry(now)
        };
        let Some(c) = self.clients.get_mut(cuid) else {
            return;
        };
        for e in &c.aliases {
            if !aliases.iter().any(|a| a.name == e.alias.name) {
                self.events.push(DataEvent::AliasDeleted {
                    cuid: String::from(cuid),
                    alias: e.alias.name.clone(),
                });
            }
        }
        c.aliases = aliases
            .into_iter()
            .map(|alias| AliasEntry { alias, expires })
            .collect();
    }

    fn edit_aces(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        acl_name: &str,
        q: &Query,
        edit: AceEdit,
    ) -> Result<Response, Failure> {
        let incoming: &[Ace] = match &edit {
            AceEdit::Add(v) | AceEdit::Replace(v) => v,
            AceEdit::Put(_, a) => core::slice::from_ref(&**a),
            AceEdit::Delete(_) => &[],
        };
        if incoming.iter().any(|a| a.statistics.is_some()) {
            return Err(Failure::invalid(
                "read-only node in a configuration request",
            ));
        }
        let c = self.owned_client(peer, cuid)?;
        if incoming.len() > self.policy.limits(c.client_ref()).max_aces {
            return Err(Failure::conflict("too many ACEs for this DOTS client"));
        }
        let e = find_acl(c, acl_name)?;
        let mut acl = e.acl.clone();
        let old_aces = acl.ace_list().len();
        let mut list: Vec<Ace> = acl.aces.take().map(|a| a.ace).unwrap_or_default();
        let acl_of = |t: &Target| match t {
            Target::Ace(pc, pa, n) if pc == cuid && pa == acl_name => Some(n.clone()),
            _ => None,
        };
        let (status, location) = match edit {
            AceEdit::Add(new) => {
                if new.is_empty() {
                    return Err(Failure::missing("no ACE in the request"));
                }
                unique_names(new.iter().map(|a| a.name.as_str()), "ACE")?;
                if let Some(dup) = new.iter().find(|n| list.iter().any(|o| o.name == n.name)) {
                    return Err(Failure::conflict(format!(
                        "ACE '{}' already exists",
                        dup.name
                    )));
                }
                let names: Vec<&str> = list.iter().map(|a| a.name.as_str()).collect();
                let point = self.resolve_point(q, &names, acl_of)?;
                let at = position(list.len(), q.insert, point);
                let first = new.first().map(|a| a.name.clone()).unwrap_or_default();
                let tail = list.split_off(at.min(list.len()));
                list.extend(new);
                list.extend(tail);
                let loc = format!(
                    "{}/acls/acl={}/aces/ace={}",
                    self.loc_client(cuid),
                    encode_key(acl_name),
                    encode_key(&first)
                );
                (201, Some(loc))
            }
            AceEdit::Put(name, ace) => {
                if ace.name != name {
                    return Err(key_mismatch());
                }
                let old = list.iter().position(|a| a.name == name);
                if let Some(i) = old {
                    list.remove(i);
                }
                let names: Vec<&str> = list.iter().map(|a| a.name.as_str()).collect();
                let point = self.resolve_point(q, &names, acl_of)?;
                let at = match (q.insert, old) {
                    (None, Some(i)) => i,
                    _ => position(list.len(), q.insert, point),
                };
                list.insert(at.min(list.len()), *ace);
                (if old.is_some() { 204 } else { 201 }, None)
            }
            AceEdit::Replace(new) => {
                no_insert(q)?;
                unique_names(new.iter().map(|a| a.name.as_str()), "ACE")?;
                list = new;
                (204, None)
            }
            AceEdit::Delete(name) => {
                let i = list
                    .iter()
                    .position(|a| a.name == name)
                    .ok_or_else(|| Failure::not_found(format!("no ACE '{name}'")))?;
                list.remove(i);
                (204, None)
            }
        };
        acl.aces = Some(Aces { ace: list });
        let r = c.client_ref();
        let others = c.ace_count().saturating_sub(old_aces);
        let mut checked = acl.clone();
        for a in checked.aces.iter_mut().flat_map(|x| x.ace.iter_mut()) {
            a.statistics = None;
        }
        self.check_acl_set(r, core::slice::from_ref(&checked), others)?;
        self.commit_acl(now, cuid, acl, None);
        let mut resp = Response::status(status);
        resp.location = location;
        Ok(resp)
    }

    // ---- PUT -----------------------------------------------------------------------------

    pub(crate) fn put(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        target: &Target,
        q: &Query,
        req: &Request<'_>,
    ) -> Result<Response, Failure> {
        let body = parse_body(req)?;
        let created = match (target, body) {
            (Target::Client(cuid), DataBody::DotsClient(entries)) => {
                no_insert(q)?;
                let entry = single(entries, "dots-client")?;
                if entry.cuid != *cuid {
                    return Err(key_mismatch());
                }
                let cdid = self.check_entry(peer, &entry)?;
                self.create_or_replace_client(now, peer, entry, cdid)?
            }
            (Target::Aliases(cuid), DataBody::Aliases(a)) => {
                no_insert(q)?;
                let c = self.owned_client(peer, cuid)?;
                self.check_alias_set(c.client_ref(), &a.alias)?;
                self.commit_aliases(now, cuid, a.alias);
                false
            }
            (Target::Alias(cuid, name), body @ (DataBody::Alias(_) | DataBody::Aliases(_))) => {
                no_insert(q)?;
                // RESTCONF puts the entry itself in the body ("alias"); RFC 8783 prints PUT
                // bodies inside the container (Figures 25 and 36 to 38, for ACLs): both are
                // accepted with exactly one entry.
                let alias = match body {
                    DataBody::Alias(v) => single(v, "alias")?,
                    DataBody::Aliases(a) => single(a.alias, "alias")?,
                    other => return Err(wrong_member(&other)),
                };
                self.put_alias(now, peer, cuid, name, alias)?
            }
            (Target::Acls(cuid), DataBody::Acls(a)) => {
                no_insert(q)?;
                let c = self.owned_client(peer, cuid)?;
                self.check_acl_set(c.client_ref(), &a.acl, 0)?;
                self.commit_acls(now, cuid, a.acl);
                false
            }
            (Target::Acl(cuid, name), body @ (DataBody::Acl(_) | DataBody::Acls(_))) => {
                let acl = match body {
                    DataBody::Acl(v) => single(v, "acl")?,
                    DataBody::Acls(a) => single(a.acl, "acl")?,
                    other => return Err(wrong_member(&other)),
                };
                self.put_acl(now, peer, cuid, name, acl, q)?
            }
            (Target::Aces(cuid, acl), DataBody::Aces(a)) => {
                self.edit_aces(now, peer, cuid, acl, q, AceEdit::Replace(a.ace))?;
                false
            }
            (Target::Ace(cuid, acl, name), body @ (DataBody::Ace(_) | DataBody::Aces(_))) => {
                let ace = match body {
                    DataBody::Ace(v) => single(v, "ace")?,
                    DataBody::Aces(a) => single(a.ace, "ace")?,
                    other => return Err(wrong_member(&other)),
                };
                let r = self.edit_aces(
                    now,
                    peer,
                    cuid,
                    acl,
                    q,
                    AceEdit::Put(name.clone(), Box::new(ace)),
                )?;
                r.status == 201
            }
            (Target::Vendors(cuid, None), DataBody::VendorMapping(m)) => {
                no_insert(q)?;
                self.put_vendors(peer, cuid, m.vendor)?
            }
            (
                Target::Vendors(cuid, Some(id)),
                body @ (DataBody::Vendor(_) | DataBody::VendorMapping(_)),
            ) => {
                no_insert(q)?;
                // The entry itself, or (as for aliases) inside its container.
                let vendor = match body {
                    DataBody::Vendor(v) => single(v, "vendor")?,
                    DataBody::VendorMapping(m) => single(m.vendor, "vendor")?,
                    other => return Err(wrong_member(&other)),
                };
                self.put_vendor(peer, cuid, *id, vendor)?
            }
            (_, body) => return Err(wrong_member(&body)),
        };
        Ok(Response::status(if created { 201 } else { 204 }))
    }

    fn put_alias(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        name: &str,
        alias: Alias,
    ) -> Result<bool, Failure> {
        let c = self.owned_client(peer, cuid)?;
        if alias.name != name {
            return Err(key_mismatch());
        }
        let r = c.client_ref();
        check_alias(
            &self.ctx(r),
            &alias,
            &format!("{}/aliases", client_path(cuid)),
        )?;
        let existing = c.alias_index(name);
        if existing.is_none() && c.aliases.len() >= self.policy.limits(r).max_aliases {
            return Err(Failure::conflict("too many aliases for this DOTS client"));
        }
        let expires = self.expiry(now);
        let Some(c) = self.clients.get_mut(cuid) else {
            return Err(Failure::not_found("the DOTS client is not registered"));
        };
        let entry = AliasEntry { alias, expires };
        match existing.and_then(|i| c.aliases.get_mut(i)) {
            Some(slot) => {
                *slot = entry;
                Ok(false)
            }
            None => {
                c.aliases.push(entry);
                Ok(true)
            }
        }
    }

    fn put_acl(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        cuid: &str,
        name: &str,
        acl: Acl,
        q: &Query,
    ) -> Result<bool, Failure> {
        let c = self.owned_client(peer, cuid)?;
        if acl.name != name {
            return Err(key_mismatch());
        }
        let existing = c.acl_index(name);
        let old_aces = existing
            .and_then(|i| c.acls.get(i))
            .map_or(0, |e| e.acl.ace_list().len());
        let r = c.client_ref();
        self.check_acl_set(
            r,
            core::slice::from_ref(&acl),
            c.ace_count().saturating_sub(old_aces),
        )?;
        if existing.is_none() && c.acls.len() >= self.policy.limits(r).max_acls {
            return Err(Failure::conflict("too many ACLs for this DOTS client"));
        }
        let names: Vec<&str> = c
            .acls
            .iter()
            .map(|e| e.acl.name.as_str())
            .filter(|n| *n != name)
            .collect();
        let point = self.resolve_point(q, &names, |t| match t {
            Target::Acl(pc, n) if pc == cuid && n != name => Some(n.clone()),
            _ => None,
        })?;
        let at = q.insert.map(|i| position(names.len(), Some(i), point));
        self.commit_acl(now, cuid, acl, at);
        Ok(existing.is_none())
    }

    // ---- DELETE --------------------------------------------------------------------------

    pub(crate) fn delete(
        &mut self,
        peer: &PeerIdentity<'_>,
        target: &Target,
    ) -> Result<Response, Failure> {
        let now = self.last_now;
        match target {
            Target::Client(cuid) => {
                self.owned_client(peer, cuid)?;
                self.remove_client(cuid);
            }
            Target::Aliases(cuid) => {
                self.owned_client(peer, cuid)?;
                self.commit_aliases(now, cuid, Vec::new());
            }
            Target::Alias(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let i = c
                    .alias_index(name)
                    .ok_or_else(|| Failure::not_found(format!("no alias '{name}'")))?;
                if let Some(c) = self.clients.get_mut(cuid.as_str()) {
                    let e = c.aliases.remove(i);
                    self.events.push(DataEvent::AliasDeleted {
                        cuid: cuid.clone(),
                        alias: e.alias.name,
                    });
                }
            }
            Target::Acls(cuid) => {
                self.owned_client(peer, cuid)?;
                self.commit_acls(now, cuid, Vec::new());
            }
            Target::Acl(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let i = c
                    .acl_index(name)
                    .ok_or_else(|| Failure::not_found(format!("no ACL '{name}'")))?;
                if let Some(c) = self.clients.get_mut(cuid.as_str()) {
                    let e = c.acls.remove(i);
                    self.events.push(DataEvent::AclDeleted {
                        cuid: cuid.clone(),
                        acl: e.acl.name,
                        was_active: e.active,
                    });
                }
            }
            Target::Aces(cuid, acl) => {
                self.edit_aces(
                    now,
                    peer,
                    cuid,
                    acl,
                    &Query::default(),
                    AceEdit::Replace(Vec::new()),
                )?;
            }
            Target::Ace(cuid, acl, name) => {
                self.edit_aces(
                    now,
                    peer,
                    cuid,
                    acl,
                    &Query::default(),
                    AceEdit::Delete(name.clone()),
                )?;
            }
            Target::Vendors(cuid, id) => self.delete_vendors(peer, cuid, *id)?,
            Target::DotsData | Target::Capabilities | Target::ServerVendors(_) => {
                return Err(Failure::protocol("this resource cannot be deleted"))
            }
        }
        Ok(Response::status(204))
    }
}

/// A change to the ACEs of one ACL.
enum AceEdit {
    Add(Vec<Ace>),
    Put(String, Box<Ace>),
    Replace(Vec<Ace>),
    Delete(String),
}

fn find_acl<'c>(c: &'c ClientState, name: &str) -> Result<&'c AclEntry, Failure> {
    c.acls
        .iter()
        .find(|e| e.acl.name == name)
        .ok_or_else(|| Failure::not_found(format!("no ACL '{name}'")))
}

fn find_ace<'a>(acl: &'a Acl, name: &str) -> Result<&'a Ace, Failure> {
    acl.ace_list()
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| Failure::not_found(format!("no ACE '{name}'")))
}
