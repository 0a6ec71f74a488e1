//! A seeded simulation of 1,000 DOTS clients against one server session over lossy links for
//! one virtual hour, with the invariants checked after every step (see
//! `signal_sim_support`).
//!
//! Knobs for a soak (see the README): `DOTS_SIM_SEED=S` (one seed), `DOTS_SIM_SEEDS=N` (seeds
//! 1..=N, or N seeds from `DOTS_SIM_FIRST_SEED`), `DOTS_SIM_CLIENTS=K`, `DOTS_SIM_HOURS=H`.

mod signal_sim_support;

use signal_sim_support::{env_f64, env_u64, Params, Sim};

fn run(seed: u64, clients: usize, hours: f64) {
    let started = std::time::Instant::now();
    let r = Sim::new(Params::new(seed, clients, hours)).run();
    eprintln!(
        "seed {seed}: {clients} clients, {hours} h: {} steps, {} datagrams ({} lost, {} duplicated), \
         {} commands ({} refused), {} mitigation requests, {} accepted, {} replaced, {} expired \
         ({} while held), {} client withdrawals, {} host withdrawals, {} status reports, {} \
         cross-client conflicts, {} sessions lost, {} peers lost, {} observed mitigations \
         checked at the end ({} clients not observing), {} full checks; {:.1} s",
        r.steps,
        r.datagrams,
        r.lost,
        r.duplicated,
        r.commands,
        r.command_errors,
        r.requests,
        r.accepted,
        r.replaced,
        r.expired,
        r.expired_while_held,
        r.withdrawn_by_client,
        r.withdrawn_by_host,
        r.status_sets,
        r.cross_client_conflicts,
        r.sessions_lost,
        r.peers_lost,
        r.observed_checked,
        r.unobserved_at_end,
        r.full_checks,
        started.elapsed().as_secs_f64()
    );
    // The run must have exercised what it checks.
    assert!(
        r.accepted > 0 && r.replaced > 0 && r.status_sets > 0,
        "{r:?}"
    );
    assert!(
        r.withdrawn_by_client > 0 && r.cross_client_conflicts > 0,
        "{r:?}"
    );
    assert!(
        r.observed_checked > 0 && r.lost > 0 && r.duplicated > 0,
        "{r:?}"
    );
}

#[test]
fn thousand_clients_one_virtual_hour() {
    let clients = env_u64("DOTS_SIM_CLIENTS").map_or(1_000, |n| n as usize);
    let hours = env_f64("DOTS_SIM_HOURS").unwrap_or(1.0);
    let seeds: Vec<u64> = if let Some(s) = env_u64("DOTS_SIM_SEED") {
        vec![s]
    } else if let Some(n) = env_u64("DOTS_SIM_SEEDS") {
        // DOTS_SIM_FIRST_SEED splits a soak over several processes (one per core).
        let first = env_u64("DOTS_SIM_FIRST_SEED").unwrap_or(1);
        (first..first.saturating_add(n)).collect()
    } else {
        vec![1]
    };
    for seed in seeds {
        run(seed, clients, hours);
    }
}

/// Seed 1784 of the soak: a client idle through a 45-minute outage measured its silence from
/// the last server heartbeat it received, while the server's deadman counted from the last
/// datagram the server received, 180 s earlier; the deadman dropped the observation of all
/// mitigations just before the client's next heartbeat got through and the client never
/// registered it again. The client now measures from the last answer to its own requests
/// (not counting notifications, seed 1800: see `signal_sim_regressions.rs`).
#[test]
fn observation_renewed_after_an_idle_outage_seed_1784() {
    run(1784, 1_000, 1.0);
}
