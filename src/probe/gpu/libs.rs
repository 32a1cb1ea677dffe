//! Finding the CUDA libraries before cudarc touches them.
//!
//! cudarc (with `dynamic-loading`) panics on its first call into a library it cannot open, so the
//! probe looks for each library first and records what it found. The driver (`libcuda`) must come
//! from the system loader, since it has to match the kernel module. Toolkit libraries (cuBLAS,
//! cuBLASLt, NVRTC) are looked for through the system loader first, then in the places users keep
//! them: `LLMRIG_CUDA_LIB_PATH`, `LD_LIBRARY_PATH`, `CUDA_PATH`/`CUDA_HOME`, `/usr/local/cuda`, and
//! pip's `site-packages/nvidia/*/lib` (e.g. `nvidia-cuda-nvrtc`). A library found outside the
//! loader's path is opened by absolute path and kept open; the system loader then resolves later
//! opens of the same soname (cudarc's `libnvrtc.so.13`) to that copy.
use crate::probe::schema::LibraryStatus;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Extra directories to search first, separated by `:`.
pub const LIB_PATH_ENV: &str = "LLMRIG_CUDA_LIB_PATH";

/// Libraries opened here stay open for the life of the process.
static KEEP: Mutex<Vec<libloading::Library>> = Mutex::new(Vec::new());

fn keep(lib: libloading::Library) {
    if let Ok(mut kept) = KEEP.lock() {
        kept.push(lib);
    }
}

/// A CUDA library the probe can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CudaLib {
    Driver,
    Cublas,
    CublasLt,
    Nvrtc,
    /// NCCL, opened by the probe itself (`nccl.rs`): cudarc's loader does not try its
    /// `libnccl.so.2` soname.
    Nccl,
}

impl CudaLib {
    pub const ALL: [CudaLib; 5] = [
        CudaLib::Driver,
        CudaLib::Cublas,
        CudaLib::CublasLt,
        CudaLib::Nvrtc,
        CudaLib::Nccl,
    ];

    /// Name in the result document.
    pub fn label(self) -> &'static str {
        match self {
            CudaLib::Driver => "cuda",
            CudaLib::Cublas => "cublas",
            CudaLib::CublasLt => "cublaslt",
            CudaLib::Nvrtc => "nvrtc",
            CudaLib::Nccl => "nccl",
        }
    }

    /// The base name cudarc derives its candidate file names from.
    fn stem(self) -> &'static str {
        match self {
            CudaLib::Driver => "cuda",
            CudaLib::Cublas => "cublas",
            CudaLib::CublasLt => "cublasLt",
            CudaLib::Nvrtc => "nvrtc",
            CudaLib::Nccl => "nccl",
        }
    }

    /// What the probe loses without it.
    fn disables(self) -> &'static str {
        match self {
            CudaLib::Driver => "no GPU phase can run (install the NVIDIA driver)",
            CudaLib::Cublas => "not needed by the probe itself (GEMM runs through cuBLASLt)",
            CudaLib::CublasLt => "GEMM and burn-in phases are skipped (pip install nvidia-cublas)",
            CudaLib::Nvrtc => "attention, memory-kernel and decode phases are skipped (pip install nvidia-cuda-nvrtc)",
            CudaLib::Nccl => "the NCCL phase is skipped (pip install nvidia-nccl-cu13)",
        }
    }

    /// The file names cudarc will try, in its order (NCCL: its real sonames).
    pub fn candidates(self) -> Vec<String> {
        match self {
            CudaLib::Nccl => vec!["libnccl.so.2".into(), "libnccl.so".into()],
            _ => cudarc::get_lib_name_candidates(self.stem()),
        }
    }
}

fn split_paths(value: Option<std::ffi::OsString>) -> Vec<PathBuf> {
    value
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Sub-directories of `dir` whose names start with `prefix`, sorted.
fn subdirs(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// `nvidia/*/lib` under every Python `site-packages` or `dist-packages` below `prefix/lib`.
fn pip_dirs(prefix: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for py in subdirs(&prefix.join("lib"), "python3") {
        for packages in ["site-packages", "dist-packages"] {
            for pkg in subdirs(&py.join(packages).join("nvidia"), "") {
                let lib = pkg.join("lib");
                if lib.is_dir() {
                    out.push(lib);
                }
            }
        }
    }
    out
}

/// Directories searched, in order, besides the system loader's own path.
pub fn search_dirs() -> Vec<PathBuf> {
    let env = |k: &str| std::env::var_os(k);
    let mut dirs = split_paths(env(LIB_PATH_ENV));
    dirs.extend(split_paths(env("LD_LIBRARY_PATH")));
    for var in ["CUDA_PATH", "CUDA_HOME"] {
        if let Some(root) = env(var).map(PathBuf::from) {
            dirs.push(root.join("lib64"));
            dirs.push(root.join("lib"));
        }
    }
    dirs.push(PathBuf::from("/usr/local/cuda/lib64"));
    let mut prefixes: Vec<PathBuf> = ["VIRTUAL_ENV", "CONDA_PREFIX"]
        .iter()
        .filter_map(|k| env(k).map(PathBuf::from))
        .collect();
    if let Some(home) = env("HOME").map(PathBuf::from) {
        prefixes.push(home.join(".local"));
        let pyenv = env("PYENV_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".pyenv"));
        prefixes.extend(subdirs(&pyenv.join("versions"), ""));
    }
    prefixes.extend([PathBuf::from("/usr/local"), PathBuf::from("/usr")]);
    for prefix in prefixes {
        dirs.extend(pip_dirs(&prefix));
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// The first `dir/name` that exists, trying directories in order.
pub fn locate(names: &[String], dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// The file a loaded library came from, read from `/proc/self/maps`.
fn mapped_path(needle: &str) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            Path::new(p)
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(needle))
        })
        .map(str::to_owned)
}

/// Opens libraries NVRTC itself loads by soname (its builtins) from `dir`, so they resolve.
fn open_companions(lib: CudaLib, dir: &Path) {
    if lib != CudaLib::Nvrtc {
        return;
    }
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("libnvrtc-builtins.so") {
            // SAFETY: loading a vendor shared library runs its initializers, which is what the
            // CUDA toolkit expects of any process that uses it.
            if let Ok(l) = unsafe { libloading::Library::new(entry.path()) } {
                keep(l);
            }
        }
    }
}

/// Each library's status and the name or path it opened by, looked up once per process.
fn all() -> &'static [(CudaLib, LibraryStatus, Option<String>)] {
    static ALL: OnceLock<Vec<(CudaLib, LibraryStatus, Option<String>)>> = OnceLock::new();
    ALL.get_or_init(|| {
        CudaLib::ALL
            .iter()
            .map(|&l| {
                let (status, opened) = find(l);
                (l, status, opened)
            })
            .collect()
    })
}

