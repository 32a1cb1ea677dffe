//! Host↔device copies over PCIe: both directions, pinned and pageable host memory, 1 MiB to
//! 1 GiB, against the link's theoretical rate. Bytes are counted once (the transfer size).
//!
//! Pinned buffers use `CU_MEMHOSTALLOC_PORTABLE` as nvbandwidth does (cudarc's default
//! write-combined memory reads slowly on the CPU). Host threads are not bound to the GPU's NUMA
//! node; on multi-socket hosts the figure depends on where the process runs (the run records
//! each GPU's NUMA node and CPU affinity).
//!
//! The link's generation and width are read while pinned copies are in flight: idle links
//! train down to save power, so a reading before or after the copies says nothing about the
//! link under load.
use super::device::Dev;
use super::PhaseCtx;
use crate::probe::measure::{self, Reps};
use crate::probe::schema::{Measurement, PcieLink, PhaseStatus, Shape};
use crate::probe::{Mode, Outcome};
use cudarc::driver::sys::CU_MEMHOSTALLOC_PORTABLE;
use cudarc::driver::CudaSlice;

const MIB: usize = 1 << 20;
/// Pinned copies kept in flight while the link is read (≥ 100 ms of transfer on PCIe 5 x16).
const LOAD_COPIES: usize = 8;
/// Link readings taken during those copies; the best one is kept, since a link may still be
/// training up when the first copy starts.
const LINK_READS: usize = 4;

/// Transfer sizes for a mode.
pub fn sizes(mode: Mode) -> Vec<usize> {
    match mode {
        Mode::Quick => vec![MIB, 32 * MIB, 1024 * MIB],
        Mode::Full => vec![MIB, 4 * MIB, 16 * MIB, 64 * MIB, 256 * MIB, 1024 * MIB],
    }
}

fn label(dir: &str, host: &str, size: usize) -> String {
    if size >= 1024 * MIB {
        format!("{dir} {host} {} GiB", size / (1024 * MIB))
    } else {
        format!("{dir} {host} {} MiB", size / MIB)
    }
}

/// The best of several link readings: the highest generation and width seen.
pub fn best_link(readings: &[PcieLink]) -> Option<PcieLink> {
    let first = *readings.first()?;
    Some(readings.iter().fold(first, |acc, r| PcieLink {
        gen_current: acc.gen_current.max(r.gen_current),
        gen_max: acc.gen_max.or(r.gen_max),
        width_current: acc.width_current.max(r.width_current),
        width_max: acc.width_max.or(r.width_max),
    }))
}

/// The PCIe phase; `link_gb_per_s` is the theoretical one-direction rate of the link and
/// `read_link` reads its state (NVML). Returns the link state seen under load.
pub fn phase(
    dev: &Dev,
    ctx: &PhaseCtx,
    link_gb_per_s: Option<f64>,
    read_link: &dyn Fn() -> Option<PcieLink>,
) -> (Outcome, Option<PcieLink>) {
    let mut under_load = None;
    let outcome = match run(dev, ctx, link_gb_per_s, read_link, &mut under_load) {
        Ok(results) if ctx.cancel.is_cancelled() => Outcome::cancelled(results),
        Ok(results) => {
            let note = format!(
                "bytes counted once per transfer; % of the link's theoretical rate per direction; pinned = PORTABLE page-locked; timing: {:?}",
                dev.timer.clock()
            )
            .to_lowercase();
            Outcome {
                status: PhaseStatus::Ok,
                note: Some(note),
                results,
            }
        }
        Err(e) => Outcome::failed(e),
    };
    (outcome, under_load)
}

