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
}

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
    /// Write the result JSON here instead of reports/runs/<timestamp>-<host>.json.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Burn-in: sustain GEMM this long after the other phases (e.g. 90s, 10m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Stop the burn-in when a GPU reaches this temperature.
    #[arg(long, value_name = "CELSIUS", default_value_t = 90.0)]
    pub temp_limit_c: f64,
    /// Exit 1 when a finding is a warning or an error (throttling, degraded PCIe, low results).
    #[arg(long)]
    pub check: bool,
    /// A GEMM or memory-bandwidth result under this share of the catalog peak is a finding.
    #[arg(long, value_name = "PCT", default_value_t = 60.0)]
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

/// Parses `90`, `90s`, `10m`, `1h` or `1h30m` into a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0u64;
    let mut digits = String::new();
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
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("'{text}': a unit needs a number before it, e.g. '10m'"))?;
        total += n * unit;
        digits.clear();
    }
    if !digits.is_empty() {
        total += digits
            .parse::<u64>()
            .map_err(|_| format!("'{text}' is not a duration"))?;
    }
    if total == 0 {
        return Err(format!("'{text}': the duration must be positive"));
    }
    Ok(std::time::Duration::from_secs(total))
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
    }
}
