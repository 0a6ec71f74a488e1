//! From a command line to an exit status: parse and check the flags, connect, run the
//! command, say why it failed.

use std::ffi::OsString;
use std::io::Write;

use clap::Parser as _;

use crate::cli::{default_identifier, Args, Command, ConfigAction, Target};
use crate::commands::{self, ConfigOp};
use crate::connect;
use crate::session::{self, Session};

/// Exit status: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: a DOTS error answer, no answer, or another failure.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit status: the command line is wrong.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why a command failed (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The reason.
    pub(crate) reason: String,
}

impl Failure {
    pub(crate) fn new(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into().replace('\n', " "),
        }
    }
}

/// Runs the client with `argv` (the program name first); results go to `out`, the one-line
/// reason of a failure and usage errors to `err`. Returns the exit status.
pub(crate) fn run<I, T>(argv: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => {
            let code = e.exit_code();
            let text = e.render().to_string();
            if code == 0 {
                let _ = write!(out, "{text}");
                return EXIT_OK;
            }
            let _ = write!(err, "{text}");
            return EXIT_USAGE;
        }
    };
    let target = match args.check() {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_USAGE;
        }
    };
    match execute(&args, &target, out) {
        Ok(()) => EXIT_OK,
        Err(f) => {
            let _ = writeln!(err, "error: {}", f.reason);
            EXIT_FAILURE
        }
    }
}

fn execute(args: &Args, target: &Target, out: &mut dyn Write) -> Result<(), Failure> {
    let conn = connect::connect(&args.conn, target, out)?;
    let mut first_mid = None;
    let mut first_sid = None;
    let mut fetch_config = false;
    let mut cmd: Box<dyn session::Command> = match &args.command {
        Command::Mitigate(m) => {
            let scope = m.scope().map_err(|e| Failure::new(e.0))?;
            first_mid = Some(m.mid.unwrap_or_else(default_identifier));
            Box::new(commands::Mitigate::new(scope))
        }
        Command::Status { mid, observe } => Box::new(commands::Status::new(*mid, *observe)),
        Command::Withdraw { mid } => Box::new(commands::Withdraw::new(*mid)),
        Command::Config { action } => Box::new(commands::Config::new(match action {
            None | Some(ConfigAction::Get) => ConfigOp::Get,
            Some(ConfigAction::Put(p)) => {
                first_sid = Some(p.sid.unwrap_or_else(default_identifier));
                ConfigOp::Put(Box::new(p.config().map_err(|e| Failure::new(e.0))?))
            }
            Some(ConfigAction::Delete) => ConfigOp::Delete,
        })),
        Command::Efficacy { mid, attack_status } => {
            Box::new(commands::Efficacy::new(*mid, (*attack_status).into()))
        }
        Command::Heartbeat {
            duration,
            heartbeat_interval,
        } => {
            fetch_config = true;
            if heartbeat_interval.is_some() {
                first_sid = Some(default_identifier());
            }
            Box::new(commands::Heartbeat::new(*duration, *heartbeat_interval))
        }
    };
    let mut session = Session::new(
        conn,
        |c| {
            if let Some(mid) = first_mid {
                c.first_mid = mid;
            }
            if let Some(sid) = first_sid {
                c.first_sid = sid;
            }
            c.fetch_config = fetch_config;
        },
        args.conn.timeout(),
        args.conn.verbose,
        out,
    )?;
    session.run(cmd.as_mut())
}
