//! The command line: commands, transport and credential flags, and the checks that make a
//! command line a usage error (exit status 2) before anything is sent.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use dots::codec::ipnet::IpNet;
use dots::codec::json;
use dots::codec::model::{
    AttackStatus, ConfigParams, Decimal2, DecimalParam, IntParam, Lifetime, MitigationRequest,
    PortRange, Scope, SignalConfig, SignalMessage,
};

use crate::support::creds::Psk;

/// The DOTS signal channel port (RFC 9132 Section 4.1), for DTLS and TLS alike.
pub(crate) const DOTS_PORT: u16 = 4646;

/// A DOTS signal channel client (RFC 9132): asks a DOTS server for DDoS mitigation, follows
/// its status, withdraws it, negotiates the session configuration and runs heartbeats, over
/// DTLS, TLS or (for labs) plain CoAP.
#[derive(Debug, Clone, Parser)]
#[command(name = "client", version, about, long_about = None)]
pub(crate) struct Args {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// How to reach the server and who we are.
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// Transport and credential flags (they may follow the command).
#[derive(Debug, Clone, ClapArgs)]
pub(crate) struct ConnArgs {
    /// CoAP over DTLS to HOST[:PORT] (port 4646 by default).
    #[arg(long, value_name = "HOST[:PORT]", global = true)]
    pub(crate) dtls: Option<String>,
    /// CoAP over TLS (RFC 8323) to HOST[:PORT]; needs --cert, --key and --ca.
    #[arg(long, value_name = "HOST[:PORT]", global = true)]
    pub(crate) tls: Option<String>,
    /// Plain CoAP over UDP (no security; needs --insecure).
    #[arg(long, value_name = "HOST[:PORT]", global = true)]
    pub(crate) udp: Option<String>,
    /// Plain CoAP over TCP (RFC 8323, no security; needs --insecure).
    #[arg(long, value_name = "HOST[:PORT]", global = true)]
    pub(crate) tcp: Option<String>,
    /// Races DTLS and TLS over IPv6 and IPv4 to HOST[:PORT] (RFC 9132 Section 4.3, Happy
    /// Eyeballs) and uses the first that connects.
    #[arg(long, value_name = "HOST[:PORT]", global = true)]
    pub(crate) server: Option<String>,
    /// Our certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) cert: Option<PathBuf>,
    /// Our private key (PEM, PKCS#8 or SEC1).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) key: Option<PathBuf>,
    /// The CA certificates the server's certificate must chain to (PEM).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) ca: Option<PathBuf>,
    /// A DTLS pre-shared key, IDENTITY:HEXKEY (DTLS uses it instead of the certificate).
    #[arg(long, value_name = "IDENTITY:HEXKEY", value_parser = parse_psk, global = true)]
    pub(crate) psk: Option<Psk>,
    /// The name the server's certificate must be valid for (default: the HOST given).
    #[arg(long, value_name = "NAME", global = true)]
    pub(crate) server_name: Option<String>,
    /// Our cuid instead of the one derived from the credentials (needs --insecure).
    #[arg(long, value_name = "CUID", global = true)]
    pub(crate) cuid: Option<String>,
    /// Allows plain CoAP (--udp, --tcp) and --cuid.
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
    /// Offer DTLS 1.2 only (default: DTLS 1.3 or 1.2, as the server prefers).
    #[arg(long, global = true)]
    pub(crate) dtls12: bool,
    /// Seconds to wait for the connection and for each answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, global = true)]
    pub(crate) timeout: u64,
    /// Prints every CoAP message sent and received (retransmissions included).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
}

fn parse_psk(s: &str) -> Result<Psk, String> {
    Psk::parse(s).map_err(|e| e.to_string())
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Command {
    /// Requests mitigation (PUT /mitigate, RFC 9132 Section 4.4.1) and prints the answer.
    Mitigate(MitigateArgs),
    /// Retrieves the status of one mitigation or of all (GET /mitigate, Section 4.4.2).
    Status {
        /// The mitigation (default: all of ours).
        mid: Option<u32>,
        /// Follows the status with Observe for SECONDS (until interrupted without SECONDS).
        #[arg(long, value_name = "SECONDS", num_args = 0..=1)]
        observe: Option<Option<u64>>,
    },
    /// Withdraws a mitigation (DELETE /mitigate, Section 4.4.4).
    Withdraw {
        /// The mitigation.
        mid: u32,
    },
    /// Reads, negotiates or deletes the session configuration (/config, Section 4.5).
    Config {
        /// get (default), put or delete.
        #[command(subcommand)]
        action: Option<ConfigAction>,
    },
    /// Tells the server how its mitigation works (efficacy update, Section 4.4.3).
    Efficacy {
        /// The mitigation.
        mid: u32,
        /// `under-attack` or `attack-successfully-mitigated`.
        #[arg(long, value_enum)]
        attack_status: AttackStatusArg,
    },
    /// Runs the session and shows its heartbeats (Section 4.7).
    Heartbeat {
        /// Stops after SECONDS (default: runs until interrupted).
        #[arg(long = "for", value_name = "SECONDS")]
        duration: Option<u64>,
        /// Negotiates this heartbeat interval (seconds, within the server's range) first.
        #[arg(long, value_name = "SECONDS")]
        heartbeat_interval: Option<u16>,
    },
}

/// `attack-status` values (RFC 9132 Section 4.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AttackStatusArg {
    /// The attack is still going on.
    UnderAttack,
    /// The mitigation works.
    AttackSuccessfullyMitigated,
}

impl From<AttackStatusArg> for AttackStatus {
    fn from(a: AttackStatusArg) -> AttackStatus {
        match a {
            AttackStatusArg::UnderAttack => AttackStatus::UnderAttack,
            AttackStatusArg::AttackSuccessfullyMitigated => AttackStatus::SuccessfullyMitigated,
        }
    }
}

/// `config` actions.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ConfigAction {
    /// Fetches the server's configuration and acceptable ranges (GET /config).
    Get,
    /// Negotiates new values (PUT /config/sid=S), clamped into the server's ranges.
    Put(ConfigPutArgs),
    /// Deletes our configuration: the server's defaults apply again (DELETE /config).
    Delete,
}

