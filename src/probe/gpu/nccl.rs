//! NCCL all-reduce and all-gather across the local GPUs, 8 MiB to 1 GiB, reported the way
//! nccl-tests reports them (`algbw = S/t`, `busbw = algbw × factor`, see `count::Collective`).
//!
//! NCCL is opened at run time with libloading, where users have it (the driver's loader path or
//! pip's `nvidia-nccl-cu13`, found by `libs`); without it the phase is skipped. One thread
//! drives all GPUs through `ncclCommInitAll` and group calls, as nccl-tests does with `-g N`.
//! Each repetition is one collective on every GPU, timed on the host from launch to the end of
//! every stream (nccl-tests times the same span). Results are checked: every rank sends the
//! value `rank + 1`, so an all-reduce must produce `n(n+1)/2` and an all-gather chunk `r` must
//! hold `r + 1`, on sampled elements of every GPU.
use super::device::Dev;
use super::libs::{self, CudaLib};
use super::PhaseCtx;
use crate::probe::count::{self, Collective};
use crate::probe::measure::{self, Reps, Timed};
use crate::probe::schema::{ClockSource, Measurement, PhaseStatus, Shape};
use crate::probe::{Mode, Outcome};
use cudarc::driver::{CudaSlice, DevicePtr};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::time::Instant;

const MIB: usize = 1 << 20;
/// `ncclFloat32` and `ncclSum` (nccl.h; stable since NCCL 2.0).
const NCCL_FLOAT32: c_int = 7;
const NCCL_SUM: c_int = 0;
/// Collectives per timed repetition (nccl-tests' default `-n` is 20 per size).
const PER_REP: u32 = 5;

type Comm = *mut c_void;

/// The NCCL entry points the probe calls, resolved from the library.
struct Nccl {
    get_version: unsafe extern "C" fn(*mut c_int) -> c_int,
    comm_init_all: unsafe extern "C" fn(*mut Comm, c_int, *const c_int) -> c_int,
    comm_destroy: unsafe extern "C" fn(Comm) -> c_int,
    all_reduce: unsafe extern "C" fn(
        *const c_void,
        *mut c_void,
        usize,
        c_int,
        c_int,
        Comm,
        *mut c_void,
    ) -> c_int,
    all_gather:
        unsafe extern "C" fn(*const c_void, *mut c_void, usize, c_int, Comm, *mut c_void) -> c_int,
    group_start: unsafe extern "C" fn() -> c_int,
    group_end: unsafe extern "C" fn() -> c_int,
    error_string: unsafe extern "C" fn(c_int) -> *const c_char,
    _lib: libloading::Library,
}

impl Nccl {
    fn open() -> Result<Nccl, String> {
        let name = libs::opened_as(CudaLib::Nccl).ok_or("libnccl not found")?;
        // SAFETY: opening the vendor library runs its initializers, as any NCCL user does.
        let lib = unsafe { libloading::Library::new(name) }.map_err(|e| format!("{name}: {e}"))?;
        macro_rules! sym {
            ($n:literal) => {
                // SAFETY: the symbol's type is the one nccl.h declares for it.
                *unsafe { lib.get($n) }.map_err(|e| format!("libnccl lacks a symbol: {e}"))?
            };
        }
        Ok(Nccl {
            get_version: sym!(b"ncclGetVersion\0"),
            comm_init_all: sym!(b"ncclCommInitAll\0"),
            comm_destroy: sym!(b"ncclCommDestroy\0"),
            all_reduce: sym!(b"ncclAllReduce\0"),
            all_gather: sym!(b"ncclAllGather\0"),
            group_start: sym!(b"ncclGroupStart\0"),
            group_end: sym!(b"ncclGroupEnd\0"),
            error_string: sym!(b"ncclGetErrorString\0"),
            _lib: lib,
        })
    }

    fn check(&self, what: &str, rc: c_int) -> Result<(), String> {
        if rc == 0 {
            return Ok(());
        }
        // SAFETY: NCCL returns a static string for every result code.
        let text = unsafe { CStr::from_ptr((self.error_string)(rc)) };
        Err(format!("{what}: {}", text.to_string_lossy()))
    }

    /// `2.21.5` from NCCL's integer version (`major·10000 + minor·100 + patch` since 2.9).
    fn version(&self) -> Option<String> {
        let mut v: c_int = 0;
        // SAFETY: writes one int.
        let rc = unsafe { (self.get_version)(&mut v) };
        (rc == 0).then(|| format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100))
    }
}

/// Communicators of one `ncclCommInitAll`, destroyed on drop.
struct Comms<'a> {
    nccl: &'a Nccl,
    comms: Vec<Comm>,
}

impl Drop for Comms<'_> {
    fn drop(&mut self) {
        for c in &self.comms {
            // SAFETY: each communicator came from ncclCommInitAll and is destroyed once, after
            // the phase synchronized every stream.
            unsafe {
                let _ = (self.nccl.comm_destroy)(*c);
            }
        }
    }
}

