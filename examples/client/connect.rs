//! Credentials, the connection to the server (one transport, or the Happy Eyeballs race), and
//! the `cuid` that goes with the credential the connection used.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::app::Failure;
use crate::cli::{ConnArgs, HostPort, Target};
use crate::race;
use crate::support::creds::{Identity, Psk, Trust};
use crate::support::dtls::{ClientAuth, DtlsVersion, UdpDtlsClient};
use crate::support::tls::{client_config, ALPN_COAP};
use crate::support::transport::{Link, LinkError, Security, TcpLink, TlsLink, UdpLink};

/// The credentials given on the command line, loaded.
#[derive(Clone)]
pub(crate) struct Creds {
    /// `--cert`/`--key`.
    pub(crate) identity: Option<Identity>,
    /// `--ca`.
    pub(crate) trust: Option<Trust>,
    /// `--psk`.
    pub(crate) psk: Option<Psk>,
    /// The name the server's certificate must be valid for.
    pub(crate) server_name: String,
    /// DTLS 1.2 only.
    pub(crate) dtls12: bool,
    /// The TLS client configuration (with ALPN `coap`), when X.509 credentials were given.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl Creds {
    /// Loads the files the flags name.
    pub(crate) fn load(args: &ConnArgs, target: &Target) -> Result<Creds, Failure> {
        let identity = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => Some(
                Identity::from_pem_files(cert, key)
                    .map_err(|e| Failure::new(format!("cannot load --cert/--key: {e}")))?,
            ),
            _ => None,
        };
        let trust = match &args.ca {
            Some(ca) => Some(
                Trust::from_pem_file(ca)
                    .map_err(|e| Failure::new(format!("cannot load --ca: {e}")))?,
            ),
            None => None,
        };
        let tls = match (&identity, &trust) {
            (Some(id), Some(trust)) => Some(
                client_config(Some(id), trust, &[ALPN_COAP])
                    .map_err(|e| Failure::new(format!("TLS configuration: {e}")))?,
            ),
            _ => None,
        };
        Ok(Creds {
            identity,
            trust,
            psk: args.psk.clone(),
            server_name: args
                .server_name
                .clone()
                .unwrap_or_else(|| target.host_port().host.clone()),
            dtls12: args.dtls12,
            tls,
        })
    }

    /// How DTLS authenticates: the PSK when there is one, else the certificate.
    pub(crate) fn dtls_auth(&self) -> Option<ClientAuth> {
        if let Some(psk) = &self.psk {
            return Some(ClientAuth::Psk(psk.clone()));
        }
        Some(ClientAuth::Certificate {
            identity: self.identity.clone()?,
            trust: self.trust.clone()?,
            server_name: self.server_name.clone(),
        })
    }

    /// The `cuid` of the credential a link of this security uses (RFC 9132 Section 4.4.1).
    pub(crate) fn cuid_for(&self, security: Security) -> Option<String> {
        let from_cert = || self.identity.as_ref()?.cuid().ok().map(|c| c.to_string());
        let from_psk = || self.psk.as_ref().map(|p| p.cuid().to_string());
        match security {
            Security::Dtls => from_psk().or_else(from_cert),
            Security::Tls => from_cert(),
            Security::Plain => from_cert().or_else(from_psk),
        }
    }

    /// One connection attempt (also used by the race).
    pub(crate) fn attempt(
        &self,
        addr: SocketAddr,
        tls: bool,
        timeout: Duration,
    ) -> Result<Box<dyn Link>, LinkError> {
        if tls {
            let config = self
                .tls
                .clone()
                .ok_or_else(|| LinkError::Tls("no X.509 credentials for TLS".to_owned()))?;
            return Ok(Box::new(TlsLink::connect(
                addr,
                &self.server_name,
                config,
                timeout,
            )?));
        }
        let auth = self
            .dtls_auth()
            .ok_or_else(|| LinkError::Tls("no credentials for DTLS".to_owned()))?;
        let version = if self.dtls12 {
            DtlsVersion::Dtls12
        } else {
            DtlsVersion::Auto
        };
        Ok(Box::new(UdpDtlsClient::connect_with(
            addr, auth, version, timeout,
        )?))
    }
}

/// A connected link and who we are on it.
pub(crate) struct Connected {
    /// The link.
    pub(crate) link: Box<dyn Link>,
    /// Our `cuid` on it.
    pub(crate) cuid: String,
    /// The server's name (for the session's redirection memory).
    pub(crate) server: String,
}

/// The addresses of `hp` (at least one).
pub(crate) fn resolve(hp: &HostPort) -> Result<Vec<SocketAddr>, Failure> {
    let addrs: Vec<SocketAddr> = (hp.host.as_str(), hp.port)
        .to_socket_addrs()
        .map_err(|e| Failure::new(format!("cannot resolve {}: {e}", hp.host)))?
        .collect();
    if addrs.is_empty() {
        return Err(Failure::new(format!("{} has no address", hp.host)));
    }
    Ok(addrs)
}

/// The first address of `hp` (in the resolver's order).
fn resolve_one(hp: &HostPort) -> Result<SocketAddr, Failure> {
    resolve(hp)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(format!("{} has no address", hp.host)))
}

/// Connects as the flags say, printing what it does.
pub(crate) fn connect(
    args: &ConnArgs,
    target: &Target,
    out: &mut dyn std::io::Write,
) -> Result<Connected, Failure> {
    let creds = Creds::load(args, target)?;
    let timeout = args.timeout();
    let hp = target.host_port();
    let fail = |what: &str, addr: SocketAddr, e: LinkError| {
        Failure::new(format!("{what} connection to {addr} failed: {e}"))
    };
    let link: Box<dyn Link> = match target {
        Target::Race(hp) => race::race(&creds, &resolve(hp)?, timeout, out)?,
        Target::Dtls(_) => {
            let addr = resolve_one(hp)?;
            creds
                .attempt(addr, false, timeout)
                .map_err(|e| fail("DTLS", addr, e))?
        }
        Target::Tls(_) => {
            let addr = resolve_one(hp)?;
            creds
                .attempt(addr, true, timeout)
                .map_err(|e| fail("TLS", addr, e))?
        }
        Target::Udp(_) => {
            let addr = resolve_one(hp)?;
            Box::new(UdpLink::connect(addr).map_err(|e| fail("UDP", addr, e))?)
        }
        Target::Tcp(_) => {
            let addr = resolve_one(hp)?;
            Box::new(TcpLink::connect(addr, timeout).map_err(|e| fail("TCP", addr, e))?)
        }
    };
    let cuid = match &args.cuid {
        Some(c) => c.clone(),
        None => creds.cuid_for(link.security()).ok_or_else(|| {
            Failure::new("no credential to derive the cuid from on this transport")
        })?,
    };
    let _ = writeln!(out, "connected: {} (cuid {cuid})", link.describe());
    Ok(Connected {
        link,
        cuid,
        server: hp.host.clone(),
    })
}
