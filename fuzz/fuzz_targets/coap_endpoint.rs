//! The CoAP endpoint state machine (dots-proto `coap`): two endpoints (UDP or TCP) driven by
//! arbitrary datagrams, stream bytes, time steps, timeouts and commands, with their own
//! traffic exchanged between them. Checks: no panic, `poll_timeout` never before the latest
//! `now`, every table within its capacity, transmissions within `MSG`.
#![no_main]

use arbitrary::Arbitrary;
use dots_codec::coap::{Code, OptionList};
use dots_proto::coap::{
    Config, Endpoint, Event, InboundId, ObserverId, RandomFactor, Request, RequestId, Response,
    TransmissionParameters, EVENT_QUEUE_CAPACITY,
};
use dots_proto::time::Instant;
use libfuzzer_sys::fuzz_target;

const OUT: usize = 4;
const IN: usize = 3;
const OBS: usize = 2;
const MSG: usize = 512;
type Ep = Endpoint<OUT, IN, OBS, MSG, 4096, 1024>;

#[derive(Arbitrary, Debug)]
enum Op {
    Datagram { to_b: bool, bytes: Vec<u8> },
    Stream { to_b: bool, bytes: Vec<u8> },
    Advance(u16),
    Jump(u32),
    Back(u16),
    Timeout { b: bool },
    Exchange { drop_mask: u8 },
    Transmit { b: bool, buf_len: u16 },
    Request { b: bool, con: bool, code: u8, observe: bool, q: bool, len: u16, reps: u8, timeout_ms: Option<u16> },
    Respond { b: bool, which: u8, code: u8, len: u16, refuse: bool },
    Defer { b: bool, which: u8 },
    Notify { b: bool, which: u8, code: u8, len: u8 },
    Cancel { b: bool, which: u8 },
    Deregister { b: bool, which: u8 },
    Forget { b: bool, which: u8 },
    Params { b: bool, ack_ms: u16, factor: u16, max_re: u8, nstart: u8, payloads: u8 },
    Ping { b: bool },
    Release { b: bool },
    Abort { b: bool },
    Events { b: bool },
}

#[derive(Arbitrary, Debug)]
struct Input {
    tcp: bool,
    seed: u64,
    ops: Vec<Op>,
}

#[derive(Default)]
struct Ids {
    inbound: Vec<InboundId>,
    observers: Vec<ObserverId>,
    requests: Vec<RequestId>,
}

fn check(ep: &Ep) {
    if let Some(t) = ep.poll_timeout() {
        assert!(t >= ep.now(), "poll_timeout {t:?} before now {:?}", ep.now());
    }
    assert!(ep.slots_in_use() <= OUT);
    assert!(ep.records_in_use() <= IN);
    assert!(ep.observers() <= OBS);
    assert!(ep.pending_events() <= EVENT_QUEUE_CAPACITY);
}

fn drain(ep: &mut Ep, ids: &mut Ids) {
    while let Some(ev) = ep.poll_event() {
        match ev {
            Event::Request { id, request, .. } => {
                let _ = (request.payload.len(), request.options.uri_path().count());
                ids.inbound.push(id);
            }
            Event::Response { request, response, .. } => {
                let _ = response.payload.len();
                ids.requests.retain(|r| *r != request);
            }
            Event::RequestFailed { request, .. } => ids.requests.retain(|r| *r != request),
            Event::Aborted { diagnostic, .. } => {
                let _ = diagnostic.len();
            }
            _ => {}
        }
    }
    ids.inbound.truncate(64);
}

fn pick<T: Copy>(v: &[T], which: u8) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        Some(v[usize::from(which) % v.len()])
    }
}

fn code_of(code: u8, request: bool) -> Code {
    if request {
        Code::new(0, code % 8)
    } else {
        [Code::CONTENT, Code::CHANGED, Code::NOT_FOUND, Code::BAD_REQUEST, Code::new(code >> 5, code)]
            [usize::from(code % 5)]
    }
}

