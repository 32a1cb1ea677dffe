//! The fused attention kernel (`kernels/attention.cu`): checked against the CPU reference on a
//! small shape with ragged tiles, then timed, and each timed shape's output checked again on
//! sampled rows (read back with the K and V they attend to). TFLOP/s = 4·b·h·s²·d, halved when
//! causal.
use super::device::Dev;
use super::kernels;
use super::PhaseCtx;
use crate::probe::attention_ref::{self, Dims};
use crate::probe::count;
use crate::probe::measure::{self, Reps};
use crate::probe::rng::{uniform_f32, SplitMix64};
use crate::probe::schema::{Measurement, PhaseStatus, Shape};
use crate::probe::{Mode, Outcome};
use cudarc::driver::sys::CUfunction_attribute;
use cudarc::driver::{CudaFunction, CudaSlice, LaunchConfig, PushKernelArg};

/// Queries per CTA and threads per block (kernels/README.md).
const BLOCK_M: u32 = 128;
const THREADS: u32 = 256;

/// 16-bit element type of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    F16,
    Bf16,
}

impl Half {
    fn name(self) -> &'static str {
        match self {
            Half::F16 => "f16",
            Half::Bf16 => "bf16",
        }
    }

    fn encode(self, x: f32) -> u16 {
        match self {
            Half::F16 => half::f16::from_f32(x).to_bits(),
            Half::Bf16 => half::bf16::from_f32(x).to_bits(),
        }
    }

    fn decode(self, bits: u16) -> f32 {
        match self {
            Half::F16 => half::f16::from_bits(bits).to_f32(),
            Half::Bf16 => half::bf16::from_bits(bits).to_f32(),
        }
    }

    /// Bound on the error relative to max |O|: P and O are rounded to this type (unit roundoff
    /// 2⁻¹¹ for f16, 2⁻⁸ for bf16), with a margin of about 4.
    fn bound(self) -> f64 {
        match self {
            Half::F16 => 4.0 * 2f64.powi(-10),
            Half::Bf16 => 4.0 * 2f64.powi(-7),
        }
    }
}

/// Output rows of each timed shape compared with the reference.
const SAMPLED_ROWS: usize = 8;

/// Dynamic shared memory: Q tile plus double-buffered K and V tiles (`kernels::ATTENTION`).
fn shared_bytes(head_dim: usize) -> u32 {
    kernels::attention_smem_bytes(head_dim as u32)
}

/// The four kernels, by dtype and head dim, and how they were built.
struct Kernels {
    funcs: Vec<((Half, usize), CudaFunction)>,
    built: String,
}

impl Kernels {
    fn load(dev: &Dev) -> Result<Kernels, String> {
        let keys = [
            (Half::F16, 64),
            (Half::F16, 128),
            (Half::Bf16, 64),
            (Half::Bf16, 128),
        ];
        let names: Vec<String> = keys
            .iter()
            .map(|(h, d)| format!("attention_fwd_{}_d{d}", h.name()))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (funcs, built) = kernels::load(
            &dev.ctx,
            &kernels::ATTENTION,
            dev.info.compute_capability,
            &refs,
            dev.driver_cuda,
        )?;
        for ((_, d), f) in keys.iter().zip(&funcs) {
            f.set_attribute(
                CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                shared_bytes(*d) as i32,
            )
            .map_err(|e| {
                format!(
                    "opting in to {} bytes of shared memory: {e}",
                    shared_bytes(*d)
                )
            })?;
        }
        Ok(Kernels {
            funcs: keys.into_iter().zip(funcs).collect(),
            built,
        })
    }

    fn get(&self, dtype: Half, head_dim: usize) -> Result<&CudaFunction, String> {
        self.funcs
            .iter()
            .find(|(k, _)| *k == (dtype, head_dim))
            .map(|(_, f)| f)
            .ok_or_else(|| format!("no attention kernel for {} d{head_dim}", dtype.name()))
    }
}

struct Tensors {
    q: CudaSlice<u16>,
    k: CudaSlice<u16>,
    v: CudaSlice<u16>,
    o: CudaSlice<u16>,
}

