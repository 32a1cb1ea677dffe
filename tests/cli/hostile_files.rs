//! Issue 11's reproducers for hostile files: each runs the binary under a 2 GiB address-space
//! limit and a time limit and must exit 0, 1 or 2 with a short one-line error naming the file.
use crate::util::{run_bounded, Outcome};
use std::ffi::OsStr;
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Generous for a debug build on a loaded two-core machine; the release binary is ~10× faster.
const LIMIT: Duration = Duration::from_secs(60);

fn run(dir: &Path, args: &[&dyn AsRef<OsStr>]) -> Outcome {
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_ref()).collect();
    run_bounded(dir, &args, LIMIT)
}

fn run_str(dir: &Path, args: &[&str]) -> Outcome {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    run_bounded(dir, &args, LIMIT)
}

/// `args` fails at once (exit 2) with `expected`, naming `file`.
fn refused_at_once(dir: &Path, args: &[&str], file: &str, expected: &str) {
    let out = run_str(dir, args);
    out.assert_clean(file).code(2).stderr_has(expected);
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
}

/// A safetensors file: length, `header`, then `data_len` zero bytes.
fn safetensors(path: &Path, header: &[u8], data_len: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header).unwrap();
    std::io::copy(&mut std::io::repeat(0).take(data_len), &mut f).unwrap();
}

/// A header JSON streamed into a file: `{` + `n` entries from `entry(i)` + `}`.
fn streamed_header(path: &Path, n: usize, entry: impl Fn(usize) -> String, data_len: u64) {
    let mut header = Vec::with_capacity(n * 60);
    header.push(b'{');
    for i in 0..n {
        if i > 0 {
            header.push(b',');
        }
        header.extend_from_slice(entry(i).as_bytes());
    }
    header.push(b'}');
    safetensors(path, &header, data_len);
}

/// A minimal little-endian GGUF v3 file: optional `general.architecture`, then tensors given
/// as (name, dims, ggml type, offset), then `data_len` bytes of data after 32-byte alignment.
fn gguf(path: &Path, arch: Option<&str>, tensors: &[(&str, &[u64], u32, u64)], data_len: u64) {
    fn string(b: &mut Vec<u8>, s: &str) {
        b.extend_from_slice(&(s.len() as u64).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    b.extend_from_slice(&u64::from(arch.is_some()).to_le_bytes());
    if let Some(a) = arch {
        string(&mut b, "general.architecture");
        b.extend_from_slice(&8u32.to_le_bytes());
        string(&mut b, a);
    }
    for (name, dims, ty, offset) in tensors {
        string(&mut b, name);
        b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in *dims {
            b.extend_from_slice(&d.to_le_bytes());
        }
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&offset.to_le_bytes());
    }
    b.resize(b.len().div_ceil(32) * 32 + data_len as usize, 0);
    std::fs::write(path, b).unwrap();
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A FIFO at `path` that a thread fills with `bytes` once a reader opens it.
fn fifo_with(path: &Path, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    mkfifo(path);
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        // A reader that gives up early closes the pipe: the write may then fail, harmlessly.
        let _ = std::fs::write(path, bytes);
    })
}

/// Llama 2 70B's config.json architecture fields.
const LLAMA_70B: &str = r#"{"model_type": "llama", "architectures": ["LlamaForCausalLM"],
 "hidden_size": 8192, "intermediate_size": 28672, "num_attention_heads": 64,
 "num_hidden_layers": 80, "num_key_value_heads": 8, "vocab_size": 32000,
 "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "tie_word_embeddings": false"#;

fn config_70b() -> String {
    format!("{LLAMA_70B}}}")
}

// ---- item 3: JSON inputs parsed whole ----

#[test]
fn a_98_mb_padded_config_json_is_refused_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from(LLAMA_70B);
    cfg.push_str(r#", "padding": ["#);
    cfg.push_str(&"0,".repeat(49_000_000));
    cfg.push_str("0]}");
    std::fs::write(dir.path().join("config.json"), cfg).unwrap();
    run(dir.path(), &[&"import", &"config.json"])
        .assert_clean("config.json")
        .code(2)
        .stderr_has("over the 4194304-byte limit for config.json files");
}