/// Every library's status, in [`CudaLib::ALL`] order.
pub fn statuses() -> Vec<LibraryStatus> {
    all().iter().map(|(_, s, _)| s.clone()).collect()
}

/// Whether `lib` was found and opened.
pub fn found(lib: CudaLib) -> bool {
    all().iter().any(|(l, s, _)| *l == lib && s.found)
}

/// The soname or absolute path `lib` opened by, to open it again (NCCL).
pub fn opened_as(lib: CudaLib) -> Option<&'static str> {
    all().iter().find(|(l, _, _)| *l == lib)?.2.as_deref()
}

/// Finds and opens `lib`; the status says where it came from or where the probe looked.
pub fn load(lib: CudaLib) -> LibraryStatus {
    find(lib).0
}

fn find(lib: CudaLib) -> (LibraryStatus, Option<String>) {
    let candidates = lib.candidates();
    let prefix = format!("lib{}", lib.stem());
    for name in &candidates {
        // SAFETY: as in `open_companions`: a vendor library's initializers run on load.
        if let Ok(l) = unsafe { libloading::Library::new(name) } {
            keep(l);
            let path = mapped_path(&prefix).unwrap_or_else(|| format!("{name} (system loader)"));
            let status = LibraryStatus {
                name: lib.label().to_owned(),
                found: true,
                path: Some(path),
                searched: vec![],
                note: None,
            };
            return (status, Some(name.clone()));
        }
    }
    let dirs = if lib == CudaLib::Driver {
        Vec::new()
    } else {
        search_dirs()
    };
    if let Some(path) = locate(&candidates, &dirs) {
        if let Some(dir) = path.parent() {
            open_companions(lib, dir);
        }
        // SAFETY: as above.
        match unsafe { libloading::Library::new(&path) } {
            Ok(l) => {
                keep(l);
                let status = LibraryStatus {
                    name: lib.label().to_owned(),
                    found: true,
                    path: Some(path.display().to_string()),
                    searched: vec![],
                    note: None,
                };
                return (status, Some(path.display().to_string()));
            }
            Err(e) => {
                let status = LibraryStatus {
                    name: lib.label().to_owned(),
                    found: false,
                    path: Some(path.display().to_string()),
                    searched: dirs.iter().map(|d| d.display().to_string()).collect(),
                    note: Some(format!(
                        "found but could not be opened ({e}); {}",
                        lib.disables()
                    )),
                };
                return (status, None);
            }
        }
    }
    let looked = if lib == CudaLib::Driver {
        "the system loader's path"
    } else {
        "the system loader's path and the directories listed"
    };
    let status = LibraryStatus {
        name: lib.label().to_owned(),
        found: false,
        path: None,
        searched: dirs.iter().map(|d| d.display().to_string()).collect(),
        note: Some(format!(
            "none of {} in {looked}; {}",
            short_list(&candidates),
            lib.disables()
        )),
    };
    (status, None)
}

/// The first few candidate names, for messages.
fn short_list(names: &[String]) -> String {
    let mut shown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.contains("64"))
        .collect();
    shown.truncate(4);
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_include_the_cuda_13_sonames() {
        assert!(CudaLib::Nvrtc
            .candidates()
            .contains(&"libnvrtc.so.13".to_string()));
        assert!(CudaLib::Driver
            .candidates()
            .contains(&"libcuda.so.1".to_string()));
        assert_eq!(CudaLib::Nccl.candidates()[0], "libnccl.so.2");
    }

    #[test]
    fn locate_finds_files_in_directory_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("libnvrtc.so.13"), b"").unwrap();
        std::fs::write(a.path().join("libnvrtc.so.12"), b"").unwrap();
        let names = vec!["libnvrtc.so.13".to_string(), "libnvrtc.so.12".to_string()];
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(locate(&names, &dirs), Some(a.path().join("libnvrtc.so.12")));
        assert_eq!(locate(&names, &[]), None);
    }

    #[test]
    fn pip_layout_is_searched() {
        let root = tempfile::tempdir().unwrap();
        let lib = root
            .path()
            .join("lib/python3.11/site-packages/nvidia/cu13/lib");
        std::fs::create_dir_all(&lib).unwrap();
        assert_eq!(pip_dirs(root.path()), vec![lib]);
    }

    #[test]
    fn a_missing_library_says_where_it_looked() {
        // No machine running the tests has a driver library named like this.
        let status = LibraryStatus {
            ..load(CudaLib::Driver)
        };
        if !status.found {
            let note = status.note.unwrap();
            assert!(note.contains("libcuda.so"), "{note}");
            assert!(note.contains("driver"), "{note}");
        }
    }
}
