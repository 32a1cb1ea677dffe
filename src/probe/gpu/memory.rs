//! Device memory bandwidth (copy and triad kernels) and the batch-1 decode proxy (GEMV over a
//! weight-sized buffer). Bytes are counted read + write; copies also report the copy size.
use super::device::Dev;
use super::kernels;
use super::{DecodeTarget, PhaseCtx};
use crate::probe::count;
use crate::probe::matcheck::{self, MatView};
use crate::probe::measure::{self, Reps};
use crate::probe::rng::{uniform_f32, SplitMix64};
use crate::probe::schema::{Measurement, PhaseStatus, Shape};
use crate::probe::{Mode, Outcome};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

const MIB: usize = 1 << 20;
/// Threads per block for every kernel here (the contract in kernels/README.md).
const BLOCK: u32 = 256;
/// GEMV row length: 8192 bf16 = 16 KiB, a multiple of 8 as the kernel requires.
const GEMV_COLS: usize = 8192;
/// Host chunk the weight buffer is filled from (a whole number of rows, ≫ any L2).
const GEMV_CHUNK_ROWS: usize = 16384;

fn reps(mode: Mode) -> Reps {
    match mode {
        Mode::Quick => Reps {
            warmup: 5,
            min_reps: 20,
            max_reps: 5000,
            min_time_s: 2.0,
        },
        Mode::Full => Reps {
            warmup: 10,
            min_reps: 50,
            max_reps: 20000,
            min_time_s: 5.0,
        },
    }
}

/// Bytes per array: at least 512 MiB (nvbandwidth's default) and 8× L2, within a quarter of
/// free memory, a multiple of 16 bytes.
fn array_bytes(dev: &Dev) -> usize {
    let want = (512 * MIB).max(8 * dev.l2_bytes);
    want.min(dev.free_bytes() / 4) / 16 * 16
}

fn nvrtc_missing(dev: &Dev) -> Option<Outcome> {
    // SAFETY: only probes whether the library can be opened.
    (!dev.libs.nvrtc || !unsafe { cudarc::nvrtc::sys::is_culib_present() }).then(|| {
        Outcome::skipped("libnvrtc not found (see libraries): the kernels cannot be compiled")
    })
}

/// The copy and triad phase.
pub fn phase(dev: &Dev, ctx: &PhaseCtx, peak_gb_per_s: Option<f64>) -> Outcome {
    if let Some(skip) = nvrtc_missing(dev) {
        return skip;
    }
    match run(dev, ctx, peak_gb_per_s) {
        Ok((results, _)) if ctx.cancel.is_cancelled() => Outcome::cancelled(results),
        Ok((results, built)) => {
            let note = format!(
                "bytes counted read+write; timing: {}; {built}",
                format!("{:?}", dev.timer.clock()).to_lowercase()
            );
            Outcome {
                status: PhaseStatus::Ok,
                note: Some(note),
                results,
            }
        }
        Err(e) => Outcome::failed(e),
    }
}

