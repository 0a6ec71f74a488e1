//! Block-wise transfers: Block2 (RFC 7959) and Q-Block2 (RFC 9177) on the sending side, with
//! one bounded body buffer, and reassembly on the receiving side, with another.

use core::time::Duration;

use dots_codec::coap::{
    Block, BufferTooSmall, Code, Message, MessageType, OptionNumber, Options, Token,
};

use super::endpoint::{EvKind, InKind, InState, InTx, OutState};
use super::event::{CommandError, FailReason};
use super::params::shl;
use super::timer::Global;
use super::wire::{self, Bitmap, Scratch};
use super::{Response, BODY_OPTIONS_CAPACITY, MAX_BLOCKS};
use crate::time::Instant;

/// The body this endpoint sends block-wise.
#[derive(Clone, Debug)]
pub(crate) struct TxBody<const BODY: usize> {
    pub(crate) active: bool,
    /// Q-Block2 bursts (else Block2 on request).
    pub(crate) q: bool,
    pub(crate) body: heapless::Vec<u8, BODY>,
    pub(crate) etag: [u8; 8],
    pub(crate) szx: u8,
    pub(crate) token: Token,
    pub(crate) resource: u64,
    pub(crate) code: Code,
    pub(crate) options: heapless::Vec<u8, BODY_OPTIONS_CAPACITY>,
    pub(crate) observe: Option<u32>,
    /// The next block of the running sequence.
    pub(crate) next_seq: u32,
    /// Blocks the peer asked for again.
    pub(crate) resend: Bitmap,
    pub(crate) sent_in_window: u32,
    pub(crate) window_until: Option<Instant>,
    /// NON_TIMEOUT_RANDOM, drawn once per body (RFC 9177 §7.2).
    pub(crate) set_delay: Duration,
    pub(crate) expires: Instant,
    /// A request body sent with Q-Block1 (else a response body).
    pub(crate) request: bool,
    /// The request slot sending it (Q-Block1).
    pub(crate) owner: u32,
    pub(crate) request_tag: [u8; 4],
}

impl<const BODY: usize> TxBody<BODY> {
    pub(crate) const fn new() -> Self {
        TxBody {
            active: false,
            q: false,
            body: heapless::Vec::new(),
            etag: [0; 8],
            szx: 6,
            token: Token::EMPTY,
            resource: 0,
            code: Code::CONTENT,
            options: heapless::Vec::new(),
            observe: None,
            next_seq: 0,
            resend: Bitmap::new(),
            sent_in_window: 0,
            window_until: None,
            set_delay: Duration::ZERO,
            expires: Instant::ZERO,
            request: false,
            owner: 0,
            request_tag: [0; 4],
        }
    }

    /// Whether payloads remain to be sent (sequence or asked-for blocks).
    pub(crate) fn sending(&self) -> bool {
        self.active
            && (self.next_seq < self.nblocks() || self.resend.next_set(0, self.nblocks()).is_some())
    }

    fn size(&self) -> usize {
        1 << (u32::from(self.szx.min(6)) + 4)
    }

    pub(crate) fn nblocks(&self) -> u32 {
        self.body.len().div_ceil(self.size()).max(1) as u32
    }
}

/// The body this endpoint receives block-wise.
#[derive(Clone, Debug)]
pub(crate) struct RxBody<const BODY: usize> {
    /// The request slot receiving it (0: none).
    pub(crate) owner: u32,
    pub(crate) q: bool,
    /// A delivered body still referenced by an event.
    pub(crate) locked: bool,
    pub(crate) body: heapless::Vec<u8, BODY>,
    pub(crate) total: Option<usize>,
    pub(crate) received: Bitmap,
    pub(crate) szx: u8,
    pub(crate) etag: heapless::Vec<u8, 8>,
    pub(crate) next_num: u32,
    pub(crate) highest: u32,
    pub(crate) started: Instant,
    pub(crate) last_rx: Instant,
    pub(crate) rerequests: u8,
    pub(crate) continued: u32,
    pub(crate) observe: Option<u32>,
    /// Receiving a request body (Q-Block1) rather than a response body.
    pub(crate) inbound: bool,
    pub(crate) tag: heapless::Vec<u8, 8>,
    pub(crate) resource: u64,
    pub(crate) last_token: Token,
    /// The Request-Tag and resource of the latest request body delivered, and the record of its
    /// request (which caches the final response), kept across resets to recognise repeated
    /// payloads.
    pub(crate) done_tag: heapless::Vec<u8, 8>,
    pub(crate) done_resource: u64,
    pub(crate) done_record: u32,
}

