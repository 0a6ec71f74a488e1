//! Command line of the `server` example: which sockets to serve and with which credentials.
//!
//! The whole interface is fixed here, the signal channel's transports included; what is not
//! served yet (`--tcp`, `--dtls`, `--tls`) is refused with a clear message (exit status 2) by
//! [`Args::check`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory as _, Parser};

use crate::app::Config;
use crate::support::creds::{Identity, Psk, Trust};

/// A DOTS server: the data channel (RFC 8783, RESTCONF over HTTPS) and the signal channel
/// (RFC 9132; plain CoAP over UDP for the lab now) on the same client state.
#[derive(Debug, Clone, Parser)]
#[command(name = "server", version, about, long_about = None)]
pub(crate) struct Args {
    /// Data channel: RESTCONF over HTTPS (RFC 8783) on ADDR; needs --cert, --key and --ca.
    #[arg(long, value_name = "ADDR")]
    pub(crate) https: Option<SocketAddr>,
    /// Signal channel over plain CoAP/UDP (no security: needs --insecure).
    #[arg(long, value_name = "ADDR", requires = "insecure")]
    pub(crate) udp: Option<SocketAddr>,
    /// Signal channel over plain CoAP/TCP (RFC 8323, no security: needs --insecure).
    #[arg(long, value_name = "ADDR", requires = "insecure")]
    pub(crate) tcp: Option<SocketAddr>,
    /// Signal channel over CoAP/DTLS (RFC 9132 port 4646).
    #[arg(long, value_name = "ADDR")]
    pub(crate) dtls: Option<SocketAddr>,
    /// Signal channel over CoAP/TLS (RFC 8323).
    #[arg(long, value_name = "ADDR")]
    pub(crate) tls: Option<SocketAddr>,
    /// Allow the unauthenticated --udp/--tcp listeners (the cuid is taken from the Uri-Path).
    #[arg(long)]
    pub(crate) insecure: bool,
    /// The server's certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    /// The server's private key (PEM, PKCS#8 or SEC1).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    /// The CA certificates a client's certificate must chain to (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// A DTLS pre-shared key as IDENTITY:HEXKEY (e.g. dots-client-psk:73656372657450534b).
    #[arg(long, value_name = "IDENTITY:HEXKEY", value_parser = parse_psk)]
    pub(crate) psk: Option<Psk>,
}

fn parse_psk(s: &str) -> Result<Psk, String> {
    Psk::parse(s).map_err(|e| e.to_string())
}

/// A command line that parses but cannot be served, with the message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct UsageError {
    /// How clap should report it.
    pub(crate) kind: ErrorKind,
    /// What is wrong.
    pub(crate) message: String,
}

impl UsageError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> UsageError {
        UsageError {
            kind,
            message: message.into(),
        }
    }

    /// The same as a clap error (printed as `error: ...` with exit status 2).
    pub(crate) fn into_clap(self) -> clap::Error {
        Args::command().error(self.kind, self.message)
    }
}

impl Args {
    /// Checks the combination of flags: at least one listener, the credentials each needs, and
    /// only what this build serves.
    pub(crate) fn check(&self) -> Result<(), UsageError> {
        let secure = self.https.is_some() || self.dtls.is_some() || self.tls.is_some();
        if !secure && self.udp.is_none() && self.tcp.is_none() {
            return Err(UsageError::new(
                ErrorKind::MissingRequiredArgument,
                "nothing to serve: give at least one of --https, --udp, --tcp, --dtls, --tls",
            ));
        }
        if self.insecure && self.udp.is_none() && self.tcp.is_none() {
            return Err(UsageError::new(
                ErrorKind::ArgumentConflict,
                "--insecure only applies to the plain CoAP listeners --udp and --tcp",
            ));
        }
        if secure && (self.cert.is_none() || self.key.is_none() || self.ca.is_none()) {
            return Err(UsageError::new(
                ErrorKind::MissingRequiredArgument,
                "--https, --dtls and --tls need --cert FILE --key FILE --ca FILE \
                 (mutual X.509 authentication)",
            ));
        }
        if self.psk.is_some() && self.dtls.is_none() {
            return Err(UsageError::new(
                ErrorKind::ArgumentConflict,
                "--psk only applies to --dtls (TLS and HTTPS here are X.509 only)",
            ));
        }
        for (flag, given) in [
            ("--tcp", self.tcp.is_some()),
            ("--dtls", self.dtls.is_some()),
            ("--tls", self.tls.is_some()),
        ] {
            if given {
                return Err(UsageError::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "{flag} (the DOTS signal channel) is not yet supported by this server; \
                         --https (the data channel) and --udp --insecure are served"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Loads the credentials and makes the run configuration (after [`Args::check`]).
    pub(crate) fn load(&self) -> Result<Config, Box<dyn std::error::Error + Send + Sync>> {
        self.check()?;
        let mut config = Config {
            udp: self.udp,
            ..Config::default()
        };
        if let Some(addr) = self.https {
            let (Some(cert), Some(key), Some(ca)) = (&self.cert, &self.key, &self.ca) else {
                return Err("--https needs --cert, --key and --ca".into());
            };
            config.https = Some(crate::app::HttpsConfig {
                addr,
                identity: Identity::from_pem_files(cert, key)?,
                client_trust: Trust::from_pem_file(ca)?,
            });
        }
        Ok(config)
    }
}
