//! The `demo` example end to end: runs the built binary (`target/<profile>/examples/demo`, built
//! here with `cargo build --example demo` when `cargo test` did not build it) and reads its
//! transcript: every line timestamped, the nine steps in order, and within each step the
//! messages and events that make it, in order; exit status 0.
//!
//! Wall-clock time is not asserted (the machine may be loaded); the process only has to end
//! within a generous bound.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest the demo may run here (it takes about 15 s on an idle machine).
const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// The demo binary next to this test's executable, built if missing.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let bin = dir
        .join("examples")
        .join(format!("demo{}", std::env::consts::EXE_SUFFIX));
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--example", "demo"]);
        // What cargo set for this test process would make the build scripts of some
        // dependencies (ring) run again, and the next `cargo test` rebuild them once more.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key == "CARGO_TARGET_TMPDIR"
                || key == "LD_LIBRARY_PATH"
                || key == "RUST_RECURSION_COUNT"
            {
                cmd.env_remove(key);
            }
        }
        if dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo build --example demo");
        assert!(status.success(), "cargo build --example demo failed");
    }
    assert!(bin.is_file(), "{} not built", bin.display());
    bin
}

/// Runs the demo; returns its exit code, stdout and stderr.
fn run_demo() -> (Option<i32>, String, String) {
    let mut child = Command::new(binary())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the demo") {
            break status;
        }
        if t0.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the demo still ran after {} s:\n{}",
                PROCESS_TIMEOUT.as_secs(),
                out.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.code(),
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

/// One transcript line: `[ 1.234s] rest`.
#[derive(Debug)]
struct Line {
    secs: f64,
    text: String,
}

fn parse(transcript: &str) -> Vec<Line> {
    transcript
        .lines()
        .map(|l| {
            let (stamp, text) = l
                .strip_prefix('[')
                .and_then(|r| r.split_once("s] "))
                .unwrap_or_else(|| panic!("line without a timestamp: {l:?}"));
            let secs: f64 = stamp
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad timestamp in {l:?}"));
            let (_, fraction) = stamp.split_once('.').expect("milliseconds");
            assert_eq!(fraction.len(), 3, "{l:?}");
            Line {
                secs,
                text: text.to_owned(),
            }
        })
        .collect()
}

/// The lines of each step: `steps[0]` before step 1, `steps[n]` from the heading of step `n`
/// to the next heading.
fn split_steps(lines: &[Line]) -> Vec<Vec<&Line>> {
    let mut steps: Vec<Vec<&Line>> = vec![Vec::new()];
    for l in lines {
        if let Some(rest) = l.text.strip_prefix("── step ") {
            let n: usize = rest
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad step heading {:?}", l.text));
            assert_eq!(n, steps.len(), "step {n} out of order: {:?}", l.text);
            steps.push(Vec::new());
        }
        steps.last_mut().expect("a step").push(l);
    }
    steps
}

