//! Q-Block1 (RFC 9177 §4.3, §5, §7.2): request bodies sent in bursts of MAX_PAYLOADS NON
//! payloads, acknowledged per set with 2.31 (Continue), missing payloads reported with 4.08
//! (Request Entity Incomplete) as an application/missing-blocks+cbor-seq list.

use dots_codec::coap::{Block, Code, ContentFormat, Message, MessageType, Token};

use super::block::TxBody;
use super::event::CommandError;
use super::params::shl;
use super::timer::Global;
use super::wire::{self, Scratch};
use super::{BODY_OPTIONS_CAPACITY, MAX_BLOCKS, REQUEST_TAG};
use crate::time::Instant;

/// Marks the receive buffer as holding a request body (not a slot's response).
pub(crate) const INBOUND_OWNER: u32 = u32::MAX;

impl<
        const OUT: usize,
        const IN: usize,
        const OBS: usize,
        const MSG: usize,
        const BODY: usize,
        const INBOX: usize,
    > super::Endpoint<OUT, IN, OBS, MSG, BODY, INBOX>
{
    /// Takes the body buffer for a request sent block-wise (Q-Block1 when `q`, else Block1,
    /// RFC 7959 §2.5) and writes its first payload to `first`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_request_body(
        &mut self,
        now: Instant,
        ty: MessageType,
        q: bool,
        code: Code,
        token: Token,
        options: &[u8],
        payload: &[u8],
        first: &mut heapless::Vec<u8, MSG>,
    ) -> Result<(), CommandError> {
        if self.tx.active && self.tx.expires > now {
            return Err(CommandError::BodyBusy);
        }
        let cap = BODY.min(self.config.max_body);
        if payload.len() > cap {
            return Err(CommandError::BodyTooLarge {
                needed: payload.len(),
                limit: cap,
            });
        }
        if options.len() > BODY_OPTIONS_CAPACITY {
            return Err(CommandError::MessageTooLarge {
                needed: options.len(),
                limit: BODY_OPTIONS_CAPACITY,
            });
        }
        // Room for Q-Block1 (4), Size1 (5) and Request-Tag (7) besides the other options.
        let szx = self.block_szx(None, options.len() + 16);
        let size = 1usize << (szx + 4);
        if payload.len().div_ceil(size) > MAX_BLOCKS {
            return Err(CommandError::BodyTooLarge {
                needed: payload.len(),
                limit: MAX_BLOCKS * size,
            });
        }
        let set_delay = self.jitter(self.params.non_timeout);
        let tag = self.rng.next_u32().to_be_bytes();
        let mut tx = TxBody::new();
        let _ = tx.body.extend_from_slice(payload);
        let _ = tx.options.extend_from_slice(options);
        tx.active = true;
        tx.q = q;
        tx.request = true;
        tx.request_tag = tag;
        tx.szx = szx;
        tx.token = token;
        tx.code = code;
        tx.next_seq = 1;
        tx.sent_in_window = 1;
        tx.set_delay = set_delay;
        tx.expires = now + self.params.non_partial_timeout();
        let old = core::mem::replace(&mut self.tx, tx);
        if let Err(e) = self.build_block(0, szx, ty, 0, token, first) {
            self.tx = old;
            return Err(e);
        }
        self.timers
            .set_global(Global::TxBody, Some(self.tx.expires));
        Ok(())
    }

    /// A response to a request sending its body block-wise: 2.31 (and 4.08 for Q-Block1)
    /// drive the transfer (returns `true`); anything else is the final response.
    pub(crate) fn on_request_body_response(
        &mut self,
        i: usize,
        now: Instant,
        msg: &Message<'_>,
    ) -> bool {
        let options = msg.options();
        if !self.tx.q {
            return self.on_block1_response(i, msg);
        }
        match msg.code() {
            Code::CONTINUE => {
                // The set up to the Q-Block1 NUM arrived: the next may start at once.
                self.q_block1_progress(now);
                self.tx.sent_in_window = 0;
                self.tx.window_until = None;
                self.tx.expires = now + self.params.non_partial_timeout();
                true
            }
            Code::REQUEST_ENTITY_INCOMPLETE
                if options.content_format().ok().flatten()
                    == Some(ContentFormat::MISSING_BLOCKS_CBOR_SEQ) =>
            {
                let nblocks = self.tx.nblocks();
                let mut last: Option<u32> = None;
                let mut ordered = true;
                let mut wanted = wire::Bitmap::new();
                let ok = wire::decode_missing_blocks(msg.payload(), |n| {
                    ordered &= last.is_none_or(|l| n > l);
                    last = Some(n);
                    if n < nblocks {
                        wanted.set(n, true);
                    }
                });
                // RFC 9177 §5: ascending without duplicates, else drop the 4.08.
                if ok.is_none() || !ordered {
                    self.stats.malformed += 1;
                    return true;
                }
                for n in 0..nblocks {
                    if wanted.get(n) {
                        self.tx.resend.set(n, true);
                    }
                }
                self.q_block1_progress(now);
                // The missing payloads go before the next NON_TIMEOUT_RANDOM delay.
                self.tx.sent_in_window = 0;
                self.tx.window_until = None;
                self.tx.expires = now + self.params.non_partial_timeout();
                true
            }
            _ => false,
        }
    }

    /// RFC 7959 §2.5: a 2.31 (Continue) acknowledging block NUM asks for the next one, at the
    /// size the server chose if smaller (late negotiation, §2.5).
    fn on_block1_response(&mut self, i: usize, msg: &Message<'_>) -> bool {
        if msg.code() != Code::CONTINUE {
            return false;
        }
        let Ok(Some(ack)) = msg.options().block1() else {
            return false;
        };
        let szx = ack.szx().min(self.tx.szx);
        let size = 1usize << (u32::from(szx) + 4);
        let offset = (ack.num() as usize + 1).saturating_mul(1usize << (u32::from(ack.szx()) + 4));
        if offset >= self.tx.body.len() {
            return false;
        }
        self.tx.szx = szx;
        let n = (offset / size) as u32;
        let ty = if self.out[i].con {
            MessageType::Confirmable
        } else {
            MessageType::NonConfirmable
        };
        let mid = self.new_mid();
        let token = self.out[i].token;
        let mut next = heapless::Vec::new();
        if self.build_block(n, szx, ty, mid, token, &mut next).is_err() {
            return false;
        }
        let order = self.new_order();
        let base = if self.out[i].con {
            self.params.ack_timeout
        } else {
            self.params.non_timeout
        };
        let timeout = self.jitter(base);
        let slot = &mut self.out[i];
        slot.bytes = next;
        slot.mid = mid;
        slot.state = super::endpoint::OutState::Sent;
        slot.tx_pending = true;
        slot.tx_order = order;
        slot.retransmits = 0;
        slot.timeout = timeout;
        slot.first_sent = None;
        slot.give_up_at = None;
        slot.next_retransmit = None;
        self.timers.set_out(i, None);
        true
    }

    /// A Block1 payload of a request body (RFC 7959 §2.5, atomic): appended in order, each
    /// acknowledged with 2.31 (Continue); the whole body goes to the session.
    pub(crate) fn rx_block1(
        &mut self,
        now: Instant,
        msg: &Message<'_>,
        b: Block,
        scan: &wire::RequestScan,
    ) {
        let options = msg.options();
        let con = !self.is_tcp() && msg.ty() == MessageType::Confirmable;
        let cap = BODY.min(self.config.max_body);
        let answer = |ep: &mut Self, code: Code, opts: &[u8], payload: &[u8]| {
            ep.auto_answer(now, con, msg.message_id(), msg.token(), code, opts, payload);
        };
        if options
            .size1()
            .ok()
            .flatten()
            .is_some_and(|s| s as usize > cap)
        {
            let mut o = Scratch::new();
            let _ = o.set_size1(u32::try_from(cap).unwrap_or(u32::MAX));
            answer(self, Code::REQUEST_ENTITY_TOO_LARGE, o.as_bytes(), &[]);
            return;
        }
        let size = 1usize << (u32::from(b.szx()) + 4);
        let offset = b.offset() as usize;
        let payload = msg.payload();
        if b.more() && payload.len() != size {
            answer(
                self,
                Code::BAD_REQUEST,
                &[],
                b"Block1 payload of the wrong size",
            );
            return;
        }
        let ours =
            self.rx.owner == INBOUND_OWNER && !self.rx.q && self.rx.resource == scan.resource;
        if b.num() == 0 && !(ours && offset + payload.len() <= self.rx.body.len()) {
            if (self.rx.owner != 0 && !ours) || self.rx.locked {
                answer(self, Code::SERVICE_UNAVAILABLE, &[], b"body buffer busy");
                return;
            }
            self.rx.reset();
            self.rx.owner = INBOUND_OWNER;
            self.rx.inbound = true;
            self.rx.resource = scan.resource;
            self.rx.started = now;
        } else if !ours || offset > self.rx.body.len() {
            // Not the block that comes next (RFC 7959 §2.9.2).
            answer(self, Code::REQUEST_ENTITY_INCOMPLETE, &[], b"");
            return;
        }
        let continue_opts = |num: u32| {
            let mut o = Scratch::new();
            if let Some(ack) = Block::new(num, true, b.szx()) {
                let _ = o.set_block1(ack);
            }
            o
        };
        if offset + payload.len() <= self.rx.body.len() && b.more() {
            // A repeated block (e.g. a NON whose 2.31 was lost): acknowledge it again.
            self.stats.duplicates += 1;
            let o = continue_opts(b.num());
            answer(self, Code::CONTINUE, o.as_bytes(), &[]);
            return;
        }
        self.rx.body.truncate(offset);
        if offset + payload.len() > cap || self.rx.body.extend_from_slice(payload).is_err() {
            self.rx.reset();
            let mut o = Scratch::new();
            let _ = o.set_size1(u32::try_from(cap).unwrap_or(u32::MAX));
            answer(self, Code::REQUEST_ENTITY_TOO_LARGE, o.as_bytes(), &[]);
            return;
        }
        self.rx.last_rx = now;
        if b.more() {
            let o = continue_opts(b.num());
            answer(self, Code::CONTINUE, o.as_bytes(), &[]);
            self.timers
                .set_global(Global::RxBody, Some(now + self.exchange_lifetime));
            return;
        }
        self.rx.total = Some(self.rx.body.len());
        self.timers.set_global(Global::RxBody, None);
        self.rx.locked = true;
        self.rx.owner = 0;
        if self.deliver_request(now, msg, scan, true).is_none() {
            self.rx.locked = false;
            self.rx.reset();
        }
    }

    /// The peer answers the transfer: the request's repetition budget starts again.
    fn q_block1_progress(&mut self, now: Instant) {
        let owner = self.tx.owner;
        let base = self.params.non_timeout;
        let timeout = self.jitter(base);
        if let Some(i) = self.out.iter().position(|s| s.id == owner) {
            let s = &mut self.out[i];
            s.retransmits = 0;
            s.timeout = timeout;
            if s.next_retransmit.is_some() {
                s.next_retransmit = Some(now + timeout);
            }
            self.arm_out(i);
        }
    }

    /// A Q-Block1 payload of a request body (RFC 9177 §4.3).
    pub(crate) fn rx_q_block1(&mut self, now: Instant, msg: &Message<'_>, b: Block) {
        let options = msg.options();
        let tag = options.first(REQUEST_TAG);
        let size1 = options.size1().ok().flatten();
        let (Some(tag), Some(size1)) = (tag, size1) else {
            // RFC 9177 §4.3: Q-Block1 without Request-Tag or Size1 is 4.00.
            self.stats.malformed += 1;
            self.auto_respond(
                now,
                msg,
                Code::BAD_REQUEST,
                b"Q-Block1 needs Request-Tag and Size1",
            );
            return;
        };
        let con = msg.ty() == MessageType::Confirmable;
        let cap = BODY.min(self.config.max_body);
        let total = size1 as usize;
        if total > cap {
            // RFC 7959 §2.9.3 / RFC 9177 §4.3: 4.13 with the largest acceptable size.
            let mut o = Scratch::new();
            let _ = o.set_size1(u32::try_from(cap).unwrap_or(u32::MAX));
            self.auto_answer(
                now,
                con,
                msg.message_id(),
                msg.token(),
                Code::REQUEST_ENTITY_TOO_LARGE,
                o.as_bytes(),
                &[],
            );
            return;
        }
        let resource = wire::resource_key(options);
        if self.rx.done_tag.as_slice() == tag && self.rx.done_resource == resource {
            // A payload of a body already delivered (its response was lost): answer again
            // with the cached response, as for the first time (RFC 9177 §4.3).
            self.stats.duplicates += 1;
            let record = self.rx.done_record;
            if let Some(r) = self.inb.iter().position(|r| {
                r.id == record
                    && r.state == super::endpoint::InState::Answered
                    && r.tx == super::endpoint::InTx::None
            }) {
                let order = self.new_order();
                self.inb[r].tx = super::endpoint::InTx::Response;
                self.inb[r].tx_order = order;
                self.stats.cached_responses += 1;
            }
            return;
        }
        let same = self.rx.owner == INBOUND_OWNER
            && self.rx.tag.as_slice() == tag
            && self.rx.resource == resource;
        if !same {
            let busy = (self.rx.owner != 0 && self.rx.owner != INBOUND_OWNER) || self.rx.locked;
            if busy {
                self.auto_answer(
                    now,
                    con,
                    msg.message_id(),
                    msg.token(),
                    Code::SERVICE_UNAVAILABLE,
                    &[],
                    b"body buffer busy",
                );
                return;
            }
            // A new body (a partial one with another Request-Tag is dropped: one buffer).
            self.rx.reset();
            self.rx.owner = INBOUND_OWNER;
            self.rx.inbound = true;
            self.rx.q = true;
            let _ = self.rx.tag.extend_from_slice(tag.get(..8).unwrap_or(tag));
            self.rx.resource = resource;
            self.rx.total = Some(total);
            self.rx.szx = b.szx();
            self.rx.started = now;
            if self.rx.body.resize(total, 0).is_err() {
                self.rx.reset();
                return;
            }
        }
        self.rx.last_token = msg.token();
        self.rx.last_rx = now;
        let n = b.num();
        let size = self.rx.size();
        let nblocks = self.rx.nblocks().unwrap_or(1);
        let offset = (n as usize).saturating_mul(size);
        let payload = msg.payload();
        let end = offset.saturating_add(payload.len());
        let consistent = b.szx() == self.rx.szx
            && n < nblocks
            && end <= total
            && (b.more() || end == total)
            && (!b.more() || payload.len() == size);
        if !consistent {
            self.stats.malformed += 1;
            self.auto_respond(
                now,
                msg,
                Code::BAD_REQUEST,
                b"inconsistent Q-Block1 payload",
            );
            return;
        }
        if self.rx.received.get(n) {
            // A duplicate: ignore the payload, answer as for the first time (RFC 9177 §4.3).
            self.stats.duplicates += 1;
        } else {
            if let Some(dst) = self.rx.body.get_mut(offset..end) {
                dst.copy_from_slice(payload);
            }
            self.rx.received.set(n, true);
            self.rx.highest = self.rx.highest.max(n);
            self.rx.rerequests = 0;
        }
        if self.rx.received.all_set(0, nblocks) {
            self.timers.set_global(Global::RxBody, None);
            self.rx.locked = true;
            self.rx.owner = 0;
            self.rx.done_tag = self.rx.tag.clone();
            self.rx.done_resource = resource;
            let scan = wire::scan_request(options);
            match self.deliver_request(now, msg, &scan, true) {
                Some(record) => {
                    self.rx.done_record = record;
                    // Keep the final response for repeated payloads as long as a partial body
                    // would have been kept (RFC 9177 §4.3).
                    let keep = now + self.params.non_partial_timeout();
                    if let Some(r) = self.inb.iter().position(|r| r.id == record) {
                        self.inb[r].expires = keep;
                        self.arm_in(r);
                    }
                }
                None => {
                    self.rx.locked = false;
                    self.rx.done_tag.clear();
                    self.rx.reset();
                }
            }
            return;
        }
        // A complete MAX_PAYLOADS set with more to come: 2.31 Continue (RFC 9177 §7.2).
        let mp = self.params.max_payloads();
        let set_end = ((n / mp) + 1).saturating_mul(mp).min(nblocks);
        if set_end < nblocks && self.rx.received.all_set(0, set_end) && set_end > self.rx.continued
        {
            self.rx.continued = set_end;
            if let Some(ack) = Block::new(set_end - 1, true, self.rx.szx) {
                let mut o = Scratch::new();
                let _ = o.set_q_block1(ack);
                self.auto_answer(
                    now,
                    con,
                    msg.message_id(),
                    msg.token(),
                    Code::CONTINUE,
                    o.as_bytes(),
                    &[],
                );
            }
        } else if con {
            self.queue_control(super::endpoint::Control::EmptyAck(msg.message_id()));
        }
        self.arm_rx_body();
    }

    /// NON_RECEIVE_TIMEOUT passed with payloads of a request body missing: 4.08 with their
    /// numbers (RFC 9177 §5), or drop the body after NON_MAX_RETRANSMIT of them.
    pub(crate) fn on_rx_request_body_timer(&mut self, now: Instant) {
        if now >= self.rx.started + self.params.non_partial_timeout()
            || self.rx.rerequests >= self.params.non_max_retransmit
        {
            self.rx.reset();
            self.timers.set_global(Global::RxBody, None);
            return;
        }
        let wait = shl(
            self.params.non_receive_timeout,
            u32::from(self.rx.rerequests),
        );
        if now < self.rx.last_rx + wait {
            self.arm_rx_body();
            return;
        }
        let nblocks = self.rx.nblocks().unwrap_or(1);
        let limit = self.params.max_payloads() as usize;
        let missing = (0..nblocks)
            .filter(|&n| !self.rx.received.get(n))
            .take(limit);
        let mut payload = [0u8; 5 * 64];
        let len = wire::encode_missing_blocks(missing.take(64), &mut payload);
        let mut o = Scratch::new();
        let _ = o.set_content_format(ContentFormat::MISSING_BLOCKS_CBOR_SEQ);
        let token = self.rx.last_token;
        let mid = self.new_mid();
        self.auto_answer(
            now,
            false,
            mid,
            token,
            Code::REQUEST_ENTITY_INCOMPLETE,
            o.as_bytes(),
            payload.get(..len).unwrap_or(&[]),
        );
        self.stats.missing_block_requests += 1;
        self.rx.rerequests += 1;
        self.rx.last_rx = now;
        self.arm_rx_body();
    }
}
