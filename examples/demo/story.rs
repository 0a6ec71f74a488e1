//! The story the demo tells, step by step. Each step acts (a command of the client session, a
//! change of the link) and waits, with a timeout, for what must follow; any step that does not
//! happen ends the demo with its reason.

use std::time::Duration;

use dots::codec::coap::Code;
use dots::codec::model::{
    AttackStatus, ConfigParams, IntParam, Lifetime, MitigationStatus, PortRange, Scope,
    SignalConfig,
};
use dots::proto::signal::client::MitigationState;

use crate::notes::{Fact, Side};
use crate::transcript::{Actor, Transcript};
use crate::world::{Failure, World, TERMINATING};

/// The `mid` of the pre-configured request (the first the client allocates); the immediate
/// request gets the next one.
const FIRST_MID: u32 = 122;

/// What the client asks for its session: heartbeats every 2 s, 2 missing allowed, in both
/// phases (within the server's ranges).
const HEARTBEAT_INTERVAL: u16 = 2;
/// See [`HEARTBEAT_INTERVAL`].
const MISSING_HB_ALLOWED: u16 = 2;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A scope of one prefix with a lifetime of an hour.
fn scope(prefix: &str) -> Result<Scope, Failure> {
    let mut s = Scope::new();
    let net = prefix
        .parse()
        .map_err(|e| Failure::new(format!("{prefix}: {e}")))?;
    s.targets
        .push_prefix(net)
        .map_err(|e| Failure::new(format!("{prefix}: {e:?}")))?;
    s.lifetime = Some(Lifetime::Seconds(3600));
    Ok(s)
}

/// Whether the client holds `mid` as accepted by the server.
fn accepted(w: &World, mid: u32) -> bool {
    w.signal()
        .and_then(|c| c.mitigation(mid))
        .is_some_and(|m| m.state() == MitigationState::Active)
}

/// Whether the client learnt status `status` of `mid` since `mark`.
fn status_seen(w: &World, mark: usize, mid: u32, status: MitigationStatus) -> bool {
    w.since(mark)
        .iter()
        .any(|f| matches!(f, Fact::Status(m, Some(s), _) if *m == mid && *s == status))
}

fn count(w: &World, mark: usize, fact: &Fact) -> usize {
    w.since(mark).iter().filter(|f| *f == fact).count()
}

/// Runs the whole story; the transcript goes to `t`.
pub(crate) async fn run(t: Transcript) -> Result<(), Failure> {
    let mut w = World::new(t, FIRST_MID).await?;
    let result = steps(&mut w).await;
    if let Err(f) = &result {
        w.t.line(Actor::Demo, format!("FAILED: {}", f.0));
    }
    result
}

