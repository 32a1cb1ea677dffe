//! The CUDA C++ kernels in `kernels/`, embedded in the binary and compiled at run time by NVRTC
//! to a cubin for the device's own architecture (contract: `kernels/README.md`).
//!
//! A cubin, not PTX: the driver JIT-compiles PTX only from a PTX version it knows, so PTX from
//! an NVRTC newer than the driver (a 13.1 wheel on a 13.0 driver) is refused, while a cubin runs
//! on any driver of the same CUDA major version (CUDA's minor-version compatibility). Building
//! the cubin also runs ptxas, whose `-v` report gives each kernel's registers, spills, stack and
//! static shared memory, checked here against the architecture's limits, without a GPU.
use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::{result, sys, Ptx};
use std::ffi::{c_char, c_int, CString};
use std::sync::Arc;

/// One kernel's launch contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub name: &'static str,
    pub block_threads: u32,
    pub dynamic_smem_bytes: u32,
    /// Blocks per SM the source asks for with `__launch_bounds__` (1 when it does not).
    pub min_blocks_per_sm: u32,
}

/// One source file, its entry points and the lowest compute capability it compiles for.
pub struct Source {
    pub file: &'static str,
    pub text: &'static str,
    pub min_cc: (i32, i32),
    pub entries: &'static [Entry],
}

/// Dynamic shared memory of the attention kernels: the Q tile plus double-buffered K and V
/// tiles of 16-bit elements, `2·(128·D + 2·2·64·D)` bytes.
pub const fn attention_smem_bytes(head_dim: u32) -> u32 {
    2 * (128 * head_dim + 2 * 2 * 64 * head_dim)
}

const fn plain(name: &'static str) -> Entry {
    Entry {
        name,
        block_threads: 256,
        dynamic_smem_bytes: 0,
        min_blocks_per_sm: 1,
    }
}

const fn attention(name: &'static str, head_dim: u32, min_blocks_per_sm: u32) -> Entry {
    Entry {
        name,
        block_threads: 256,
        dynamic_smem_bytes: attention_smem_bytes(head_dim),
        min_blocks_per_sm,
    }
}

pub const STREAM: Source = Source {
    file: "stream.cu",
    text: include_str!("../../../kernels/stream.cu"),
    min_cc: (0, 0),
    entries: &[plain("stream_copy_f32x4"), plain("stream_triad_f32x4")],
};
pub const GEMV: Source = Source {
    file: "gemv.cu",
    text: include_str!("../../../kernels/gemv.cu"),
    min_cc: (0, 0),
    entries: &[plain("gemv_bf16")],
};
/// `mma.sync` bf16, `ldmatrix` and `cp.async` need Ampere; the source `#error`s below it. The
/// D = 64 kernels are bounded to two blocks per SM (`__launch_bounds__(256, 2)`).
pub const ATTENTION: Source = Source {
    file: "attention.cu",
    text: include_str!("../../../kernels/attention.cu"),
    min_cc: (8, 0),
    entries: &[
        attention("attention_fwd_f16_d64", 64, 2),
        attention("attention_fwd_f16_d128", 128, 1),
        attention("attention_fwd_bf16_d64", 64, 2),
        attention("attention_fwd_bf16_d128", 128, 1),
    ],
};

/// Every embedded kernel source.
pub const ALL: [&Source; 3] = [&STREAM, &GEMV, &ATTENTION];

/// NVRTC's `--gpu-architecture` value for a real architecture, e.g. `sm_90`.
pub fn arch(cc: (i32, i32)) -> String {
    format!("sm_{}{}", cc.0, cc.1)
}

/// Per-block and per-SM limits of an architecture (CUDA C++ Programming Guide, "Technical
/// Specifications per Compute Capability": 255 registers per thread and 64 K per SM for all of
/// these; opt-in shared memory per block 163 KB on 8.0/8.7, 99 KB on 8.6/8.9, 227 KB on 9.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub registers_per_thread: u32,
    pub registers_per_sm: u32,
    pub smem_per_block_bytes: u32,
    pub smem_per_sm_bytes: u32,
}

