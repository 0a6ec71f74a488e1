//! Hop-Limit (RFC 8768) for DOTS gateways: decrement on forwarding, and the 5.08 (Hop Limit
//! Reached) answer with the gateway's identity in the diagnostic payload.
//!
//! ```
//! use dots_codec::coap::{HopLimit, OptionList};
//! use dots_proto::coap::hop::{forward, prepend_identity, Forward};
//!
//! let mut options = OptionList::<32>::new();
//! options.set_hop_limit(HopLimit::new(1).unwrap())?;
//! // A gateway receiving Hop-Limit 1 must not forward: it answers 5.08 with its identity.
//! assert_eq!(forward(&options.as_options(), None), Ok(Forward::Exhausted));
//! let mut diag = [0u8; 64];
//! let n = prepend_identity(b"", "gw1.example.net", &mut diag).unwrap();
//! assert_eq!(&diag[..n], b"gw1.example.net");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use dots_codec::coap::{Code, HopLimit, OptionError, Options};

use super::event::{CommandError, InboundId};
use super::Response;
use crate::time::Instant;

/// What a gateway does with a request it would forward (RFC 8768 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Forward {
    /// Forward it with this Hop-Limit (the received one minus 1, or the gateway's initial
    /// value when the request had none).
    With(HopLimit),
    /// Forward it unchanged: it had no Hop-Limit and the gateway inserts none.
    Unchanged,
    /// Do not forward: answer 5.08 (Hop Limit Reached).
    Exhausted,
}

/// The forwarding decision for a request with `options`; `insert` is the value a gateway
/// inserts when the request has no Hop-Limit (RFC 8768 §3: 16 unless configured; `None`
/// inserts nothing).
///
/// # Errors
/// The Hop-Limit option is invalid (0 or the wrong length): answer 4.00
/// ([`OptionError::response_code`]).
pub fn forward(options: &Options<'_>, insert: Option<HopLimit>) -> Result<Forward, OptionError> {
    Ok(match options.hop_limit()? {
        Some(h) => match h.decremented() {
            Some(next) => Forward::With(next),
            None => Forward::Exhausted,
        },
        None => match insert {
            Some(h) => Forward::With(h),
            None => Forward::Unchanged,
        },
    })
}

/// Writes the 5.08 diagnostic payload a gateway relays: its `identity` (no spaces,
/// RFC 8768 §4) followed by the received diagnostic, separated by a space. Returns the
/// length, or `None` when `identity` is invalid, already present (a loop: do not forward the
/// 5.08) or `out` is too small.
#[must_use]
pub fn prepend_identity(received: &[u8], identity: &str, out: &mut [u8]) -> Option<usize> {
    if identity.is_empty() || identity.contains(' ') {
        return None;
    }
    if received
        .split(|&b| b == b' ')
        .any(|id| id == identity.as_bytes())
    {
        return None;
    }
    let id = identity.as_bytes();
    let len = if received.is_empty() {
        id.len()
    } else {
        id.len() + 1 + received.len()
    };
    let dst = out.get_mut(..len)?;
    let (head, tail) = dst.split_at_mut(id.len());
    head.copy_from_slice(id);
    if let Some((space, rest)) = tail.split_first_mut() {
        *space = b' ';
        rest.copy_from_slice(received);
    }
    Some(len)
}

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > super::Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// Answers a request with 5.08 (Hop Limit Reached) carrying this gateway's `identity` as
    /// the diagnostic payload (RFC 8768 §3, §4).
    ///
    /// # Errors
    /// As [`respond`](Self::respond); [`CommandError::InvalidCode`] for an identity with a
    /// space.
    pub fn respond_hop_limit_reached(
        &mut self,
        now: Instant,
        id: InboundId,
        identity: &str,
    ) -> Result<(), CommandError> {
        if identity.is_empty() || identity.contains(' ') {
            return Err(CommandError::InvalidCode(Code::HOP_LIMIT_REACHED));
        }
        self.respond(
            now,
            id,
            Response::new(Code::HOP_LIMIT_REACHED).payload(identity.as_bytes()),
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dots_codec::coap::OptionList;

    #[test]
    fn decrement_and_exhaustion() {
        let mut o = OptionList::<16>::new();
        assert_eq!(forward(&o.as_options(), None), Ok(Forward::Unchanged));
        assert_eq!(
            forward(&o.as_options(), Some(HopLimit::DEFAULT)),
            Ok(Forward::With(HopLimit::DEFAULT))
        );
        o.set_hop_limit(HopLimit::new(5).unwrap()).unwrap();
        assert_eq!(
            forward(&o.as_options(), None),
            Ok(Forward::With(HopLimit::new(4).unwrap()))
        );
        o.set_hop_limit(HopLimit::new(1).unwrap()).unwrap();
        assert_eq!(forward(&o.as_options(), None), Ok(Forward::Exhausted));
        let mut bad = OptionList::<16>::new();
        bad.push(dots_codec::coap::OptionNumber::HOP_LIMIT, &[0])
            .unwrap();
        let err = forward(&bad.as_options(), None).unwrap_err();
        assert_eq!(err.response_code(), Code::BAD_REQUEST);
    }

    #[test]
    fn identities_in_the_diagnostic() {
        let mut out = [0u8; 64];
        let n = prepend_identity(b"p11.example.net", "2001:db8::1", &mut out).unwrap();
        assert_eq!(&out[..n], b"2001:db8::1 p11.example.net");
        // Our own identity already there: a loop, do not relay.
        assert_eq!(prepend_identity(b"a b", "b", &mut out), None);
        assert_eq!(prepend_identity(b"", "has space", &mut out), None);
        assert_eq!(prepend_identity(b"x", "long-identity", &mut out[..4]), None);
    }
}
