//! `llmrig probe` arguments.
use crate::probe::cpu::CpuSize;
use crate::probe::schema::PhaseKind;
use crate::probe::Mode;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Phases that `--skip` can leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbePhase {
    CpuGemm,
    CpuStream,
    Gemm,
    Attention,
    Memory,
    Pcie,
    Decode,
    P2p,
    Nccl,
}

/// The longest burn-in `--duration` accepts. Telemetry at 10 Hz is kept in the run file, which
/// is rewritten after every phase, so a week (about 6 M samples per GPU) is the sane ceiling.
pub const MAX_DURATION_S: u64 = 7 * 24 * 3600;

/// CPU problem sizes (hidden; `small` keeps tests fast).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CpuSizeArg {
    Auto,
    Small,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The default: about a minute per GPU (one large size per dtype, the headline attention shape).
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The whole sweep: square and LLM-shaped GEMMs, every attention shape, more repetitions.
    #[arg(long)]
    pub full: bool,
    /// Write the result JSON to this file, or into this directory as TIME-HOST.json
    /// (default: the per-user data directory, e.g. ~/.local/share/llmrig/runs/).
    #[arg(long, value_name = "PATH", conflicts_with = "out_dir")]
    pub out: Option<PathBuf>,
    /// Cluster mode: one probe per node under srun, mpirun or torchrun; local rank 0 writes
    /// DIR/NODE.json, and global rank 0 then runs nccl-tests across the nodes if installed.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// How long global rank 0 waits for every node's file before nccl-tests (e.g. 10m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub cluster_wait: std::time::Duration,
    /// Burn-in: sustain GEMM this long on each GPU (e.g. 90s, 10m, 1h; at most 7 days); without a
    /// GPU to run on, the probe exits 1.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Stop the burn-in when a GPU reaches this temperature (1 to 150 °C).
    #[arg(long, value_name = "CELSIUS", default_value_t = 90.0, value_parser = parse_temp_limit)]
    pub temp_limit_c: f64,
    /// Exit 1 when a finding is a warning or an error (throttling, degraded PCIe, missing P2P,
    /// low results, no GPU to check).
    #[arg(long)]
    pub check: bool,
    /// A GEMM or memory-bandwidth result under this share of the catalog peak is a finding (0 to 100).
    #[arg(long, value_name = "PCT", default_value_t = 60.0, value_parser = parse_pct)]
    pub min_pct_of_peak: f64,
    /// Model whose bf16 weights the decode proxy turns bandwidth into tokens/s for.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only these GPUs (NVML index, as nvidia-smi numbers them); repeat or separate with commas.
    #[arg(long = "gpu", value_name = "INDEX", value_delimiter = ',')]
    pub gpus: Vec<u32>,
    /// Leave out these phases; repeat or separate with commas.
    #[arg(long, value_name = "PHASE", value_delimiter = ',')]
    pub skip: Vec<ProbePhase>,
    /// Telemetry sampling interval in milliseconds (10 to 100, i.e. at least 10 Hz).
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=100))]
    pub sample_interval_ms: u64,
    /// CPU problem sizes (tests use `small`).
    #[arg(long, value_enum, default_value_t = CpuSizeArg::Auto, hide = true)]
    pub cpu_size: CpuSizeArg,
}

impl ProbeArgs {
    /// The phases `--skip` names, as the library spells them.
    pub fn skipped_phases(&self) -> Vec<PhaseKind> {
        self.skip
            .iter()
            .map(|p| match p {
                ProbePhase::CpuGemm => PhaseKind::CpuGemm,
                ProbePhase::CpuStream => PhaseKind::CpuStream,
                ProbePhase::Gemm => PhaseKind::Gemm,
                ProbePhase::Attention => PhaseKind::Attention,
                ProbePhase::Memory => PhaseKind::Memory,
                ProbePhase::Pcie => PhaseKind::Pcie,
                ProbePhase::Decode => PhaseKind::Decode,
                ProbePhase::P2p => PhaseKind::P2p,
                ProbePhase::Nccl => PhaseKind::Nccl,
            })
            .collect()
    }