fuzz_target!(|input: Input| {
    let config = if input.tcp { Config::tcp() } else { Config::udp() };
    let mut eps = [Ep::new(config, input.seed), Ep::new(config, input.seed ^ 1)];
    let mut ids = [Ids::default(), Ids::default()];
    let mut now = Instant::ZERO;
    let mut buf = vec![0u8; 4096];
    let body = vec![0x5a; 8192];
    let mut opts = OptionList::<64>::new();
    let _ = opts.set_uri_path("/.well-known/dots/mitigate");
    for op in input.ops.into_iter().take(256) {
        match op {
            Op::Datagram { to_b, bytes } => eps[usize::from(to_b)].handle_datagram(now, &bytes),
            Op::Stream { to_b, bytes } => eps[usize::from(to_b)].handle_stream_bytes(now, &bytes),
            Op::Advance(ms) => now = now + core::time::Duration::from_millis(u64::from(ms)),
            Op::Jump(ms) => now = now + core::time::Duration::from_millis(u64::from(ms) * 16),
            Op::Back(ms) => {
                // Time going backwards must be harmless.
                let earlier = Instant::from_millis(now.as_millis().saturating_sub(u64::from(ms)));
                eps[0].handle_timeout(earlier);
            }
            Op::Timeout { b } => eps[usize::from(b)].handle_timeout(now),
            Op::Exchange { drop_mask } => {
                for round in 0..8u8 {
                    for from in 0..2 {
                        while let Ok(Some(t)) = eps[from].poll_transmit(now, &mut buf) {
                            assert!(t.len <= MSG + 8);
                            if drop_mask & (1 << ((round + from as u8) % 8)) == 0 {
                                let bytes = buf[..t.len].to_vec();
                                if input.tcp {
                                    eps[1 - from].handle_stream_bytes(now, &bytes);
                                } else {
                                    eps[1 - from].handle_datagram(now, &bytes);
                                }
                            }
                        }
                    }
                }
            }
            Op::Transmit { b, buf_len } => {
                let len = usize::from(buf_len).min(buf.len());
                let _ = eps[usize::from(b)].poll_transmit(now, &mut buf[..len]);
            }
            Op::Request { b, con, code, observe, q, len, reps, timeout_ms } => {
                let payload = &body[..usize::from(len) % 700];
                let mut req = Request::con(code_of(code, true)).options(opts.as_options()).payload(payload);
                req.confirmable = con;
                req.observe = observe;
                req.q_block = q;
                req.non_retransmit = Some(reps % 5);
                req.response_timeout = timeout_ms.map(|ms| core::time::Duration::from_millis(u64::from(ms)));
                if let Ok(id) = eps[usize::from(b)].request(now, req) {
                    ids[usize::from(b)].requests.push(id);
                }
            }
            Op::Respond { b, which, code, len, refuse } => {
                if let Some(id) = pick(&ids[usize::from(b)].inbound, which) {
                    let mut resp = Response::new(code_of(code, false)).payload(&body[..usize::from(len) % body.len()]);
                    if refuse {
                        resp = resp.without_observe();
                    }
                    if let Ok(Some(o)) = eps[usize::from(b)].respond(now, id, resp) {
                        ids[usize::from(b)].observers.push(o);
                    }
                }
            }
            Op::Defer { b, which } => {
                if let Some(id) = pick(&ids[usize::from(b)].inbound, which) {
                    let _ = eps[usize::from(b)].defer(now, id);
                }
            }
            Op::Notify { b, which, code, len } => {
                if let Some(o) = pick(&ids[usize::from(b)].observers, which) {
                    let _ = eps[usize::from(b)].notify(now, o, Response::new(code_of(code, false)).payload(&body[..usize::from(len)]));
                }
            }
            Op::Cancel { b, which } => {
                if let Some(id) = pick(&ids[usize::from(b)].requests, which) {
                    let _ = eps[usize::from(b)].cancel(now, id);
                }
            }
            Op::Deregister { b, which } => {
                if let Some(id) = pick(&ids[usize::from(b)].requests, which) {
                    let _ = eps[usize::from(b)].deregister(now, id);
                }
            }
            Op::Forget { b, which } => {
                if let Some(o) = pick(&ids[usize::from(b)].observers, which) {
                    let _ = eps[usize::from(b)].forget_observer(o);
                }
            }
            Op::Params { b, ack_ms, factor, max_re, nstart, payloads } => {
                let p = TransmissionParameters {
                    ack_timeout: core::time::Duration::from_millis(u64::from(ack_ms)),
                    ack_random_factor: RandomFactor::from_thousandths(1000 + u32::from(factor) % 4000)
                        .unwrap_or_default(),
                    max_retransmit: max_re % 24,
                    nstart,
                    max_payloads: u16::from(payloads),
                    ..TransmissionParameters::DOTS
                };
                let _ = eps[usize::from(b)].set_parameters(p);
            }
            Op::Ping { b } => {
                let _ = eps[usize::from(b)].ping(now);
            }
            Op::Release { b } => {
                let _ = eps[usize::from(b)].release(now, Some(5));
            }
            Op::Abort { b } => {
                let _ = eps[usize::from(b)].abort(now, "fuzz");
            }
            Op::Events { b } => drain(&mut eps[usize::from(b)], &mut ids[usize::from(b)]),
        }
        for (ep, id) in eps.iter_mut().zip(ids.iter_mut()) {
            check(ep);
            if ep.pending_events() >= EVENT_QUEUE_CAPACITY / 2 {
                drain(ep, id);
            }
        }
    }
});
