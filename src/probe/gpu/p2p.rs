//! Peer-to-peer copies between every ordered pair of GPUs: bandwidth (a large copy) and latency
//! (a 4-byte copy), with peer access enabled where the driver allows it.
//!
//! Each copy is `cuMemcpyPeerAsync` issued on the source GPU's stream and timed there. Where
//! `cuDeviceCanAccessPeer` says no, the driver stages the copy through host memory; the result
//! is still measured and labelled so, since that is what a tensor-parallel group spanning those
//! GPUs would get. Bytes are counted once per copy (the transfer size), decimal GB/s.
use super::device::Dev;
use super::PhaseCtx;
use crate::probe::backend::PeerAccess;
use crate::probe::measure::{self, Reps};
use crate::probe::schema::{Measurement, PhaseStatus, Shape};
use crate::probe::{Mode, Outcome};
use cudarc::driver::sys::{self, CUresult};
use cudarc::driver::{result, CudaSlice, DevicePtr};

const MIB: usize = 1 << 20;
/// Bytes of the latency copy (one word, as p2pBandwidthLatencyTest's latency test).
const LATENCY_BYTES: usize = 4;

fn copy_bytes(mode: Mode) -> usize {
    match mode {
        Mode::Quick => 256 * MIB,
        Mode::Full => 1024 * MIB,
    }
}

/// Whether `a` may access `b`'s memory directly.
fn can_access(a: &Dev, b: &Dev) -> bool {
    let mut ok: std::ffi::c_int = 0;
    // SAFETY: both handles come from live contexts; the call only writes `ok`.
    let r = unsafe { sys::cuDeviceCanAccessPeer(&mut ok, a.ctx.cu_device(), b.ctx.cu_device()) };
    r == CUresult::CUDA_SUCCESS && ok == 1
}

/// Enables (or disables) `a`'s access to `b`'s memory; an already-enabled pair is fine.
fn set_access(a: &Dev, b: &Dev, enable: bool) -> Result<(), String> {
    a.ctx.bind_to_thread().map_err(|e| e.to_string())?;
    // SAFETY: `b.ctx` is a live context; flags must be 0.
    let r = unsafe {
        if enable {
            sys::cuCtxEnablePeerAccess(b.ctx.cu_ctx(), 0)
        } else {
            sys::cuCtxDisablePeerAccess(b.ctx.cu_ctx())
        }
    };
    match r {
        CUresult::CUDA_SUCCESS
        | CUresult::CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED
        | CUresult::CUDA_ERROR_PEER_ACCESS_NOT_ENABLED => Ok(()),
        other => Err(format!(
            "peer access {}: {other:?}",
            if enable { "enable" } else { "disable" }
        )),
    }
}

/// Enqueues a copy of `bytes` from `src` (on `a`) to `dst` (on `b`) on `a`'s stream.
fn copy(
    a: &Dev,
    b: &Dev,
    src: &CudaSlice<u8>,
    dst: &CudaSlice<u8>,
    bytes: usize,
) -> Result<(), String> {
    let (ps, _gs) = src.device_ptr(&a.stream);
    let (pd, _gd) = dst.device_ptr(&b.stream);
    // SAFETY: both buffers hold at least `bytes` (allocated below with that size or more) and
    // stay alive until the stream is synchronized; the contexts are those that own them.
    unsafe {
        result::memcpy_peer_async(
            b.ctx.cu_ctx(),
            pd,
            a.ctx.cu_ctx(),
            ps,
            bytes,
            a.stream.cu_stream(),
        )
    }
    .map_err(|e| format!("peer copy: {e}"))
}