#[test]
fn a_98_mb_padded_index_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config_70b()).unwrap();
    safetensors(
        &dir.path().join("model-1.safetensors"),
        br#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
        4,
    );
    let mut index = String::from(r#"{"metadata": {"total_size": 4, "padding": ["#);
    index.push_str(&"0,".repeat(49_000_000));
    index.push_str(r#"0]}, "weight_map": {"w": "model-1.safetensors"}}"#);
    std::fs::write(dir.path().join("model.safetensors.index.json"), index).unwrap();
    let out = run(dir.path(), &[&"import", &".", &"--json"]);
    out.assert_clean("index").code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["weights"]["bytes"], 4);
}

// ---- item 4: safetensors headers ----

#[test]
fn a_99_mb_header_with_1_7_million_tensors_stops_at_the_tensor_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.safetensors");
    streamed_header(
        &path,
        1_700_000,
        |i| format!(r#""{i:07}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#),
        0,
    );
    assert!(std::fs::metadata(&path).unwrap().len() > 90_000_000);
    run(dir.path(), &[&"import", &"many.safetensors"])
        .assert_clean("many.safetensors")
        .code(2)
        .stderr_has("more than 1000000 tensors");
}

#[test]
fn a_shape_of_49_million_ones_fails_at_the_rank_limit_with_a_short_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, offsets) in [
        ("ones.safetensors", "[0,2]"),
        ("wrong.safetensors", "[7,3]"),
    ] {
        let mut header = String::from(r#"{"w":{"dtype":"F16","data_offsets":"#);
        header.push_str(offsets);
        header.push_str(r#","shape":["#);
        header.push_str(&"1,".repeat(49_000_000));
        header.push_str("1]}}");
        safetensors(&dir.path().join(name), header.as_bytes(), 2);
        run(dir.path(), &[&"import", &name])
            .assert_clean(name)
            .code(2)
            .stderr_has("more than 8 dimensions");
    }
}

#[test]
fn an_index_with_3_million_entries_stops_at_the_tensor_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config_70b()).unwrap();
    let mut index = String::from(r#"{"weight_map": {"#);
    for i in 0..3_000_000 {
        if i > 0 {
            index.push(',');
        }
        index.push_str(&format!(r#""{i}":"m.safetensors""#));
    }
    index.push_str("}}");
    std::fs::write(dir.path().join("model.safetensors.index.json"), index).unwrap();
    run(dir.path(), &[&"import", &"."])
        .assert_clean("model.safetensors.index.json")
        .code(2)
        .stderr_has("more than 1000000 tensors");
}

// ---- item 5: FIFOs; item 16: pipes ----

#[test]
fn a_fifo_nobody_writes_fails_after_the_pipe_wait() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("fifo"));
    mkfifo(&dir.path().join("fifo.json"));
    for args in [
        &["import", "fifo"][..],
        &["report", "fifo.json", "--out", "r"],
    ] {
        let out = run_str(dir.path(), args);
        out.assert_clean("fifo")
            .code(2)
            .stderr_has("nothing arrived through the pipe within 5 s");
        assert!(out.elapsed < Duration::from_secs(30), "{:?}", out.elapsed);
    }
}

#[test]
fn fifos_inside_directories_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::write(model.join("config.json"), config_70b()).unwrap();
    std::fs::write(
        model.join("model.safetensors.index.json"),
        r#"{"weight_map": {"w": "shard.safetensors"}}"#,
    )
    .unwrap();
    mkfifo(&model.join("shard.safetensors"));
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    mkfifo(&catalog.join("a.toml"));
    for (args, names) in [
        (&["import", "model"][..], "shard.safetensors"),
        (&["--catalog-dir", "catalog", "models"][..], "a.toml"),
    ] {
        refused_at_once(
            dir.path(),
            args,
            names,
            "is a FIFO or pipe, not a regular file",
        );
    }
}

