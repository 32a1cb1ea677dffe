//! GEMM element types: their cuBLASLt descriptors, host encodings and error bounds.
//!
//! Device buffers are raw bytes; each type says how to fill them with random non-zero values and
//! how to read results back, so one code path serves every dtype. Inputs are generated directly in
//! the target format, so the f32 copies used by the CPU reference are exact.
use crate::probe::rng::SplitMix64;
use cudarc::cublaslt::sys::{cublasComputeType_t, cudaDataType};

/// A GEMM flavour the probe measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmDtype {
    /// IEEE f32 inputs and math (no tensor cores).
    Fp32,
    /// f32 storage, TF32 tensor-core math (`CUBLAS_COMPUTE_32F_FAST_TF32`).
    Tf32,
    Fp16,
    Bf16,
    /// E4M3 inputs, bf16 output, f32 accumulation.
    Fp8,
    /// i8 inputs, i32 output and accumulation.
    Int8,
}

impl GemmDtype {
    pub const ALL: [GemmDtype; 6] = [
        GemmDtype::Fp32,
        GemmDtype::Tf32,
        GemmDtype::Fp16,
        GemmDtype::Bf16,
        GemmDtype::Fp8,
        GemmDtype::Int8,
    ];

    /// Catalog name (`catalog::ComputeDtype::name`).
    pub fn name(self) -> &'static str {
        match self {
            GemmDtype::Fp32 => "fp32",
            GemmDtype::Tf32 => "tf32",
            GemmDtype::Fp16 => "fp16",
            GemmDtype::Bf16 => "bf16",
            GemmDtype::Fp8 => "fp8",
            GemmDtype::Int8 => "int8",
        }
    }

    /// Lowest compute capability with native support (TF32/BF16 Ampere, FP8 Ada/Hopper,
    /// INT8 tensor cores Turing).
    pub fn min_compute_capability(self) -> (i32, i32) {
        match self {
            GemmDtype::Fp32 | GemmDtype::Fp16 => (0, 0),
            GemmDtype::Tf32 | GemmDtype::Bf16 => (8, 0),
            GemmDtype::Fp8 => (8, 9),
            GemmDtype::Int8 => (7, 5),
        }
    }

    /// Bytes per input element.
    pub fn in_bytes(self) -> usize {
        match self {
            GemmDtype::Fp32 | GemmDtype::Tf32 => 4,
            GemmDtype::Fp16 | GemmDtype::Bf16 => 2,
            GemmDtype::Fp8 | GemmDtype::Int8 => 1,
        }
    }

    /// Bytes per output element.
    pub fn out_bytes(self) -> usize {
        match self {
            GemmDtype::Fp32 | GemmDtype::Tf32 | GemmDtype::Int8 => 4,
            GemmDtype::Fp16 | GemmDtype::Bf16 | GemmDtype::Fp8 => 2,
        }
    }

    pub fn a_type(self) -> cudaDataType {
        match self {
            GemmDtype::Fp32 | GemmDtype::Tf32 => cudaDataType::CUDA_R_32F,
            GemmDtype::Fp16 => cudaDataType::CUDA_R_16F,
            GemmDtype::Bf16 => cudaDataType::CUDA_R_16BF,
            GemmDtype::Fp8 => cudaDataType::CUDA_R_8F_E4M3,
            GemmDtype::Int8 => cudaDataType::CUDA_R_8I,
        }
    }

    pub fn c_type(self) -> cudaDataType {
        match self {
            GemmDtype::Fp32 | GemmDtype::Tf32 => cudaDataType::CUDA_R_32F,
            GemmDtype::Fp16 => cudaDataType::CUDA_R_16F,
            GemmDtype::Bf16 | GemmDtype::Fp8 => cudaDataType::CUDA_R_16BF,
            GemmDtype::Int8 => cudaDataType::CUDA_R_32I,
        }
    }

    pub fn compute_type(self) -> cublasComputeType_t {
        match self {
            GemmDtype::Tf32 => cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32,
            GemmDtype::Int8 => cublasComputeType_t::CUBLAS_COMPUTE_32I,
            _ => cublasComputeType_t::CUBLAS_COMPUTE_32F,
        }
    }

    /// Type of alpha and beta.
    pub fn scale_type(self) -> cudaDataType {
        match self {
            GemmDtype::Int8 => cudaDataType::CUDA_R_32I,
            _ => cudaDataType::CUDA_R_32F,
        }
    }

    /// Alpha = 1 and beta = 0 in the scale type, as 4 little-endian bytes each.
    pub fn alpha_beta(self) -> ([u8; 4], [u8; 4]) {
        match self {
            GemmDtype::Int8 => (1i32.to_le_bytes(), 0i32.to_le_bytes()),
            _ => (1f32.to_le_bytes(), 0f32.to_le_bytes()),
        }
    }

    /// Bound on the scaled error (see `matcheck`) of a length-`k` product: accumulation in f32
    /// (k·2⁻²³ with margin 2), plus input rounding to TF32 (2·2⁻¹¹ per term) or one output
    /// rounding to f16 (2⁻¹¹) or bf16 (2⁻⁸), each doubled for margin. INT8 is exact.
    pub fn error_bound(self, k: usize) -> f64 {
        let accumulate = 2.0 * k as f64 * f64::from(f32::EPSILON);
        match self {
            GemmDtype::Fp32 => accumulate,
            GemmDtype::Tf32 => accumulate + 4.0 * 2f64.powi(-11),
            GemmDtype::Fp16 => accumulate + 2.0 * 2f64.powi(-11),
            GemmDtype::Bf16 | GemmDtype::Fp8 => accumulate + 2.0 * 2f64.powi(-8),
            GemmDtype::Int8 => 1e-12,
        }
    }

    /// `len` random non-zero inputs: the device bytes and their exact f32 values.
    pub fn random_inputs(self, len: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let mut rng = SplitMix64::new(seed);
        let mut bytes = Vec::with_capacity(len * self.in_bytes());
        let mut values = Vec::with_capacity(len);
        for _ in 0..len {
            let v = match self {
                GemmDtype::Fp32 | GemmDtype::Tf32 => {
                    let x = nonzero(rng.next_f32());
                    bytes.extend_from_slice(&x.to_le_bytes());
                    x
                }
                GemmDtype::Fp16 => {
                    let x = half::f16::from_f32(nonzero(rng.next_f32()));
                    bytes.extend_from_slice(&x.to_bits().to_le_bytes());
                    x.to_f32()
                }
                GemmDtype::Bf16 => {
                    let x = half::bf16::from_f32(nonzero(rng.next_f32()));
                    bytes.extend_from_slice(&x.to_bits().to_le_bytes());
                    x.to_f32()
                }
                GemmDtype::Fp8 => {
                    // Sign, a normal exponent field 1..=7 (|x| in [2⁻⁶, 1.875]), any mantissa.
                    let r = rng.next_u64();
                    let bits = ((r & 1) << 7) as u8
                        | ((1 + (r >> 1) % 7) << 3) as u8
                        | ((r >> 8) & 7) as u8;
                    bytes.push(bits);
                    e4m3_to_f32(bits)
                }
                GemmDtype::Int8 => {
                    let x = (rng.next_u64() % 127) as i8 - 63;
                    let x = if x == 0 { 1 } else { x };
                    bytes.push(x as u8);
                    f32::from(x)
                }
            };
            values.push(v);
        }
        (bytes, values)
    }

    /// Reads input bytes back as the exact f32 values they hold.
    pub fn decode_inputs(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            GemmDtype::Fp32 | GemmDtype::Tf32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            GemmDtype::Fp16 => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            GemmDtype::Bf16 => bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            GemmDtype::Fp8 => bytes.iter().map(|b| e4m3_to_f32(*b)).collect(),
            GemmDtype::Int8 => bytes.iter().map(|b| f32::from(*b as i8)).collect(),
        }
    }

    /// Reads output bytes back as f64.
    pub fn decode_outputs(self, bytes: &[u8]) -> Vec<f64> {
        match self {
            GemmDtype::Fp32 | GemmDtype::Tf32 => bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            GemmDtype::Fp16 => bytes
                .chunks_exact(2)
                .map(|c| f64::from(half::f16::from_le_bytes([c[0], c[1]]).to_f32()))
                .collect(),
            GemmDtype::Bf16 | GemmDtype::Fp8 => bytes
                .chunks_exact(2)
                .map(|c| f64::from(half::bf16::from_le_bytes([c[0], c[1]]).to_f32()))
                .collect(),
            GemmDtype::Int8 => bytes
                .chunks_exact(4)
                .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        }
    }
}

