//! Credentials: own certificate and key, trust anchors, pre-shared keys, and the authenticated
//! identity of a peer with its RFC 9132 §4.4.1 `cuid`.
//!
//! Certificate chains are validated with `rustls-webpki` (the same code rustls uses), because
//! `dimpl` hands the peer's leaf certificate to its caller without any PKI validation.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dots::proto::cuid::Cuid;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, TrustAnchor, UnixTime};

/// Why credentials could not be loaded or a peer could not be authenticated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A certificate is not a valid X.509 certificate.
    #[error("malformed certificate: {0}")]
    Malformed(webpki::Error),
    /// The peer's certificate chain does not lead to a trust anchor (or is expired, has the
    /// wrong key usage, ...).
    #[error("certificate not trusted: {0}")]
    Untrusted(webpki::Error),
    /// The server certificate is not valid for the name the client asked for.
    #[error("certificate not valid for {name}: {source}")]
    WrongName {
        /// The name the client expected.
        name: String,
        /// The webpki verdict.
        source: webpki::Error,
    },
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    NoCertificate,
    /// A `--psk` value is not `IDENTITY:HEXKEY`.
    #[error("PSK must be IDENTITY:HEXKEY with a non-empty identity and an even number of hex digits: {0}")]
    BadPsk(String),
    /// A server name is neither a DNS name nor an IP address.
    #[error("invalid server name {0:?}")]
    BadServerName(String),
}

/// A certificate chain (leaf first) with the leaf's private key: what a (D)TLS endpoint presents.
#[derive(Debug)]
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8 or SEC1 for ECDSA).
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Loads a PEM certificate chain (`--cert`) and a PEM private key (`--key`).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, CredError> {
        let chain = load_certs(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| CredError::Pem {
            path: key.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Identity { chain, key })
    }

    /// The leaf certificate (`None` only for an empty chain, which the loaders refuse).
    #[must_use]
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.chain.first()
    }

    /// The `cuid` a DOTS client presenting this identity has (RFC 9132 §4.4.1).
    pub fn cuid(&self) -> Result<Cuid, CredError> {
        let leaf = self.leaf().ok_or(CredError::NoCertificate)?;
        Ok(Cuid::from_spki(&spki_of(leaf)?))
    }
}

/// The certificate authorities a peer's chain must lead to (`--ca`).
#[derive(Clone, Debug)]
pub struct Trust {
    certs: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// Trust anchors from DER certificates.
    #[must_use]
    pub fn from_der(certs: Vec<CertificateDer<'static>>) -> Trust {
        Trust { certs }
    }

    /// Loads trust anchors from a PEM file with one or more certificates.
    pub fn from_pem_file(path: &Path) -> Result<Trust, CredError> {
        Ok(Trust {
            certs: load_certs(path)?,
        })
    }

    /// The CA certificates.
    #[must_use]
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// The same anchors for rustls.
    pub fn root_store(&self) -> Result<rustls::RootCertStore, CredError> {
        let mut store = rustls::RootCertStore::empty();
        for c in &self.certs {
            store.add(c.clone()).map_err(|e| CredError::Pem {
                path: PathBuf::from("<trust anchors>"),
                reason: e.to_string(),
            })?;
        }
        Ok(store)
    }