/// Enqueues one forward pass.
fn launch(
    dev: &Dev,
    f: &CudaFunction,
    t: &mut Tensors,
    dims: Dims,
    causal: bool,
) -> Result<(), String> {
    let (b, h, s) = (dims.batch as i32, dims.heads as i32, dims.seq as i32);
    let scale = 1.0 / (dims.head_dim as f32).sqrt();
    let causal_i = i32::from(causal);
    let cfg = LaunchConfig {
        grid_dim: (
            (dims.seq as u32).div_ceil(BLOCK_M),
            dims.heads as u32,
            dims.batch as u32,
        ),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: shared_bytes(dims.head_dim),
    };
    let mut l = dev.stream.launch_builder(f);
    l.arg(&t.q)
        .arg(&t.k)
        .arg(&t.v)
        .arg(&mut t.o)
        .arg(&b)
        .arg(&h)
        .arg(&s)
        .arg(&scale)
        .arg(&causal_i);
    // SAFETY: the contract of attention_fwd_*: Q, K, V, O each hold batch·heads·seq·head_dim
    // 16-bit elements of the kernel's type in [b, h, s, d] layout (checked by `upload`), O
    // aliases no input, 1 ≤ batch, heads ≤ 65535, seq ≥ 1, the scale is finite; block 256,
    // grid (ceil(seq/128), heads, batch), and the dynamic shared memory the function was
    // opted in to in `Kernels::load`.
    unsafe { l.launch(cfg) }
        .map(|_| ())
        .map_err(|e| format!("launch attention: {e}"))
}

fn upload(
    dev: &Dev,
    dtype: Half,
    dims: Dims,
    seed: u64,
) -> Result<(Tensors, [Vec<f32>; 3]), String> {
    if dims.batch == 0
        || dims.batch > 65535
        || dims.heads == 0
        || dims.heads > 65535
        || dims.seq == 0
    {
        return Err(format!(
            "attention shape {dims:?} is outside the kernel's contract"
        ));
    }
    let make = |s: u64| -> (Vec<u16>, Vec<f32>) {
        let bits: Vec<u16> = uniform_f32(dims.len(), s)
            .into_iter()
            .map(|x| dtype.encode(x))
            .collect();
        let vals = bits.iter().map(|b| dtype.decode(*b)).collect();
        (bits, vals)
    };
    let (qb, qv) = make(seed);
    let (kb, kv) = make(seed + 1);
    let (vb, vv) = make(seed + 2);
    let up = |x: &Vec<u16>| {
        dev.stream
            .clone_htod(x)
            .map_err(|e| format!("copy to device: {e}"))
    };
    // SAFETY: O is written by the kernel (every row s < seq of every head) before it is read.
    let o =
        unsafe { dev.stream.alloc::<u16>(dims.len()) }.map_err(|e| format!("allocating: {e}"))?;
    Ok((
        Tensors {
            q: up(&qb)?,
            k: up(&kb)?,
            v: up(&vb)?,
            o,
        },
        [qv, kv, vv],
    ))
}

/// Checks one dtype and head dim, causal and not, on a shape with ragged tiles.
fn check(
    dev: &Dev,
    ks: &Kernels,
    dtype: Half,
    head_dim: usize,
) -> Result<Vec<Measurement>, String> {
    let dims = Dims {
        batch: 1,
        heads: 2,
        seq: 200,
        head_dim,
    };
    let (mut t, [q, k, v]) = upload(dev, dtype, dims, 51)?;
    let f = ks.get(dtype, head_dim)?;
    let mut out = Vec::new();
    for causal in [false, true] {
        launch(dev, f, &mut t, dims, causal)?;
        let got: Vec<u16> = dev
            .stream
            .clone_dtoh(&t.o)
            .map_err(|e| format!("copy from device: {e}"))?;
        let got: Vec<f32> = got.into_iter().map(|b| dtype.decode(b)).collect();
        let want =
            attention_ref::attention(&q, &k, &v, dims, 1.0 / (head_dim as f64).sqrt(), causal);
        let err = attention_ref::max_scaled_error(&got, &want);
        let label = format!(
            "check b1 h2 s200 d{head_dim}{}",
            if causal { " causal" } else { "" }
        );
        let mut m = measure::from_times(
            label,
            Some(dtype.name()),
            measure::Timed {
                times_s: vec![],
                warmup: 0,
                clock: dev.timer.clock(),
            },
        )
        .with_check(err, dtype.bound());
        m.shape = shape(dims, causal);
        out.push(m);
    }
    Ok(out)
}

