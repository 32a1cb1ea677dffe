//! Host inventory: CPU, memory, OS (sysinfo) and the last-level cache size (sysfs).
use super::schema::Host;
use std::collections::BTreeMap;
use std::path::Path;

/// LLC size assumed when sysfs does not say (a common server L3 size; the result says so).
pub const LLC_FALLBACK_BYTES: u64 = 32 << 20;

/// Parses a sysfs cache size such as `32768K`, `1M` or `512`.
pub fn parse_cache_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last()? {
        'K' | 'k' => (&t[..t.len() - 1], 1u64 << 10),
        'M' | 'm' => (&t[..t.len() - 1], 1 << 20),
        'G' | 'g' => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    digits.parse::<u64>().ok().map(|v| v * mult)
}

/// One cache as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub level: u32,
    pub kind: String,
    pub size_bytes: u64,
    /// CPUs sharing this cache (`shared_cpu_list`), which identifies the cache instance.
    pub shared_cpus: String,
}

/// Sum of the distinct highest-level data or unified caches (STREAM's "sum of all last-level
/// caches"); `None` when there are none.
pub fn llc_total(entries: &[CacheEntry]) -> Option<u64> {
    let usable = |e: &&CacheEntry| e.kind != "Instruction";
    let level = entries.iter().filter(usable).map(|e| e.level).max()?;
    let distinct: BTreeMap<&str, u64> = entries
        .iter()
        .filter(usable)
        .filter(|e| e.level == level)
        .map(|e| (e.shared_cpus.as_str(), e.size_bytes))
        .collect();
    Some(distinct.values().sum())
}

fn read_trim(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Every cache of every CPU under `/sys/devices/system/cpu`.
fn sysfs_caches(root: &Path) -> Vec<CacheEntry> {
    let mut out = Vec::new();
    let Ok(cpus) = std::fs::read_dir(root) else {
        return out;
    };
    for cpu in cpus.flatten() {
        let name = cpu.file_name().to_string_lossy().into_owned();
        if !name
            .strip_prefix("cpu")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let Ok(indices) = std::fs::read_dir(cpu.path().join("cache")) else {
            continue;
        };
        for index in indices.flatten() {
            let dir = index.path();
            let (Some(level), Some(kind), Some(size), Some(shared)) = (
                read_trim(&dir.join("level")).and_then(|l| l.parse().ok()),
                read_trim(&dir.join("type")),
                read_trim(&dir.join("size")).and_then(|s| parse_cache_size(&s)),
                read_trim(&dir.join("shared_cpu_list")),
            ) else {
                continue;
            };
            out.push(CacheEntry {
                level,
                kind,
                size_bytes: size,
                shared_cpus: shared,
            });
        }
    }
    out
}

/// Total last-level cache and where the figure came from (`sysfs` or `fallback`).
pub fn llc_bytes() -> (u64, &'static str) {
    match llc_total(&sysfs_caches(Path::new("/sys/devices/system/cpu"))) {
        Some(bytes) if bytes > 0 => (bytes, "sysfs"),
        _ => (LLC_FALLBACK_BYTES, "fallback"),
    }
}

/// This machine's host name, when the OS reports one.
pub fn hostname() -> Option<String> {
    sysinfo::System::host_name()
}

/// Reads the host's CPU, memory and OS.
pub fn inventory() -> Host {
    use sysinfo::{CpuRefreshKind, RefreshKind, System};
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_memory(sysinfo::MemoryRefreshKind::nothing().with_ram())
            .with_cpu(CpuRefreshKind::nothing()),
    );
    let threads = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let (llc, source) = llc_bytes();
    let cpu_model = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_owned())
        .filter(|b| !b.is_empty());
    Host {
        hostname: hostname(),
        os: System::long_os_version(),
        kernel: System::kernel_version(),
        cpu_model,
        cpu_cores: System::physical_core_count().map(|c| c as u32),
        cpu_threads: threads,
        ram_bytes: Some(sys.total_memory()).filter(|&m| m > 0),
        llc_bytes: Some(llc),
        llc_source: Some(source.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(level: u32, kind: &str, size: &str, shared: &str) -> CacheEntry {
        CacheEntry {
            level,
            kind: kind.into(),
            size_bytes: parse_cache_size(size).unwrap(),
            shared_cpus: shared.into(),
        }
    }

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_cache_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("lots"), None);
    }

    #[test]
    fn sums_distinct_last_level_caches() {
        // Two L3 slices (one per CCX), each listed by every CPU that shares it.
        let entries = vec![
            entry(1, "Data", "32K", "0"),
            entry(1, "Instruction", "32K", "0"),
            entry(2, "Unified", "512K", "0"),
            entry(3, "Unified", "32768K", "0-7"),
            entry(3, "Unified", "32768K", "0-7"),
            entry(3, "Unified", "32768K", "8-15"),
        ];
        assert_eq!(llc_total(&entries), Some(64 << 20));
        assert_eq!(llc_total(&[]), None);
    }

    #[test]
    fn inventory_reads_this_host() {
        let host = inventory();
        assert!(host.cpu_threads >= 1);
        assert!(host.llc_bytes.unwrap() > 0);
    }
}
