//! RFC 9066 Call Home in the server core: the attack-source attributes of mitigation requests
//! (`source-prefix`, `source-port-range`, `source-icmp-type-range`) and the redirection of a
//! Call Home DOTS server to another Call Home DOTS client (`/redirect`).
//!
//! The model validates the attributes (RFC 9066 Section 5.3.1: `trigger-mitigation` false, no
//! `target-prefix`, an address family matching no target: 4.00); the core stores them with the
//! request (GET returns them; a refresh must repeat them) and asks the host about the sources
//! ([`SignalHooks::check_sources`]): an accept-listed source is 4.09 with `conflict-cause` 2
//! (`conflict-with-acceptlist`), legitimate traffic 4.09 with `conflict-cause` 4, a source
//! outside the server's domain 4.00.
//!
//! With [`ServerConfig::call_home`](super::ServerConfig) the server plays the Call Home DOTS
//! server (the (D)TLS client role is the transport's business): only immediate requests are
//! allowed and they must carry `source-prefix` and `target-prefix` ("Only immediate mitigation
//! requests ... are allowed ... Such requests MUST be discarded by the Call Home DOTS server with
//! a 4.00"; "The 'source-prefix' parameter is a mandatory attribute when the attack traffic
//! information is signaled by a Call Home DOTS client"; "The 'target-prefix' attribute MUST be
//! included"), and PUT `/redirect` is answered 2.01 with a
//! [`ServerEvent::CallHomeRedirect`] for the transport (Section 5.2.2). Without it, `/redirect`
//! is 4.04.

use alloc::boxed::Box;
use alloc::sync::Arc;

use dots_codec::cbor::CborBody;
use dots_codec::coap::Code;
use dots_codec::model::{
    ConflictCause, ConflictInformation, ConflictScope, RedirectedSignal, Scope,
};

use super::event::ServerEvent;
use super::hooks::{SignalHooks, SourceVerdict};
use super::mitigate::{Ctx, Fail};
use super::request::{Handled, Request, Response};
use super::{ClientRef, SignalServer};

impl<H: SignalHooks> SignalServer<H> {
    /// The call-home checks of a new mitigation request (after validation and alias
    /// resolution, before any state change).
    pub(crate) fn check_call_home(&mut self, ctx: &Ctx<'_, '_>, scope: &Scope) -> Result<(), Fail> {
        if self.config.call_home {
            if !scope.triggers_mitigation() {
                return Err(Fail::diag(
                    Code::BAD_REQUEST,
                    "a Call Home DOTS server accepts only immediate mitigation requests (RFC 9066 Section 5.3.1)",
                ));
            }
            if scope.call_home.source_prefixes.is_empty() || scope.targets.prefixes.is_empty() {
                return Err(Fail::diag(
                    Code::BAD_REQUEST,
                    "a call-home mitigation request needs 'source-prefix' and 'target-prefix' (RFC 9066 Section 5.3.1)",
                ));
            }
        }
        if scope.call_home.source_prefixes.is_empty() {
            return Ok(());
        }
        let client = ClientRef {
            cuid: ctx.cuid,
            cdid: ctx.cdid,
        };
        match self.hooks.check_sources(client, scope) {
            SourceVerdict::Clear => Ok(()),
            SourceVerdict::OutsideDomain => Err(Fail::diag(
                Code::BAD_REQUEST,
                "a 'source-prefix' is outside the DOTS server's domain",
            )),
            SourceVerdict::Legitimate => Err(Fail::Conflict(Box::new(ConflictInformation {
                conflict_cause: Some(ConflictCause::RequestRejectedLegitimateTraffic),
                ..ConflictInformation::default()
            }))),
            SourceVerdict::AcceptListed { acls } => {
                let mut cs = ConflictScope::default();
                for (name, acl_type) in &acls {
                    if cs.push_acl(name, acl_type.as_deref()).is_err() {
                        break;
                    }
                }
                Err(Fail::Conflict(Box::new(ConflictInformation {
                    conflict_cause: Some(ConflictCause::ConflictWithAcceptlist),
                    conflict_scope: (!acls.is_empty()).then_some(cs),
                    ..ConflictInformation::default()
                })))
            }
        }
    }

    /// PUT `/redirect/cuid=C[/mid=M]` (RFC 9066 Section 5.2.2): 2.01 and a
    /// [`ServerEvent::CallHomeRedirect`]; 4.00 for a body without `alt-ch-client` ("If the
    /// Call Home DOTS server cannot service the PUT request, the response is rejected with a
    /// 4.00").
    pub(crate) fn redirect(
        &mut self,
        ctx: &Ctx<'_, '_>,
        req: &Request<'_>,
    ) -> Result<Handled, Fail> {
        let body = RedirectedSignal::decode_cbor(req.payload).map_err(Fail::Decode)?;
        body.validate().map_err(Fail::Invalid)?;
        if body.alt_ch_client.is_none() {
            return Err(Fail::diag(
                Code::BAD_REQUEST,
                "a call-home redirection needs 'alt-ch-client' (RFC 9066 Section 5.2.2)",
            ));
        }
        self.push_event(ServerEvent::CallHomeRedirect {
            cuid: Arc::from(ctx.cuid),
            redirect: Box::new(body),
        });
        Ok(Handled::Respond(Response::new(Code::CREATED)))
    }
}