fn run(
    dev: &Dev,
    ctx: &PhaseCtx,
    link: Option<f64>,
    read_link: &dyn Fn() -> Option<PcieLink>,
    under_load: &mut Option<PcieLink>,
) -> Result<Vec<Measurement>, String> {
    let max = *sizes(ctx.mode).iter().max().unwrap_or(&MIB);
    let max = max.min(dev.free_bytes() / 4).max(MIB);
    let pattern: Vec<u8> = (0..max)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut pageable = pattern.clone();
    // SAFETY: the pinned buffer is fully written (copied from `pattern`) before any transfer
    // reads it.
    let mut pinned = unsafe {
        dev.ctx
            .alloc_pinned_with_flags::<u8>(max, CU_MEMHOSTALLOC_PORTABLE)
    }
    .map_err(|e| format!("allocating {} MiB of pinned host memory: {e}", max >> 20))?;
    pinned
        .as_mut_slice()
        .map_err(|e| e.to_string())?
        .copy_from_slice(&pattern);
    let mut device: CudaSlice<u8> = dev.upload(&pattern)?;
    let reps = Reps {
        warmup: 2,
        min_reps: 10,
        max_reps: 1000,
        min_time_s: 0.5,
    };
    let mut results = Vec::new();

    // Correctness: a pageable round trip of 1 MiB returns the same bytes.
    let mut back = vec![0u8; MIB];
    dev.stream
        .memcpy_htod(&pattern[..MIB], &mut device.slice_mut(..MIB))
        .map_err(|e| e.to_string())?;
    dev.stream
        .memcpy_dtoh(&device.slice(..MIB), &mut back[..])
        .map_err(|e| e.to_string())?;
    dev.stream.synchronize().map_err(|e| e.to_string())?;
    let round_trip_ok = back[..] == pattern[..MIB];

    // The link under load: read it while pinned copies are queued and running.
    {
        let src = pinned.as_slice().map_err(|e| e.to_string())?;
        for _ in 0..LOAD_COPIES {
            dev.stream
                .memcpy_htod(&src[..max], &mut device.slice_mut(..max))
                .map_err(|e| format!("h2d pinned copy: {e}"))?;
        }
        let mut readings = Vec::new();
        for _ in 0..LINK_READS {
            readings.extend(read_link());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        dev.stream.synchronize().map_err(|e| e.to_string())?;
        *under_load = best_link(&readings);
    }

    for size in sizes(ctx.mode).into_iter().filter(|s| *s <= max) {
        for (dir, host) in [
            ("h2d", "pinned"),
            ("d2h", "pinned"),
            ("h2d", "pageable"),
            ("d2h", "pageable"),
        ] {
            if ctx.cancel.is_cancelled() {
                return Ok(results);
            }
            let w = dev.timer.run(&dev.stream, reps, ctx.cancel, ctx.obs, || {
                let r = match (dir, host) {
                    ("h2d", "pinned") => {
                        let src = pinned.as_slice().map_err(|e| e.to_string())?;
                        dev.stream
                            .memcpy_htod(&src[..size], &mut device.slice_mut(..size))
                    }
                    ("d2h", "pinned") => {
                        let dst = pinned.as_mut_slice().map_err(|e| e.to_string())?;
                        dev.stream
                            .memcpy_dtoh(&device.slice(..size), &mut dst[..size])
                    }
                    ("h2d", _) => dev
                        .stream
                        .memcpy_htod(&pageable[..size], &mut device.slice_mut(..size)),
                    _ => dev
                        .stream
                        .memcpy_dtoh(&device.slice(..size), &mut pageable[..size]),
                };
                r.map_err(|e| format!("{dir} {host} copy: {e}"))
            })?;
            let mut m = measure::from_times(label(dir, host, size), None, w.timed).with_bytes(
                size as f64,
                "transfer",
                link,
            );
            m.shape = Shape {
                transfer_bytes: Some(size as u64),
                ..Shape::default()
            };
            m.window_start_s = Some(w.start_s);
            m.window_end_s = Some(w.end_s);
            results.push(m);
        }
    }
    if let Some(first) = results.first_mut() {
        *first = first
            .clone()
            .with_check(if round_trip_ok { 0.0 } else { 1.0 }, 0.0);
        first.note = Some("check: a 1 MiB pageable round trip returned the bytes sent".to_owned());
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_link_reading_wins() {
        let r = |g, w| PcieLink {
            gen_current: Some(g),
            gen_max: Some(5),
            width_current: Some(w),
            width_max: Some(16),
        };
        assert_eq!(best_link(&[r(1, 16), r(5, 16), r(4, 8)]), Some(r(5, 16)));
        assert_eq!(best_link(&[]), None);
    }

    #[test]
    fn sizes_span_one_mib_to_one_gib() {
        for mode in [Mode::Quick, Mode::Full] {
            let s = sizes(mode);
            assert_eq!(s.first(), Some(&MIB));
            assert_eq!(s.last(), Some(&(1024 * MIB)));
        }
        assert_eq!(label("h2d", "pinned", 1024 * MIB), "h2d pinned 1 GiB");
        assert_eq!(label("d2h", "pageable", 32 * MIB), "d2h pageable 32 MiB");
    }
}
