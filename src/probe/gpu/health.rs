//! Health and links of each GPU from NVML: ECC counts, retired pages, remapped rows, the PCIe
//! replay counter, NVLink link state, NUMA node and CPU affinity, the PCIe path between GPUs,
//! and a thread that collects critical XID events during the run.
//!
//! Every counter is read on its own; one a GPU does not support stays `None` (GeForce cards
//! report no ECC, pre-Ampere ones no row remapping, Ampere and later no page retirement).
use crate::probe::schema::{GpuHealth, NvLinkState, XidEvent};
use nvml_wrapper::bitmasks::event::EventTypes;
use nvml_wrapper::enum_wrappers::device::{
    EccCounter, MemoryError, RetirementCause, TopologyLevel,
};
use nvml_wrapper::enums::device::SampleValue;
use nvml_wrapper::enums::event::XidError;
use nvml_wrapper::structs::device::FieldId;
use nvml_wrapper::sys_exports::field_id::*;
use nvml_wrapper::{Device, Nvml};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Most NVLink links NVML numbers (`NVML_NVLINK_MAX_LINKS`).
const MAX_NVLINKS: u32 = 18;

/// `nvidia-smi topo -m`'s name for a common-ancestor level.
pub fn topo_name(level: &TopologyLevel) -> &'static str {
    match level {
        TopologyLevel::Internal => "BOARD",
        TopologyLevel::Single => "PIX",
        TopologyLevel::Multiple => "PXB",
        TopologyLevel::HostBridge => "PHB",
        TopologyLevel::Node => "NODE",
        TopologyLevel::System => "SYS",
    }
}

/// Integer field values, one per id (`None` where a field failed).
fn fields(device: &Device, ids: &[u32]) -> Vec<Option<u64>> {
    let wanted: Vec<FieldId> = ids.iter().map(|&i| FieldId(i)).collect();
    match device.field_values_for(&wanted) {
        Ok(values) => values
            .into_iter()
            .map(|v| match v.ok()?.value.ok()? {
                SampleValue::U32(x) => Some(u64::from(x)),
                SampleValue::U64(x) => Some(x),
                SampleValue::I64(x) => u64::try_from(x).ok(),
                SampleValue::F64(x) => (x.is_finite() && x >= 0.0).then_some(x as u64),
            })
            .collect(),
        Err(_) => vec![None; ids.len()],
    }
}

/// The error counters of `device` now.
pub fn health(device: &Device) -> GpuHealth {
    let ecc = |e: MemoryError, c: EccCounter| device.total_ecc_errors(e, c).ok();
    let pages = |cause| device.retired_pages(cause).ok().map(|p| p.len() as u64);
    let remap = fields(
        device,
        &[
            NVML_FI_DEV_REMAPPED_COR,
            NVML_FI_DEV_REMAPPED_UNC,
            NVML_FI_DEV_REMAPPED_PENDING,
            NVML_FI_DEV_REMAPPED_FAILURE,
        ],
    );
    GpuHealth {
        pcie_replay_count: device.pcie_replay_counter().ok().map(u64::from),
        ecc_corrected_volatile_count: ecc(MemoryError::Corrected, EccCounter::Volatile),
        ecc_uncorrected_volatile_count: ecc(MemoryError::Uncorrected, EccCounter::Volatile),
        ecc_uncorrected_aggregate_count: ecc(MemoryError::Uncorrected, EccCounter::Aggregate),
        retired_pages_sbe_count: pages(RetirementCause::MultipleSingleBitEccErrors),
        retired_pages_dbe_count: pages(RetirementCause::DoubleBitEccError),
        retired_pages_pending: device.are_pages_pending_retired().ok(),
        remapped_rows_correctable_count: remap[0],
        remapped_rows_uncorrectable_count: remap[1],
        remapped_rows_pending: remap[2].map(|v| v != 0),
        remapped_rows_failure: remap[3].map(|v| v != 0),
    }
}

/// Every NVLink link NVML reports (none on GPUs without NVLink).
pub fn nvlinks(device: &Device) -> Vec<NvLinkState> {
    let common_speed = fields(device, &[NVML_FI_DEV_NVLINK_SPEED_MBPS_COMMON])[0];
    (0..MAX_NVLINKS)
        .map_while(|link| {
            let l = device.link_wrapper_for(link);
            // The first link that NVML does not know ends the list.
            let active = l.is_active().ok()?;
            Some(NvLinkState {
                link,
                active,
                version: l.version().ok(),
                speed_mbyte_per_s: common_speed.filter(|s| *s > 0).map(|s| s as f64),
                remote_pci_bus_id: active
                    .then(|| l.remote_pci_info().ok().map(|p| p.bus_id))
                    .flatten(),
            })
        })
        .collect()
}

