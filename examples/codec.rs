//! `codec`: convert DOTS signal channel bodies between RFC 7951 JSON (as the RFCs print them) and
//! CBOR (the wire, content-format 271).
//!
//! ```sh
//! cargo run --example codec -- json2cbor < body.json > body.cbor
//! cargo run --example codec -- json2cbor --hex < body.json      # hex text out
//! cargo run --example codec -- cbor2json < body.cbor             # pretty JSON out
//! cargo run --example codec -- cbor2json --hex < body.hex        # hex in (whitespace/case ignored)
//! ```
//!
//! Invalid input: exit status 1 and one line on stderr saying why (with the CoAP code a DOTS
//! server would answer).

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dots::codec::cbor::CborBody;
use dots::codec::json;
use dots::codec::model::SignalMessage;

#[derive(Parser)]
#[command(about = "Convert DOTS signal channel bodies between RFC 7951 JSON and CBOR")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// RFC 7951 JSON on stdin -> CBOR on stdout.
    Json2cbor {
        /// Write hex text instead of binary.
        #[arg(long)]
        hex: bool,
    },
    /// CBOR on stdin -> pretty JSON on stdout.
    Cbor2json {
        /// Read hex text (whitespace and case ignored) instead of binary.
        #[arg(long)]
        hex: bool,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading stdin: {e}"))?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Json2cbor { hex } => {
            let msg = json::from_slice(&input)
                .map_err(|e| format!("{e} (a DOTS server answers {})", e.response_code()))?;
            let mut buf = vec![0u8; msg.encoded_len()];
            let n = msg
                .encode_cbor(&mut buf)
                .map_err(|e| format!("encoding: {e}"))?;
            buf.truncate(n);
            if hex {
                writeln!(out, "{}", hex::encode(&buf))
            } else {
                out.write_all(&buf)
            }
            .map_err(|e| format!("writing stdout: {e}"))
        }
        Command::Cbor2json { hex } => {
            let bytes = if hex {
                let text: String = String::from_utf8_lossy(&input)
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                hex::decode(text).map_err(|e| format!("invalid hex: {e}"))?
            } else {
                input
            };
            let msg = SignalMessage::decode_cbor(&bytes)
                .map_err(|e| format!("{e} (a DOTS server answers {})", e.response_code()))?;
            writeln!(out, "{}", json::to_string_pretty(&msg))
                .map_err(|e| format!("writing stdout: {e}"))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("codec: {}", reason.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