    fn anchors(&self) -> Result<Vec<TrustAnchor<'_>>, CredError> {
        self.certs
            .iter()
            .map(|c| webpki::anchor_from_trusted_cert(c).map_err(CredError::Malformed))
            .collect()
    }

    /// Validates a DOTS client's chain (`leaf` plus `intermediates`) for TLS client
    /// authentication at `now`, and returns the client's identity with its `cuid`.
    pub fn verify_client(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: SystemTime,
    ) -> Result<PeerIdentity, CredError> {
        let anchors = self.anchors()?;
        let ee = webpki::EndEntityCert::try_from(leaf).map_err(CredError::Malformed)?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            unix_time(now),
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(CredError::Untrusted)?;
        let spki = ee.subject_public_key_info().as_ref().to_vec();
        Ok(PeerIdentity {
            cuid: Cuid::from_spki(&spki),
            credential: Credential::Certificate {
                leaf: leaf.clone().into_owned(),
                spki,
            },
        })
    }

    /// Validates a DOTS server's chain for TLS server authentication at `now` and checks that it
    /// is valid for `server_name` (a DNS name or an IP address in the certificate's SANs).
    pub fn verify_server(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &str,
        now: SystemTime,
    ) -> Result<(), CredError> {
        let name = ServerName::try_from(server_name)
            .map_err(|_| CredError::BadServerName(server_name.to_owned()))?;
        let anchors = self.anchors()?;
        let ee = webpki::EndEntityCert::try_from(leaf).map_err(CredError::Malformed)?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            unix_time(now),
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(CredError::Untrusted)?;
        ee.verify_is_valid_for_subject_name(&name)
            .map_err(|source| CredError::WrongName {
                name: server_name.to_owned(),
                source,
            })
    }
}

/// A pre-shared key (`--psk IDENTITY:HEXKEY`).
#[derive(Clone, PartialEq, Eq)]
pub struct Psk {
    /// The PSK identity sent by the client.
    pub identity: Vec<u8>,
    /// The secret.
    pub key: Vec<u8>,
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .finish()
    }
}

impl Psk {
    /// Parses `IDENTITY:HEXKEY` (the identity may itself contain `:`; the key is after the last
    /// one), e.g. `dots-client-psk:73656372657450534b`.
    pub fn parse(s: &str) -> Result<Psk, CredError> {
        let bad = || CredError::BadPsk(s.to_owned());
        let (identity, hex) = s.rsplit_once(':').ok_or_else(bad)?;
        if identity.is_empty() || hex.is_empty() || hex.len() % 2 != 0 {
            return Err(bad());
        }
        let key = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        Ok(Psk {
            identity: identity.as_bytes().to_vec(),
            key,
        })
    }

    /// The `cuid` of a client using this PSK (RFC 9132 §4.4.1: hash of the PSK identity).
    #[must_use]
    pub fn cuid(&self) -> Cuid {
        Cuid::from_psk_identity(&self.identity)
    }
}

/// How a peer authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An X.509 certificate validated against the trust anchors.
    Certificate {
        /// The peer's leaf certificate.
        leaf: CertificateDer<'static>,
        /// Its DER SubjectPublicKeyInfo (the `cuid` input).
        spki: Vec<u8>,
    },
    /// A pre-shared key.
    Psk {
        /// The PSK identity the peer sent (the `cuid` input).
        identity: Vec<u8>,
    },
}

/// An authenticated DOTS peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// RFC 9132 §4.4.1 `cuid` derived from the credential.
    pub cuid: Cuid,
    /// The credential.
    pub credential: Credential,
}

impl PeerIdentity {
    /// The identity of a client that used `identity` as its PSK identity.
    #[must_use]
    pub fn psk(identity: &[u8]) -> PeerIdentity {
        PeerIdentity {
            cuid: Cuid::from_psk_identity(identity),
            credential: Credential::Psk {
                identity: identity.to_vec(),
            },
        }
    }
}

impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credential {
            Credential::Certificate { .. } => write!(f, "cuid={} (x509)", self.cuid),
            Credential::Psk { identity } => write!(
                f,
                "cuid={} (psk {:?})",
                self.cuid,
                String::from_utf8_lossy(identity)
            ),
        }
    }
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn spki_of(cert: &CertificateDer<'_>) -> Result<Vec<u8>, CredError> {
    let ee = webpki::EndEntityCert::try_from(cert).map_err(CredError::Malformed)?;
    Ok(ee.subject_public_key_info().as_ref().to_vec())
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, CredError> {
    let err = |reason: String| CredError::Pem {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE in the file".to_owned()));
    }
    Ok(certs)
}

fn unix_time(t: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default())
}
