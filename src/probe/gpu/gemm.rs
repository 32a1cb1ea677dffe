//! GEMM through cuBLASLt for every dtype, and the sustained burn-in built on it.
//!
//! One layout for all types: "TN" (A stored k×m and transposed, B stored k×n, C m×n, all
//! column-major), which FP8 and INT8 require and which is also the row-major `A·Bᵀ` that
//! PyTorch's `matmul(x, w.T)` runs. The algorithm is chosen once per shape by cuBLASLt's
//! heuristic with a 32 MiB workspace; each repetition is one `cublasLtMatmul`.
//!
//! cuBLASLt picks a different algorithm per shape, so every timed shape's last output is
//! checked too: sampled elements against an f64 reference computed from the operands read back
//! from the device (besides a full check of one small shape per dtype).
use super::device::Dev;
use super::dtype::GemmDtype;
use super::PhaseCtx;
use crate::probe::count;
use crate::probe::matcheck::{self, MatView};
use crate::probe::measure::{self, Reps};
use crate::probe::schema::{Measurement, PhaseStatus, Shape};
use crate::probe::{Mode, Outcome};
use cudarc::cublaslt::result as lt;
use cudarc::cublaslt::sys;
use cudarc::driver::{CudaSlice, DevicePtr};
use std::ffi::c_void;
use std::time::{Duration, Instant};

const WORKSPACE_BYTES: usize = 32 << 20;
/// Shape checked against the CPU reference for each dtype (multiples of 16, as FP8 needs).
const CHECK_SHAPE: (usize, usize, usize) = (256, 192, 320);
/// Output elements of each timed shape compared with the reference.
const SAMPLED_ELEMENTS: usize = 64;

/// A cuBLASLt handle and its workspace.
pub struct Lt {
    handle: sys::cublasLtHandle_t,
    workspace: CudaSlice<u8>,
}

impl Lt {
    pub fn new(dev: &Dev) -> Result<Lt, String> {
        let handle = lt::create_handle().map_err(|e| format!("cublasLtCreate: {e}"))?;
        let workspace = match dev.alloc(WORKSPACE_BYTES) {
            Ok(w) => w,
            Err(e) => {
                // SAFETY: the handle was just created and is not used again.
                unsafe {
                    let _ = lt::destroy_handle(handle);
                }
                return Err(e);
            }
        };
        Ok(Lt { handle, workspace })
    }
}

impl Drop for Lt {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once; plans borrow `Lt` so none outlives it.
        unsafe {
            let _ = lt::destroy_handle(self.handle);
        }
    }
}

/// Descriptors and the chosen algorithm for one dtype and shape.
pub struct Plan<'a> {
    lt: &'a Lt,
    dtype: GemmDtype,
    desc: sys::cublasLtMatmulDesc_t,
    layouts: [sys::cublasLtMatrixLayout_t; 3],
    algo: sys::cublasLtMatmulAlgo_t,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

impl<'a> Plan<'a> {
    pub fn new(
        lt: &'a Lt,
        dtype: GemmDtype,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Plan<'a>, String> {
        let err = |what: &str, e: lt::CublasError| {
            format!("cuBLASLt {what} ({} {m}x{n}x{k}): {e}", dtype.name())
        };
        let desc = lt::create_matmul_desc(dtype.compute_type(), dtype.scale_type())
            .map_err(|e| err("matmul desc", e))?;
        let mut plan = Plan {
            lt,
            dtype,
            desc,
            layouts: [std::ptr::null_mut(); 3],
            algo: sys::cublasLtMatmulAlgo_t { data: [0; 8] },
            m,
            n,
            k,
        };
        let transpose: i32 = 1;
        // SAFETY: `desc` is live; the attribute is an i32 operation code (1 = transpose), as
        // cuBLASLt documents for CUBLASLT_MATMUL_DESC_TRANSA.
        unsafe {
            lt::set_matmul_desc_attribute(
                desc,
                sys::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_TRANSA,
                (&transpose) as *const i32 as *const c_void,
                std::mem::size_of::<i32>(),
            )
        }
        .map_err(|e| err("transpose A", e))?;
        let (m64, n64, k64) = (m as u64, n as u64, k as u64);
        plan.layouts[0] = lt::create_matrix_layout(dtype.a_type(), k64, m64, k as i64)
            .map_err(|e| err("layout A", e))?;
        plan.layouts[1] = lt::create_matrix_layout(dtype.a_type(), k64, n64, k as i64)
            .map_err(|e| err("layout B", e))?;
        plan.layouts[2] = lt::create_matrix_layout(dtype.c_type(), m64, n64, m as i64)
            .map_err(|e| err("layout C", e))?;
        let pref = lt::create_matmul_pref().map_err(|e| err("preference", e))?;
        let ws = WORKSPACE_BYTES;
        // SAFETY: `pref`, `desc` and the layouts are live; the workspace attribute is a
        // size_t; `pref` is destroyed right after the heuristic whatever its result.
        let heuristic = unsafe {
            let set = lt::set_matmul_pref_attribute(
                pref,
                sys::cublasLtMatmulPreferenceAttributes_t::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                (&ws) as *const usize as *const c_void,
                std::mem::size_of::<usize>(),
            );
            let h = set.and_then(|_| {
                lt::get_matmul_algo_heuristic(
                    lt.handle,
                    desc,
                    plan.layouts[0],
                    plan.layouts[1],
                    plan.layouts[2],
                    plan.layouts[2],
                    pref,
                )
            });
            let _ = lt::destroy_matmul_pref(pref);
            h
        }
        .map_err(|e| err("no algorithm", e))?;
        plan.algo = heuristic.algo;
        Ok(plan)
    }

