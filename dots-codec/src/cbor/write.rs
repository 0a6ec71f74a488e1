//! Encoding into caller buffers: a counting writer gives exact lengths without allocating.

use core::convert::Infallible;

use minicbor::encode::write::Cursor;
use minicbor::encode::{Error, Write};
use minicbor::Encoder;

/// Why encoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The buffer is too small; `needed` is the exact size required.
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes needed for the whole encoding.
        needed: usize,
    },
}

/// Something that writes itself as CBOR with any writer.
pub(crate) trait Emit {
    fn emit<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>>;
}

/// A writer that only counts.
#[derive(Default)]
pub(crate) struct Counter(pub(crate) usize);

impl Write for Counter {
    type Error = Infallible;
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Infallible> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(())
    }
}

pub(crate) fn measure<T: Emit + ?Sized>(v: &T) -> usize {
    let mut e = Encoder::new(Counter::default());
    // The counter never fails, and the model never produces an encoding error.
    let _ = v.emit(&mut e);
    e.into_writer().0
}

pub(crate) fn encode_into<T: Emit + ?Sized>(buf: &mut [u8], v: &T) -> Result<usize, EncodeError> {
    let mut e = Encoder::new(Cursor::new(buf));
    match v.emit(&mut e) {
        Ok(()) => Ok(e.into_writer().position()),
        Err(_) => Err(EncodeError::BufferTooSmall { needed: measure(v) }),
    }
}

/// Writes a map key.
pub(crate) fn key<W: Write>(e: &mut Encoder<W>, k: u64) -> Result<(), Error<W::Error>> {
    e.u64(k).map(|_| ())
}

/// `decimal64` with fraction-digits 2 as tag 4 `[-2, mantissa]`.
pub(crate) fn decimal<W: Write>(
    e: &mut Encoder<W>,
    d: crate::model::Decimal2,
) -> Result<(), Error<W::Error>> {
    e.tag(minicbor::data::Tag::new(4))?
        .array(2)?
        .i8(-2)?
        .i64(d.hundredths())?;
    Ok(())
}

/// Number of `Some`/`true` flags, as a map length.
pub(crate) fn count(flags: &[bool]) -> u64 {
    flags.iter().filter(|f| **f).count() as u64
}
