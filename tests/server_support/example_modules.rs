// The `server` example's modules, for `include!` at the root of a test crate (they refer to
// each other as `crate::...`, as in the example). Paths are relative to this file.

#[path = "../../examples/server/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../../examples/server/cli.rs"]
#[allow(dead_code)]
mod cli;
#[path = "../../examples/server/dtls.rs"]
#[allow(dead_code)]
mod dtls;
#[path = "../../examples/server/https.rs"]
#[allow(dead_code)]
mod https;
#[path = "../../examples/server/signal.rs"]
#[allow(dead_code)]
mod signal;
#[path = "../../examples/server/state.rs"]
#[allow(dead_code)]
mod state;
#[path = "../../examples/server/stream.rs"]
#[allow(dead_code)]
mod stream;
#[path = "../../examples/support/mod.rs"]
mod support;
#[path = "../../examples/server/udp.rs"]
#[allow(dead_code)]
mod udp;