/// Asserts that lines matching each `(actor, parts)` appear in this order in `lines`: a line
/// matches when it starts with `actor` (the second column) and contains every part.
fn in_order(step: usize, lines: &[&Line], expected: &[(&str, &[&str])]) {
    let mut from = 0;
    for (actor, parts) in expected {
        let found = lines
            .iter()
            .skip(from)
            .position(|l| l.text.starts_with(actor) && parts.iter().all(|p| l.text.contains(p)));
        match found {
            Some(i) => from += i + 1,
            None => panic!(
                "step {step}: no `{actor}` line with {parts:?} after line {from} of:\n{}",
                lines
                    .iter()
                    .map(|l| l.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

const C2S: &str = "client → server";
const S2C: &str = "server → client";
/// The client's own lines (the label is padded: `client → server` has one space).
const CLIENT: &str = "client  ";
/// The server's own lines.
const SERVER: &str = "server  ";

#[test]
fn the_demo_tells_the_whole_story_and_exits_0() {
    let (code, out, err) = run_demo();
    assert_eq!(code, Some(0), "stderr: {err}\nstdout:\n{out}");
    assert!(err.is_empty(), "{err}");
    let lines = parse(&out);
    assert!(
        lines.windows(2).all(|w| w[0].secs <= w[1].secs),
        "timestamps go backwards:\n{out}"
    );
    let steps = split_steps(&lines);
    assert_eq!(steps.len(), 10, "nine steps:\n{out}");

    in_order(
        0,
        &steps[0],
        &[
            ("demo", &["throwaway PKI made with rcgen"]),
            (SERVER, &["listening on udp 127.0.0.1:", "DTLS"]),
        ],
    );

    // 1: the handshake, both ways, and the same cuid on both sides.
    in_order(
        1,
        &steps[1],
        &[
            (C2S, &["DTLS handshake flight"]),
            (S2C, &["DTLS handshake flight"]),
            (CLIENT, &["DTLS handshake complete", "own cuid"]),
            (
                SERVER,
                &["DTLS handshake with 127.0.0.1:", "SubjectPublicKeyInfo"],
            ),
            ("demo", &["✓ both sides derived cuid"]),
        ],
    );
    let cuid_of = |prefix: &str| -> String {
        let l = steps[1]
            .iter()
            .find(|l| l.text.contains(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?}"));
        let after = l.text.split(prefix).nth(1).expect("cuid");
        after.split_whitespace().next().expect("cuid").to_owned()
    };
    let cuid = cuid_of("own cuid ");
    assert_eq!(cuid.len(), 22, "{cuid}");
    assert_eq!(
        cuid_of("complete: client certificate chains to the demo CA; cuid "),
        cuid
    );
    let short = format!("cuid={}…", &cuid[..4]);

    // 2: GET /config, then PUT /config within the ranges.
    in_order(
        2,
        &steps[2],
        &[
            (C2S, &["GET /config", "(CON)"]),
            (S2C, &["2.05 Content", "CBOR", "← GET /config"]),
            (
                CLIENT,
                &[
                    "heartbeat-interval 5 s (1–240)",
                    "missing-hb-allowed 3 (1–20)",
                ],
            ),
            (C2S, &["PUT /config/sid=1", "(CON"]),
            (SERVER, &["heartbeat-interval 2 s, missing-hb-allowed 2"]),
            (S2C, &["2.01 Created", "← PUT /config/sid=1"]),
            (
                CLIENT,
                &["session configuration in force (2.01 Created, sid 1)"],
            ),
        ],
    );

    // 3: the pre-configured request waits (status 8).
    in_order(
        3,
        &steps[3],
        &[
            (C2S, &["PUT /mitigate/", &short, "/mid=122", "(NON", "CBOR"]),
            (
                SERVER,
                &["pre-configured request mid=122", "trigger-mitigation false"],
            ),
            (S2C, &["2.01 Created", "/mid=122"]),
            (C2S, &["GET /mitigate/", "/mid=122"]),
            (CLIENT, &["mid=122 status 8 attack-mitigation-signal-loss"]),
        ],
    );

    // 4: the mitigation request, observed from 1 to 2 with counters.
    in_order(
        4,
        &steps[4],
        &[
            (C2S, &["PUT /mitigate/", "/mid=123", "(NON", "CBOR"]),
            (SERVER, &["mitigation request mid=123 accepted"]),
            (S2C, &["2.01 Created", "/mid=123"]),
            (C2S, &["GET /mitigate/", "/mid=123", "Observe: register"]),
            (S2C, &["2.05 Content", "Observe"]),
            (CLIENT, &["mid=123 status 1 attack-mitigation-in-progress"]),
            ("mitigator", &["mid=123", "status 2"]),
            (S2C, &["2.05 Content", "notification ← GET"]),
            (
                CLIENT,
                &[
                    "mid=123 status 2 attack-successfully-mitigated",
                    "bytes-dropped 48300000",
                    "(notification)",
                ],
            ),
        ],
    );

    // 5: the efficacy update.
    in_order(
        5,
        &steps[5],
        &[
            (C2S, &["PUT /mitigate/", "/mid=123"]),
            (SERVER, &["efficacy update for mid=123", "under-attack"]),
            (S2C, &["2.04 Changed", "/mid=123"]),
            (CLIENT, &["mid=123: efficacy update accepted"]),
        ],
    );

    // 6: heartbeats both ways, each answered 2.04.
    for (from, to) in [(C2S, S2C), (S2C, C2S)] {
        in_order(
            6,
            &steps[6],
            &[
                (from, &["PUT /hb", "peer-hb-status true"]),
                (to, &["2.04 Changed", "← PUT /hb"]),
                (from, &["PUT /hb"]),
                (to, &["2.04 Changed", "← PUT /hb"]),
            ],
        );
    }

    // 7: the cut; the server's deadman triggers the pre-configured request; the client's
    // verdict (degraded during an attack).
    in_order(
        7,
        &steps[7],
        &[
            ("link", &["✂ cut"]),
            (C2S, &["PUT /hb", "✗ dropped (link cut)"]),
            (SERVER, &["deadman", "signal session is lost"]),
            (SERVER, &["signal lost: pre-configured mid=122 activated"]),
        ],
    );
    assert!(
        steps[7].iter().any(|l| l.text.starts_with("link")
            && l.text.contains("✗ dropped a datagram server → client")),
        "nothing dropped towards the client:\n{out}"
    );
    assert!(
        steps[7].iter().any(|l| l.text.starts_with(CLIENT)
            && (l.text.contains("session degraded") || l.text.contains("session lost"))),
        "the client never noticed:\n{out}"
    );
    // Nothing from the client reaches the server while the link is cut.
    assert!(
        !steps[7]
            .iter()
            .any(|l| l.text.starts_with(C2S) && !l.text.contains("✗ dropped")),
        "{out}"
    );

    // 8: a new handshake; the request started by the signal loss is still active.
    in_order(
        8,
        &steps[8],
        &[
            ("link", &["restored"]),
            (C2S, &["DTLS handshake flight"]),
            (CLIENT, &["DTLS handshake complete"]),
            (CLIENT, &["SignalClient::reconnected"]),
            (C2S, &["PUT /config/sid=2"]),
            (C2S, &["GET /mitigate/", &short, "Observe: register"]),
            (CLIENT, &["mid=122 status"]),
            ("demo", &["✓ mid=122", "stays active"]),
        ],
    );
    assert!(
        steps[8].iter().any(|l| l.text.starts_with(CLIENT)
            && (l
                .text
                .contains("mid=122 status 1 attack-mitigation-in-progress")
                || l.text
                    .contains("mid=122 status 2 attack-successfully-mitigated"))),
        "{out}"
    );

    // 9: withdrawal: 2.02, status 5, then 6.
    in_order(
        9,
        &steps[9],
        &[
            (C2S, &["DELETE /mitigate/", "/mid=123", "(NON)"]),
            (SERVER, &["mid=123 withdrawn", "active-but-terminating"]),
            (S2C, &["2.02 Deleted"]),
            (
                CLIENT,
                &["mid=123 status 5 dots-client-withdrawn-mitigation"],
            ),
            (
                SERVER,
                &[
                    "mid=123 terminated",
                    "active-but-terminating period elapsed",
                ],
            ),
            (S2C, &["2.05 Content", "notification"]),
            (CLIENT, &["mid=123 status 6 attack-mitigation-terminated"]),
            (CLIENT, &["mid=123 is gone from the client's table"]),
            ("demo", &["done in", "9 steps", "mid=122 still active"]),
        ],
    );
    let last = lines.last().expect("a transcript");
    assert!(
        last.text.starts_with("demo") && last.text.contains("done in"),
        "{out}"
    );
}
