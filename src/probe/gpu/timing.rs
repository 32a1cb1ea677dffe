//! Timing GPU work: CUDA events around each repetition, or the host clock after a stream
//! synchronize when the driver lacks `cuEventElapsedTime_v2`, which `CudaEvent::elapsed_ms`
//! calls under cudarc's `cuda-13000` bindings (a missing symbol would panic there).
use crate::probe::control::{Cancel, Observer};
use crate::probe::measure::{Reps, Timed};
use crate::probe::schema::ClockSource;
use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::CudaStream;
use std::sync::Arc;
use std::time::Instant;

/// Repetitions enqueued between synchronizations (and cancellation checks).
const BATCH: u32 = 8;

/// Times of the timed repetitions and when they ran.
#[derive(Debug, Clone)]
pub struct Window {
    pub timed: Timed,
    /// Seconds since the run started.
    pub start_s: f64,
    pub end_s: f64,
}

/// Times `work` under `reps` on `stream`.
pub struct Timer {
    pub events: bool,
    pub t0: Instant,
}

impl Timer {
    pub fn clock(&self) -> ClockSource {
        if self.events {
            ClockSource::CudaEvent
        } else {
            ClockSource::HostSync
        }
    }

    /// Warms up, then times repetitions of `work` until `reps` is satisfied or `cancel` is set.
    pub fn run(
        &self,
        stream: &Arc<CudaStream>,
        reps: Reps,
        cancel: &Cancel,
        obs: &dyn Observer,
        mut work: impl FnMut() -> Result<(), String>,
    ) -> Result<Window, String> {
        let sync = |s: &Arc<CudaStream>| {
            s.synchronize()
                .map_err(|e| format!("stream synchronize: {e}"))
        };
        for _ in 0..reps.warmup {
            work()?;
        }
        sync(stream)?;
        let start_s = self.t0.elapsed().as_secs_f64();
        let mut times: Vec<f64> = Vec::new();
        let mut total = 0.0;
        while reps.more(times.len() as u32, total) && !cancel.is_cancelled() {
            if self.events {
                let mut pairs = Vec::new();
                for _ in 0..BATCH {
                    let flags = Some(CUevent_flags::CU_EVENT_DEFAULT);
                    let a = stream
                        .record_event(flags)
                        .map_err(|e| format!("record event: {e}"))?;
                    work()?;
                    let b = stream
                        .record_event(flags)
                        .map_err(|e| format!("record event: {e}"))?;
                    pairs.push((a, b));
                }
                sync(stream)?;
                for (a, b) in pairs {
                    let ms = a
                        .elapsed_ms(&b)
                        .map_err(|e| format!("event elapsed time: {e}"))?;
                    let dt = f64::from(ms) / 1e3;
                    total += dt;
                    times.push(dt);
                    obs.step();
                }
            } else {
                let t = Instant::now();
                work()?;
                sync(stream)?;
                let dt = t.elapsed().as_secs_f64();
                total += dt;
                times.push(dt);
                obs.step();
            }
        }
        let end_s = self.t0.elapsed().as_secs_f64();
        Ok(Window {
            timed: Timed {
                times_s: times,
                warmup: reps.warmup,
                clock: self.clock(),
            },
            start_s,
            end_s,
        })
    }
}
