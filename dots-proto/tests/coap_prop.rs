//! Property: for any seed and any loss up to 50 %, every request completes or fails within its
//! retry budget; no timer is ever armed in the past; the tables stay within their capacities.
//!
//! `DOTS_COAP_PROP_CASES` raises the number of cases (default 24) for long runs.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Ev, Link, Node, Pair, Side};
use dots_codec::coap::Code;
use dots_proto::coap::{Config, Endpoint, Request, RequestId, Response, TransmissionParameters};
use dots_proto::time::Instant;
use proptest::prelude::*;

const OUT: usize = 6;
const IN: usize = 4;
type Ep = Endpoint<OUT, IN, 2, 1152, 8192, 2560>;

/// An endpoint that checks the invariants after every call.
struct Checked(Ep);

impl Checked {
    fn check(&self) {
        let ep = &self.0;
        if let Some(t) = ep.poll_timeout() {
            assert!(t >= ep.now(), "timer {t:?} before now {:?}", ep.now());
        }
        assert!(ep.slots_in_use() <= OUT);
        assert!(ep.records_in_use() <= IN);
        assert!(ep.observers() <= 2);
        assert!(ep.pending_events() <= dots_proto::coap::EVENT_QUEUE_CAPACITY);
        assert!(ep.outstanding() <= ep.parameters().nstart());
    }
}

impl Node for Checked {
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.0.handle_bytes(now, bytes);
        self.check();
    }
    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let r = self.0.transmit(now, buf);
        self.check();
        r
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.0.next_timeout()
    }
    fn on_timeout(&mut self, now: Instant) {
        self.0.on_timeout(now);
        self.check();
    }
    fn drain_events(&mut self, out: &mut Vec<Ev>) {
        self.0.drain_events(out);
    }
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    loss: f32,
    requests: Vec<(bool, u8, bool)>, // confirmable, NON repetitions, server defers
    ack_timeout_ms: u64,
    max_retransmit: u8,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        0.0f32..=0.5,
        proptest::collection::vec((any::<bool>(), 0u8..4, any::<bool>()), 1..6),
        1_000u64..4_000,
        1u8..5,
    )
        .prop_map(
            |(seed, loss, requests, ack_timeout_ms, max_retransmit)| Case {
                seed,
                loss,
                requests,
                ack_timeout_ms,
                max_retransmit,
            },
        )
}

fn cases() -> u32 {
    std::env::var("DOTS_COAP_PROP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_request_ends_within_its_budget(case in case()) {
        let params = TransmissionParameters {
            ack_timeout: Duration::from_millis(case.ack_timeout_ms),
            max_retransmit: case.max_retransmit,
            probing_rate: 1_000,
            ..TransmissionParameters::DOTS
        };
        let config = Config::udp().with_params(params);
        let mut client = Checked(Ep::new(config, case.seed));
        let mut ids = HashMap::new();
        for (k, (con, reps, defer)) in case.requests.iter().enumerate() {
            let req = if *con { Request::con(Code::PUT) } else { Request::non(Code::PUT).non_retransmit(*reps) };
            let id = client.0.request(Instant::ZERO, req.payload(&[k as u8; 16])).unwrap();
            ids.insert(id, *defer);
        }
        let link = |s| Link { loss: case.loss, duplicate: 0.05, jitter: Duration::from_millis(20), ..Link::lossy(case.loss, s) };
        let mut pair = Pair::new(client, Checked(Ep::new(config, case.seed ^ 0xabcdef)), link(case.seed), link(case.seed.wrapping_add(1)));
        let mut deferred: Vec<dots_proto::coap::InboundId> = Vec::new();
        let mut ended: HashMap<RequestId, Instant> = HashMap::new();
        // The bound: every request is queued behind the others (NSTART = 1); each takes at
        // most its retransmission span plus a response wait (EXCHANGE_LIFETIME after an ACK).
        let per_request = params.max_transmit_wait() + params.exchange_lifetime() + Duration::from_secs(60);
        let limit = Instant::ZERO + per_request * (case.requests.len() as u32 + 1);
        while pair.step(limit) || !pair.pending.is_empty() {
            while let Some((side, at, ev)) = pair.pending.pop_front() {
                match (side, ev) {
                    (Side::B, Ev::Request { id, payload, .. }) => {
                        let defer = case.requests.get(payload[0] as usize).is_some_and(|r| r.2);
                        if defer {
                            deferred.push(id);
                        } else {
                            let now = pair.now;
                            pair.b.0.respond(now, id, Response::new(Code::CHANGED)).unwrap();
                        }
                    }
                    (Side::A, Ev::Response { request, .. }) | (Side::A, Ev::Failed { request, .. }) => {
                        prop_assert!(ended.insert(request, at).is_none(), "one outcome per request");
                    }
                    _ => {}
                }
            }
            // Deferred answers go 1 s later (after the endpoint's empty ACK).
            if !deferred.is_empty() {
                let now = pair.now + Duration::from_secs(1);
                pair.now = now;
                for id in deferred.drain(..) {
                    let _ = pair.b.0.respond(now, id, Response::new(Code::CREATED));
                }
            }
        }
        for id in ids.keys() {
            prop_assert!(ended.contains_key(id), "request {id:?} neither completed nor failed");
        }
        prop_assert!(pair.timeouts_fired.windows(2).all(|w| w[0] <= w[1]));
        prop_assert_eq!(pair.a.0.slots_in_use(), 0);
        prop_assert_eq!(pair.a.0.queued(), 0);
    }
}
