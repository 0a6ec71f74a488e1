//! The recommended derivation of a DOTS client's `cuid` (RFC 9132 §4.4.1).
//!
//! RFC 9132 §4.4.1 says implementations SHOULD derive the Client Unique Identifier from the
//! credential the client authenticates with:
//!
//! 1. SHA-256 over one of: the DER-encoded SubjectPublicKeyInfo (SPKI) of the client's X.509
//!    certificate, its raw public key (RFC 7250), the PSK identity of the TLS 1.2
//!    ClientKeyExchange, or the `identity` of the TLS 1.3 `pre_shared_key` extension;
//! 2. keep the first 16 bytes of the hash ("stripping off the final 16 bytes");
//! 3. base64url-encode them (RFC 4648 §5) and drop the two trailing `=`.
//!
//! The result is always [`CUID_LEN`] (22) ASCII characters, which the RFC recommends to avoid
//! fragmenting signal messages over UDP. A DOTS server derives the same value from the peer's
//! credential to bind a session to a client.
//!
//! ```
//! use dots_proto::cuid::Cuid;
//!
//! let cuid = Cuid::from_psk_identity(b"dots-client-psk");
//! assert_eq!(cuid.as_str(), "VKJY5XQNk5HjIRNpNBAdNA");
//! assert_eq!(cuid.as_str().len(), dots_proto::cuid::CUID_LEN);
//! ```

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

/// Length in characters of a derived `cuid`: 16 bytes in unpadded base64url (RFC 9132 §4.4.1).
pub const CUID_LEN: usize = 22;

/// Number of leading SHA-256 output bytes kept (RFC 9132 §4.4.1).
pub const CUID_HASH_BYTES: usize = 16;

/// A `cuid` derived from a client credential as RFC 9132 §4.4.1 recommends: always
/// [`CUID_LEN`] characters of the base64url alphabet (`A-Z a-z 0-9 - _`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cuid([u8; CUID_LEN]);

impl Cuid {
    /// The `cuid` of a client authenticated with an X.509 certificate: `spki_der` is the
    /// DER-encoded SubjectPublicKeyInfo of the certificate (the whole SEQUENCE, algorithm
    /// identifier included), not the certificate itself.
    #[must_use]
    pub fn from_spki(spki_der: &[u8]) -> Cuid {
        Cuid::derive(spki_der)
    }

    /// The `cuid` of a client authenticated with a raw public key (RFC 7250). A raw public key
    /// travels as a DER SubjectPublicKeyInfo (RFC 7250 §3), so this equals [`Cuid::from_spki`].
    #[must_use]
    pub fn from_raw_public_key(spki_der: &[u8]) -> Cuid {
        Cuid::derive(spki_der)
    }

    /// The `cuid` of a client authenticated with a pre-shared key: `identity` is the PSK identity
    /// as sent on the wire (TLS 1.2 ClientKeyExchange or the TLS 1.3 `pre_shared_key` identity).
    #[must_use]
    pub fn from_psk_identity(identity: &[u8]) -> Cuid {
        Cuid::derive(identity)
    }

    /// The derivation itself over arbitrary credential bytes: SHA-256, first 16 bytes,
    /// base64url without padding.
    #[must_use]
    pub fn derive(credential: &[u8]) -> Cuid {
        let digest = Sha256::digest(credential);
        let mut head = [0u8; CUID_HASH_BYTES];
        for (dst, src) in head.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
        let mut out = [0u8; CUID_LEN];
        // 16 bytes always encode to exactly 22 unpadded characters, so the buffer fits; should an
        // encoder ever disagree, the all-'A' value (the encoding of 16 zero bytes) is returned
        // instead of panicking.
        if Base64UrlUnpadded::encode(&head, &mut out).is_err() {
            out = [b'A'; CUID_LEN];
        }
        Cuid(out)
    }

