//! Deterministic pseudo-random fill for benchmark inputs: random, non-degenerate data (never
//! zeros), because data patterns change power draw and clocks (ml-engineering, citing Horace He).

/// SplitMix64 (Steele, Lea and Flood 2014; constants as in `java.util.SplittableRandom`).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), from the top 24 bits so every value is exact in f32.
    pub fn next_f32(&mut self) -> f32 {
        let bits = (self.next_u64() >> 40) as u32;
        bits as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// `len` values uniform in [-1, 1).
pub fn uniform_f32(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..len).map(|_| rng.next_f32()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_spread_and_reproducible() {
        let xs = uniform_f32(10_000, 7);
        assert_eq!(xs, uniform_f32(10_000, 7));
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!(xs.iter().filter(|&&x| x == 0.0).count() < 5);
        assert_ne!(uniform_f32(4, 1), uniform_f32(4, 2));
    }
}