#[test]
fn config_safetensors_and_gguf_read_through_a_pipe_as_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = r#"{"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 10}"#;
    let st = dir.path().join("w.safetensors");
    safetensors(
        &st,
        br#"{"a":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[4],"data_offsets":[12,28]}}"#,
        28,
    );
    let gg = dir.path().join("w.gguf");
    gguf(&gg, None, &[("a", &[32], 0, 0), ("b", &[64], 1, 128)], 256);
    for (file, bytes) in [
        ("config.json", cfg.as_bytes().to_vec()),
        ("w.safetensors", std::fs::read(&st).unwrap()),
        ("w.gguf", std::fs::read(&gg).unwrap()),
    ] {
        let path = dir.path().join(file);
        if !path.exists() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let from_file = run(dir.path(), &[&"import", &file, &"--json"]);
        from_file.assert_clean(file).code(0);
        let pipe = dir.path().join("pipe");
        let writer = fifo_with(&pipe, bytes);
        let from_pipe = run(dir.path(), &[&"import", &"pipe", &"--json"]);
        writer.join().unwrap();
        std::fs::remove_file(&pipe).unwrap();
        from_pipe.assert_clean("pipe").code(0);
        let (a, b): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(&from_file.stdout).unwrap(),
            serde_json::from_str(&from_pipe.stdout).unwrap(),
        );
        assert_eq!(a["weights"]["bytes"], b["weights"]["bytes"], "{file}");
        assert_eq!(
            a["model"]["hidden_size"], b["model"]["hidden_size"],
            "{file}"
        );
    }
}

// ---- items 6 and 7: catalog directories and unbounded reads ----

const GPU_OVERLAY: &str = r#"[[circuit]]
id = "test-circuit"
name = "Test circuit"
region = "us"
volts = 120
amps = 15
continuous_w = 1440
source = "https://example.org/circuit"
"#;

#[test]
fn symlink_loops_in_a_catalog_dir_neither_hang_nor_define_twice() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat");
    std::fs::create_dir(&cat).unwrap();
    std::fs::write(cat.join("circuit.toml"), GPU_OVERLAY).unwrap();
    std::os::unix::fs::symlink(".", cat.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(".", cat.join("loop-b")).unwrap();
    std::os::unix::fs::symlink("circuit.toml", cat.join("again.toml")).unwrap();
    let out = run(
        dir.path(),
        &[&"--catalog-dir", &"cat", &"parts", &"circuit"],
    );
    out.assert_clean("cat").code(0);
    assert!(out.stdout.contains("test-circuit"), "{}", out.stdout);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn dev_zero_as_a_report_input_or_an_overlay_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat");
    std::fs::create_dir(&cat).unwrap();
    std::os::unix::fs::symlink("/dev/zero", cat.join("z.toml")).unwrap();
    for (args, name) in [
        (&["report", "/dev/zero", "--out", "r"][..], "/dev/zero"),
        (&["--catalog-dir", "cat", "gpus"][..], "z.toml"),
    ] {
        refused_at_once(
            dir.path(),
            args,
            name,
            "is a character device, not a regular file",
        );
    }
}

// ---- item 8 (and 9's model half): catalog values without range checks ----

/// The first embedded entry of `kind`, with `field` set to `value`, as an overlay file.
fn overlay_entry(kind: &str, field: &str, value: toml::Value) -> (String, String) {
    let (_, mut entry) = crate::catalog_sources::first_entry_of_each_kind()
        .into_iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no embedded {kind}"));
    let id = entry["id"].as_str().unwrap().to_owned();
    entry.insert(field.into(), value);
    let mut doc = toml::Table::new();
    doc.insert(
        kind.into(),
        toml::Value::Array(vec![toml::Value::Table(entry)]),
    );
    (id, toml::to_string(&doc).unwrap())
}