async fn steps(w: &mut World) -> Result<(), Failure> {
    // ---- 1 ------------------------------------------------------------------------------------
    w.t.step(1, "DTLS handshake with X.509 mutual authentication");
    let mark = w.mark();
    w.connect().await?;
    w.until("the DTLS handshake", secs(15), |w| {
        w.saw(mark, &Fact::ClientHandshake)
            && w.since(mark)
                .iter()
                .any(|f| matches!(f, Fact::ServerHandshake(_)))
    })
    .await?;
    let server_cuid = w.since(mark).iter().find_map(|f| match f {
        Fact::ServerHandshake(c) => Some(c.clone()),
        _ => None,
    });
    if server_cuid.as_deref() != Some(w.client_cuid()) {
        return Err(Failure::new(format!(
            "the server derived cuid {server_cuid:?}, the client has {}",
            w.client_cuid()
        )));
    }
    let cuid = w.client_cuid().to_owned();
    w.t.line(
        Actor::Demo,
        format!("✓ both sides derived cuid {cuid} from the client certificate"),
    );

    // ---- 2 ------------------------------------------------------------------------------------
    w.t.step(2, "session configuration: GET /config, then PUT /config");
    let mark = w.mark();
    w.command("GET /config", |c, now| c.get_config(now, false))?;
    w.until("the server's configuration (2.05)", secs(10), |w| {
        w.since(mark)
            .iter()
            .any(|f| matches!(f, Fact::ConfigApplied(_, c) if *c == Code::CONTENT))
    })
    .await?;
    let ranges = w
        .signal()
        .and_then(|c| c.server_config())
        .and_then(|s| s.idle_config)
        .map(|p| {
            let r = |x: Option<IntParam>, unit: &str| {
                x.map_or_else(
                    || "?".to_owned(),
                    |x| {
                        format!(
                            "{}{unit} ({}–{})",
                            x.current_value.unwrap_or_default(),
                            x.min_value.unwrap_or_default(),
                            x.max_value.unwrap_or_default()
                        )
                    },
                )
            };
            format!(
                "heartbeat-interval {}, missing-hb-allowed {}",
                r(p.heartbeat_interval, " s"),
                r(p.missing_hb_allowed, "")
            )
        })
        .unwrap_or_else(|| "no idle-config".to_owned());
    w.t.line(Actor::Client, format!("the server's idle-config: {ranges}"));
    let wanted = ConfigParams {
        heartbeat_interval: Some(IntParam::current(HEARTBEAT_INTERVAL)),
        missing_hb_allowed: Some(IntParam::current(MISSING_HB_ALLOWED)),
        ..ConfigParams::default()
    };
    let desired = SignalConfig {
        sid: None,
        mitigating_config: Some(wanted),
        idle_config: Some(wanted),
    };
    w.t.line(
        Actor::Client,
        format!(
            "asks for heartbeat-interval {HEARTBEAT_INTERVAL} s and missing-hb-allowed \
             {MISSING_HB_ALLOWED} in both phases (within the server's ranges)"
        ),
    );
    let mark = w.mark();
    w.command("PUT /config", |c, now| c.negotiate_config(now, &desired))?;
    w.until("the configuration's acceptance", secs(10), |w| {
        w.since(mark)
            .iter()
            .any(|f| matches!(f, Fact::ConfigApplied(Some(_), _)))
    })
    .await?;

    // ---- 3 ------------------------------------------------------------------------------------
    w.t.step(
        3,
        "a pre-configured mitigation request (trigger-mitigation false)",
    );
    let mut pre = scope("2001:db8:6402::/48")?;
    pre.trigger_mitigation = Some(false);
    w.t.line(
        Actor::Client,
        "asks for mitigation of 2001:db8:6402::/48 should the signal channel be lost",
    );
    let pre_mid = w.command("pre-configured request", |c, now| {
        c.request_mitigation(now, &pre)
    })?;
    w.until("the pre-configured request's acceptance", secs(10), |w| {
        accepted(w, pre_mid)
    })
    .await?;
    let mark = w.mark();
    w.command("GET status", |c, now| {
        c.get_mitigations(now, Some(pre_mid), false, &[])
    })?;
    w.until("status 8 of the pre-configured request", secs(10), |w| {
        status_seen(w, mark, pre_mid, MitigationStatus::SignalLoss)
    })
    .await?;

    // ---- 4 ------------------------------------------------------------------------------------
    w.t.step(4, "a mitigation request, observed: status 1 → 2");
    let mut attack = scope("2001:db8:6401::/64")?;
    attack
        .targets
        .port_ranges
        .push(PortRange::single(443))
        .map_err(|_| Failure::new("port range"))?;
    attack
        .targets
        .protocols
        .push(6)
        .map_err(|_| Failure::new("protocol"))?;
    w.t.line(
        Actor::Client,
        "under attack: asks for mitigation of 2001:db8:6401::/64, tcp port 443",
    );
    let mark = w.mark();
    let mid = w.command("mitigation request", |c, now| {
        c.request_mitigation(now, &attack)
    })?;
    w.until(
        "the mitigation request's acceptance (2.01)",
        secs(10),
        |w| accepted(w, mid),
    )
    .await?;
    w.command("GET with Observe", |c, now| {
        c.get_mitigations(now, Some(mid), true, &[])
    })?;
    w.until("a notification of status 2", secs(10), |w| {
        w.saw(
            mark,
            &Fact::Status(mid, Some(MitigationStatus::SuccessfullyMitigated), true),
        )
    })
    .await?;
    if !status_seen(w, mark, mid, MitigationStatus::InProgress) {
        return Err(Failure::new(format!(
            "mid={mid}: status 1 was never reported before status 2"
        )));
    }

    // ---- 5 ------------------------------------------------------------------------------------
    w.t.step(5, "an efficacy update from the client");
    let mark = w.mark();
    w.command("efficacy update", |c, now| {
        c.efficacy_update(now, mid, AttackStatus::UnderAttack, None)
    })?;
    w.until("2.04 to the efficacy update", secs(10), |w| {
        w.saw(mark, &Fact::EfficacyUpdated(mid))
    })
    .await?;

    // ---- 6 ------------------------------------------------------------------------------------
    w.t.step(6, "heartbeats in both directions");
    let mark = w.mark();
    w.until("two heartbeats each way", secs(15), |w| {
        count(w, mark, &Fact::Heartbeat(Side::Server)) >= 2
            && count(w, mark, &Fact::Heartbeat(Side::Client)) >= 2
    })
    .await?;

    // ---- 7 ------------------------------------------------------------------------------------
    w.t.step(7, "the link is cut");
    let mark = w.mark();
    w.set_link(false);
    w.t.line(
        Actor::Link,
        "✂ cut: every datagram to or from the client is dropped from now on",
    );
    w.until(
        "the server's deadman, the signal-loss trigger and the client's verdict",
        secs(25),
        |w| {
            w.saw(mark, &Fact::PeerLost)
                && w.saw(mark, &Fact::Triggered(pre_mid))
                && (w.saw(mark, &Fact::Degraded) || w.saw(mark, &Fact::Lost))
        },
    )
    .await?;
    let at_server = w.server_status(pre_mid);
    if !matches!(
        at_server,
        Some(MitigationStatus::InProgress | MitigationStatus::SuccessfullyMitigated)
    ) {
        return Err(Failure::new(format!(
            "the pre-configured mid={pre_mid} is {at_server:?} at the server after the loss"
        )));
    }

    // ---- 8 ------------------------------------------------------------------------------------
    w.t.step(8, "recovery: the link comes back, the client reconnects");
    let mark = w.mark();
    w.set_link(true);
    w.t.line(Actor::Link, "restored");
    w.connect().await?;
    w.until("the new DTLS handshake", secs(15), |w| {
        w.saw(mark, &Fact::ClientHandshake)
    })
    .await?;
    w.command("GET all with Observe", |c, now| {
        c.get_mitigations(now, None, true, &[])
    })?;
    w.until(
        "the pre-configured request reported active",
        secs(10),
        |w| {
            status_seen(w, mark, pre_mid, MitigationStatus::InProgress)
                || status_seen(w, mark, pre_mid, MitigationStatus::SuccessfullyMitigated)
        },
    )
    .await?;
    w.t.line(
        Actor::Demo,
        format!(
            "✓ mid={pre_mid}, started by the signal loss, stays active after the recovery (RFC \
             9132 §4.4.4)"
        ),
    );

    // ---- 9 ------------------------------------------------------------------------------------
    w.t.step(9, "withdrawal: DELETE, active-but-terminating, terminated");
    let mark = w.mark();
    w.command("withdrawal", |c, now| c.withdraw_mitigation(now, mid))?;
    w.until("2.02 and status 5", secs(10), |w| {
        w.saw(mark, &Fact::Withdrawn(mid))
            && status_seen(w, mark, mid, MitigationStatus::ClientWithdrawn)
    })
    .await?;
    w.t.line(
        Actor::Demo,
        format!(
            "the server keeps mitigating for {} s (RFC 9132 §4.4.4: 120 s by default; this \
             server's policy is shorter)",
            TERMINATING.as_secs()
        ),
    );
    w.until("status 6 (terminated)", secs(15), |w| {
        w.saw(mark, &Fact::Terminated(mid))
            && (status_seen(w, mark, mid, MitigationStatus::Terminated)
                || w.saw(mark, &Fact::Ended(mid)))
    })
    .await?;
    if w.signal().and_then(|c| c.mitigation(mid)).is_some() {
        return Err(Failure::new(format!(
            "mid={mid} is still in the client's table after status 6"
        )));
    }
    w.t.line(
        Actor::Client,
        format!("mid={mid} is gone from the client's table"),
    );

    let total = w.t.elapsed().as_secs_f64();
    let dropped = w.dropped;
    w.t.line(
        Actor::Demo,
        format!(
            "done in {total:.1} s: 9 steps; {dropped} datagrams dropped by the cut; mid={mid} \
             terminated, pre-configured mid={pre_mid} still active at the server"
        ),
    );
    Ok(())
}