pub fn limits(cc: (i32, i32)) -> Option<Limits> {
    let (block, sm) = match cc {
        (8, 0) | (8, 7) => (163 * 1024, 164 * 1024),
        (8, 6) | (8, 9) => (99 * 1024, 100 * 1024),
        (9, 0) => (227 * 1024, 228 * 1024),
        _ => return None,
    };
    Some(Limits {
        registers_per_thread: 255,
        registers_per_sm: 65536,
        smem_per_block_bytes: block,
        smem_per_sm_bytes: sm,
    })
}

/// What ptxas reported for one kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelReport {
    pub name: String,
    pub registers: u32,
    pub spill_store_bytes: u32,
    pub spill_load_bytes: u32,
    pub stack_bytes: u32,
    pub static_smem_bytes: u32,
}

/// Reads ptxas's `-v` lines (`Compiling entry function 'f' for 'sm_90'`, `N bytes stack frame,
/// N bytes spill stores, N bytes spill loads`, `Used N registers, N bytes smem, …`).
pub fn parse_ptxas(log: &str) -> Vec<KernelReport> {
    let number_before = |line: &str, word: &str| -> Option<u32> {
        let i = line.find(word)?;
        line[..i].split_whitespace().last()?.parse().ok()
    };
    let mut out: Vec<KernelReport> = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            if let Some(name) = rest.split('\'').next() {
                out.push(KernelReport {
                    name: name.to_owned(),
                    ..KernelReport::default()
                });
            }
            continue;
        }
        let Some(k) = out.last_mut() else { continue };
        if line.contains("stack frame") {
            k.stack_bytes = number_before(line, "bytes stack frame").unwrap_or(0);
            k.spill_store_bytes = number_before(line, "bytes spill stores").unwrap_or(0);
            k.spill_load_bytes = number_before(line, "bytes spill loads").unwrap_or(0);
        } else if line.contains("Used") && line.contains("registers") {
            k.registers = number_before(line, "registers").unwrap_or(0);
            k.static_smem_bytes = number_before(line, "bytes smem").unwrap_or(0);
        }
    }
    out
}

/// Problems of one kernel against its contract and the architecture's limits.
pub fn resource_problems(entry: &Entry, report: &KernelReport, limits: &Limits) -> Vec<String> {
    let mut out = Vec::new();
    if report.spill_store_bytes > 0 || report.spill_load_bytes > 0 {
        out.push(format!(
            "spills {} B stores / {} B loads",
            report.spill_store_bytes, report.spill_load_bytes
        ));
    }
    if report.stack_bytes > 0 {
        out.push(format!("{} B stack frame", report.stack_bytes));
    }
    if report.registers == 0 || report.registers > limits.registers_per_thread {
        out.push(format!("{} registers per thread", report.registers));
    }
    let regs_needed = report.registers * entry.block_threads * entry.min_blocks_per_sm;
    if regs_needed > limits.registers_per_sm {
        out.push(format!(
            "{} registers for {} blocks of {} threads exceed {} per SM",
            regs_needed, entry.min_blocks_per_sm, entry.block_threads, limits.registers_per_sm
        ));
    }
    let smem = report.static_smem_bytes + entry.dynamic_smem_bytes;
    if smem > limits.smem_per_block_bytes {
        out.push(format!(
            "{smem} B shared memory per block exceeds {}",
            limits.smem_per_block_bytes
        ));
    }
    if smem * entry.min_blocks_per_sm > limits.smem_per_sm_bytes {
        out.push(format!(
            "{} B shared memory for {} blocks exceeds {} per SM",
            smem * entry.min_blocks_per_sm,
            entry.min_blocks_per_sm,
            limits.smem_per_sm_bytes
        ));
    }
    out
}

/// A compiled source: the cubin and ptxas's report.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub arch: String,
    pub cubin: Vec<u8>,
    pub kernels: Vec<KernelReport>,
}