#[test]
fn catalog_validation_rejects_each_out_of_range_value_naming_file_entry_and_field() {
    use toml::Value::{Float, Integer};
    let cases = [
        ("circuit", "continuous_w", Float(0.0)),
        ("cpu", "tdp_w", Float(-1e6)),
        ("cpu", "tdp_w", Float(f64::NAN)),
        ("platform", "max_power_w", Float(-5.0)),
        ("ram", "capacity_gib", Integer(0)),
        ("storage", "capacity_gb", Float(0.0)),
        ("storage", "read_gb_per_s", Float(0.0)),
        ("gpu", "tdp_w", Float(f64::NAN)),
        ("gpu", "fabric_max_gpus", Integer(4_294_967_295)),
        ("model", "head_dim", Integer(0)),
        ("model", "kv_lora_rank", Integer(0)),
        ("model", "num_local_experts", Integer(1 << 40)),
    ];
    for (kind, field, value) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (id, text) = overlay_entry(kind, field, value.clone());
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let out = run(dir.path(), &[&"catalog", &"validate", &"."]);
        out.assert_clean("bad.toml").code(2);
        let want = format!("{kind} '{id}': field '{field}'");
        assert!(
            out.stderr.contains(&want),
            "{kind}.{field} = {value}: {}",
            out.stderr
        );
    }
}

// ---- item 14: misleading imports ----

#[test]
fn an_empty_weight_map_beside_a_70b_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config_70b()).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        r#"{"weight_map":{}}"#,
    )
    .unwrap();
    for cmd in [
        &["import", "."][..],
        &["plan", "-m", ".", "--gpu", "rtx-4090"],
    ] {
        run_str(dir.path(), cmd)
            .assert_clean("model.safetensors.index.json")
            .code(2)
            .stderr_has("weight_map lists no tensors");
    }
}

#[test]
fn overlapping_tensor_data_is_an_error_in_safetensors_and_gguf() {
    let dir = tempfile::tempdir().unwrap();
    // 1,000 views of the same 1,024 bytes once counted as 1,024,000.
    streamed_header(
        &dir.path().join("overlap.safetensors"),
        1000,
        |i| format!(r#""t{i}":{{"dtype":"U8","shape":[1024],"data_offsets":[0,1024]}}"#),
        1024,
    );
    gguf(
        &dir.path().join("overlap.gguf"),
        None,
        &[("a", &[256], 0, 0), ("b", &[256], 0, 0)],
        1024,
    );
    for file in ["overlap.safetensors", "overlap.gguf"] {
        run(dir.path(), &[&"import", &file])
            .assert_clean(file)
            .code(2)
            .stderr_has("two tensors claim the same bytes");
    }
}

// ---- item 15: untrusted names printed raw ----

#[test]
fn control_characters_in_names_are_escaped_and_long_names_cut() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "w\\n\\u001b[31mred";
    safetensors(
        &dir.path().join("evil.safetensors"),
        format!(r#"{{"{evil}":{{"dtype":"F16","shape":[2],"data_offsets":[0,3]}}}}"#).as_bytes(),
        4,
    );
    let out = run(dir.path(), &[&"import", &"evil.safetensors"]);
    out.assert_clean("evil.safetensors")
        .code(2)
        .stderr_has("tensor 'w\\n\\u{1b}[31mred'");
    let long = "x".repeat(100_000);
    safetensors(
        &dir.path().join("long.safetensors"),
        format!(r#"{{"{long}":{{"dtype":"F16","shape":[2],"data_offsets":[0,3]}}}}"#).as_bytes(),
        4,
    );
    run(dir.path(), &[&"import", &"long.safetensors"])
        .assert_clean("long.safetensors")
        .code(2);
    // A GGUF architecture name lands in a note; a shard name in the index error.
    gguf(
        &dir.path().join("arch.gguf"),
        Some("evil\u{1b}[2J\narch"),
        &[("a", &[32], 0, 0)],
        128,
    );
    let out = run(dir.path(), &[&"import", &"arch.gguf"]);
    out.assert_clean("arch.gguf").code(0);
    assert!(
        out.stderr.contains("'evil\\u{1b}[2J\\narch'"),
        "{}",
        out.stderr
    );
    std::fs::write(dir.path().join("config.json"), config_70b()).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        r#"{"weight_map":{"w":"a\u001b]0;title\u0007.safetensors"}}"#,
    )
    .unwrap();
    run(dir.path(), &[&"import", &"."])
        .assert_clean("\\u{1b}]0;title\\u{7}.safetensors")
        .code(2);
}

// ---- items 1, 2 and 13: reports ----

fn fixture(name: &str) -> PathBuf {
    crate::util::fixture("report").join(name)
}

/// The fixture comparison with `n` copies of its first option, each with its own GPU id, and
/// `edit` applied to every option.
fn plan_with_options(n: usize, edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("compare-llama-3.1-70b-int4.json")).unwrap())
            .unwrap();
    let mut first = plan["options"][0].clone();
    // Only what the report reads, so 60,000 options stay a few tens of megabytes.
    for key in ["warnings", "reason"] {
        first.as_object_mut().unwrap().remove(key);
    }
    first["build"] =
        serde_json::json!({"total_usd": first["build"]["total_usd"], "fully_priced": true});
    let cost = &first["cost"];
    first["cost"] = serde_json::json!({"power_load_w": cost["power_load_w"], "power_idle_w": cost["power_idle_w"], "usd_per_token_per_s": cost["usd_per_token_per_s"]});
    edit(&mut first);
    let options: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut o = first.clone();
            o["gpu_id"] = format!("gpu-{i}").into();
            o
        })
        .collect();
    plan["options"] = options.into();
    plan["recommended"] = serde_json::Value::Null;
    serde_json::to_vec(&plan).unwrap()
}