    /// The `cuid` as text, e.g. for the `cuid=` Uri-Path segment.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only base64url ASCII is ever stored; the fallback is unreachable in practice.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The `cuid` as ASCII bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; CUID_LEN] {
        &self.0
    }
}

impl AsRef<str> for Cuid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Cuid {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Cuid {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Cuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Cuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cuid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes lowercase hex test input.
    fn hex(s: &str) -> [u8; 128] {
        let mut out = [0u8; 128];
        let b = s.as_bytes();
        let mut i = 0;
        while i + 1 < b.len() {
            let nib = |c: u8| match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => panic!("bad hex"),
            };
            out[i / 2] = (nib(b[i]) << 4) | nib(b[i + 1]);
            i += 2;
        }
        out
    }

    // Expected values computed once outside Rust with
    //   openssl dgst -sha256 -binary | head -c 16 | openssl base64 -A | tr '+/' '-_' | tr -d '='
    // and cross-checked with Python's hashlib + base64.urlsafe_b64encode.

    #[test]
    fn psk_identity_of_the_conformance_kit() {
        assert_eq!(
            Cuid::from_psk_identity(b"dots-client-psk"),
            "VKJY5XQNk5HjIRNpNBAdNA"
        );
    }

    #[test]
    fn short_inputs() {
        assert_eq!(Cuid::derive(b"").as_str(), "47DEQpj8HBSa-_TImW-5JA");
        assert_eq!(Cuid::derive(b"abc").as_str(), "ungWv48Bz-pBQUDeXa4iIw");
    }

    #[test]
    fn p256_spki() {
        // `openssl pkey -pubout -outform DER` of a throwaway P-256 key (91 bytes).
        const SPKI: &str = "3059301306072a8648ce3d020106082a8648ce3d03010703420004ecc764088c561b14\
                            4ad098ff9929e936c9e8b7084ac26db813143caac640bc622f75f4877ee0bd52d8a2\
                            0559ee3284ff47a06df3f3970858d95486df8daaebf9";
        let spki = hex(SPKI);
        let spki = &spki[..SPKI.len() / 2];
        assert_eq!(spki.len(), 91);
        assert_eq!(Cuid::from_spki(spki), "8gESfTbkbtVK9DSwqKe1jg");
        assert_eq!(Cuid::from_raw_public_key(spki), Cuid::from_spki(spki));
    }

    #[test]
    fn ed25519_spki() {
        const SPKI: &str =
            "302a300506032b65700321001250a6b6d10348cbe9d15c6d46b33a66ca7f08331e64d5af024f1cf468adb4a3";
        let spki = hex(SPKI);
        let spki = &spki[..SPKI.len() / 2];
        assert_eq!(Cuid::from_spki(spki), "9sebypaEc90bjHuN6H0Ayg");
    }

    #[test]
    fn formatting() {
        extern crate std;
        use std::format;
        let c = Cuid::from_psk_identity(b"dots-client-psk");
        assert_eq!(format!("{c}"), "VKJY5XQNk5HjIRNpNBAdNA");
        assert_eq!(format!("{c:?}"), "Cuid(VKJY5XQNk5HjIRNpNBAdNA)");
        assert_eq!(c.as_bytes(), b"VKJY5XQNk5HjIRNpNBAdNA");
        let s: &str = c.as_ref();
        assert_eq!(s, "VKJY5XQNk5HjIRNpNBAdNA");
    }

    proptest! {
        #[test]
        fn always_22_base64url_chars(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let c = Cuid::derive(&input);
            prop_assert_eq!(c.as_str().len(), CUID_LEN);
            prop_assert!(c
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            // Deterministic, and the last character carries only 4 significant bits
            // (16 bytes = 128 bits = 21 * 6 + 2), so it is one of the 4-aligned letters.
            prop_assert_eq!(Cuid::derive(&input), c);
            let last = c.as_bytes()[CUID_LEN - 1];
            prop_assert!(b"AQgw".contains(&last));
        }
    }
}