/// NVRTC's version, e.g. `(13, 0)`. The caller must have checked that libnvrtc is present.
pub fn nvrtc_version() -> Option<(i32, i32)> {
    let (mut major, mut minor): (c_int, c_int) = (0, 0);
    // SAFETY: writes two ints.
    let rc = unsafe { sys::nvrtcVersion(&mut major, &mut minor) };
    (rc == sys::nvrtcResult::NVRTC_SUCCESS).then_some((major, minor))
}

/// A plain sentence when this NVRTC's cubins may not load on this driver: a cubin needs a
/// driver of at least the same CUDA major version.
pub fn version_problem(nvrtc: (i32, i32), driver: (i32, i32)) -> Option<String> {
    (nvrtc.0 > driver.0).then(|| {
        format!(
            "NVRTC {}.{} is newer than the driver's CUDA {}.{}: its cubins need a CUDA {} driver; install the NVRTC that matches the driver (pip install 'nvidia-cuda-nvrtc=={}.{}.*') or update the driver",
            nvrtc.0, nvrtc.1, driver.0, driver.1, nvrtc.0, driver.0, driver.1
        )
    })
}

fn log_of(prog: sys::nvrtcProgram) -> String {
    // SAFETY: `prog` is live; the log is a NUL-terminated string.
    unsafe { result::get_program_log(prog) }
        .map(|raw| {
            let bytes: Vec<u8> = raw
                .iter()
                .map(|&c| c as u8)
                .take_while(|&b| b != 0)
                .collect();
            String::from_utf8_lossy(&bytes).trim().to_owned()
        })
        .unwrap_or_default()
}

/// Compiles `src` to a cubin for `cc` with ptxas's report. The caller must have checked that
/// libnvrtc is present (`cudarc::nvrtc::sys::is_culib_present`), since cudarc panics otherwise.
pub fn compile(src: &Source, cc: (i32, i32)) -> Result<Compiled, String> {
    if cc < src.min_cc {
        return Err(format!(
            "{} needs compute capability {}.{} or newer",
            src.file, src.min_cc.0, src.min_cc.1
        ));
    }
    let arch = arch(cc);
    let fail = |what: &str| format!("NVRTC compiling {} for {arch}: {what}", src.file);
    let text = CString::new(src.text).map_err(|_| fail("the source holds a NUL byte"))?;
    let name = CString::new(src.file).map_err(|_| fail("bad file name"))?;
    let prog = result::create_program(&text, Some(&name)).map_err(|e| fail(&format!("{e:?}")))?;
    let opts = [
        format!("--gpu-architecture={arch}"),
        "-std=c++17".to_owned(),
        "--ptxas-options=-v".to_owned(),
    ];
    // SAFETY: `prog` was created above and is destroyed once at the end; the cubin buffer is
    // sized by nvrtcGetCUBINSize.
    let out = unsafe {
        let compiled = result::compile_program(prog, &opts);
        let log = log_of(prog);
        let cubin = compiled
            .map_err(|e| fail(&format!("{e:?}: {log}")))
            .and_then(|()| {
                let mut size = 0usize;
                sys::nvrtcGetCUBINSize(prog, &mut size)
                    .result()
                    .map_err(|e| fail(&format!("no cubin ({e:?})")))?;
                let mut buf = vec![0 as c_char; size];
                sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr())
                    .result()
                    .map_err(|e| fail(&format!("no cubin ({e:?})")))?;
                Ok(buf.into_iter().map(|c| c as u8).collect::<Vec<u8>>())
            });
        let _ = result::destroy_program(prog);
        cubin.map(|cubin| Compiled {
            arch: arch.clone(),
            cubin,
            kernels: parse_ptxas(&log),
        })
    };
    out.and_then(|c| {
        if c.cubin.is_empty() {
            Err(fail("empty cubin"))
        } else {
            Ok(c)
        }
    })
}