/// Values of `config put`; each goes into the phases `--phase` names.
#[derive(Debug, Clone, ClapArgs)]
pub(crate) struct ConfigPutArgs {
    /// `heartbeat-interval` in seconds (0 disables heartbeats).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) heartbeat_interval: Option<u16>,
    /// `missing-hb-allowed`.
    #[arg(long, value_name = "N")]
    pub(crate) missing_hb_allowed: Option<u16>,
    /// `max-retransmit`.
    #[arg(long, value_name = "N")]
    pub(crate) max_retransmit: Option<u16>,
    /// `ack-timeout` in seconds (two decimals, e.g. 2.00).
    #[arg(long, value_name = "SECONDS", value_parser = parse_decimal)]
    pub(crate) ack_timeout: Option<Decimal2>,
    /// `ack-random-factor` (two decimals, e.g. 1.50).
    #[arg(long, value_name = "FACTOR", value_parser = parse_decimal)]
    pub(crate) ack_random_factor: Option<Decimal2>,
    /// `probing-rate` in bytes per second.
    #[arg(long, value_name = "BYTES")]
    pub(crate) probing_rate: Option<u16>,
    /// Which configuration set: idle, mitigating or both.
    #[arg(long, value_enum, default_value_t = PhaseArg::Both)]
    pub(crate) phase: PhaseArg,
    /// The `sid` to use (default: the seconds since 2024-01-01, so that `sid`s increase
    /// across runs as RFC 9132 Section 4.5.2 requires).
    #[arg(long, value_name = "N")]
    pub(crate) sid: Option<u32>,
}

fn parse_decimal(s: &str) -> Result<Decimal2, String> {
    Decimal2::parse(s).map_err(|e| format!("{e}"))
}

/// Configuration sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PhaseArg {
    /// `idle-config`.
    Idle,
    /// `mitigating-config`.
    Mitigating,
    /// Both.
    Both,
}