impl<const BODY: usize> RxBody<BODY> {
    pub(crate) const fn new() -> Self {
        RxBody {
            owner: 0,
            q: false,
            locked: false,
            body: heapless::Vec::new(),
            total: None,
            received: Bitmap::new(),
            szx: 0,
            etag: heapless::Vec::new(),
            next_num: 0,
            highest: 0,
            started: Instant::ZERO,
            last_rx: Instant::ZERO,
            rerequests: 0,
            continued: 0,
            observe: None,
            inbound: false,
            tag: heapless::Vec::new(),
            resource: 0,
            last_token: Token::EMPTY,
            done_tag: heapless::Vec::new(),
            done_resource: 0,
            done_record: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        let locked = self.locked;
        let body = core::mem::take(&mut self.body);
        let done = (
            core::mem::take(&mut self.done_tag),
            self.done_resource,
            self.done_record,
        );
        *self = RxBody::new();
        (self.done_tag, self.done_resource, self.done_record) = done;
        if locked {
            self.body = body;
            self.locked = true;
        }
    }

    /// The event holding the delivered body is gone.
    pub(crate) fn delivered(&mut self) {
        self.locked = false;
        if self.owner == 0 {
            self.body.clear();
        }
    }

    pub(crate) fn body(&self) -> &[u8] {
        let end = self.total.unwrap_or(self.body.len()).min(self.body.len());
        self.body.get(..end).unwrap_or(&[])
    }

    pub(crate) fn size(&self) -> usize {
        1 << (u32::from(self.szx.min(6)) + 4)
    }

    pub(crate) fn nblocks(&self) -> Option<u32> {
        self.total.map(|t| t.div_ceil(self.size()).max(1) as u32)
    }
}

fn etag_of<'a>(options: &Options<'a>) -> &'a [u8] {
    options.etags().next().unwrap_or(&[])
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
    /// The block size in use: the configured one, no larger than the peer asked for, and
    /// small enough that a block with its options fits `MSG` and the peer's Max-Message-Size.
    pub(crate) fn block_size(&self, asked: Option<u8>, options_len: usize) -> u16 {
        1 << (u32::from(self.block_szx(asked, options_len)) + 4)
    }

    pub(crate) fn block_szx(&self, asked: Option<u8>, options_len: usize) -> u8 {
        let mut limit = MSG;
        if self.is_tcp() {
            limit = limit.min(self.tcp.peer_max_message_size as usize);
        }
        // Room for the header (4), a token (8), the payload marker, ETag (9), block (4),
        // Size2 (5), Observe (4) and the session's options.
        let room = limit.saturating_sub(34 + options_len);
        let configured = usize::from(self.config.block_size.clamp(16, 1024));
        let mut szx: u8 = 6;
        while szx > 0 && ((1usize << (szx + 4)) > configured || (1usize << (szx + 4)) > room) {
            szx -= 1;
        }
        match asked {
            Some(a) if a < szx => a,
            _ => szx,
        }
    }

    /// Answers record `r` with the first block of a large body (RFC 7959 §2.4, RFC 9177 §4.4).
    pub(crate) fn answer_blockwise(
        &mut self,
        r: usize,
        now: Instant,
        response: &Response<'_>,
        ty: MessageType,
        mid: u16,
        observe: Option<u32>,
    ) -> Result<(), CommandError> {
        let len = response.payload.len();
        let cap = BODY.min(self.config.max_body);
        if len > cap {
            return Err(CommandError::BodyTooLarge {
                needed: len,
                limit: cap,
            });
        }
        if self.is_tcp() && !self.tcp.peer_block_wise {
            return Err(CommandError::MessageTooLarge {
                needed: len,
                limit: self.tcp.peer_max_message_size as usize,
            });
        }
        let rec = &self.inb[r];
        let q = rec.req_q_block2 && !self.is_tcp() && ty == MessageType::NonConfirmable;
        let szx = self.block_szx(
            rec.req_block2.map(Block::szx),
            response.options.as_bytes().len(),
        );
        let size = 1usize << (szx + 4);
        let nblocks = len.div_ceil(size).max(1);
        if nblocks > MAX_BLOCKS {
            return Err(CommandError::BodyTooLarge {
                needed: len,
                limit: MAX_BLOCKS * size,
            });
        }
        let opts = response.options.as_bytes();
        if opts.len() > BODY_OPTIONS_CAPACITY {
            return Err(CommandError::MessageTooLarge {
                needed: opts.len(),
                limit: BODY_OPTIONS_CAPACITY,
            });
        }
        let first = if q {
            0
        } else {
            rec.req_block2
                .map_or(0, |b| (b.offset() as usize / size) as u32)
        };
        let token = rec.token;
        let resource = rec.resource;
        self.etag = self.etag.wrapping_add(1);
        let set_delay = self.jitter(self.params.non_timeout);
        let expires = now
            + if q {
                self.params.non_partial_timeout()
            } else {
                self.exchange_lifetime
            };
        let tx = &mut self.tx;
        tx.body.clear();
        let _ = tx.body.extend_from_slice(response.payload);
        tx.options.clear();
        let _ = tx.options.extend_from_slice(opts);
        tx.active = true;
        tx.q = q;
        tx.etag = self.etag.to_be_bytes();
        tx.szx = szx;
        tx.token = token;
        tx.resource = resource;
        tx.code = response.code;
        tx.observe = observe;
        tx.next_seq = 1;
        tx.resend.clear();
        tx.sent_in_window = 1;
        tx.window_until = None;
        tx.set_delay = set_delay;
        tx.expires = expires;
        tx.request = false;
        tx.owner = 0;
        if first >= self.tx.nblocks() {
            // A Block2 request beyond the end of the body (RFC 7959 §2.2).
            return wire::encode(
                &mut self.inb[r].response,
                ty,
                Code::BAD_OPTION,
                mid,
                token,
                &[],
                b"block beyond the body",
            );
        }
        let mut out = core::mem::take(&mut self.inb[r].response);
        let result = self.build_block(first, szx, ty, mid, token, &mut out);
        self.inb[r].response = out;
        self.arm_tx_body();
        result
    }

    /// Encodes block `n` (of size `2^(szx+4)`) of the body being sent.
    pub(crate) fn build_block(
        &self,
        n: u32,
        szx: u8,
        ty: MessageType,
        mid: u16,
        token: Token,
        out: &mut heapless::Vec<u8, MSG>,
    ) -> Result<(), CommandError> {
        let tx = &self.tx;
        let size = 1usize << (szx + 4);
        let start = (n as usize).saturating_mul(size).min(tx.body.len());
        let end = start.saturating_add(size).min(tx.body.len());
        let more = end < tx.body.len();
        let block = Block::new(n, more, szx).ok_or(CommandError::BodyTooLarge {
            needed: tx.body.len(),
            limit: MAX_BLOCKS * size,
        })?;
        let base = Options::parse(&tx.options).unwrap_or(Options::EMPTY);
        let mut list = Scratch::from_options(base)?;
        let size_total = u32::try_from(tx.body.len()).unwrap_or(u32::MAX);
        if tx.request {
            if tx.q {
                // RFC 9177 §4.3, §4.6: Q-Block1, Size1 and Request-Tag in every payload.
                list.set_q_block1(block)?;
                list.set(super::REQUEST_TAG, &tx.request_tag)?;
            } else {
                // RFC 7959 §2.5, §4: Block1, and Size1 to tell the whole size.
                list.set_block1(block)?;
            }
            list.set_size1(size_total)?;
            let payload = tx.body.get(start..end).unwrap_or(&[]);
            return wire::encode(out, ty, tx.code, mid, token, list.as_bytes(), payload);
        }
        list.remove(OptionNumber::ETAG);
        list.push_etag(&tx.etag)?;
        if tx.q {
            list.remove(OptionNumber::Q_BLOCK2);
            list.push_q_block2(block)?;
        } else {
            list.set_block2(block)?;
        }
        list.set_size2(u32::try_from(tx.body.len()).unwrap_or(u32::MAX))?;
        if let Some(seq) = tx.observe {
            if tx.q || n == 0 {
                list.set_observe(seq)?;
            }
        }
        let payload = tx.body.get(start..end).unwrap_or(&[]);
        wire::encode(out, ty, tx.code, mid, token, list.as_bytes(), payload)
    }

    fn arm_tx_body(&mut self) {
        let at = if self.tx.active {
            Some(match self.tx.window_until {
                Some(w) => w.min(self.tx.expires),
                None => self.tx.expires,
            })
        } else {
            None
        };
        self.timers.set_global(Global::TxBody, at);
    }

    pub(crate) fn on_tx_body_timer(&mut self, now: Instant) {
        if !self.tx.active {
            return;
        }
        if self.tx.window_until.is_some_and(|t| t <= now) {
            self.tx.window_until = None;
            self.tx.sent_in_window = 0;
        }
        if self.tx.expires <= now {
            let owner = self.tx.owner;
            let owner_alive = self.tx.request
                && self
                    .out
                    .iter()
                    .any(|s| s.id == owner && s.state != OutState::Free);
            if owner_alive {
                // A request body lives as long as its request, which has its own timeouts.
                self.tx.expires = now + self.params.non_partial_timeout();
            } else {
                self.tx.active = false;
                self.tx.body.clear();
            }
        }
        self.arm_tx_body();
    }

    /// The next Q-Block2 payload of the running burst, if the window allows one.
    pub(crate) fn transmit_body_block(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if !self.tx.active || !self.tx.q || self.tx.window_until.is_some() {
            return Ok(None);
        }
        let mut token = self.tx.token;
        let mut owner_slot = None;
        if self.tx.request {
            // Q-Block1 payloads follow the first one, sent by the request's slot.
            let Some(i) = self
                .out
                .iter()
                .position(|s| s.id == self.tx.owner && s.state != OutState::Free)
            else {
                self.tx.active = false;
                self.arm_tx_body();
                return Ok(None);
            };
            if !matches!(self.out[i].state, OutState::Sent | OutState::Acked)
                || self.out[i].first_sent.is_none()
                || self.out[i].tx_pending
            {
                return Ok(None);
            }
            token = self.out[i].token;
            owner_slot = Some(i);
        }
        let nblocks = self.tx.nblocks();
        let resend = self.tx.resend.next_set(0, nblocks);
        let n = match resend {
            Some(n) => n,
            None if self.tx.next_seq < nblocks => self.tx.next_seq,
            None => return Ok(None),
        };
        let mp = self.params.max_payloads();
        if self.tx.sent_in_window >= mp {
            // MAX_PAYLOADS sent: NON_TIMEOUT_RANDOM before the next set (RFC 9177 §7.2).
            self.tx.window_until = Some(now + self.tx.set_delay);
            self.arm_tx_body();
            return Ok(None);
        }
        let mid = self.next_mid;
        let mut msg = heapless::Vec::<u8, MSG>::new();
        if self
            .build_block(
                n,
                self.tx.szx,
                MessageType::NonConfirmable,
                mid,
                token,
                &mut msg,
            )
            .is_err()
        {
            self.tx.active = false;
            self.arm_tx_body();
            return Ok(None);
        }
        let len = self.write_out(&msg, buf)?;
        let _ = self.new_mid();
        if resend.is_some() {
            self.tx.resend.set(n, false);
            self.stats.retransmissions += 1;
        } else {
            self.tx.next_seq += 1;
        }
        self.tx.sent_in_window += 1;
        let more = self.tx.resend.next_set(0, nblocks).is_some() || self.tx.next_seq < nblocks;
        if let Some(i) = owner_slot {
            // The request's repetitions resend the latest payload.
            let slot = &mut self.out[i];
            slot.bytes = msg;
            slot.mid = mid;
        }
        if self.tx.sent_in_window >= mp && more {
            self.tx.window_until = Some(now + self.tx.set_delay);
        }
        self.arm_tx_body();
        Ok(Some(len))
    }

    /// Serves a follow-up request of the body being sent: a Block2 request for a later block
    /// (RFC 7959 §2.4), or a Q-Block2 'Continue' or missing-block request (RFC 9177 §4.4).
    /// Returns whether it was handled here.
    pub(crate) fn serve_block_request(&mut self, now: Instant, msg: &Message<'_>) -> bool {
        if !self.tx.active {
            return false;
        }
        let options = msg.options();
        if wire::resource_key(options) != self.tx.resource {
            return false;
        }
        let mut wanted: heapless::Vec<Block, 32> = heapless::Vec::new();
        for b in options.q_block2_all().flatten() {
            if wanted.push(b).is_err() {
                break;
            }
        }
        if !wanted.is_empty() && self.tx.q {
            if wanted.len() == 1 && wanted[0].num() == 0 && wanted[0].more() {
                return false; // a request for the whole body: the session answers it
            }
            // Ascending block numbers without duplicates (RFC 9177 §4.4), else 4.00.
            if wanted.windows(2).any(|w| w[0].num() >= w[1].num()) {
                self.auto_respond(now, msg, Code::BAD_REQUEST, b"Q-Block2 not ascending");
                return true;
            }
            let mp = self.params.max_payloads();
            let nblocks = self.tx.nblocks();
            if wanted.len() == 1 && wanted[0].more() && wanted[0].num().is_multiple_of(mp) {
                // 'Continue': the set before is complete; the next one may start now.
                let num = wanted[0].num();
                self.tx.next_seq = self.tx.next_seq.max(num);
                self.tx.sent_in_window = 0;
                self.tx.window_until = None;
            } else {
                for b in &wanted {
                    let end = if b.more() {
                        ((b.num() / mp) + 1).saturating_mul(mp)
                    } else {
                        b.num() + 1
                    };
                    for n in b.num()..end.min(nblocks) {
                        if n < self.tx.next_seq {
                            self.tx.resend.set(n, true);
                        }
                    }
                }
            }
            self.tx.token = msg.token();
            self.tx.expires = now + self.params.non_partial_timeout();
            if msg.ty() == MessageType::Confirmable {
                self.queue_control(super::endpoint::Control::EmptyAck(msg.message_id()));
            }
            self.arm_tx_body();
            return true;
        }
        let Ok(Some(b)) = options.block2() else {
            return false;
        };
        if b.num() == 0 || self.tx.q {
            return false;
        }
        let szx = b.szx().min(self.tx.szx);
        let size = 1usize << (szx + 4);
        let n = (b.offset() as usize / size) as u32;
        if (n as usize).saturating_mul(size) >= self.tx.body.len() {
            return false;
        }
        let Some(r) = self.alloc_record() else {
            self.stats.dropped_no_capacity += 1;
            return true;
        };
        let con = msg.ty() == MessageType::Confirmable && !self.is_tcp();
        let (ty, mid) = if con {
            (MessageType::Acknowledgement, msg.message_id())
        } else {
            (MessageType::NonConfirmable, self.new_mid())
        };
        let mut out = heapless::Vec::new();
        if self
            .build_block(n, szx, ty, mid, msg.token(), &mut out)
            .is_err()
        {
            return false;
        }
        let id = self.new_id();
        let order = self.new_order();
        let lifetime = self.exchange_lifetime;
        self.tx.expires = now + lifetime;
        let rec = &mut self.inb[r];
        rec.reset();
        rec.id = id;
        rec.kind = InKind::Request;
        rec.state = InState::Answered;
        rec.con = con;
        rec.mid = msg.message_id();
        rec.token = msg.token();
        rec.expires = now + lifetime;
        rec.response = out;
        rec.tx = InTx::Response;
        rec.tx_order = order;
        self.arm_in(r);
        self.arm_tx_body();
        true
    }

    /// Takes the receive buffer for slot `i`, or fails the request.
    fn claim_rx(&mut self, i: usize, now: Instant, q: bool, szx: u8, msg: &Message<'_>) -> bool {
        let id = self.out[i].id;
        if self.rx.owner == id {
            return true;
        }
        if self.rx.owner != 0 || self.rx.locked {
            self.fail_slot(i, FailReason::BodyBusy);
            return false;
        }
        let options = msg.options();
        let cap = BODY.min(self.config.max_body);
        let size2 = options.size2().ok().flatten().map(|s| s as usize);
        if size2.is_some_and(|s| s > cap) {
            // RFC 7959 §4: Size2 announces a body over the cap.
            self.fail_slot(i, FailReason::BodyTooLarge);
            return false;
        }
        self.rx.reset();
        self.rx.owner = id;
        self.rx.q = q;
        self.rx.szx = szx;
        self.rx.total = if q { size2 } else { None };
        let _ = self.rx.etag.extend_from_slice(etag_of(&options));
        self.rx.started = now;
        self.rx.last_rx = now;
        self.rx.observe = options.observe().ok().flatten();
        true
    }

    /// A Block2 response (RFC 7959 §2.4): append it and ask for the next block.
    pub(crate) fn rx_block2(&mut self, i: usize, now: Instant, msg: &Message<'_>, b: Block) {
        if self.out[i].state == OutState::Observing {
            // Notifications are delivered as they come (their first block).
            self.stats.unmatched += 1;
            return;
        }
        if self.rx.owner != self.out[i].id && b.num() != 0 {
            self.stats.unmatched += 1;
            return;
        }
        if !self.claim_rx(i, now, false, b.szx(), msg) {
            return;
        }
        let options = msg.options();
        if etag_of(&options) != &self.rx.etag[..] {
            // The representation changed: start again from block 0 (RFC 7959 §2.4).
            self.rx.body.clear();
            self.rx.etag.clear();
            let _ = self.rx.etag.extend_from_slice(etag_of(&options));
            if b.num() != 0 {
                self.rx.next_num = 0;
                self.follow_up(i, &[Block::new(0, false, self.rx.szx).unwrap_or(b)], false);
                return;
            }
        }
        if b.num() != self.rx.next_num || b.offset() as usize != self.rx.body.len() {
            self.stats.duplicates += 1;
            return;
        }
        let cap = BODY.min(self.config.max_body);
        if self.rx.body.len() + msg.payload().len() > cap
            || self.rx.body.extend_from_slice(msg.payload()).is_err()
        {
            self.fail_slot(i, FailReason::BodyTooLarge);
            return;
        }
        self.rx.last_rx = now;
        if b.more() {
            self.rx.next_num = b.num() + 1;
            let next = Block::new(b.num() + 1, false, b.szx());
            match next {
                Some(next) => self.follow_up(i, &[next], false),
                None => self.fail_slot(i, FailReason::BodyTooLarge),
            }
        } else {
            self.rx.total = Some(self.rx.body.len());
            self.deliver_body(i, now, msg);
        }
    }

    /// A Q-Block2 payload (RFC 9177 §4.4): store it, send 'Continue' after a complete set,
    /// deliver the body when complete.
    pub(crate) fn rx_q_block2(&mut self, i: usize, now: Instant, msg: &Message<'_>, b: Block) {
        if self.out[i].state == OutState::Observing && self.rx.owner != self.out[i].id {
            if !self.claim_rx(i, now, true, b.szx(), msg) {
                return;
            }
        } else if !self.claim_rx(i, now, true, b.szx(), msg) {
            return;
        }
        let options = msg.options();
        let cap = BODY.min(self.config.max_body);
        if etag_of(&options) != &self.rx.etag[..] {
            // A new representation: drop the partial body of the old one (RFC 9177 §4.4).
            let size2 = options.size2().ok().flatten().map(|s| s as usize);
            if size2.is_some_and(|s| s > cap) {
                self.fail_slot(i, FailReason::BodyTooLarge);
                return;
            }
            self.rx.body.clear();
            self.rx.received.clear();
            self.rx.etag.clear();
            let _ = self.rx.etag.extend_from_slice(etag_of(&options));
            self.rx.total = size2;
            self.rx.szx = b.szx();
            self.rx.continued = 0;
            self.rx.highest = 0;
        }
        if b.szx() != self.rx.szx {
            self.stats.malformed += 1;
            return;
        }
        let n = b.num();
        if n as usize >= MAX_BLOCKS {
            self.fail_slot(i, FailReason::BodyTooLarge);
            return;
        }
        self.out[i].state = OutState::Receiving;
        self.out[i].next_retransmit = None;
        self.out[i].give_up_at = None;
        self.timers.set_out(i, None);
        self.rx.last_rx = now;
        if self.rx.received.get(n) {
            self.stats.duplicates += 1;
        } else {
            let size = self.rx.size();
            let offset = n as usize * size;
            let payload = msg.payload();
            let end = offset + payload.len();
            if !b.more() {
                match self.rx.total {
                    Some(t) if t != end => {
                        self.stats.malformed += 1;
                        return;
                    }
                    _ => self.rx.total = Some(end),
                }
            }
            if end > cap || self.rx.total.is_some_and(|t| end > t) {
                self.fail_slot(i, FailReason::BodyTooLarge);
                return;
            }
            if self.rx.body.len() < end && self.rx.body.resize(end, 0).is_err() {
                self.fail_slot(i, FailReason::BodyTooLarge);
                return;
            }
            if let Some(dst) = self.rx.body.get_mut(offset..end) {
                dst.copy_from_slice(payload);
            }
            self.rx.received.set(n, true);
            self.rx.highest = self.rx.highest.max(n);
            self.rx.rerequests = 0;
        }
        if let Some(nblocks) = self.rx.nblocks() {
            if self.rx.received.all_set(0, nblocks) {
                self.timers.set_global(Global::RxBody, None);
                self.deliver_body(i, now, msg);
                return;
            }
            // A complete MAX_PAYLOADS set: ask for the next at once ('Continue').
            let mp = self.params.max_payloads();
            let set = n / mp;
            let next = (set + 1).saturating_mul(mp);
            if next < nblocks
                && next > self.rx.continued
                && self.rx.received.all_set(set * mp, next)
            {
                self.rx.continued = next;
                if let Some(c) = Block::new(next, true, self.rx.szx) {
                    self.follow_up(i, &[c], true);
                }
            }
        }
        self.arm_rx_body();
    }

    fn deliver_body(&mut self, i: usize, now: Instant, msg: &Message<'_>) {
        let id = self.out[i].id;
        let observe = if self.out[i].observe && !self.out[i].deregistering {
            self.rx.observe.or(msg.options().observe().ok().flatten())
        } else {
            None
        };
        self.rx.owner = 0;
        self.rx.locked = true;
        self.timers.set_global(Global::RxBody, None);
        self.push_event_with(
            EvKind::Response {
                request: id,
                observe,
                body: true,
            },
            msg.as_bytes(),
        );
        match observe {
            Some(seq) => {
                let s = &mut self.out[i];
                s.state = OutState::Observing;
                s.obs_last = Some((seq, now));
                s.next_retransmit = None;
                s.give_up_at = None;
                self.timers.set_out(i, None);
            }
            None => self.free_slot(i),
        }
        self.pump_queue(now);
    }

    /// Sends the slot's request again with these block options (a new message, same token).
    fn follow_up(&mut self, i: usize, blocks: &[Block], q: bool) {
        let rewritten = self.rewrite_slot(i, |list| {
            list.remove(OptionNumber::OBSERVE);
            list.remove(OptionNumber::Q_BLOCK2);
            list.remove(OptionNumber::BLOCK2);
            list.remove(OptionNumber::ETAG);
            for b in blocks {
                if q {
                    list.push_q_block2(*b)?;
                } else {
                    list.set_block2(*b)?;
                }
            }
            Ok(())
        });
        if rewritten.is_err() {
            self.fail_slot(i, FailReason::BodyIncomplete);
            return;
        }
        let mid = self.new_mid();
        let order = self.new_order();
        let base = if self.out[i].con {
            self.params.ack_timeout
        } else {
            self.params.non_timeout
        };
        let timeout = self.jitter(base);
        let slot = &mut self.out[i];
        slot.mid = mid;
        wire::set_message_id(&mut slot.bytes, mid);
        slot.tx_pending = true;
        slot.tx_order = order;
        if q {
            // Q-Block2 follow-ups are paced by the body timers, not retransmitted.
            slot.state = OutState::Receiving;
            slot.next_retransmit = None;
        } else {
            slot.state = OutState::Sent;
            slot.retransmits = 0;
            slot.timeout = timeout;
            slot.first_sent = None;
            slot.give_up_at = None;
            slot.next_retransmit = None;
        }
        self.timers.set_out(i, None);
    }

    pub(crate) fn arm_rx_body(&mut self) {
        if self.rx.owner == 0 || !self.rx.q {
            self.timers.set_global(Global::RxBody, None);
            return;
        }
        let wait = shl(
            self.params.non_receive_timeout,
            u32::from(self.rx.rerequests),
        );
        let at = (self.rx.last_rx + wait).min(self.rx.started + self.params.non_partial_timeout());
        self.timers.set_global(Global::RxBody, Some(at));
    }

    /// NON_RECEIVE_TIMEOUT passed without the missing blocks: ask for them (RFC 9177 §4.4).
    pub(crate) fn on_rx_body_timer(&mut self, now: Instant) {
        if self.rx.owner == super::qblock1::INBOUND_OWNER && !self.rx.q {
            // A Block1 body whose next block did not come within EXCHANGE_LIFETIME.
            self.rx.reset();
            return;
        }
        if self.rx.owner == 0 || !self.rx.q {
            return;
        }
        if self.rx.inbound {
            self.on_rx_request_body_timer(now);
            return;
        }
        let Some(i) = self
            .out
            .iter()
            .position(|s| s.id == self.rx.owner && s.state != OutState::Free)
        else {
            self.rx.reset();
            return;
        };
        if now >= self.rx.started + self.params.non_partial_timeout()
            || self.rx.rerequests >= self.params.non_max_retransmit
        {
            self.fail_slot(i, FailReason::BodyIncomplete);
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
        let end = self
            .rx
            .nblocks()
            .unwrap_or(self.rx.highest + 2)
            .min(MAX_BLOCKS as u32);
        let limit = self.params.max_payloads().min(16) as usize;
        let mut missing: heapless::Vec<Block, 16> = heapless::Vec::new();
        for n in 0..end {
            if missing.len() >= limit {
                break;
            }
            if !self.rx.received.get(n) {
                if let Some(b) = Block::new(n, false, self.rx.szx) {
                    let _ = missing.push(b);
                }
            }
        }
        self.rx.rerequests += 1;
        self.rx.last_rx = now;
        if !missing.is_empty() {
            self.stats.missing_block_requests += 1;
            self.follow_up(i, &missing, true);
        }
        self.arm_rx_body();
    }
}