    /// Enqueues `c = op(a)·b` on the device's stream.
    pub fn run(
        &self,
        dev: &Dev,
        a: &CudaSlice<u8>,
        b: &CudaSlice<u8>,
        c: &mut CudaSlice<u8>,
    ) -> Result<(), String> {
        let need = |len: usize, elems: usize, size: usize| len >= elems * size;
        let d = self.dtype;
        if !need(a.len(), self.m * self.k, d.in_bytes())
            || !need(b.len(), self.k * self.n, d.in_bytes())
            || !need(c.len(), self.m * self.n, d.out_bytes())
        {
            return Err("GEMM buffers smaller than the plan's shape".to_owned());
        }
        let (alpha, beta) = d.alpha_beta();
        let s = &dev.stream;
        let (pa, _ga) = a.device_ptr(s);
        let (pb, _gb) = b.device_ptr(s);
        let (pc, _gc) = c.device_ptr(s);
        let (pw, _gw) = self.lt.workspace.device_ptr(s);
        // SAFETY: the buffers were checked above to hold the plan's m×k, k×n and m×n elements
        // of the plan's types; alpha and beta are 4-byte values of the scale type; the
        // workspace holds WORKSPACE_BYTES, the limit the algorithm was chosen under; C is both
        // input (beta = 0, so unread) and output, which cuBLASLt allows for identical layouts.
        unsafe {
            lt::matmul(
                self.lt.handle,
                self.desc,
                alpha.as_ptr() as *const c_void,
                beta.as_ptr() as *const c_void,
                pa as *const c_void,
                self.layouts[0],
                pb as *const c_void,
                self.layouts[1],
                pc as *const c_void,
                self.layouts[2],
                pc as *mut c_void,
                self.layouts[2],
                &self.algo,
                pw as *mut c_void,
                WORKSPACE_BYTES,
                s.cu_stream() as sys::cudaStream_t,
            )
        }
        .map_err(|e| {
            format!(
                "cublasLtMatmul {} {}x{}x{}: {e}",
                d.name(),
                self.m,
                self.n,
                self.k
            )
        })
    }
}

impl Drop for Plan<'_> {
    fn drop(&mut self) {
        // SAFETY: each descriptor was created in `new` (null ones are skipped) and is
        // destroyed exactly once; no enqueued matmul still needs them once the caller has
        // synchronized, which every phase does before dropping a plan.
        unsafe {
            for l in self.layouts {
                if !l.is_null() {
                    let _ = lt::destroy_matrix_layout(l);
                }
            }
            let _ = lt::destroy_matmul_desc(self.desc);
        }
    }
}

/// Whether cuBLASLt can be used: found by `libs` and loadable by cudarc (which panics otherwise).
fn cublaslt_present(dev: &Dev) -> bool {
    // SAFETY: only tries to open the library by the names cudarc would use.
    dev.libs.cublaslt && unsafe { cudarc::cublaslt::sys::is_culib_present() }
}