#[test]
fn tiny_values_in_a_plan_draw_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_with_options(3, |o| {
        o["speed"]["decode_tokens_per_s"] = 5e-324.into();
        o["build"]["total_usd"] = 5e-324.into();
        o["cost"]["usd_per_token_per_s"] = 5e-324.into();
    });
    std::fs::write(dir.path().join("tiny.json"), plan).unwrap();
    run(dir.path(), &[&"report", &"tiny.json", &"--out", &"r"])
        .assert_clean("tiny.json")
        .code(0);
}

#[test]
fn plans_with_thousands_of_options_report_in_bounded_time_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    for n in [2_500, 25_000, 60_000] {
        let name = format!("many-{n}.json");
        std::fs::write(dir.path().join(&name), plan_with_options(n, |_| {})).unwrap();
        let out = run(dir.path(), &[&"report", &name, &"--out", &"r"]);
        out.assert_clean(&name).code(0);
        let md = std::fs::read_to_string(dir.path().join("r/report.md")).unwrap();
        assert!(
            md.contains(&format!("the first 60 of the plan's {n} options")),
            "{}",
            &md[..md.len().min(2000)]
        );
    }
}

#[test]
fn inputs_whose_names_slug_alike_get_their_own_charts() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read(fixture("compare-llama-3.1-70b-int4.json")).unwrap();
    std::fs::write(dir.path().join("rig A.json"), &plan).unwrap();
    std::fs::write(dir.path().join("rig-a.json"), &plan).unwrap();
    let one = run(dir.path(), &[&"report", &"rig-a.json", &"--out", &"one"]);
    one.assert_clean("rig-a").code(0);
    let two = run(
        dir.path(),
        &[&"report", &"rig A.json", &"rig-a.json", &"--out", &"two"],
    );
    two.assert_clean("rig").code(0);
    let count = |d: &str| {
        std::fs::read_dir(dir.path().join(d).join("charts"))
            .unwrap()
            .count()
    };
    assert_eq!(
        count("two"),
        2 * count("one"),
        "every chart of both plans is its own file"
    );
}