fn sizes(mode: Mode) -> Vec<usize> {
    match mode {
        Mode::Quick => vec![8 * MIB, 64 * MIB, 1024 * MIB],
        Mode::Full => (0..8).map(|i| (8 * MIB) << i).collect(),
    }
}

/// One collective on every GPU, as one NCCL group.
fn launch(
    nccl: &Nccl,
    comms: &Comms,
    devs: &[&Dev],
    bufs: &[(CudaSlice<f32>, CudaSlice<f32>)],
    coll: Collective,
    count: usize,
) -> Result<(), String> {
    // SAFETY: group calls bracket one call per communicator; every buffer holds at least
    // `count` floats (all-gather: `count` per rank in, `count · n` out), lives until the streams
    // are synchronized, and belongs to the GPU of the communicator and stream it is used with.
    unsafe {
        nccl.check("ncclGroupStart", (nccl.group_start)())?;
        for ((d, comm), (send, recv)) in devs.iter().zip(&comms.comms).zip(bufs) {
            let (ps, _gs) = send.device_ptr(&d.stream);
            let (pr, _gr) = recv.device_ptr(&d.stream);
            let stream = d.stream.cu_stream() as *mut c_void;
            let rc = match coll {
                Collective::AllReduce => (nccl.all_reduce)(
                    ps as *const c_void,
                    pr as *mut c_void,
                    count,
                    NCCL_FLOAT32,
                    NCCL_SUM,
                    *comm,
                    stream,
                ),
                Collective::AllGather => (nccl.all_gather)(
                    ps as *const c_void,
                    pr as *mut c_void,
                    count,
                    NCCL_FLOAT32,
                    *comm,
                    stream,
                ),
            };
            if rc != 0 {
                let _ = (nccl.group_end)();
                return nccl.check(coll.name(), rc);
            }
        }
        nccl.check("ncclGroupEnd", (nccl.group_end)())
    }
}

fn sync_all(devs: &[&Dev]) -> Result<(), String> {
    devs.iter().try_for_each(|d| {
        d.stream
            .synchronize()
            .map_err(|e| format!("stream synchronize: {e}"))
    })
}

/// Whether sampled elements of every GPU's output hold the expected values.
fn verify(
    devs: &[&Dev],
    bufs: &[(CudaSlice<f32>, CudaSlice<f32>)],
    coll: Collective,
    count: usize,
) -> Result<(f64, u64), String> {
    let n = devs.len();
    let mut worst = 0.0f64;
    let mut checked = 0;
    for (d, (_, recv)) in devs.iter().zip(bufs) {
        let total = match coll {
            Collective::AllReduce => count,
            Collective::AllGather => count * n,
        };
        for k in 0..16 {
            let at = (k * 7919 * 1031) % total;
            let mut got = [0f32; 1];
            d.stream
                .memcpy_dtoh(&recv.slice(at..at + 1), &mut got)
                .map_err(|e| e.to_string())?;
            d.stream.synchronize().map_err(|e| e.to_string())?;
            let want = match coll {
                Collective::AllReduce => (n * (n + 1) / 2) as f64,
                Collective::AllGather => (at / count + 1) as f64,
            };
            worst = worst.max((f64::from(got[0]) - want).abs() / want);
            checked += 1;
        }
    }
    Ok((worst, checked))
}

fn measure_one(
    nccl: &Nccl,
    comms: &Comms,
    devs: &[&Dev],
    bufs: &[(CudaSlice<f32>, CudaSlice<f32>)],
    coll: Collective,
    size: usize,
    ctx: &PhaseCtx,
) -> Result<Measurement, String> {
    let n = devs.len();
    // nccl-tests' size S: the per-rank buffer for all-reduce, the gathered buffer for all-gather.
    let count = match coll {
        Collective::AllReduce => size / 4,
        Collective::AllGather => size / 4 / n,
    };
    for _ in 0..PER_REP {
        launch(nccl, comms, devs, bufs, coll, count)?;
    }
    sync_all(devs)?;
    let reps = Reps {
        warmup: 0,
        min_reps: 4,
        max_reps: 200,
        min_time_s: 0.5,
    };
    let mut times = Vec::new();
    let mut total = 0.0;
    while reps.more(times.len() as u32, total) && !ctx.cancel.is_cancelled() {
        let t = Instant::now();
        for _ in 0..PER_REP {
            launch(nccl, comms, devs, bufs, coll, count)?;
        }
        sync_all(devs)?;
        let dt = t.elapsed().as_secs_f64();
        total += dt;
        times.push(dt / f64::from(PER_REP));
        ctx.obs.step();
    }
    let (err, checked) = verify(devs, bufs, coll, count)?;
    let bytes = (count * 4 * if coll == Collective::AllGather { n } else { 1 }) as f64;
    let label = format!("{} {} MiB", coll.name(), size / MIB);
    let mut m = measure::from_times(
        label,
        Some("f32"),
        Timed {
            times_s: times,
            warmup: PER_REP,
            clock: ClockSource::HostSync,
        },
    )
    .with_check(err, 0.0);
    if let Some((alg, bus)) = m
        .median_s
        .and_then(|t| count::nccl_bandwidths(coll, bytes, t, n as u32))
    {
        m.bytes = Some(bytes);
        m.bytes_convention = Some("busbw (nccl-tests)".into());
        m.algbw_gb_per_s = Some(alg);
        m.busbw_gb_per_s = Some(bus);
        m.gb_per_s = Some(bus);
    }
    m.shape = Shape {
        transfer_bytes: Some(bytes as u64),
        ..Shape::default()
    };
    m.checked_elements = Some(checked);
    m.note = Some(format!("each time is the mean of {PER_REP} collectives"));
    Ok(m)
}