/// Runs the small check shape once and compares it with the f64 reference.
fn check(dev: &Dev, lt: &Lt, dtype: GemmDtype) -> Result<Measurement, String> {
    let (m, n, k) = CHECK_SHAPE;
    let plan = Plan::new(lt, dtype, m, n, k)?;
    let (a_bytes, a_vals) = dtype.random_inputs(m * k, 21);
    let (b_bytes, b_vals) = dtype.random_inputs(k * n, 22);
    let (a, b) = (dev.upload(&a_bytes)?, dev.upload(&b_bytes)?);
    let mut c = dev.alloc(m * n * dtype.out_bytes())?;
    plan.run(dev, &a, &b, &mut c)?;
    let got = dtype.decode_outputs(&dev.download(&c)?);
    // op(A)(i, p) = A_store[p + i·k]: row-major m×k. B (p, j) = B_store[p + j·k]: column-major.
    let av = MatView::row_major(&a_vals, m, k);
    let bv = MatView::col_major(&b_vals, k, n);
    let err = matcheck::max_scaled_error(&av, &bv, matcheck::all(m, n), |i, j| got[i + j * m]);
    let mut out = measure::from_times(
        format!("check {m}x{n}x{k}"),
        Some(dtype.name()),
        measure::Timed {
            times_s: vec![],
            warmup: 0,
            clock: dev.timer.clock(),
        },
    )
    .with_check(err, dtype.error_bound(k));
    out.shape = shape(m, n, k);
    Ok(out)
}

fn shape(m: usize, n: usize, k: usize) -> Shape {
    Shape {
        m: Some(m as u64),
        n: Some(n as u64),
        k: Some(k as u64),
        ..Shape::default()
    }
}

/// Input sets rotated so the working set exceeds L2 (a cold-cache proxy, as mamf-finder's
/// cache reset), at most 4.
fn rotation_sets(dev: &Dev, set_bytes: usize) -> usize {
    let want = (4 * dev.l2_bytes).div_ceil(set_bytes.max(1));
    want.clamp(1, 4)
}

/// Times one dtype and shape.
fn measure_shape(
    dev: &Dev,
    lt: &Lt,
    ctx: &PhaseCtx,
    dtype: GemmDtype,
    (m, n, k): (usize, usize, usize),
    label: String,
    peak: Option<f64>,
) -> Result<Option<Measurement>, String> {
    let in_set = (m * k + k * n) * dtype.in_bytes();
    let c_bytes = m * n * dtype.out_bytes();
    let sets = rotation_sets(dev, in_set);
    let need = sets * in_set + c_bytes;
    if need as f64 > 0.8 * dev.free_bytes() as f64 {
        return Ok(None);
    }
    let plan = Plan::new(lt, dtype, m, n, k)?;
    let mut inputs = Vec::new();
    for s in 0..sets as u64 {
        let (a, _) = dtype.random_inputs(m * k, 100 + 2 * s);
        let (b, _) = dtype.random_inputs(k * n, 101 + 2 * s);
        inputs.push((dev.upload(&a)?, dev.upload(&b)?));
    }
    let mut c = dev.alloc(c_bytes)?;
    let reps = match ctx.mode {
        Mode::Quick => Reps {
            warmup: 10,
            min_reps: 20,
            max_reps: 2000,
            min_time_s: 2.0,
        },
        Mode::Full => Reps {
            warmup: 25,
            min_reps: 50,
            max_reps: 5000,
            min_time_s: 5.0,
        },
    };
    let mut i = 0;
    let window = dev.timer.run(&dev.stream, reps, ctx.cancel, ctx.obs, || {
        let (a, b) = &inputs[i % inputs.len()];
        i += 1;
        plan.run(dev, a, b, &mut c)
    })?;
    if window.timed.times_s.is_empty() {
        return Ok(None);
    }
    // C holds the product of the set the last repetition used.
    let (a, b) = &inputs[(i + inputs.len() - 1) % inputs.len()];
    let err = sampled_check(dev, dtype, (m, n, k), a, b, &c)?;
    let flop = count::gemm_flop(m as u64, n as u64, k as u64);
    let mut out = measure::from_times(label, Some(dtype.name()), window.timed)
        .with_flop(flop, peak)
        .with_check(err, dtype.error_bound(k));
    out.shape = shape(m, n, k);
    out.window_start_s = Some(window.start_s);
    out.window_end_s = Some(window.end_s);
    out.input_sets = Some(sets as u32);
    out.checked_elements = Some(SAMPLED_ELEMENTS as u64);
    if sets > 1 {
        out.note = Some(format!("{sets} input sets rotated to exceed L2"));
    }
    Ok(Some(out))
}