/// Bandwidth and latency from `a` to `b`, and whether the bytes arrived intact.
fn pair(
    (a, an): (&Dev, &str),
    (b, bn): (&Dev, &str),
    ctx: &PhaseCtx,
    direct: bool,
    bytes: usize,
) -> Result<Vec<Measurement>, String> {
    let pattern: Vec<u8> = (0..bytes)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let src = a.upload(&pattern)?;
    let dst = b.alloc(bytes)?;
    let how = if direct {
        ""
    } else {
        " (no peer access: staged through host memory)"
    };
    let reps = Reps {
        warmup: 3,
        min_reps: 10,
        max_reps: 500,
        min_time_s: 0.5,
    };
    let w = a.timer.run(&a.stream, reps, ctx.cancel, ctx.obs, || {
        copy(a, b, &src, &dst, bytes)
    })?;
    a.stream.synchronize().map_err(|e| e.to_string())?;
    let got = b.download(&dst)?;
    let ok = got == pattern;
    let mut bw = measure::from_times(format!("{an} -> {bn}{how}"), None, w.timed)
        .with_bytes(bytes as f64, "transfer", None)
        .with_check(if ok { 0.0 } else { 1.0 }, 0.0);
    bw.shape = Shape {
        transfer_bytes: Some(bytes as u64),
        ..Shape::default()
    };
    bw.src_device = Some(an.to_owned());
    bw.dst_device = Some(bn.to_owned());
    bw.window_start_s = Some(w.start_s);
    bw.window_end_s = Some(w.end_s);
    bw.checked_elements = Some(bytes as u64);
    let lat_reps = Reps {
        warmup: 10,
        min_reps: 100,
        max_reps: 1000,
        min_time_s: 0.0,
    };
    let w = a.timer.run(&a.stream, lat_reps, ctx.cancel, ctx.obs, || {
        copy(a, b, &src, &dst, LATENCY_BYTES)
    })?;
    let mut lat = measure::from_times(format!("{an} -> {bn} latency{how}"), None, w.timed);
    lat.shape = Shape {
        transfer_bytes: Some(LATENCY_BYTES as u64),
        ..Shape::default()
    };
    lat.src_device = Some(an.to_owned());
    lat.dst_device = Some(bn.to_owned());
    lat.note = Some("median time of a 4-byte copy".into());
    Ok(vec![bw, lat])
}

/// The P2P phase over `devs` (at least two), named `names`; pairs in the returned access list
/// are positions in `devs`.
pub fn phase(devs: &[&Dev], names: &[String], ctx: &PhaseCtx) -> (Outcome, Vec<PeerAccess>) {
    let mut access = Vec::new();
    for i in 0..devs.len() {
        for j in i + 1..devs.len() {
            let both = can_access(devs[i], devs[j]) && can_access(devs[j], devs[i]);
            access.push(PeerAccess {
                a: i,
                b: j,
                both_ways: both,
            });
        }
    }
    let direct = |i: usize, j: usize| {
        access
            .iter()
            .any(|p| p.both_ways && ((p.a, p.b) == (i, j) || (p.a, p.b) == (j, i)))
    };
    let free = devs.iter().map(|d| d.free_bytes()).min().unwrap_or(0);
    let bytes = copy_bytes(ctx.mode).min(free / 4 / MIB * MIB).max(MIB);
    let mut results = Vec::new();
    let mut notes = vec![format!(
        "{} MiB copies on the source GPU's stream, bytes counted once; timing: {:?}",
        bytes / MIB,
        devs[0].timer.clock()
    )
    .to_lowercase()];
    for i in 0..devs.len() {
        for j in 0..devs.len() {
            if i == j {
                continue;
            }
            if ctx.cancel.is_cancelled() {
                return (Outcome::cancelled(results), access);
            }
            let (a, b) = (devs[i], devs[j]);
            let enabled = direct(i, j) && set_access(a, b, true).is_ok();
            match pair((a, &names[i]), (b, &names[j]), ctx, enabled, bytes) {
                Ok(ms) => results.extend(ms),
                Err(e) => notes.push(format!("{} -> {}: {e}", names[i], names[j])),
            }
            if enabled {
                let _ = set_access(a, b, false);
            }
        }
    }
    let status = if results.is_empty() {
        PhaseStatus::Failed
    } else if notes.len() > 1 {
        PhaseStatus::Partial
    } else {
        PhaseStatus::Ok
    };
    let outcome = Outcome {
        status,
        note: Some(notes.join("; ")),
        results,
    };
    (outcome, access)
}