/// The NCCL phase across `devs` (at least two).
pub fn phase(devs: &[&Dev], ctx: &PhaseCtx) -> Outcome {
    if !libs::found(CudaLib::Nccl) {
        return Outcome::skipped("libnccl not found (see libraries): pip install nvidia-nccl-cu13");
    }
    let nccl = match Nccl::open() {
        Ok(n) => n,
        Err(e) => return Outcome::failed(e),
    };
    let n = devs.len();
    let ordinals: Vec<c_int> = devs.iter().map(|d| d.info.ordinal as c_int).collect();
    let mut comms = Comms {
        nccl: &nccl,
        comms: vec![std::ptr::null_mut(); n],
    };
    // SAFETY: `comms` has room for `n` communicators and `ordinals` lists `n` devices.
    let rc =
        unsafe { (nccl.comm_init_all)(comms.comms.as_mut_ptr(), n as c_int, ordinals.as_ptr()) };
    if let Err(e) = nccl.check("ncclCommInitAll", rc) {
        comms.comms.clear();
        return Outcome::failed(e);
    }
    let free = devs.iter().map(|d| d.free_bytes()).min().unwrap_or(0);
    let cap = (free / 4).min(1024 * MIB);
    let max = sizes(ctx.mode)
        .into_iter()
        .filter(|s| *s <= cap)
        .max()
        .unwrap_or(0);
    if max == 0 {
        return Outcome::failed(format!("only {} MiB free per GPU", free >> 20));
    }
    // Every rank sends `rank + 1`; a send buffer of `max` bytes serves both collectives.
    let mut bufs = Vec::new();
    for (r, d) in devs.iter().enumerate() {
        let host = vec![(r + 1) as f32; max / 4];
        let send = match d.stream.clone_htod(&host) {
            Ok(s) => s,
            Err(e) => return Outcome::failed(format!("copy to device: {e}")),
        };
        // SAFETY: written by the collectives before it is read back.
        let recv = match unsafe { d.stream.alloc::<f32>(max / 4) } {
            Ok(b) => b,
            Err(e) => return Outcome::failed(format!("allocating {} MiB: {e}", max >> 20)),
        };
        bufs.push((send, recv));
    }
    let mut results = Vec::new();
    let mut notes = vec![format!(
        "NCCL {} over {n} GPUs in one process; busbw = algbw × 2(n−1)/n (all-reduce), (n−1)/n (all-gather), as nccl-tests",
        nccl.version().unwrap_or_else(|| "?".into())
    )];
    for size in sizes(ctx.mode) {
        if size > max {
            notes.push(format!(
                "{} MiB skipped: does not fit in free memory",
                size / MIB
            ));
            continue;
        }
        for coll in [Collective::AllReduce, Collective::AllGather] {
            if ctx.cancel.is_cancelled() {
                let _ = sync_all(devs);
                return Outcome::cancelled(results);
            }
            match measure_one(&nccl, &comms, devs, &bufs, coll, size, ctx) {
                Ok(m) => results.push(m),
                Err(e) => {
                    notes.push(e);
                    let _ = sync_all(devs);
                    drop(comms);
                    return Outcome {
                        status: if results.is_empty() {
                            PhaseStatus::Failed
                        } else {
                            PhaseStatus::Partial
                        },
                        note: Some(notes.join("; ")),
                        results,
                    };
                }
            }
        }
    }
    let _ = sync_all(devs);
    Outcome {
        status: PhaseStatus::Ok,
        note: Some(notes.join("; ")),
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_span_8_mib_to_1_gib() {
        for mode in [Mode::Quick, Mode::Full] {
            let s = sizes(mode);
            assert_eq!(s.first(), Some(&(8 * MIB)));
            assert_eq!(s.last(), Some(&(1024 * MIB)));
        }
        assert_eq!(sizes(Mode::Full).len(), 8);
    }
}