fn run(dev: &Dev, ctx: &PhaseCtx, peak: Option<f64>) -> Result<(Vec<Measurement>, String), String> {
    let cc = dev.info.compute_capability;
    let (f, built) = kernels::load(
        &dev.ctx,
        &kernels::STREAM,
        cc,
        &["stream_copy_f32x4", "stream_triad_f32x4"],
        dev.driver_cuda,
    )?;
    let bytes = array_bytes(dev);
    if bytes < 16 * MIB {
        return Err(format!(
            "only {} MiB free on the device",
            dev.free_bytes() >> 20
        ));
    }
    let n = bytes / 4;
    let n4 = (n / 4) as u64;
    let a_host = uniform_f32(n, 31);
    let b_host = uniform_f32(n, 32);
    let a: CudaSlice<f32> = dev
        .stream
        .clone_htod(&a_host)
        .map_err(|e| format!("copy to device: {e}"))?;
    let b: CudaSlice<f32> = dev
        .stream
        .clone_htod(&b_host)
        .map_err(|e| format!("copy to device: {e}"))?;
    // SAFETY: `c` is only written by the kernels before being read back.
    let mut c: CudaSlice<f32> =
        unsafe { dev.stream.alloc::<f32>(n) }.map_err(|e| format!("allocating: {e}"))?;
    let grid = n4.div_ceil(1024).min((1u64 << 31) - 1) as u32;
    let cfg = LaunchConfig {
        grid_dim: (grid, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    let scalar = 3.0f32;
    let mut results = Vec::new();

    let copy = dev
        .timer
        .run(&dev.stream, reps(ctx.mode), ctx.cancel, ctx.obs, || {
            let mut l = dev.stream.launch_builder(&f[0]);
            l.arg(&a).arg(&mut c).arg(&n4);
            // SAFETY: the contract of stream_copy_f32x4: a and c hold n4 float4 each (n floats,
            // n a multiple of 4, allocations 16-byte aligned), c does not alias a; block 256.
            unsafe { l.launch(cfg) }
                .map(|_| ())
                .map_err(|e| format!("launch stream_copy_f32x4: {e}"))
        })?;
    let got: Vec<f32> = dev
        .stream
        .clone_dtoh(&c)
        .map_err(|e| format!("copy from device: {e}"))?;
    let copy_ok = got.len() == a_host.len()
        && got
            .iter()
            .zip(&a_host)
            .all(|(x, y)| x.to_bits() == y.to_bits());
    results.push(finish(
        "copy",
        copy,
        count::copy_bytes(n4, 16),
        n,
        peak,
        if copy_ok { 0.0 } else { 1.0 },
        0.0,
    ));
    if ctx.cancel.is_cancelled() {
        return Ok((results, built));
    }

    let triad = dev
        .timer
        .run(&dev.stream, reps(ctx.mode), ctx.cancel, ctx.obs, || {
            let mut l = dev.stream.launch_builder(&f[1]);
            l.arg(&a).arg(&b).arg(&mut c).arg(&scalar).arg(&n4);
            // SAFETY: the contract of stream_triad_f32x4: a, b, c hold n4 float4 each, c aliases
            // neither input; block 256.
            unsafe { l.launch(cfg) }
                .map(|_| ())
                .map_err(|e| format!("launch stream_triad_f32x4: {e}"))
        })?;
    let got: Vec<f32> = dev
        .stream
        .clone_dtoh(&c)
        .map_err(|e| format!("copy from device: {e}"))?;
    // The device may fuse the multiply-add; allow one rounding of difference.
    let err = got
        .iter()
        .zip(a_host.iter().zip(&b_host))
        .map(|(g, (x, y))| {
            let want = f64::from(*x) + f64::from(scalar) * f64::from(*y);
            (f64::from(*g) - want).abs() / want.abs().max(1.0)
        })
        .fold(0.0, f64::max);
    let bound = 2.0 * f64::from(f32::EPSILON);
    results.push(finish(
        "triad",
        triad,
        count::triad_bytes(n4, 16),
        n,
        peak,
        err,
        bound,
    ));
    Ok((results, built))
}

fn finish(
    label: &str,
    w: super::timing::Window,
    bytes: f64,
    elements: usize,
    peak: Option<f64>,
    err: f64,
    bound: f64,
) -> Measurement {
    let mut m = measure::from_times(label, Some("f32"), w.timed)
        .with_bytes(bytes, "read+write", peak)
        .with_check(err, bound);
    if label == "copy" {
        m.copy_size_gb_per_s = m.gb_per_s.map(|g| g / 2.0);
    }
    m.shape = Shape {
        elements: Some(elements as u64),
        ..Shape::default()
    };
    m.window_start_s = Some(w.start_s);
    m.window_end_s = Some(w.end_s);
    m
}

/// The decode proxy: GEMV over a bf16 weight buffer the size of the model's weights (capped).
pub fn decode(
    dev: &Dev,
    ctx: &PhaseCtx,
    target: Option<&DecodeTarget>,
    peak: Option<f64>,
) -> Outcome {
    if let Some(skip) = nvrtc_missing(dev) {
        return skip;
    }
    match run_decode(dev, ctx, target, peak) {
        Ok(m) if ctx.cancel.is_cancelled() => Outcome::cancelled(vec![m]),
        Ok(m) => Outcome {
            status: PhaseStatus::Ok,
            note: m.note.clone(),
            results: vec![m],
        },
        Err(e) => Outcome::failed(e),
    }
}

fn run_decode(
    dev: &Dev,
    ctx: &PhaseCtx,
    target: Option<&DecodeTarget>,
    peak: Option<f64>,
) -> Result<Measurement, String> {
    let (f, built) = kernels::load(
        &dev.ctx,
        &kernels::GEMV,
        dev.info.compute_capability,
        &["gemv_bf16"],
        dev.driver_cuda,
    )?;
    let cap = match ctx.mode {
        Mode::Quick => 8usize << 30,
        Mode::Full => 32usize << 30,
    };
    let row_bytes = 2 * GEMV_COLS;
    let wanted = target.map(|t| t.weight_bytes as usize).unwrap_or(4 << 30);
    let limit = cap.min(dev.free_bytes() / 10 * 8);
    let rows = (wanted.min(limit) / row_bytes / GEMV_CHUNK_ROWS).max(1) * GEMV_CHUNK_ROWS;
    let weight_bytes = rows * row_bytes;
    if weight_bytes > dev.free_bytes() {
        return Err(format!(
            "only {} MiB free on the device",
            dev.free_bytes() >> 20
        ));
    }

    let chunk: Vec<u16> = {
        let mut rng = SplitMix64::new(41);
        (0..GEMV_CHUNK_ROWS * GEMV_COLS)
            .map(|_| half::bf16::from_f32(rng.next_f32() + 1e-3).to_bits())
            .collect()
    };
    let x_host: Vec<u16> = uniform_f32(GEMV_COLS, 42)
        .iter()
        .map(|v| half::bf16::from_f32(v + 1e-3).to_bits())
        .collect();
    // SAFETY: every element of `w` is written by the chunk copies below before any launch.
    let mut w: CudaSlice<u16> = unsafe { dev.stream.alloc::<u16>(rows * GEMV_COLS) }
        .map_err(|e| format!("allocating weights: {e}"))?;
    for start in (0..rows * GEMV_COLS).step_by(chunk.len()) {
        let mut dst = w.slice_mut(start..start + chunk.len());
        dev.stream
            .memcpy_htod(&chunk, &mut dst)
            .map_err(|e| format!("filling weights: {e}"))?;
    }
    let x: CudaSlice<u16> = dev
        .stream
        .clone_htod(&x_host)
        .map_err(|e| format!("copy to device: {e}"))?;
    // SAFETY: written by the kernel (all rows) before being read.
    let mut y: CudaSlice<f32> =
        unsafe { dev.stream.alloc::<f32>(rows) }.map_err(|e| format!("allocating: {e}"))?;
    let (rows_i, cols_i) = (
        i32::try_from(rows).map_err(|_| "too many rows".to_owned())?,
        GEMV_COLS as i32,
    );
    let cfg = LaunchConfig {
        grid_dim: ((rows as u32).div_ceil(8), 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    let window = dev
        .timer
        .run(&dev.stream, reps(ctx.mode), ctx.cancel, ctx.obs, || {
            let mut l = dev.stream.launch_builder(&f[0]);
            l.arg(&w).arg(&x).arg(&mut y).arg(&rows_i).arg(&cols_i);
            // SAFETY: the contract of gemv_bf16: W holds rows×cols bf16, x cols, y rows f32;
            // cols = 8192 (≥ 8, a multiple of 8); y aliases nothing; block 256, grid rows/8.
            unsafe { l.launch(cfg) }
                .map(|_| ())
                .map_err(|e| format!("launch gemv_bf16: {e}"))
        })?;
    let y_host: Vec<f32> = dev
        .stream
        .clone_dtoh(&y)
        .map_err(|e| format!("copy from device: {e}"))?;

    // Check 64 rows against the f64 reference (row r holds chunk row r mod GEMV_CHUNK_ROWS).
    let chunk_f32: Vec<f32> = chunk
        .iter()
        .map(|b| half::bf16::from_bits(*b).to_f32())
        .collect();
    let x_f32: Vec<f32> = x_host
        .iter()
        .map(|b| half::bf16::from_bits(*b).to_f32())
        .collect();
    let wv = MatView::row_major(&chunk_f32, GEMV_CHUNK_ROWS, GEMV_COLS);
    let xv = MatView::col_major(&x_f32, GEMV_COLS, 1);
    let picks: Vec<(usize, usize)> = matcheck::sampled(rows, 1, 64, 43);
    let err = picks
        .iter()
        .map(|&(r, _)| {
            matcheck::max_scaled_error(&wv, &xv, [(r % GEMV_CHUNK_ROWS, 0)], |_, _| {
                f64::from(y_host[r])
            })
        })
        .fold(0.0, f64::max);

    let bytes = (2 * rows * GEMV_COLS + 2 * GEMV_COLS + 4 * rows) as f64;
    let mut m = measure::from_times(
        format!("gemv bf16 {rows}x{GEMV_COLS}"),
        Some("bf16"),
        window.timed,
    )
    .with_bytes(bytes, "read+write", peak)
    .with_check(err, 2.0 * GEMV_COLS as f64 * f64::from(f32::EPSILON));
    m.shape = Shape {
        m: Some(rows as u64),
        k: Some(GEMV_COLS as u64),
        ..Shape::default()
    };
    m.flop = Some(2.0 * rows as f64 * GEMV_COLS as f64);
    m.window_start_s = Some(window.start_s);
    m.window_end_s = Some(window.end_s);
    let gib = |b: f64| b / (1u64 << 30) as f64;
    m.note = Some(match target {
        Some(t) => {
            m.tokens_per_s = m
                .gb_per_s
                .and_then(|g| count::decode_tokens_per_s(t.weight_bytes, g * 1e9));
            let capped = if (weight_bytes as f64) < t.weight_bytes {
                format!("; buffer capped at {:.1} GiB (free memory or mode limit), bandwidth applied to all weights", gib(weight_bytes as f64))
            } else {
                String::new()
            };
            format!(
                "{}: {:.2e} parameters × 2 bytes (bf16) = {:.1} GiB per token; memory-bound ceiling, KV cache and compute ignored{capped}",
                t.model_id,
                t.params as f64,
                gib(t.weight_bytes)
            )
        }
        None => format!(
            "{:.1} GiB weight buffer; pass --model for tokens/s",
            gib(weight_bytes as f64)
        ),
    });
    if let Some(note) = m.note.as_mut() {
        note.push_str(&format!("; {built}"));
    }
    m.checked_elements = Some(picks.len() as u64);
    Ok(m)
}
