//! Seeded pseudo-random numbers for message ids, tokens and retransmission jitter.
//!
//! State machines never read an entropy source themselves: the caller passes a seed when it
//! creates them (from `getrandom`, a hardware RNG, or a fixed value in tests), which makes every
//! run reproducible from its seed. The generator is xoshiro256++ from `rand_xoshiro`; tokens carry
//! no secret in DOTS (the channel is protected by (D)TLS), so a fast non-cryptographic generator
//! is what RFC 7252 §5.3.1 asks for ("not trivially guessable" once seeded from a real source).

use rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A seeded pseudo-random generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    /// A generator from a 64-bit seed (expanded with SplitMix64).
    #[must_use]
    pub fn from_seed(seed: u64) -> Rng {
        Rng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// A generator from 32 bytes of seed material.
    #[must_use]
    pub fn from_seed_bytes(seed: [u8; 32]) -> Rng {
        Rng(Xoshiro256PlusPlus::from_seed(seed))
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// The next 16 random bits (a CoAP message id).
    pub fn next_u16(&mut self) -> u16 {
        (self.0.next_u32() >> 16) as u16
    }

    /// Fills `dst` with random bytes (a CoAP token).
    pub fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst);
    }

    /// A uniformly distributed value in `0..bound` (0 when `bound` is 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Lemire's multiply-shift with rejection of the biased zone.
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = u128::from(self.0.next_u64()) * u128::from(bound);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniformly distributed value in `low..=high` (`low` when `high <= low`).
    pub fn in_range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.0.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn reproducible_from_seed() {
        let mut a = Rng::from_seed(42);
        let mut b = Rng::from_seed(42);
        let mut c = Rng::from_seed(43);
        let xa: [u64; 4] = core::array::from_fn(|_| a.next_u64());
        let xb: [u64; 4] = core::array::from_fn(|_| b.next_u64());
        let xc: [u64; 4] = core::array::from_fn(|_| c.next_u64());
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::from_seed(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.in_range(10, 14);
            assert!((10..=14).contains(&v));
            seen[(v - 10) as usize] = true;
            assert!(r.below(3) < 3);
        }
        assert!(
            seen.iter().all(|s| *s),
            "every value of a small range appears"
        );
        assert_eq!(r.below(0), 0);
        assert_eq!(r.in_range(5, 5), 5);
        assert_eq!(r.in_range(6, 5), 6);
        let _ = r.in_range(0, u64::MAX);
    }
}