/// Replaces an exact zero (rare) so inputs are never zero.
fn nonzero(x: f32) -> f32 {
    if x == 0.0 {
        0.5
    } else {
        x
    }
}

/// Decodes an OCP FP8 E4M3 value (bias 7, no infinities, S.1111.111 is NaN).
pub fn e4m3_to_f32(bits: u8) -> f32 {
    let sign = if bits & 0x80 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 3) & 0xF);
    let mant = f32::from(bits & 0x7);
    if exp == 0xF && mant == 7.0 {
        return f32::NAN;
    }
    let magnitude = if exp == 0 {
        mant / 8.0 * 2f32.powi(-6)
    } else {
        (1.0 + mant / 8.0) * 2f32.powi(exp - 7)
    };
    sign * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e4m3_decodes_known_values() {
        assert_eq!(e4m3_to_f32(0x38), 1.0);
        assert_eq!(e4m3_to_f32(0x40), 2.0);
        assert_eq!(e4m3_to_f32(0xC0), -2.0);
        assert_eq!(e4m3_to_f32(0x7E), 448.0);
        assert_eq!(e4m3_to_f32(0x01), 2f32.powi(-9));
        assert!(e4m3_to_f32(0x7F).is_nan());
    }

    #[test]
    fn inputs_decode_to_the_values_generated() {
        for dtype in GemmDtype::ALL {
            let (bytes, values) = dtype.random_inputs(257, 9);
            assert_eq!(dtype.decode_inputs(&bytes), values, "{}", dtype.name());
        }
    }

    #[test]
    fn inputs_are_exact_nonzero_and_sized() {
        for d in GemmDtype::ALL {
            let (bytes, values) = d.random_inputs(4096, 3);
            assert_eq!(bytes.len(), 4096 * d.in_bytes(), "{d:?}");
            assert!(values.iter().all(|v| *v != 0.0 && v.is_finite()), "{d:?}");
            let distinct: std::collections::BTreeSet<u32> =
                values.iter().map(|v| v.to_bits()).collect();
            assert!(distinct.len() > 50, "{d:?}");
        }
        // The bytes round-trip to the same values through the output decoders of equal width.
        let (bytes, values) = GemmDtype::Bf16.random_inputs(100, 9);
        let back = GemmDtype::Bf16.decode_outputs(&bytes);
        assert!(back.iter().zip(&values).all(|(a, b)| *a == f64::from(*b)));
        let (bytes, values) = GemmDtype::Fp16.random_inputs(100, 9);
        let back = GemmDtype::Fp16.decode_outputs(&bytes);
        assert!(back.iter().zip(&values).all(|(a, b)| *a == f64::from(*b)));
    }

    #[test]
    fn bounds_grow_with_looser_formats() {
        let k = 1024;
        let order: Vec<f64> = [
            GemmDtype::Fp32,
            GemmDtype::Fp16,
            GemmDtype::Tf32,
            GemmDtype::Bf16,
        ]
        .iter()
        .map(|d| d.error_bound(k))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert_eq!(
            GemmDtype::Int8.decode_outputs(&(-7i32).to_le_bytes()),
            vec![-7.0]
        );
    }
}
