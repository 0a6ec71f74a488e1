//! A throwaway test PKI made at run time with `rcgen` (ECDSA P-256), never written into the
//! repository: a CA, a server certificate for `localhost`/127.0.0.1/::1, two client
//! certificates, and a rogue CA with a client of its own that a DOTS server must refuse.

use std::fs;
use std::io;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PublicKeyData, PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::creds::{Identity, Trust};

/// One certificate with its private key.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate (DER).
    pub cert: CertificateDer<'static>,
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM).
    pub key_pem: String,
    /// The private key (PKCS#8 DER).
    pub key_der: Vec<u8>,
    /// The DER SubjectPublicKeyInfo of the key, as rcgen serializes it (the `cuid` input).
    pub spki: Vec<u8>,
}

impl Issued {
    /// The certificate and key as an [`Identity`] (a one-certificate chain).
    #[must_use]
    pub fn identity(&self) -> Identity {
        Identity {
            chain: vec![self.cert.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
        }
    }
}

/// The whole test PKI.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA every legitimate party trusts.
    pub ca: Issued,
    /// The DOTS server (SAN `localhost`, `127.0.0.1`, `::1`; EKU serverAuth).
    pub server: Issued,
    /// A DOTS client (EKU clientAuth).
    pub client: Issued,
    /// A second DOTS client of the same CA.
    pub client2: Issued,
    /// A CA nobody trusts.
    pub rogue_ca: Issued,
    /// A client certified by the rogue CA: its handshakes must fail.
    pub rogue_client: Issued,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "DOTS interop test");
    dn.push(DnType::CommonName, cn);
    dn
}

fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
}

fn issued(cert: &rcgen::Certificate, key: &KeyPair) -> Issued {
    Issued {
        cert: cert.der().clone(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
        spki: key.subject_public_key_info(),
    }
}

fn make_ca(cn: &str) -> Result<(CertifiedIssuer<'static, KeyPair>, Issued), rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params);
    let key_pem = key.serialize_pem();
    let key_der = key.serialize_der();
    let spki = key.subject_public_key_info();
    let ca = CertifiedIssuer::self_signed(params, key)?;
    let out = Issued {
        cert: ca.der().clone(),
        cert_pem: ca.pem(),
        key_pem,
        key_der,
        spki,
    };
    Ok((ca, out))
}

fn make_leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    cn: &str,
    sans: &[&str],
    eku: ExtendedKeyUsagePurpose,
) -> Result<Issued, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())?;
    params.distinguished_name = dn(cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![eku];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params);
    let cert = params.signed_by(&key, issuer)?;
    Ok(issued(&cert, &key))
}

impl TestPki {
    /// Makes a fresh PKI (new keys every time).
    pub fn generate() -> Result<TestPki, rcgen::Error> {
        let (ca, ca_out) = make_ca("DOTS Test CA")?;
        let (rogue, rogue_out) = make_ca("Rogue CA")?;
        let server = make_leaf(
            &ca,
            "dots-server.test",
            &["localhost", "dots-server.test", "127.0.0.1", "::1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let client = make_leaf(
            &ca,
            "dots-client-1",
            &["dots-client-1.test"],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let client2 = make_leaf(
            &ca,
            "dots-client-2",
            &["dots-client-2.test"],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let rogue_client = make_leaf(
            &rogue,
            "dots-client-rogue",
            &["dots-client-rogue.test"],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        Ok(TestPki {
            ca: ca_out,
            server,
            client,
            client2,
            rogue_ca: rogue_out,
            rogue_client,
        })
    }

    /// Trust in the test CA.
    #[must_use]
    pub fn trust(&self) -> Trust {
        Trust::from_der(vec![self.ca.cert.clone()])
    }

    /// Writes PEM files into `dir` (which must exist): `ca.pem`, `server.pem`/`server.key`,
    /// `client.pem`/`client.key`, `client2.pem`/`client2.key`, `rogue-ca.pem`,
    /// `rogue-client.pem`/`rogue-client.key`. Keys are PKCS#8 and readable by the owner only.
    pub fn write_pem(&self, dir: &Path) -> io::Result<()> {
        fs::write(dir.join("ca.pem"), &self.ca.cert_pem)?;
        fs::write(dir.join("rogue-ca.pem"), &self.rogue_ca.cert_pem)?;
        for (name, i) in [
            ("server", &self.server),
            ("client", &self.client),
            ("client2", &self.client2),
            ("rogue-client", &self.rogue_client),
        ] {
            fs::write(dir.join(format!("{name}.pem")), &i.cert_pem)?;
            write_private(&dir.join(format!("{name}.key")), &i.key_pem)?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    fs::write(path, contents)
}