/// The scaled error of sampled elements of `c = op(a)·b`, from the device's own operands.
fn sampled_check(
    dev: &Dev,
    dtype: GemmDtype,
    (m, n, k): (usize, usize, usize),
    a: &CudaSlice<u8>,
    b: &CudaSlice<u8>,
    c: &CudaSlice<u8>,
) -> Result<f64, String> {
    let (ib, ob) = (dtype.in_bytes(), dtype.out_bytes());
    let picks = matcheck::sampled(m, n, SAMPLED_ELEMENTS, (m * 31 + n * 7 + k) as u64);
    // op(A) row i is stored column i of the k×m A (contiguous); B column j likewise; C is m×n
    // column-major.
    let row = |i: usize| {
        dev.read_back(a, i * k * ib, k * ib)
            .map(|v| dtype.decode_inputs(&v))
    };
    let col = |j: usize| {
        dev.read_back(b, j * k * ib, k * ib)
            .map(|v| dtype.decode_inputs(&v))
    };
    let got = |i: usize, j: usize| {
        let bytes = dev.read_back(c, (i + j * m) * ob, ob)?;
        Ok(dtype.decode_outputs(&bytes)[0])
    };
    matcheck::sampled_error(&picks, row, col, got)
}

/// GEMM shapes to time: square sizes and LLM-shaped products (tokens × hidden by hidden × 4·hidden).
pub fn shapes(mode: Mode, dtype: GemmDtype) -> Vec<((usize, usize, usize), String)> {
    let square = |s: usize| ((s, s, s), format!("{s}x{s}x{s}"));
    let llm = |tokens: usize, hidden: usize| {
        (
            (tokens, 4 * hidden, hidden),
            format!("llm t{tokens} h{hidden}: {tokens}x{}x{hidden}", 4 * hidden),
        )
    };
    let low_precision = matches!(dtype, GemmDtype::Bf16 | GemmDtype::Fp16 | GemmDtype::Fp8);
    match mode {
        Mode::Quick if low_precision => vec![square(8192), llm(4096, 4096)],
        Mode::Quick => vec![square(8192)],
        Mode::Full => {
            let mut v: Vec<_> = [1024, 2048, 4096, 6144, 8192, 12288, 16384]
                .into_iter()
                .map(square)
                .collect();
            if low_precision {
                for tokens in [512, 2048, 8192] {
                    for hidden in [4096, 8192] {
                        v.push(llm(tokens, hidden));
                    }
                }
            }
            v
        }
    }
}

/// The GEMM phase: a check and a sweep per supported dtype.
pub fn phase(dev: &Dev, ctx: &PhaseCtx, peak: &dyn Fn(&str) -> Option<f64>) -> Outcome {
    if !cublaslt_present(dev) {
        return Outcome::skipped("libcublasLt not found (see libraries)");
    }
    let lt = match Lt::new(dev) {
        Ok(lt) => lt,
        Err(e) => return Outcome::failed(e),
    };
    let mut results = Vec::new();
    let mut notes = Vec::new();
    let (major, minor) = dev.info.compute_capability;
    for dtype in GemmDtype::ALL {
        if ctx.cancel.is_cancelled() {
            return Outcome::cancelled(results);
        }
        if !dev.supports(dtype.min_compute_capability()) {
            notes.push(format!(
                "{} needs compute capability {:?}, device has {major}.{minor}",
                dtype.name(),
                dtype.min_compute_capability()
            ));
            continue;
        }
        match check(dev, &lt, dtype) {
            Ok(m) => results.push(m),
            Err(e) => {
                notes.push(e);
                continue;
            }
        }
        for (dims, label) in shapes(ctx.mode, dtype) {
            if ctx.cancel.is_cancelled() {
                break;
            }
            match measure_shape(
                dev,
                &lt,
                ctx,
                dtype,
                dims,
                label.clone(),
                peak(dtype.name()),
            ) {
                Ok(Some(m)) => results.push(m),
                Ok(None) if ctx.cancel.is_cancelled() => {}
                Ok(None) => notes.push(format!(
                    "{} {label}: does not fit in free memory",
                    dtype.name()
                )),
                Err(e) => notes.push(e),
            }
        }
    }
    let _ = dev.stream.synchronize();
    let status = if ctx.cancel.is_cancelled() {
        PhaseStatus::Partial
    } else if results.iter().all(|m| m.times_s.is_empty()) {
        PhaseStatus::Failed
    } else if notes
        .iter()
        .any(|n| n.contains("cuBLASLt") || n.contains("cublasLt"))
    {
        PhaseStatus::Partial
    } else {
        PhaseStatus::Ok
    };
    let clock = format!("timing: {:?}", dev.timer.clock()).to_lowercase();
    notes.insert(0, clock);
    Outcome {
        status,
        note: Some(notes.join("; ")),
        results,
    }
}