    /// CPU problem sizes.
    pub fn cpu_size(&self) -> CpuSize {
        match self.cpu_size {
            CpuSizeArg::Auto => CpuSize::Auto,
            CpuSizeArg::Small => CpuSize::Small,
        }
    }

    /// Quick unless `--full`.
    pub fn mode(&self) -> Mode {
        if self.full {
            Mode::Full
        } else {
            Mode::Quick
        }
    }
}

/// Parses `90`, `90s`, `10m`, `1h` or `1h30m` into a duration of at most [`MAX_DURATION_S`];
/// arithmetic is checked, so an absurd value is an error, never a wrapped-around one.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let too_long = || format!("'{text}' is longer than the longest burn-in, 7 days (168h)");
    let mut total = 0u64;
    let mut digits = String::new();
    let mut add = |digits: &str, unit: u64| -> Result<(), String> {
        let n: u64 = digits.parse().map_err(|_| too_long())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .filter(|s| *s <= MAX_DURATION_S)
            .ok_or_else(too_long)?;
        Ok(())
    };
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("'{text}': use a number with s, m or h, e.g. '10m'")),
        };
        if digits.is_empty() {
            return Err(format!(
                "'{text}': a unit needs a number before it, e.g. '10m'"
            ));
        }
        add(&digits, unit)?;
        digits.clear();
    }
    if !digits.is_empty() {
        add(&digits, 1)?;
    }
    if total == 0 {
        return Err(format!("'{text}': the duration must be positive"));
    }
    Ok(std::time::Duration::from_secs(total))
}

/// A finite number in `[lo, hi]`; NaN and infinities are refused (issue 11.11: they used to be
/// written as `null`, which `report` then refused to read back).
fn finite_in(text: &str, lo: f64, hi: f64, what: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if !v.is_finite() {
        return Err(format!("'{text}' is not a finite number; {what}"));
    }
    if v < lo || v > hi {
        return Err(format!("'{text}' is out of range; {what}"));
    }
    Ok(v)
}

/// `--temp-limit-c`: 1 to 150 °C (GPUs slow down near 85–95 °C and shut down near 100 °C).
pub fn parse_temp_limit(text: &str) -> Result<f64, String> {
    finite_in(text, 1.0, 150.0, "give a temperature from 1 to 150 °C")
}

/// `--min-pct-of-peak`: a share of the peak, 0 to 100 %.
pub fn parse_pct(text: &str) -> Result<f64, String> {
    finite_in(text, 0.0, 100.0, "give a percentage from 0 to 100")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("10x").unwrap_err().contains("10m"));
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(
            parse_duration("168h"),
            Ok(Duration::from_secs(MAX_DURATION_S))
        );
    }

    /// Issue 11.11: `--duration 5124095576030432h` used to wrap to 3,584 s.
    #[test]
    fn huge_durations_are_refused_not_wrapped() {
        for text in [
            "5124095576030432h",
            "99999999999999999999999s",
            "18446744073709551615m",
            "169h",
            "167h61m",
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.contains("7 days"), "{text}: {e}");
        }
    }

    /// Issue 11.11: NaN and infinities are refused with a clear message.
    #[test]
    fn non_finite_and_out_of_range_numbers_are_refused() {
        for text in ["nan", "NaN", "inf", "-inf", "infinity"] {
            assert!(
                parse_temp_limit(text)
                    .unwrap_err()
                    .contains("not a finite number"),
                "{text}"
            );
            assert!(
                parse_pct(text).unwrap_err().contains("not a finite number"),
                "{text}"
            );
        }
        assert!(parse_temp_limit("0").unwrap_err().contains("1 to 150"));
        assert!(parse_temp_limit("1e9").is_err());
        assert!(parse_pct("101").unwrap_err().contains("0 to 100"));
        assert!(parse_pct("-1").is_err());
        assert!(parse_pct("ten").unwrap_err().contains("not a number"));
        assert_eq!(parse_temp_limit(" 85 "), Ok(85.0));
        assert_eq!(parse_pct("0"), Ok(0.0));
    }
}