/// Compiles and loads `src` on `ctx`, returning the named functions and a one-line note on how
/// they were built (arch, NVRTC version, registers and spills).
pub fn load(
    ctx: &Arc<CudaContext>,
    src: &Source,
    cc: (i32, i32),
    names: &[&str],
    driver_cuda: Option<(i32, i32)>,
) -> Result<(Vec<CudaFunction>, String), String> {
    let nvrtc = nvrtc_version();
    let mismatch = nvrtc
        .zip(driver_cuda)
        .and_then(|(n, d)| version_problem(n, d));
    let compiled = compile(src, cc).map_err(|e| match &mismatch {
        Some(m) => format!("{e}; {m}"),
        None => e,
    })?;
    let module: Arc<CudaModule> = ctx
        .load_module(Ptx::from_binary(compiled.cubin.clone()))
        .map_err(|e| {
            let base = format!("loading the {} cubin for {}: {e}", src.file, compiled.arch);
            match &mismatch {
                Some(m) => format!("{base}; {m}"),
                None => base,
            }
        })?;
    let funcs = names
        .iter()
        .map(|n| {
            module
                .load_function(n)
                .map_err(|e| format!("kernel '{n}' in {}: {e}", src.file))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let regs: Vec<String> = compiled
        .kernels
        .iter()
        .filter(|k| names.contains(&k.name.as_str()))
        .map(|k| {
            let spill = k.spill_store_bytes + k.spill_load_bytes;
            format!(
                "{} {} regs{}",
                k.name,
                k.registers,
                if spill > 0 {
                    format!(" {spill} B spilled")
                } else {
                    String::new()
                }
            )
        })
        .collect();
    let version = nvrtc
        .map(|(a, b)| format!("NVRTC {a}.{b}"))
        .unwrap_or_else(|| "NVRTC".into());
    Ok((
        funcs,
        format!(
            "{} cubin for {} by {version} ({})",
            src.file,
            compiled.arch,
            regs.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::gpu::libs::{self, CudaLib};

    #[test]
    fn arch_names_and_limits() {
        assert_eq!(arch((9, 0)), "sm_90");
        assert_eq!(arch((12, 0)), "sm_120");
        assert_eq!(limits((8, 6)).unwrap().smem_per_block_bytes, 101376);
        assert_eq!(limits((9, 0)).unwrap().smem_per_block_bytes, 232448);
        assert!(limits((7, 5)).is_none());
        assert_eq!(attention_smem_bytes(64), 49152);
        assert_eq!(attention_smem_bytes(128), 98304);
    }

    #[test]
    fn ptxas_reports_are_read() {
        let log = "ptxas info    : 0 bytes gmem\n\
            ptxas info    : Compiling entry function 'attention_fwd_bf16_d128' for 'sm_90'\n\
            ptxas info    : Function properties for attention_fwd_bf16_d128\n\
            \x20   8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads\n\
            ptxas info    : Used 220 registers, 16 bytes smem, 384 bytes cmem[0]\n\
            ptxas info    : Compiling entry function 'stream_copy_f32x4' for 'sm_90'\n\
            ptxas info    : Function properties for stream_copy_f32x4\n\
            \x20   0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n\
            ptxas info    : Used 32 registers, 368 bytes cmem[0]\n";
        let r = parse_ptxas(log);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            KernelReport {
                name: "attention_fwd_bf16_d128".into(),
                registers: 220,
                spill_store_bytes: 4,
                spill_load_bytes: 12,
                stack_bytes: 8,
                static_smem_bytes: 16,
            }
        );
        assert_eq!((r[1].registers, r[1].static_smem_bytes), (32, 0));
        let lim = limits((8, 6)).unwrap();
        let problems = resource_problems(&ATTENTION.entries[1], &r[0], &lim);
        assert!(
            problems.iter().any(|p| p.contains("spills")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("stack")), "{problems:?}");
        let big = KernelReport {
            registers: 200,
            ..r[1].clone()
        };
        // 200 registers × 256 threads × 2 blocks = 102400 > 65536.
        assert!(!resource_problems(&ATTENTION.entries[0], &big, &lim).is_empty());
        assert!(resource_problems(&STREAM.entries[0], &r[1], &lim).is_empty());
    }

    #[test]
    fn version_mismatch_is_said_plainly() {
        assert_eq!(version_problem((13, 0), (13, 0)), None);
        // Minor-version compatibility: a 13.1 cubin runs on a 13.0 driver.
        assert_eq!(version_problem((13, 1), (13, 0)), None);
        assert_eq!(version_problem((12, 4), (13, 0)), None);
        let m = version_problem((13, 0), (12, 4)).unwrap();
        assert!(
            m.contains("NVRTC 13.0") && m.contains("CUDA 12.4") && m.contains("12.4"),
            "{m}"
        );
    }

    /// The repository's `kernels/` directory, found at run time (a test binary carried to
    /// another checkout must not point at the build machine's path).
    fn kernels_dir() -> Option<std::path::PathBuf> {
        let start = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::current_dir().ok())?;
        start
            .ancestors()
            .map(|d| d.join("kernels"))
            .find(|k| k.join("attention.cu").is_file())
    }

    #[test]
    fn every_kernel_file_is_embedded() {
        let Some(dir) = kernels_dir() else {
            // Only a test binary run outside the repository gets here; it says so loudly.
            println!(
                "skipped: no kernels/ directory above {:?}",
                std::env::current_dir()
            );
            return;
        };
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cu"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ALL.iter().map(|s| s.file.to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        for src in ALL {
            assert_eq!(
                std::fs::read_to_string(dir.join(src.file)).unwrap(),
                src.text
            );
            for e in src.entries {
                assert!(
                    src.text.contains(&format!("void {}(", e.name)) || src.text.contains(e.name),
                    "{}",
                    e.name
                );
            }
        }
    }

    /// Compiles every kernel through NVRTC to cubins for sm_80/86/89/90 (ptxas runs; no GPU is
    /// needed) and checks registers, spills, stack and shared memory against each
    /// architecture's limits. Needs libnvrtc: `pip install nvidia-cuda-nvrtc==13.0.88`; skipped
    /// with a message otherwise, unless LLMRIG_REQUIRE_NVRTC is set (as .ci/run does).
    #[test]
    fn every_kernel_compiles_to_a_cubin_within_the_limits() {
        let status = libs::load(CudaLib::Nvrtc);
        // SAFETY: only probes whether the library can be opened.
        if !status.found || !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            assert!(
                std::env::var_os("LLMRIG_REQUIRE_NVRTC").is_none(),
                "LLMRIG_REQUIRE_NVRTC is set but libnvrtc was not found ({:?})",
                status.note
            );
            println!(
                "skipped: libnvrtc not found ({})",
                status.note.unwrap_or_default()
            );
            return;
        }
        let version = nvrtc_version().unwrap();
        println!("NVRTC {}.{}", version.0, version.1);
        println!("| arch | kernel | registers | spill st/ld (B) | stack (B) | smem static+dynamic (B) | limit (B) |");
        let mut problems = Vec::new();
        for cc in [(8, 0), (8, 6), (8, 9), (9, 0)] {
            let lim = limits(cc).unwrap();
            for src in ALL {
                let c = compile(src, cc).unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    c.cubin.starts_with(b"\x7fELF"),
                    "{} {}: not an ELF cubin",
                    src.file,
                    c.arch
                );
                for entry in src.entries {
                    let Some(k) = c.kernels.iter().find(|k| k.name == entry.name) else {
                        problems.push(format!("{} {}: no ptxas report", c.arch, entry.name));
                        continue;
                    };
                    println!(
                        "| {} | {} | {} | {}/{} | {} | {}+{} | {} |",
                        c.arch,
                        k.name,
                        k.registers,
                        k.spill_store_bytes,
                        k.spill_load_bytes,
                        k.stack_bytes,
                        k.static_smem_bytes,
                        entry.dynamic_smem_bytes,
                        lim.smem_per_block_bytes
                    );
                    problems.extend(
                        resource_problems(entry, k, &lim)
                            .into_iter()
                            .map(|p| format!("{} {}: {p}", c.arch, k.name)),
                    );
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(compile(&ATTENTION, (7, 5)).unwrap_err().contains("8.0"));
    }
}
