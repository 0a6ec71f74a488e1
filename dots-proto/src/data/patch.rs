//! Plain PATCH (RFC 8040 Section 4.6.1): the body is merged into the target's configuration,
//! which is then validated and stored as a PUT would.

use alloc::vec;

use dots_codec::data::{DataBody, ErrorTag, ErrorType, MEDIA_TYPE};
use serde_json::{Map, Value};

use super::error::Failure;
use super::handlers::check_media;
use super::http::{Method, Request, Response};
use super::policy::DataPolicy;
use super::server::{DataServer, PeerIdentity};
use super::target::{Content, Query, Target};
use super::view;
use crate::time::Instant;

const PREFIX: &str = "ietf-dots-data-channel:";

impl<P: DataPolicy> DataServer<P> {
    pub(crate) fn patch(
        &mut self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        target: &Target,
        req: &Request<'_>,
    ) -> Result<Response, Failure> {
        check_media(req)?;
        let patch: Value = serde_json::from_slice(req.body).map_err(|e| {
            Failure::new(
                400,
                ErrorType::Rpc,
                ErrorTag::MalformedMessage,
                alloc::format!("{e}"),
            )
        })?;
        let (list, current) = self.current_config(now, peer, target)?;
        let container = match list {
            "dots-client" => None,
            "alias" => Some("aliases"),
            "acl" => Some("acls"),
            _ => Some("aces"),
        };
        let entries = match patch {
            Value::Object(mut m) if m.len() == 1 => {
                let list_member = alloc::format!("{PREFIX}{list}");
                let container_member = container.map(|c| alloc::format!("{PREFIX}{c}"));
                if let Some(v) = m.remove(&list_member) {
                    v
                } else if let Some(mut inner) = container_member
                    .and_then(|c| m.remove(&c))
                    .and_then(|v| match v {
                        Value::Object(o) => Some(o),
                        _ => None,
                    })
                {
                    inner.remove(list).unwrap_or(Value::Null)
                } else {
                    return Err(Failure::bad(
                        ErrorTag::UnknownElement,
                        "the patch does not address the target resource",
                    ));
                }
            }
            _ => return Err(Failure::invalid("a patch is an object with one member")),
        };
        let Value::Array(_) = entries else {
            return Err(Failure::invalid("the patch must hold a list entry"));
        };
        let mut merged = Value::Array(vec![current]);
        merge(&mut merged, entries);
        let mut top = Map::new();
        top.insert(alloc::format!("{PREFIX}{list}"), merged);
        let body = serde_json::to_vec(&Value::Object(top)).unwrap_or_default();
        let put = Request {
            method: Method::Put,
            query: None,
            content_type: Some(MEDIA_TYPE),
            body: &body,
            ..*req
        };
        // A patch that adds a second entry, or renames the key, fails in the PUT checks.
        self.put(now, peer, target, &Query::default(), &put)?;
        Ok(Response::status(204))
    }

    /// The target's configuration as a JSON list entry, with the list's name.
    fn current_config(
        &self,
        now: Instant,
        peer: &PeerIdentity<'_>,
        target: &Target,
    ) -> Result<(&'static str, Value), Failure> {
        let cfg = Content::Config;
        let missing = |what: &str| Failure::not_found(alloc::format!("no such {what}"));
        let (list, body) = match target {
            Target::Client(cuid) => {
                let c = self.owned_client(peer, cuid)?;
                (
                    "dots-client",
                    DataBody::DotsClient(vec![view::render_client(c, now, cfg)]),
                )
            }
            Target::Alias(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let e = c
                    .aliases
                    .iter()
                    .find(|e| e.alias.name == *name)
                    .ok_or_else(|| missing("alias"))?;
                (
                    "alias",
                    DataBody::Alias(vec![view::render_alias(e, now, cfg)]),
                )
            }
            Target::Acl(cuid, name) => {
                let c = self.owned_client(peer, cuid)?;
                let e = c
                    .acls
                    .iter()
                    .find(|e| e.acl.name == *name)
                    .ok_or_else(|| missing("ACL"))?;
                ("acl", DataBody::Acl(vec![view::render_acl(e, now, cfg)]))
            }
            Target::Ace(cuid, acl, name) => {
                let c = self.owned_client(peer, cuid)?;
                let e = c
                    .acls
                    .iter()
                    .find(|e| e.acl.name == *acl)
                    .ok_or_else(|| missing("ACL"))?;
                let a = e
                    .acl
                    .ace_list()
                    .iter()
                    .find(|a| a.name == *name)
                    .ok_or_else(|| missing("ACE"))?;
                ("ace", DataBody::Ace(vec![view::render_ace(a, cfg)]))
            }
            _ => return Err(Failure::protocol("PATCH is not supported on this resource")),
        };
        let v = serde_json::to_value(&body).map_err(|_| Failure::invalid("unrepresentable"))?;
        let entry = match v {
            Value::Object(mut m) => {
                m.remove(&alloc::format!("{PREFIX}{list}"))
                    .and_then(|l| match l {
                        Value::Array(mut a) => a.pop(),
                        _ => None,
                    })
            }
            _ => None,
        };
        Ok((list, entry.unwrap_or(Value::Null)))
    }
}

/// The key member of a list entry of this module.
fn key_of(v: &Value) -> Option<(&'static str, Value)> {
    let o = v.as_object()?;
    ["name", "cuid", "lower-port", "vendor-id", "attack-id"]
        .into_iter()
        .find_map(|k| o.get(k).map(|val| (k, val.clone())))
}

/// YANG merge of `patch` into `base`: containers member by member, list entries by key,
/// leaf-lists as a union, leaves replaced.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(bv) => merge(bv, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(p)) => {
            for item in p {
                match key_of(&item) {
                    Some((k, val)) => match b.iter_mut().find(|e| e.get(k) == Some(&val)) {
                        Some(existing) => merge(existing, item),
                        None => b.push(item),
                    },
                    None => {
                        if !b.contains(&item) {
                            b.push(item);
                        }
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}