/// Sustained GEMM for `duration`, stopping early when `hot()` reports a reason or on Ctrl-C.
/// Each timed sample is the mean time of the GEMMs in one ~1 s chunk.
pub fn burn_in(
    dev: &Dev,
    ctx: &PhaseCtx,
    duration: Duration,
    hot: &dyn Fn() -> Option<String>,
    peak: Option<f64>,
) -> Outcome {
    if !cublaslt_present(dev) {
        return Outcome::skipped("libcublasLt not found (see libraries)");
    }
    let dtype = if dev.supports(GemmDtype::Bf16.min_compute_capability()) {
        GemmDtype::Bf16
    } else {
        GemmDtype::Fp16
    };
    let run = || -> Result<(Measurement, Option<String>), String> {
        let lt = Lt::new(dev)?;
        let s = 8192;
        let plan = Plan::new(&lt, dtype, s, s, s)?;
        let (a, _) = dtype.random_inputs(s * s, 7);
        let (b, _) = dtype.random_inputs(s * s, 8);
        let (a, b) = (dev.upload(&a)?, dev.upload(&b)?);
        let mut c = dev.alloc(s * s * dtype.out_bytes())?;
        // Calibrate a chunk to about one second.
        let t = Instant::now();
        plan.run(dev, &a, &b, &mut c)?;
        dev.stream.synchronize().map_err(|e| e.to_string())?;
        let per_call = t.elapsed().as_secs_f64().max(1e-4);
        let chunk = ((1.0 / per_call) as usize).clamp(1, 10_000);
        let start = Instant::now();
        let start_s = dev.timer.t0.elapsed().as_secs_f64();
        let mut times = Vec::new();
        let mut stopped = None;
        while start.elapsed() < duration {
            if ctx.cancel.is_cancelled() {
                break;
            }
            if let Some(reason) = hot() {
                stopped = Some(reason);
                break;
            }
            let t = Instant::now();
            for _ in 0..chunk {
                plan.run(dev, &a, &b, &mut c)?;
            }
            dev.stream.synchronize().map_err(|e| e.to_string())?;
            times.push(t.elapsed().as_secs_f64() / chunk as f64);
            ctx.obs.step();
        }
        let timed = measure::Timed {
            times_s: times,
            warmup: 1,
            clock: crate::probe::schema::ClockSource::HostSync,
        };
        let flop = count::gemm_flop(s as u64, s as u64, s as u64);
        let mut m =
            measure::from_times(format!("sustained {s}x{s}x{s}"), Some(dtype.name()), timed)
                .with_flop(flop, peak);
        m.shape = shape(s, s, s);
        m.window_start_s = Some(start_s);
        m.window_end_s = Some(dev.timer.t0.elapsed().as_secs_f64());
        m.note = Some(format!(
            "each time is the mean of {chunk} GEMMs timed together"
        ));
        Ok((m, stopped))
    };
    match run() {
        Ok((m, stopped)) => {
            let status = if stopped.is_some() || ctx.cancel.is_cancelled() {
                PhaseStatus::Partial
            } else {
                PhaseStatus::Ok
            };
            Outcome {
                status,
                note: stopped,
                results: vec![m],
            }
        }
        Err(e) => Outcome::failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_aligned_and_llm_shaped() {
        for mode in [Mode::Quick, Mode::Full] {
            for dtype in GemmDtype::ALL {
                for ((m, n, k), label) in shapes(mode, dtype) {
                    assert!(m % 16 == 0 && n % 16 == 0 && k % 16 == 0, "{label}");
                    if label.starts_with("llm") {
                        assert_eq!(n, 4 * k, "{label}");
                    }
                }
            }
        }
        assert_eq!(shapes(Mode::Quick, GemmDtype::Bf16)[0].1, "8192x8192x8192");
        assert_eq!(shapes(Mode::Quick, GemmDtype::Fp32).len(), 1);
    }
}
