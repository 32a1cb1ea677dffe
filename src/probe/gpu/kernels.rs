//! The CUDA C++ kernels in `kernels/`, embedded in the binary and compiled at run time by NVRTC
//! for the device's own compute capability (contract: `kernels/README.md`).
use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions, Ptx};
use std::sync::Arc;

/// One source file and the lowest compute capability it compiles for.
pub struct Source {
    pub file: &'static str,
    pub text: &'static str,
    pub min_cc: (i32, i32),
}

pub const STREAM: Source = Source {
    file: "stream.cu",
    text: include_str!("../../../kernels/stream.cu"),
    min_cc: (0, 0),
};
pub const GEMV: Source = Source {
    file: "gemv.cu",
    text: include_str!("../../../kernels/gemv.cu"),
    min_cc: (0, 0),
};
/// `mma.sync` bf16, `ldmatrix` and `cp.async` need Ampere; the source `#error`s below it.
pub const ATTENTION: Source = Source {
    file: "attention.cu",
    text: include_str!("../../../kernels/attention.cu"),
    min_cc: (8, 0),
};

/// Every embedded kernel source.
pub const ALL: [&Source; 3] = [&STREAM, &GEMV, &ATTENTION];

/// NVRTC's `--gpu-architecture` value for a compute capability, e.g. `compute_90`.
pub fn arch(cc: (i32, i32)) -> String {
    format!("compute_{}{}", cc.0, cc.1)
}

fn describe(e: CompileError) -> String {
    match e {
        CompileError::CompileError { nvrtc, log, .. } => {
            format!("{nvrtc:?}: {}", log.to_string_lossy().trim())
        }
        other => format!("{other:?}"),
    }
}

/// Compiles `src` to PTX for `cc`. The caller must have checked that libnvrtc is present
/// (`cudarc::nvrtc::sys::is_culib_present`), since cudarc panics otherwise.
pub fn compile(src: &Source, cc: (i32, i32)) -> Result<Ptx, String> {
    if cc < src.min_cc {
        return Err(format!(
            "{} needs compute capability {}.{} or newer",
            src.file, src.min_cc.0, src.min_cc.1
        ));
    }
    let opts = CompileOptions {
        options: vec![
            format!("--gpu-architecture={}", arch(cc)),
            "-std=c++17".to_owned(),
        ],
        name: Some(src.file.to_owned()),
        ..CompileOptions::default()
    };
    compile_ptx_with_opts(src.text, opts).map_err(|e| {
        format!(
            "NVRTC compiling {} for {}: {}",
            src.file,
            arch(cc),
            describe(e)
        )
    })
}

/// Compiles and loads `src` on `ctx`, returning the named functions.
pub fn load(
    ctx: &Arc<CudaContext>,
    src: &Source,
    cc: (i32, i32),
    names: &[&str],
) -> Result<Vec<CudaFunction>, String> {
    let ptx = compile(src, cc)?;
    let module: Arc<CudaModule> = ctx
        .load_module(ptx)
        .map_err(|e| format!("loading {} PTX: {e}", src.file))?;
    names
        .iter()
        .map(|n| {
            module
                .load_function(n)
                .map_err(|e| format!("kernel '{n}' in {}: {e}", src.file))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::libs::{self, CudaLib};

    #[test]
    fn arch_names() {
        assert_eq!(arch((9, 0)), "compute_90");
        assert_eq!(arch((12, 0)), "compute_120");
    }

    #[test]
    fn every_kernel_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
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
        }
    }

    /// Compiles every kernel through NVRTC for Ampere and Hopper. Needs libnvrtc (no GPU):
    /// `pip install nvidia-cuda-nvrtc==13.0.88` provides it; skipped with a message otherwise.
    #[test]
    fn every_kernel_compiles_with_nvrtc() {
        let status = libs::load(CudaLib::Nvrtc);
        // SAFETY: only probes whether the library can be opened.
        if !status.found || !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            // .ci/run installs NVRTC and sets this, so CI can never skip the check silently.
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
        for cc in [(8, 0), (8, 6), (8, 9), (9, 0)] {
            for src in ALL {
                let ptx = compile(src, cc).unwrap_or_else(|e| panic!("{e}"));
                let text = ptx.to_src();
                assert!(
                    text.contains(".entry"),
                    "{} for {}: no kernel entry in the PTX",
                    src.file,
                    arch(cc)
                );
            }
        }
        assert!(compile(&ATTENTION, (7, 5)).unwrap_err().contains("8.0"));
    }
}