fn shape(d: Dims, causal: bool) -> Shape {
    Shape {
        batch: Some(d.batch as u64),
        heads: Some(d.heads as u64),
        seq_len: Some(d.seq as u64),
        head_dim: Some(d.head_dim as u64),
        causal: Some(causal),
        ..Shape::default()
    }
}

/// Shapes to time: the headline (b 4, h 32, s 4096, d 128, bf16) and, in full mode, a sweep of
/// 512–16k tokens at 16k tokens per batch.
pub fn shapes(mode: Mode) -> Vec<(Half, Dims, bool)> {
    match mode {
        Mode::Quick => [true, false]
            .into_iter()
            .map(|c| {
                (
                    Half::Bf16,
                    Dims {
                        batch: 4,
                        heads: 32,
                        seq: 4096,
                        head_dim: 128,
                    },
                    c,
                )
            })
            .collect(),
        Mode::Full => {
            let mut v = Vec::new();
            for dtype in [Half::Bf16, Half::F16] {
                for head_dim in [64, 128] {
                    for seq in [512, 1024, 2048, 4096, 8192, 16384] {
                        for causal in [true, false] {
                            let dims = Dims {
                                batch: (16384 / seq).max(1),
                                heads: 2048 / head_dim,
                                seq,
                                head_dim,
                            };
                            v.push((dtype, dims, causal));
                        }
                    }
                }
            }
            v
        }
    }
}

fn time(
    dev: &Dev,
    ks: &Kernels,
    ctx: &PhaseCtx,
    dtype: Half,
    dims: Dims,
    causal: bool,
) -> Result<Option<Measurement>, String> {
    if 4 * dims.len() * 2 > dev.free_bytes() / 10 * 8 {
        return Ok(None);
    }
    let (mut t, _) = upload(dev, dtype, dims, 61)?;
    let f = ks.get(dtype, dims.head_dim)?;
    let reps = Reps {
        warmup: 5,
        min_reps: 20,
        max_reps: 2000,
        min_time_s: 2.0,
    };
    let w = dev.timer.run(&dev.stream, reps, ctx.cancel, ctx.obs, || {
        launch(dev, f, &mut t, dims, causal)
    })?;
    if w.timed.times_s.is_empty() {
        return Ok(None);
    }
    let err = sampled_check(dev, dtype, &t, dims, causal)?;
    let label = format!(
        "b{} h{} s{} d{}{}",
        dims.batch,
        dims.heads,
        dims.seq,
        dims.head_dim,
        if causal { " causal" } else { "" }
    );
    let flop = count::attention_flop(
        dims.batch as u64,
        dims.heads as u64,
        dims.seq as u64,
        dims.head_dim as u64,
        causal,
    );
    let mut m = measure::from_times(label, Some(dtype.name()), w.timed)
        .with_flop(flop, None)
        .with_check(err, dtype.bound());
    m.checked_elements = Some((SAMPLED_ROWS * dims.head_dim) as u64);
    m.shape = shape(dims, causal);
    m.window_start_s = Some(w.start_s);
    m.window_end_s = Some(w.end_s);
    Ok(Some(m))
}

/// `len` 16-bit elements at element `offset` of a device tensor, decoded.
fn read_back(
    dev: &Dev,
    dtype: Half,
    buf: &CudaSlice<u16>,
    offset: usize,
    len: usize,
) -> Result<Vec<f32>, String> {
    let bits = dev.read_back(buf, offset, len)?;
    Ok(bits.into_iter().map(|b| dtype.decode(b)).collect())
}

