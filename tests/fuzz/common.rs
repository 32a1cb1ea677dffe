//! The campaign runner and the properties shared by every target.
use llmrig::catalog::Catalog;
use llmrig::plan::Plan;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The embedded catalog, loaded once.
pub fn catalog() -> &'static Catalog {
    static CAT: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CAT.get_or_init(|| Catalog::embedded().unwrap())
}

/// Seconds each target generates cases for.
pub fn budget() -> Duration {
    let secs = std::env::var("LLMRIG_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// The checked-in corpus of one target.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = crate::repo::repo_root()
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Runs generated cases from `strategy`, `batch` at a time, until the budget is spent (at least
/// one batch); failures are shrunk, persisted to `regressions/<target>.txt` and fail the
/// test with the smallest failing input.
pub fn campaign<S: Strategy>(
    target: &'static str,
    batch: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let deadline = Instant::now() + budget();
    // proptest keeps the path for the whole run.
    let regressions: &'static str = Box::leak(
        crate::repo::repo_root()
            .join(format!("tests/fuzz/regressions/{target}.txt"))
            .to_string_lossy()
            .into_owned()
            .into_boxed_str(),
    );
    let mut cases = 0u64;
    loop {
        let mut runner = TestRunner::new(Config {
            cases: batch,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
            source_file: Some(file!()),
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy, &check) {
            panic!("fuzz target '{target}' found a failure: {e}");
        }
        cases += u64::from(batch);
        if Instant::now() >= deadline {
            break;
        }
    }
    eprintln!("fuzz target '{target}': {cases} generated cases passed");
}

/// What a user sees of an error (the printer's one escaped, capped line) names `file`, and the
/// library's own message is one line.
pub fn check_error(message: &str, file: &str) -> Result<(), TestCaseError> {
    let shown = llmrig::sanitize::line(message);
    prop_assert!(
        shown.contains(file),
        "error does not name '{}' within {} bytes: {}",
        file,
        llmrig::sanitize::MAX_ERROR_BYTES,
        shown
    );
    prop_assert!(!message.contains('\n'), "a multi-line error: {:?}", message);
    Ok(())
}

/// Runs `check` on every corpus entry of `target`, failing with the entry's name.
pub fn replay(target: &str, check: impl Fn(&str, Vec<u8>) -> Result<(), TestCaseError>) {
    for (name, bytes) in corpus(target) {
        if let Err(e) = check(&name, bytes) {
            panic!("corpus entry {target}/{name}: {e}");
        }
    }
}

fn non_negative(what: &str, v: f64) -> Result<(), TestCaseError> {
    prop_assert!(v.is_finite() && v >= 0.0, "{} = {}", what, v);
    Ok(())
}

/// No NaN, infinite or negative money, power, speed or memory; counts that fit a real rig.
pub fn check_plan(plan: &Plan) -> Result<(), TestCaseError> {
    non_negative("usd_per_kwh", plan.usd_per_kwh)?;
    non_negative("weights_bytes", plan.model_memory.weights_bytes)?;
    non_negative("kv_cache_bytes", plan.model_memory.kv_cache_bytes)?;
    for o in &plan.options {
        if let Some(m) = &o.memory_per_gpu {
            non_negative("total_bytes", m.total_bytes)?;
            prop_assert!(m.headroom_bytes.is_finite());
        }
        if let Some(b) = &o.build {
            let n = &b.node;
            for (what, v) in [
                ("total_usd", b.total_usd),
                ("lower_bound_usd", b.lower_bound_usd),
                ("priced_total_usd", n.priced_total_usd),
            ] {
                if let Some(v) = v {
                    non_negative(what, v)?;
                }
            }
            for (what, v) in [
                ("dc_load_w", n.dc_load_w),
                ("wall_load_w", n.wall_load_w),
                ("wall_idle_w", n.wall_idle_w),
                ("psu_capacity_w", n.psu_capacity_w),
            ] {
                non_negative(what, v)?;
            }
            for c in &n.circuits {
                prop_assert!((1..=100_000).contains(&c.count), "{} circuits", c.count);
            }
            for l in &n.lines {
                prop_assert!(l.quantity <= 100_000, "{} × {}", l.quantity, l.name);
                if let Some(t) = l.total_usd {
                    non_negative("line total_usd", t)?;
                }
            }
        }
        if let Some(c) = &o.cost {
            if let Some(v) = c.purchase_usd {
                non_negative("purchase_usd", v)?;
            }
            for (what, v) in [
                ("power_load_w", c.power_load_w),
                ("power_idle_w", c.power_idle_w),
                ("electricity_usd_per_month", c.electricity_usd_per_month),
            ] {
                non_negative(what, v)?;
            }
            for v in [c.break_even_months, c.usd_per_token_per_s]
                .into_iter()
                .flatten()
            {
                prop_assert!(v.is_finite(), "{}", v);
            }
        }
        if let Some(s) = &o.speed {
            non_negative("decode_tokens_per_s", s.decode_tokens_per_s)?;
            non_negative("prefill_tokens_per_s", s.prefill_tokens_per_s)?;
        }
    }
    Ok(())
}

/// Byte-level damage to a corpus entry: flips, insertions, deletions and a cut.
pub fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    (
        proptest::collection::vec((0..len, any::<u8>(), 0u8..3), 0..8),
        prop_oneof![Just(None), (0..len).prop_map(Some)],
    )
        .prop_map(move |(edits, cut)| {
            let mut b = seed.clone();
            for (at, byte, op) in edits {
                let at = at.min(b.len());
                match op {
                    0 if at < b.len() => b[at] = byte,
                    1 => b.insert(at, byte),
                    _ if at < b.len() => {
                        b.remove(at);
                    }
                    _ => {}
                }
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b
        })
}

/// Strings a hostile file might hold: empty, control characters, terminal escapes, bidi
/// overrides, long runs, path separators.
pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z._0-9]{0,12}",
        Just(String::new()),
        Just("w\n\u{1b}[31mred".to_owned()),
        Just("\u{202E}txt.exe".to_owned()),
        Just("../../etc/passwd".to_owned()),
        Just("a\u{0}b".to_owned()),
        (1usize..3000).prop_map(|n| "x".repeat(n)),
        any::<String>(),
    ]
}

/// Integers at the edges: zero, one, powers of two, the limits of u32 and u64.
pub fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..64,
        Just(u64::MAX),
        Just(u32::MAX as u64),
        Just(1 << 32),
        Just(1 << 40),
        Just(1 << 63),
        (0u32..64).prop_map(|s| 1u64 << s),
        any::<u64>(),
    ]
}
