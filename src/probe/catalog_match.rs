//! Matching NVML's GPU names to catalog entries, and the figures the probe compares against.
//!
//! NVML names look like `NVIDIA H100 80GB HBM3` (SXM), `NVIDIA H100 PCIe`, `NVIDIA A100-SXM4-40GB`
//! or `NVIDIA GeForce RTX 4090`. An entry must share the model token (`h100`, `4090`); among those,
//! form factor words (`pcie`, `sxm`) and the memory size break ties. No unique best match means no
//! match: comparing with the wrong peak would be worse than comparing with none.
use crate::catalog::{Catalog, ComputeDtype, FormFactor, Gpu, Model};

/// Words that carry no model information.
const NOISE: &[&str] = &[
    "nvidia", "geforce", "tesla", "quadro", "rtx", "gpu", "graphics",
];

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
        .filter(|t| !NOISE.contains(&t.as_str()))
        .collect()
}

/// The token naming the chip or card: the first with a digit that is not a memory size.
fn model_token(tokens: &[String]) -> Option<&str> {
    tokens.iter().map(String::as_str).find(|t| {
        t.chars().any(|c| c.is_ascii_digit())
            && !t.ends_with("gb")
            && !t.starts_with("hbm")
            && !t.starts_with("sxm")
    })
}

fn entry_tokens(gpu: &Gpu) -> Vec<String> {
    let mut t = tokens(&gpu.id);
    t.extend(tokens(&gpu.name));
    for a in &gpu.aliases {
        t.extend(tokens(a));
    }
    t
}

fn score(nvml: &[String], memory_bytes: Option<u64>, gpu: &Gpu) -> Option<i32> {
    let model = model_token(nvml)?;
    let theirs = entry_tokens(gpu);
    if !theirs.iter().any(|t| t == model) {
        return None;
    }
    let mut s = nvml
        .iter()
        .filter(|t| t.as_str() != model && theirs.contains(t))
        .count() as i32
        * 2;
    let says_pcie = nvml.iter().any(|t| t == "pcie");
    let says_sxm = nvml.iter().any(|t| t.starts_with("sxm"));
    s += match (gpu.form_factor, says_pcie, says_sxm) {
        (FormFactor::Pcie, true, _) | (FormFactor::Sxm, _, true) => 3,
        (FormFactor::Pcie, false, true) | (FormFactor::Sxm, true, _) => -3,
        // Data-centre SXM parts often carry no form-factor word (`H100 80GB HBM3`).
        (FormFactor::Sxm, false, false) => 1,
        _ => 0,
    };
    if let Some(bytes) = memory_bytes {
        let ratio = bytes as f64 / gpu.memory_bytes();
        s += if (0.88..=1.12).contains(&ratio) {
            3
        } else {
            -3
        };
    }
    Some(s)
}

/// The catalog GPU matching an NVML name (and memory size, when known); `None` unless unique.
pub fn match_gpu<'a>(
    catalog: &'a Catalog,
    nvml_name: &str,
    memory_bytes: Option<u64>,
) -> Option<&'a Gpu> {
    let nvml = tokens(nvml_name);
    let mut scored: Vec<(i32, &Gpu)> = catalog
        .gpus
        .iter()
        .filter_map(|g| score(&nvml, memory_bytes, g).map(|s| (s, g)))
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [(best, g), rest @ ..] if rest.first().is_none_or(|(next, _)| next < best) => Some(g),
        _ => None,
    }
}

/// Dense peak of `gpu` for a GEMM dtype name (`fp32`, `tf32`, `fp16`, `bf16`, `fp8`, `int8`).
pub fn peak_tflops(gpu: &Gpu, dtype: &str) -> Option<f64> {
    let d = ComputeDtype::ALL.into_iter().find(|d| d.name() == dtype)?;
    gpu.dense_tflops.get(d)
}

/// Weight bytes one decoded token streams for `model` in bf16 (2 bytes per parameter), using the
/// active parameters for mixture-of-experts models; with the parameter count used.
pub fn decode_weight_bytes(model: &Model) -> (f64, u64) {
    let params = model
        .active_params_published
        .unwrap_or(model.params_published);
    (params as f64 * 2.0, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPUS: &str = r#"
[[gpu]]
id = "h100-sxm5-80gb"
name = "NVIDIA H100 SXM5 80GB"
vendor = "nvidia"
aliases = ["h100", "h100-sxm"]
architecture = "hopper"
memory_gib = 80
memory_type = "HBM3"
memory_bandwidth_gb_per_s = 3350
tdp_w = 700
form_factor = "sxm"
cooling = "module"
pcie_gen = 5
pcie_lanes = 16
source = "https://example.org/test-fixture"
dense_tflops = { fp32 = 67, bf16 = 989 }

[[gpu]]
id = "h100-pcie-80gb"
name = "NVIDIA H100 PCIe 80GB"
vendor = "nvidia"
architecture = "hopper"
memory_gib = 80
memory_type = "HBM2e"
memory_bandwidth_gb_per_s = 2000
tdp_w = 350
form_factor = "pcie"
cooling = "passive"
pcie_gen = 5
pcie_lanes = 16
source = "https://example.org/test-fixture"
dense_tflops = { fp32 = 51, bf16 = 756 }

[[gpu]]
id = "rtx-4090"
name = "NVIDIA GeForce RTX 4090"
vendor = "nvidia"
architecture = "ada"
memory_gib = 24
memory_type = "GDDR6X"
memory_bandwidth_gb_per_s = 1008
tdp_w = 450
form_factor = "pcie"
cooling = "open-air"
pcie_gen = 4
pcie_lanes = 16
source = "https://example.org/test-fixture"
dense_tflops = { fp32 = 82.6 }
"#;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.add_file("test", GPUS, false).unwrap();
        c
    }

    fn id(name: &str, gib: Option<u64>) -> Option<String> {
        match_gpu(&catalog(), name, gib.map(|g| g << 30)).map(|g| g.id.clone())
    }

    #[test]
    fn matches_nvml_names() {
        assert_eq!(
            id("NVIDIA H100 80GB HBM3", Some(80)).as_deref(),
            Some("h100-sxm5-80gb")
        );
        assert_eq!(
            id("NVIDIA H100 PCIe", Some(80)).as_deref(),
            Some("h100-pcie-80gb")
        );
        assert_eq!(
            id("NVIDIA GeForce RTX 4090", Some(24)).as_deref(),
            Some("rtx-4090")
        );
        assert_eq!(id("NVIDIA A100-SXM4-40GB", Some(40)), None);
        assert_eq!(id("Tesla", None), None);
    }

    #[test]
    fn peaks_by_dtype_name() {
        let c = catalog();
        let h100 = c.gpus.get("h100-sxm5-80gb").unwrap();
        assert_eq!(peak_tflops(h100, "bf16"), Some(989.0));
        assert_eq!(peak_tflops(h100, "fp8"), None);
        assert_eq!(peak_tflops(h100, "nope"), None);
    }
}
