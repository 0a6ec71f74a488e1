//! Rendering of GET responses: `content` (RFC 8040 Section 4.8.1) and `depth` (Section 4.8.2).

use alloc::vec::Vec;

use dots_codec::data::{Ace, Aces, Acl, Acls, Alias, Aliases, DataBody, DotsClient, VendorMapping};
use serde_json::Value;

use super::state::{AclEntry, AliasEntry, ClientState};
use super::target::Content;
use crate::time::Instant;

/// Remaining lifetime in whole minutes, rounded up (RFC 8783 `pending-lifetime`).
pub(crate) fn minutes_left(expires: Instant, now: Instant) -> i32 {
    let ms = expires.saturating_duration_since(now).as_millis();
    i32::try_from(ms.div_ceil(60_000)).unwrap_or(i32::MAX)
}

pub(crate) fn render_alias(e: &AliasEntry, now: Instant, content: Content) -> Alias {
    let pending = Some(minutes_left(e.expires, now));
    match content {
        Content::Config => e.alias.clone(),
        Content::All => Alias {
            pending_lifetime: pending,
            ..e.alias.clone()
        },
        Content::Nonconfig => Alias {
            pending_lifetime: pending,
            ..Alias::new(e.alias.name.clone())
        },
    }
}

pub(crate) fn render_ace(ace: &Ace, content: Content) -> Ace {
    match content {
        Content::All => ace.clone(),
        Content::Config => Ace {
            statistics: None,
            ..ace.clone()
        },
        Content::Nonconfig => Ace {
            name: ace.name.clone(),
            matches: None,
            actions: None,
            statistics: ace.statistics,
        },
    }
}

pub(crate) fn render_acl(e: &AclEntry, now: Instant, content: Content) -> Acl {
    let aces = e.acl.aces.as_ref().map(|a| Aces {
        ace: a.ace.iter().map(|x| render_ace(x, content)).collect(),
    });
    let pending = Some(minutes_left(e.expires, now));
    match content {
        Content::Config => Acl {
            pending_lifetime: None,
            aces,
            ..e.acl.clone()
        },
        Content::All => Acl {
            pending_lifetime: pending,
            aces,
            ..e.acl.clone()
        },
        Content::Nonconfig => Acl {
            name: e.acl.name.clone(),
            acl_type: None,
            activation_type: None,
            pending_lifetime: pending,
            aces,
        },
    }
}

pub(crate) fn render_aliases(c: &ClientState, now: Instant, content: Content) -> Aliases {
    Aliases {
        alias: c
            .aliases
            .iter()
            .map(|e| render_alias(e, now, content))
            .collect(),
    }
}

pub(crate) fn render_acls(c: &ClientState, now: Instant, content: Content) -> Acls {
    Acls {
        acl: c.acls.iter().map(|e| render_acl(e, now, content)).collect(),
    }
}

pub(crate) fn render_client(c: &ClientState, now: Instant, content: Content) -> DotsClient {
    DotsClient {
        cuid: c.cuid.clone(),
        cdid: if content == Content::Nonconfig {
            None
        } else {
            c.cdid.clone()
        },
        aliases: Some(render_aliases(c, now, content)).filter(|a| !a.alias.is_empty()),
        acls: Some(render_acls(c, now, content)).filter(|a| !a.acl.is_empty()),
        // Configuration only (RFC 9244 Section 8.1.6).
        vendor_mapping: (content != Content::Nonconfig && !c.vendors.is_empty()).then(|| {
            VendorMapping {
                vendor: c.vendors.clone(),
            }
        }),
    }
}

/// The JSON text of a GET response body, pruned to `depth` levels (the requested node is level
/// 1; list keys of a returned entry are always kept).
pub(crate) fn finish(body: &DataBody, depth: Option<u16>) -> Vec<u8> {
    let Some(depth) = depth else {
        return body.to_json();
    };
    let Ok(mut v) = serde_json::to_value(body) else {
        return body.to_json();
    };
    if let Value::Object(top) = &mut v {
        for (_, node) in top.iter_mut() {
            prune(node, 1, u32::from(depth));
        }
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Prunes the value of a node at `level`: its children are at `level + 1`; the entries of a
/// list share the level of the list.
fn prune(v: &mut Value, level: u32, max: u32) {
    match v {
        Value::Object(map) => {
            let keep_children = level < max;
            map.retain(|k, _| keep_children || is_key(k));
            for (k, child) in map.iter_mut() {
                if keep_children || !is_key(k) {
                    prune(child, level + 1, max);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                prune(item, level, max);
            }
            // Entries left with nothing (a list without a kept key, like `attack-mapping`)
            // are dropped: RFC 9244 Figure 34 prints such a list as `[]`.
            items.retain(|item| !matches!(item, Value::Object(m) if m.is_empty()));
        }
        _ => {}
    }
}

fn is_key(member: &str) -> bool {
    matches!(member, "name" | "cuid" | "lower-port" | "vendor-id")
}