/// `mitigate`: the scope from flags or from an RFC 7951 JSON body.
#[derive(Debug, Clone, ClapArgs)]
pub(crate) struct MitigateArgs {
    /// A target prefix or address (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) target: Vec<String>,
    /// A target port or range N-M (repeatable).
    #[arg(long, value_name = "N|N-M")]
    pub(crate) port: Vec<String>,
    /// A target protocol: a number or tcp, udp, icmp, icmpv6, sctp (repeatable).
    #[arg(long, value_name = "N")]
    pub(crate) protocol: Vec<String>,
    /// A target FQDN (repeatable).
    #[arg(long, value_name = "NAME")]
    pub(crate) fqdn: Vec<String>,
    /// A target URI (repeatable).
    #[arg(long, value_name = "URI")]
    pub(crate) uri: Vec<String>,
    /// An alias created over the data channel (repeatable).
    #[arg(long, value_name = "NAME")]
    pub(crate) alias: Vec<String>,
    /// Lifetime in seconds, -1 for indefinite (default 3600).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub(crate) lifetime: Option<i64>,
    /// false: a pre-configured request, mitigated only when the signal channel is lost.
    #[arg(long, value_name = "BOOL")]
    pub(crate) trigger_mitigation: Option<bool>,
    /// The request body from a file: RFC 7951 JSON as the RFCs print it (RFC 9132 Figure 7).
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "target", "port", "protocol", "fqdn", "uri", "alias", "lifetime", "trigger_mitigation",
    ])]
    pub(crate) json: Option<PathBuf>,
    /// The `mid` to use (default: the seconds since 2024-01-01, so that `mid`s increase
    /// across runs as RFC 9132 Section 4.4.1 requires).
    #[arg(long, value_name = "N")]
    pub(crate) mid: Option<u32>,
}

/// A command line that cannot run: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `--dtls`.
    Dtls(HostPort),
    /// `--tls`.
    Tls(HostPort),
    /// `--udp`.
    Udp(HostPort),
    /// `--tcp`.
    Tcp(HostPort),
    /// `--server`: the Happy Eyeballs race.
    Race(HostPort),
}

impl Target {
    pub(crate) fn host_port(&self) -> &HostPort {
        match self {
            Target::Dtls(h)
            | Target::Tls(h)
            | Target::Udp(h)
            | Target::Tcp(h)
            | Target::Race(h) => h,
        }
    }
}

/// A host name or address and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// The name or address as given (IPv6 without brackets).
    pub(crate) host: String,
    /// The port.
    pub(crate) port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address.
pub(crate) fn parse_host_port(s: &str) -> Result<HostPort, UsageError> {
    let bad = || usage(format!("invalid address {s:?}: expected HOST[:PORT]"));
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad);
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        let port = match after {
            "" => DOTS_PORT,
            p => port(p.strip_prefix(':').ok_or_else(bad)?)?,
        };
        return Ok(HostPort {
            host: host.to_owned(),
            port,
        });
    }
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(HostPort {
            host: s.to_owned(),
            port: DOTS_PORT,
        });
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, port(p)?),
        None => (s, DOTS_PORT),
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !valid {
        return Err(bad());
    }
    Ok(HostPort {
        host: host.to_owned(),
        port,
    })
}