/// `0-3,8,10-11` for the set bits of an affinity mask whose words hold `word_bits` bits each
/// (bit i of word w is CPU `word_bits`·w + i).
pub fn cpu_list(mask: &[u64], word_bits: u64) -> String {
    let cpus: Vec<u64> = mask
        .iter()
        .enumerate()
        .flat_map(|(w, bits)| {
            (0..word_bits)
                .filter(move |b| bits >> b & 1 == 1)
                .map(move |b| w as u64 * word_bits + b)
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        while i + 1 < cpus.len() && cpus[i + 1] == cpus[i] + 1 {
            i += 1;
        }
        out.push(if cpus[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", cpus[i])
        });
        i += 1;
    }
    out.join(",")
}

/// CPUs near the GPU, from NVML's affinity mask.
pub fn cpu_affinity(device: &Device) -> Option<String> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(64);
    let words = cpus.div_ceil(64).max(1) * 2;
    let mask = device.cpu_affinity(words).ok()?;
    // `c_ulong` is 64 bits on Linux but 32 on Windows, hence the cast.
    #[allow(clippy::unnecessary_cast)]
    let words: Vec<u64> = mask.iter().map(|w| *w as u64).collect();
    let list = cpu_list(&words, 8 * std::mem::size_of::<std::ffi::c_ulong>() as u64);
    (!list.is_empty()).then_some(list)
}

/// `/sys/bus/pci/devices/<domain:bus:dev.fn>/numa_node` for an NVML bus id
/// (`00000000:17:00.0`); the kernel writes -1 when it does not know.
pub fn sysfs_numa_node(bus_id: &str) -> Option<u32> {
    let (domain, rest) = bus_id.split_once(':')?;
    let domain = u32::from_str_radix(domain, 16).ok()?;
    let path = format!(
        "/sys/bus/pci/devices/{domain:04x}:{}/numa_node",
        rest.to_ascii_lowercase()
    );
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
}

/// NUMA node of `device`: NVML when the driver has the call, else sysfs.
pub fn numa_node(device: &Device, bus_id: Option<&str>) -> Option<u32> {
    device
        .numa_node_id()
        .ok()
        .or_else(|| bus_id.and_then(sysfs_numa_node))
}

/// Collects critical XID errors on the listed GPUs until stopped.
pub struct XidWatch {
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<(u32, XidEvent)>>>,
    thread: Option<JoinHandle<()>>,
}

impl XidWatch {
    /// Registers for XID events on each GPU (where supported) and waits for them on a thread.
    pub fn start(nvml: &'static Nvml, indices: &[u32], t0: Instant) -> Option<XidWatch> {
        let set = nvml.create_event_set().ok()?;
        let mut set = Some(set);
        let mut uuids = Vec::new();
        for &i in indices {
            let Ok(d) = nvml.device_by_index(i) else {
                continue;
            };
            let Some(s) = set.take() else { break };
            match d.register_events(EventTypes::CRITICAL_XID_ERROR, s) {
                Ok(s) => {
                    set = Some(s);
                    uuids.push((d.uuid().ok(), i));
                }
                // A failed registration releases the set: nothing more can be watched.
                Err(_) => return None,
            }
        }
        let set = set?;
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (stop2, events2) = (stop.clone(), events.clone());
        let thread = std::thread::Builder::new()
            .name("nvml-xid".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    // Waits at most 200 ms, so stopping is prompt.
                    let Ok(data) = set.wait(200) else { continue };
                    let uuid = data.device.uuid().ok();
                    let index = uuids
                        .iter()
                        .find(|(u, _)| u.is_some() && *u == uuid)
                        .map(|(_, i)| *i)
                        .unwrap_or(u32::MAX);
                    if let Some(XidError::Value(xid)) = data.event_data {
                        if let Ok(mut all) = events2.lock() {
                            all.push((
                                index,
                                XidEvent {
                                    xid,
                                    t_s: t0.elapsed().as_secs_f64(),
                                },
                            ));
                        }
                    }
                }
            })
            .ok()?;
        Some(XidWatch {
            stop,
            events,
            thread: Some(thread),
        })
    }

    /// Stops the thread and returns the events.
    pub fn finish(mut self) -> Vec<(u32, XidEvent)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Drop for XidWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_masks_print_as_cpu_lists() {
        assert_eq!(cpu_list(&[0b1111], 64), "0-3");
        assert_eq!(cpu_list(&[0b1011_0000_1111, 0], 64), "0-3,8-9,11");
        assert_eq!(cpu_list(&[0, 1], 64), "64");
        assert_eq!(cpu_list(&[u64::MAX, 1], 64), "0-64");
        assert_eq!(cpu_list(&[0, 1], 32), "32");
        assert_eq!(cpu_list(&[], 64), "");
    }

    #[test]
    fn topology_levels_use_nvidia_smi_names() {
        assert_eq!(topo_name(&TopologyLevel::Single), "PIX");
        assert_eq!(topo_name(&TopologyLevel::System), "SYS");
        assert_eq!(topo_name(&TopologyLevel::Internal), "BOARD");
    }
}