/// The error of sampled output rows of the last timed launch against the reference, computed
/// from the Q row and the K and V rows it attends to, as they sit on the device.
fn sampled_check(
    dev: &Dev,
    dtype: Half,
    t: &Tensors,
    dims: Dims,
    causal: bool,
) -> Result<f64, String> {
    let d = dims.head_dim;
    let mut rng = SplitMix64::new((dims.seq * 131 + d) as u64);
    let mut got = Vec::new();
    let mut want = Vec::new();
    for _ in 0..SAMPLED_ROWS {
        let bh = (rng.next_u64() % (dims.batch * dims.heads) as u64) as usize;
        let i = (rng.next_u64() % dims.seq as u64) as usize;
        let keys = if causal { i + 1 } else { dims.seq };
        let head = bh * dims.seq * d;
        let q = read_back(dev, dtype, &t.q, head + i * d, d)?;
        let k = read_back(dev, dtype, &t.k, head, keys * d)?;
        let v = read_back(dev, dtype, &t.v, head, keys * d)?;
        let scale = 1.0 / (d as f64).sqrt();
        want.extend(attention_ref::attention_row(&q, &k, &v, d, scale, keys));
        got.extend(read_back(dev, dtype, &t.o, head + i * d, d)?);
    }
    Ok(attention_ref::max_scaled_error(&got, &want))
}

/// The attention phase.
pub fn phase(dev: &Dev, ctx: &PhaseCtx) -> Outcome {
    // SAFETY: only probes whether the library can be opened.
    if !dev.libs.nvrtc || !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Outcome::skipped(
            "libnvrtc not found (see libraries): the kernel cannot be compiled",
        );
    }
    if !dev.supports(kernels::ATTENTION.min_cc) {
        let (a, b) = dev.info.compute_capability;
        return Outcome::skipped(format!(
            "the attention kernel needs compute capability 8.0 (device has {a}.{b})"
        ));
    }
    let ks = match Kernels::load(dev) {
        Ok(k) => k,
        Err(e) => return Outcome::failed(e),
    };
    let mut results = Vec::new();
    let mut notes = vec![
        "FLOP counted 4·b·h·s²·d, halved when causal".to_owned(),
        ks.built.clone(),
    ];
    for dtype in [Half::Bf16, Half::F16] {
        for head_dim in [64, 128] {
            match check(dev, &ks, dtype, head_dim) {
                Ok(ms) => results.extend(ms),
                Err(e) => notes.push(e),
            }
        }
    }
    for (dtype, dims, causal) in shapes(ctx.mode) {
        if ctx.cancel.is_cancelled() {
            return Outcome::cancelled(results);
        }
        match time(dev, &ks, ctx, dtype, dims, causal) {
            Ok(Some(m)) => results.push(m),
            Ok(None) => notes.push(format!("{dims:?} skipped (memory or interrupted)")),
            Err(e) => notes.push(e),
        }
    }
    let timed = results.iter().any(|m| !m.times_s.is_empty());
    let status = if timed {
        PhaseStatus::Ok
    } else {
        PhaseStatus::Failed
    };
    Outcome {
        status,
        note: Some(notes.join("; ")),
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_memory_matches_the_contract() {
        assert_eq!(shared_bytes(64), 49152);
        assert_eq!(shared_bytes(128), 98304);
    }

    #[test]
    fn headline_shape_is_the_issue_target() {
        let quick = shapes(Mode::Quick);
        assert_eq!(
            quick[0],
            (
                Half::Bf16,
                Dims {
                    batch: 4,
                    heads: 32,
                    seq: 4096,
                    head_dim: 128
                },
                true
            )
        );
        assert!(shapes(Mode::Full)
            .iter()
            .all(|(_, d, _)| d.batch * d.seq == 16384 && d.heads * d.head_dim == 2048));
    }

    #[test]
    fn half_types_round_trip_and_bound_in_order() {
        for h in [Half::F16, Half::Bf16] {
            assert_eq!(h.decode(h.encode(0.5)), 0.5);
        }
        assert!(Half::F16.bound() < Half::Bf16.bound());
    }
}