impl ConnArgs {
    /// The one transport given, checked against the credentials and `--insecure`.
    pub(crate) fn target(&self) -> Result<Target, UsageError> {
        let given: Vec<(&str, &String)> = [
            ("--dtls", &self.dtls),
            ("--tls", &self.tls),
            ("--udp", &self.udp),
            ("--tcp", &self.tcp),
            ("--server", &self.server),
        ]
        .into_iter()
        .filter_map(|(flag, v)| v.as_ref().map(|v| (flag, v)))
        .collect();
        let (flag, value) = match given.as_slice() {
            [] => {
                return Err(usage(
                    "no server given: use one of --dtls, --tls, --server, or --udp/--tcp with \
                     --insecure",
                ))
            }
            [one] => *one,
            [a, b, ..] => {
                return Err(usage(format!(
                    "{} and {} exclude each other: give one transport",
                    a.0, b.0
                )))
            }
        };
        let hp = parse_host_port(value)?;
        let x509 = self.cert.is_some() || self.key.is_some() || self.ca.is_some();
        let full_x509 = self.cert.is_some() && self.key.is_some() && self.ca.is_some();
        if x509 && !full_x509 {
            return Err(usage(
                "--cert, --key and --ca go together (X.509 mutual authentication)",
            ));
        }
        if self.cuid.is_some() && !self.insecure {
            return Err(usage(
                "--cuid needs --insecure: the cuid is derived from the credentials \
                 (RFC 9132 Section 4.4.1)",
            ));
        }
        if let Some(c) = &self.cuid {
            if c.is_empty() || c.len() > 22 * 4 || c.chars().any(|ch| ch.is_control() || ch == '/')
            {
                return Err(usage(format!("invalid --cuid {c:?}")));
            }
        }
        let target = match flag {
            "--dtls" => {
                if !full_x509 && self.psk.is_none() {
                    return Err(usage(
                        "--dtls needs --cert FILE --key FILE --ca FILE or --psk IDENTITY:HEXKEY",
                    ));
                }
                Target::Dtls(hp)
            }
            "--tls" => {
                if !full_x509 {
                    return Err(usage(
                        "--tls needs --cert FILE --key FILE --ca FILE (TLS here is X.509 only)",
                    ));
                }
                Target::Tls(hp)
            }
            "--server" => {
                if !full_x509 && self.psk.is_none() {
                    return Err(usage(
                        "--server needs --cert FILE --key FILE --ca FILE (DTLS and TLS) or \
                         --psk IDENTITY:HEXKEY (DTLS only)",
                    ));
                }
                Target::Race(hp)
            }
            plain => {
                if !self.insecure {
                    return Err(usage(format!(
                        "{plain} is plain CoAP without any security: add --insecure to use it"
                    )));
                }
                if self.cuid.is_none() && !full_x509 && self.psk.is_none() {
                    return Err(usage(format!(
                        "{plain} has no credentials to derive the cuid from: give --cuid"
                    )));
                }
                if plain == "--udp" {
                    Target::Udp(hp)
                } else {
                    Target::Tcp(hp)
                }
            }
        };
        if self.timeout == 0 {
            return Err(usage("--timeout must be at least 1 second"));
        }
        Ok(target)
    }

    /// How long to wait for a connection or an answer.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

/// The default `mid`/`sid`: seconds since 2024-01-01T00:00:00Z, so that identifiers increase
/// from one run to the next (RFC 9132 Sections 4.4.1 and 4.5.2) without a state file; below
/// the 3221225471 rollover until 2126.
pub(crate) fn default_identifier() -> u32 {
    const EPOCH_2024: u64 = 1_704_067_200;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(now.saturating_sub(EPOCH_2024))
        .unwrap_or(0)
        .clamp(1, 3_221_225_471)
}

/// The protocol number of `s` (a number or a common name).
fn parse_protocol(s: &str) -> Result<u8, UsageError> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        n => n.parse().map_err(|_| {
            usage(format!(
                "invalid --protocol {s:?}: a number 0-255 or a name"
            ))
        })?,
    })
}

fn parse_port_range(s: &str) -> Result<PortRange, UsageError> {
    let bad = || usage(format!("invalid --port {s:?}: expected N or N-M"));
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (
                a.trim().parse::<u16>().map_err(|_| bad())?,
                b.trim().parse::<u16>().map_err(|_| bad())?,
            );
            if b < a {
                return Err(usage(format!(
                    "invalid --port {s:?}: the range is reversed"
                )));
            }
            Ok(PortRange::new(a, b))
        }
        None => Ok(PortRange::single(s.trim().parse().map_err(|_| bad())?)),
    }
}

fn parse_prefix(s: &str) -> Result<IpNet, UsageError> {
    if let Ok(p) = s.parse::<IpNet>() {
        return Ok(p.trunc());
    }
    s.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        usage(format!(
            "invalid --target {s:?}: expected an IP prefix or address"
        ))
    })
}

impl MitigateArgs {
    /// The scope to request, validated as a mitigation request (RFC 9132 Section 4.4.1).
    pub(crate) fn scope(&self) -> Result<Scope, UsageError> {
        let scope = match &self.json {
            Some(path) => scope_from_json(path)?,
            None => self.scope_from_flags()?,
        };
        let mut check = scope.clone();
        if check.lifetime.is_none() {
            check.lifetime = Some(Lifetime::Seconds(3600));
        }
        MitigationRequest::new(check)
            .validate()
            .map_err(|e| usage(format!("invalid mitigation request: {e}")))?;
        Ok(scope)
    }

