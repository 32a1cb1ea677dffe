//! Opening CUDA devices: context, stream, identity and the timing method.
use super::timing::Timer;
use super::{DeviceInfo, Libraries};
use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DeviceRepr};
use std::sync::Arc;
use std::time::Instant;

/// An opened device with its stream; all work is enqueued on `stream`.
pub struct Dev {
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub info: DeviceInfo,
    pub libs: Libraries,
    pub timer: Timer,
    pub l2_bytes: usize,
    /// The CUDA version the driver supports, e.g. `(13, 0)`.
    pub driver_cuda: Option<(i32, i32)>,
}

/// Whether the driver exports `name` (cudarc panics when a symbol it calls is missing).
pub fn has_symbol(name: &[u8]) -> bool {
    // SAFETY: a symbol lookup only; libcuda is loaded (checked with `is_culib_present` first).
    unsafe {
        cudarc::driver::sys::culib()
            .get::<unsafe extern "C" fn()>(name)
            .is_ok()
    }
}

/// `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, NVML's spelling of a device UUID.
pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "GPU-{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Opens device `ordinal` and gathers what the phases need.
pub fn open(ordinal: usize, libs: Libraries, t0: Instant) -> Result<Dev, String> {
    let ctx = CudaContext::new(ordinal).map_err(|e| format!("CUDA device {ordinal}: {e}"))?;
    // SAFETY: every buffer is used on the single stream created below (or with an explicit
    // synchronize before the host reads it), which is the condition for disabling cudarc's
    // per-buffer event tracking; it removes event records around every benchmark launch.
    unsafe { ctx.disable_event_tracking() };
    let stream = ctx
        .new_stream()
        .map_err(|e| format!("creating a stream: {e}"))?;
    let attr = |a: CUdevice_attribute| ctx.attribute(a).ok();
    let uuid = if has_symbol(b"cuDeviceGetUuid_v2\0") {
        ctx.uuid()
            .ok()
            .map(|u| format_uuid(&u.bytes.map(|b| b as u8)))
    } else {
        None
    };
    let pci_bus_id = match (
        attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID),
        attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_PCI_BUS_ID),
        attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID),
    ) {
        (Some(d), Some(b), Some(dev)) => Some(format!("{d:04x}:{b:02x}:{dev:02x}.0")),
        _ => None,
    };
    let info = DeviceInfo {
        ordinal,
        name: ctx
            .name()
            .unwrap_or_else(|_| format!("CUDA device {ordinal}")),
        uuid,
        pci_bus_id,
        compute_capability: ctx
            .compute_capability()
            .map_err(|e| format!("compute capability: {e}"))?,
        total_mem_bytes: ctx.total_mem().map(|m| m as u64).unwrap_or(0),
    };
    let l2_bytes = attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
        .unwrap_or(0)
        .max(0) as usize;
    let timer = Timer {
        events: has_symbol(b"cuEventElapsedTime_v2\0"),
        t0,
    };
    let mut version = 0;
    // SAFETY: libcuda is loaded (checked before any device is opened); writes one int.
    let driver_cuda = (unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) }
        == cudarc::driver::sys::CUresult::CUDA_SUCCESS)
        .then_some((version / 1000, version % 1000 / 10));
    Ok(Dev {
        ctx,
        stream,
        info,
        libs,
        timer,
        l2_bytes,
        driver_cuda,
    })
}

impl Dev {
    /// Free device memory in bytes.
    pub fn free_bytes(&self) -> usize {
        self.ctx.mem_get_info().map(|(free, _)| free).unwrap_or(0)
    }

    /// A device copy of `bytes`.
    pub fn upload(&self, bytes: &[u8]) -> Result<CudaSlice<u8>, String> {
        self.stream
            .clone_htod(bytes)
            .map_err(|e| format!("copy to device: {e}"))
    }

    /// Reads a device buffer back (synchronizes the stream).
    pub fn download(&self, buf: &CudaSlice<u8>) -> Result<Vec<u8>, String> {
        self.stream
            .clone_dtoh(buf)
            .map_err(|e| format!("copy from device: {e}"))
    }

    /// `len` elements at element `offset` of a device buffer, read back (synchronizes).
    pub fn read_back<T: DeviceRepr + Default + Clone>(
        &self,
        buf: &CudaSlice<T>,
        offset: usize,
        len: usize,
    ) -> Result<Vec<T>, String> {
        let mut out = vec![T::default(); len];
        self.stream
            .memcpy_dtoh(&buf.slice(offset..offset + len), &mut out[..])
            .map_err(|e| format!("copy from device: {e}"))?;
        self.stream
            .synchronize()
            .map_err(|e| format!("stream synchronize: {e}"))?;
        Ok(out)
    }

    /// An uninitialized device buffer of `len` bytes, written before it is read.
    pub fn alloc(&self, len: usize) -> Result<CudaSlice<u8>, String> {
        // SAFETY: callers only hand this buffer to kernels or cuBLASLt as an output, which
        // write it before anything reads it.
        unsafe { self.stream.alloc::<u8>(len) }
            .map_err(|e| format!("allocating {} MiB: {e}", len >> 20))
    }

    /// Whether the compute capability is at least `min`.
    pub fn supports(&self, min: (i32, i32)) -> bool {
        self.info.compute_capability >= min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_matches_nvml_spelling() {
        let bytes: [u8; 16] = [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        assert_eq!(
            format_uuid(&bytes),
            "GPU-deadbeef-0001-0203-0405-060708090a0b"
        );
    }
}
