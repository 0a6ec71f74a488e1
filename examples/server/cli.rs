//! Command line of the `server` example: which sockets to serve and with which credentials.
//!
//! Combinations that cannot be served (no listener, missing credentials, `--insecure` or
//! `--psk` where they do not apply) are refused with a clear message (exit status 2) by
//! [`Args::check`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory as _, Parser};

use crate::app::{Config, DtlsListen, HttpsConfig};
use crate::support::creds::{Identity, Psk, Trust};
use crate::support::dtls::ServerConfig as DtlsConfig;

/// A DOTS server: the data channel (RFC 8783, RESTCONF over HTTPS) and the signal channel
/// (RFC 9132: CoAP over DTLS or TLS; plain CoAP over UDP or TCP for the lab) on the same
/// client state.
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
    /// Signal channel over CoAP/DTLS (RFC 9132 port 4646); needs --cert, --key and --ca
    /// (X.509 mutual authentication) and/or --psk.
    #[arg(long, value_name = "ADDR")]
    pub(crate) dtls: Option<SocketAddr>,
    /// Signal channel over CoAP/TLS (RFC 8323); needs --cert, --key and --ca.
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
    /// The in-memory mitigator reports each new mitigation as attack-successfully-mitigated
    /// after SECONDS.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_seconds)]
    pub(crate) mitigated_after: f64,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds from 0 to 86400")),
    }
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
        let listeners = [self.https, self.udp, self.tcp, self.dtls, self.tls];
        if listeners.iter().all(Option::is_none) {
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
        let x509 = self.cert.is_some() && self.key.is_some() && self.ca.is_some();
        if (self.https.is_some() || self.tls.is_some()) && !x509 {
            return Err(UsageError::new(
                ErrorKind::MissingRequiredArgument,
                "--https and --tls need --cert FILE --key FILE --ca FILE \
                 (mutual X.509 authentication)",
            ));
        }
        if self.dtls.is_some() && !x509 && (self.psk.is_none() || self.cert.is_some()) {
            return Err(UsageError::new(
                ErrorKind::MissingRequiredArgument,
                "--dtls needs --cert FILE --key FILE --ca FILE (mutual X.509 authentication) \
                 and/or --psk IDENTITY:HEXKEY",
            ));
        }
        if self.psk.is_some() && self.dtls.is_none() {
            return Err(UsageError::new(
                ErrorKind::ArgumentConflict,
                "--psk only applies to --dtls (TLS and HTTPS here are X.509 only)",
            ));
        }
        Ok(())
    }

    /// Loads the credentials and makes the run configuration (after [`Args::check`]).
    pub(crate) fn load(&self) -> Result<Config, Box<dyn std::error::Error + Send + Sync>> {
        self.check()?;
        let mut config = Config {
            udp: self.udp,
            tcp: self.tcp,
            mitigated_after: Duration::from_secs_f64(self.mitigated_after),
            ..Config::default()
        };
        let x509 = match (&self.cert, &self.key, &self.ca) {
            (Some(cert), Some(key), Some(ca)) => Some((
                Identity::from_pem_files(cert, key)?,
                Trust::from_pem_file(ca)?,
            )),
            _ => None,
        };
        let with_x509 = |addr: SocketAddr, flag: &str| match &x509 {
            Some((identity, client_trust)) => Ok(HttpsConfig {
                addr,
                identity: identity.clone(),
                client_trust: client_trust.clone(),
            }),
            None => Err(format!("{flag} needs --cert, --key and --ca")),
        };
        if let Some(addr) = self.https {
            config.https = Some(with_x509(addr, "--https")?);
        }
        if let Some(addr) = self.tls {
            config.tls = Some(with_x509(addr, "--tls")?);
        }
        if let Some(addr) = self.dtls {
            config.dtls = Some(DtlsListen {
                addr,
                config: DtlsConfig {
                    x509: x509.clone(),
                    psks: self.psk.iter().cloned().collect(),
                    max_peers: 0,
                },
            });
        }
        Ok(config)
    }
}