    fn scope_from_flags(&self) -> Result<Scope, UsageError> {
        let full = |what: &str| usage(format!("too many {what} for one scope"));
        let mut s = Scope::new();
        for t in &self.target {
            s.targets
                .push_prefix(parse_prefix(t)?)
                .map_err(|_| full("--target"))?;
        }
        for p in &self.port {
            s.targets
                .port_ranges
                .push(parse_port_range(p)?)
                .map_err(|_| full("--port"))?;
        }
        for p in &self.protocol {
            s.targets
                .protocols
                .push(parse_protocol(p)?)
                .map_err(|_| full("--protocol"))?;
        }
        for f in &self.fqdn {
            s.targets.push_fqdn(f).map_err(|_| full("names"))?;
        }
        for u in &self.uri {
            s.targets.push_uri(u).map_err(|_| full("names"))?;
        }
        for a in &self.alias {
            s.targets.push_alias_name(a).map_err(|_| full("names"))?;
        }
        if !s.targets.has_target() {
            return Err(usage(
                "mitigate needs a target: --target, --fqdn, --uri, --alias, or --json FILE",
            ));
        }
        s.lifetime = match self.lifetime {
            Some(l) => Some(
                Lifetime::from_i64(l)
                    .ok_or_else(|| usage(format!("invalid --lifetime {l}: seconds or -1")))?,
            ),
            None => None,
        };
        s.trigger_mitigation = self.trigger_mitigation;
        Ok(s)
    }
}

/// The one scope of an RFC 7951 JSON `mitigation-scope` body.
fn scope_from_json(path: &std::path::Path) -> Result<Scope, UsageError> {
    let text = std::fs::read(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let msg = json::from_slice(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let SignalMessage::MitigationScope(body) = msg else {
        return Err(usage(format!(
            "{}: not a mitigation request (expected ietf-dots-signal-channel:mitigation-scope)",
            path.display()
        )));
    };
    if !body.telemetry.is_empty() {
        return Err(usage(format!(
            "{}: RFC 9244 telemetry members are not sent with a mitigation request",
            path.display()
        )));
    }
    let [entry] = body.scopes.as_slice() else {
        return Err(usage(format!(
            "{}: a mitigation request has exactly one scope (RFC 9132 Section 4.4.1), this body \
             has {}",
            path.display(),
            body.scopes.len()
        )));
    };
    if let Some(field) = entry.first_server_only_member() {
        return Err(usage(format!(
            "{}: '{field}' is sent by servers only",
            path.display()
        )));
    }
    Ok(entry.scope.clone())
}

impl ConfigPutArgs {
    /// The configuration to negotiate (current values only).
    pub(crate) fn config(&self) -> Result<SignalConfig, UsageError> {
        let int = |v: Option<u16>| v.map(IntParam::current);
        let dec = |v: Option<Decimal2>| v.map(DecimalParam::current);
        let params = ConfigParams {
            heartbeat_interval: int(self.heartbeat_interval),
            missing_hb_allowed: int(self.missing_hb_allowed),
            probing_rate: int(self.probing_rate),
            max_retransmit: int(self.max_retransmit),
            ack_timeout: dec(self.ack_timeout),
            ack_random_factor: dec(self.ack_random_factor),
            ..ConfigParams::default()
        };
        if params.is_empty() {
            return Err(usage(
                "config put needs at least one value: --heartbeat-interval, \
                 --missing-hb-allowed, --max-retransmit, --ack-timeout, --ack-random-factor, \
                 --probing-rate",
            ));
        }
        let (idle, mitigating) = match self.phase {
            PhaseArg::Idle => (Some(params), None),
            PhaseArg::Mitigating => (None, Some(params)),
            PhaseArg::Both => (Some(params), Some(params)),
        };
        let config = SignalConfig {
            sid: None,
            mitigating_config: mitigating,
            idle_config: idle,
        };
        config
            .validate_request()
            .map_err(|e| usage(format!("invalid configuration: {e}")))?;
        Ok(config)
    }
}

impl Args {
    /// Everything that can be checked without the network or the files.
    pub(crate) fn check(&self) -> Result<Target, UsageError> {
        let target = self.conn.target()?;
        match &self.command {
            Command::Mitigate(m) => {
                m.scope()?;
            }
            Command::Config {
                action: Some(ConfigAction::Put(p)),
            } => {
                p.config()?;
            }
            Command::Heartbeat {
                duration: Some(0), ..
            } => return Err(usage("--for must be at least 1 second")),
            _ => {}
        }
        Ok(target)
    }
}
