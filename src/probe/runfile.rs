//! Where a run is saved and how: `--out FILE`, `--out DIR` (a file inside it), or the per-user
//! data directory by default; written atomically after every phase, and never replacing a
//! previous run at the same path until the new run has recorded a phase.
use super::schema::ProbeRun;
use super::{timestamp, ProbeError};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Overrides the per-user data directory (runs go to `$LLMRIG_DATA_DIR/runs`).
pub const DATA_DIR_ENV: &str = "LLMRIG_DATA_DIR";

/// The per-user data directory: `$LLMRIG_DATA_DIR`, else the platform's rule: the XDG Base
/// Directory spec on Linux and other Unix (`$XDG_DATA_HOME/llmrig`, default
/// `~/.local/share/llmrig`), `~/Library/Application Support/llmrig` on macOS,
/// `%LOCALAPPDATA%\llmrig` on Windows. `None` when neither home nor the variables are known.
pub fn data_dir(env: &dyn Fn(&str) -> Option<String>, os: &str) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var(DATA_DIR_ENV) {
        return Some(d);
    }
    match os {
        "windows" => var("LOCALAPPDATA").map(|d| d.join("llmrig")),
        "macos" => var("HOME").map(|h| h.join("Library/Application Support/llmrig")),
        _ => var("XDG_DATA_HOME")
            // The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
            .filter(|d| d.is_absolute())
            .or_else(|| var("HOME").map(|h| h.join(".local/share")))
            .map(|d| d.join("llmrig")),
    }
}

/// Where runs go when `--out` is not given: `<data dir>/runs`, or `./llmrig-runs` on a machine
/// with no home directory.
pub fn default_runs_dir() -> PathBuf {
    data_dir(&|k| std::env::var(k).ok(), std::env::consts::OS)
        .map(|d| d.join("runs"))
        .unwrap_or_else(|| PathBuf::from("llmrig-runs"))
}

/// `<compact UTC timestamp>-<host>.json`, the host made safe as a file name.
pub fn file_name(started: SystemTime, hostname: Option<&str>) -> String {
    let host: String = hostname
        .unwrap_or("host")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{host}.json", timestamp::compact(started))
}

/// The run file for `--out`: a directory (existing, or written with a trailing `/`) gets a
/// timestamped file inside it; anything else is the file itself; no `--out` means the default
/// directory.
pub fn resolve(out: Option<&Path>, started: SystemTime, hostname: Option<&str>) -> PathBuf {
    let name = || file_name(started, hostname);
    match out {
        None => default_runs_dir().join(name()),
        Some(p) if p.is_dir() || p.as_os_str().to_string_lossy().ends_with(['/', '\\']) => {
            p.join(name())
        }
        Some(p) => p.to_path_buf(),
    }
}

/// Writes `run` to `path` atomically.
pub fn save(run: &ProbeRun, path: &Path) -> Result<(), ProbeError> {
    let text = serde_json::to_string_pretty(run)? + "\n";
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| ProbeError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The file a run is saved to, and whether an earlier run there is still kept.
#[derive(Debug, Clone)]
pub struct RunFile {
    pub path: PathBuf,
    /// A file was at `path` before this run and has not been replaced yet.
    keeping_previous: bool,
    /// This run has been written at least once.
    pub written: bool,
}

impl RunFile {
    pub fn new(path: PathBuf) -> RunFile {
        RunFile {
            keeping_previous: path.exists(),
            path,
            written: false,
        }
    }

    /// Saves `run`, except while it has no phase and an earlier file would be lost: a re-run
    /// that is interrupted or fails before measuring anything leaves the previous run intact.
    pub fn write(&mut self, run: &ProbeRun) -> Result<(), ProbeError> {
        if self.keeping_previous && run.phases.is_empty() {
            return Ok(());
        }
        save(run, &self.path)?;
        self.keeping_previous = false;
        self.written = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::sim::env_of;
    use std::time::Duration;

    #[test]
    fn data_dir_follows_each_platform_rule() {
        let home = env_of(&[("HOME", "/home/ann")]);
        assert_eq!(
            data_dir(&home, "linux"),
            Some(PathBuf::from("/home/ann/.local/share/llmrig"))
        );
        let xdg = env_of(&[("HOME", "/home/ann"), ("XDG_DATA_HOME", "/data/ann")]);
        assert_eq!(
            data_dir(&xdg, "linux"),
            Some(PathBuf::from("/data/ann/llmrig"))
        );
        let relative = env_of(&[("HOME", "/home/ann"), ("XDG_DATA_HOME", "rel")]);
        assert_eq!(
            data_dir(&relative, "freebsd"),
            Some(PathBuf::from("/home/ann/.local/share/llmrig"))
        );
        assert_eq!(
            data_dir(&home, "macos"),
            Some(PathBuf::from(
                "/home/ann/Library/Application Support/llmrig"
            ))
        );
        let win = env_of(&[("LOCALAPPDATA", r"C:\Users\ann\AppData\Local")]);
        assert!(data_dir(&win, "windows").unwrap().ends_with("llmrig"));
        let own = env_of(&[("HOME", "/home/ann"), (DATA_DIR_ENV, "/srv/llmrig")]);
        assert_eq!(data_dir(&own, "linux"), Some(PathBuf::from("/srv/llmrig")));
        assert_eq!(data_dir(&env_of(&[]), "linux"), None);
    }

    #[test]
    fn out_may_be_a_file_or_a_directory() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_787_823_012);
        assert_eq!(
            file_name(t, Some("rig 1/a")),
            "20260827T093012Z-rig_1_a.json"
        );
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("20260827T093012Z-rig.json");
        assert_eq!(resolve(Some(dir.path()), t, Some("rig")), inside);
        let slash = PathBuf::from(format!("{}/new/", dir.path().display()));
        assert_eq!(
            resolve(Some(&slash), t, Some("rig")),
            slash.join("20260827T093012Z-rig.json")
        );
        let file = dir.path().join("run.json");
        assert_eq!(resolve(Some(&file), t, Some("rig")), file);
        assert!(resolve(None, t, Some("rig")).ends_with("runs/20260827T093012Z-rig.json"));
    }

    #[test]
    fn save_is_atomic_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/run.json");
        let run = crate::probe::schema::tests_support::empty_run();
        save(&run, &path).unwrap();
        save(&run, &path).unwrap();
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.json")]);
        let back: ProbeRun =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, run);
    }

    /// Issue 11.17: a re-run with the same `--out` keeps the previous complete run until the new
    /// run has a phase.
    #[test]
    fn a_previous_run_is_kept_until_the_new_one_has_a_phase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        std::fs::write(&path, "previous complete run").unwrap();
        let mut file = RunFile::new(path.clone());
        let mut run = crate::probe::schema::tests_support::empty_run();
        file.write(&run).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "previous complete run"
        );
        assert!(!file.written);
        run.phases.push(crate::probe::schema::tests_support::phase(
            crate::probe::schema::PhaseKind::CpuGemm,
            "cpu",
        ));
        file.write(&run).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("cpu-gemm"));
        // From then on every save goes through, even one with fewer phases.
        run.phases.clear();
        file.write(&run).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("cpu-gemm"));
        // A new path is written at once, so a run that stops early still leaves a file.
        let mut fresh = RunFile::new(dir.path().join("new.json"));
        fresh.write(&run).unwrap();
        assert!(fresh.written && dir.path().join("new.json").exists());
    }
}
