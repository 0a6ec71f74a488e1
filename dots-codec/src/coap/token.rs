//! The token (RFC 7252 §5.3.1): 0–8 opaque bytes matching responses to requests.

use core::fmt;

use super::error::BuildError;

/// A token of 0–8 bytes, stored inline (`Copy`, no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Token {
    len: u8,
    // Bytes past `len` are always zero, so the derived comparisons compare the token.
    bytes: [u8; 8],
}

impl Token {
    /// The longest token (RFC 7252 §3).
    pub const MAX_LEN: usize = 8;

    /// The empty token.
    pub const EMPTY: Token = Token {
        len: 0,
        bytes: [0; 8],
    };

    /// A token from up to 8 bytes.
    ///
    /// # Errors
    /// [`BuildError::TokenTooLong`] beyond 8 bytes.
    #[inline]
    pub fn new(bytes: &[u8]) -> Result<Token, BuildError> {
        let mut token = Token::EMPTY;
        let dst = token
            .bytes
            .get_mut(..bytes.len())
            .ok_or(BuildError::TokenTooLong(bytes.len()))?;
        dst.copy_from_slice(bytes);
        token.len = bytes.len() as u8;
        Ok(token)
    }

    /// An 8-byte token from a `u64` (big-endian), e.g. drawn from the caller's seeded PRNG.
    #[must_use]
    pub const fn from_u64(v: u64) -> Token {
        Token {
            len: 8,
            bytes: v.to_be_bytes(),
        }
    }

    /// The token bytes.
    #[must_use]
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Length in bytes (0–8).
    #[must_use]
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// The empty token.
    #[must_use]
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl TryFrom<&[u8]> for Token {
    type Error = BuildError;

    fn try_from(bytes: &[u8]) -> Result<Token, BuildError> {
        Token::new(bytes)
    }
}

impl AsRef<[u8]> for Token {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(empty)");
        }
        f.write_str("0x")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(Token::new(&[]).unwrap(), Token::EMPTY);
        assert_eq!(Token::new(&[0x20]).unwrap().as_bytes(), &[0x20]);
        assert_eq!(Token::new(&[1; 8]).unwrap().len(), 8);
        assert_eq!(Token::new(&[1; 9]), Err(BuildError::TokenTooLong(9)));
        assert_eq!(
            Token::from_u64(0x0102).as_bytes(),
            &[0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_ne!(Token::new(&[0]).unwrap(), Token::EMPTY);
    }
}
