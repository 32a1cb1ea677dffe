//! Models from the Hugging Face Hub (issue 12 items 3 and 4), against a real HTTP server on
//! 127.0.0.1 serving repositories written here: exact counts equal to a local import, only
//! header bytes transferred, the cache on a second run with `--offline`, gated and missing
//! repos, a truncated response and a silent server.
use crate::hub_server::{Fault, HubServer, Repo};
use crate::util::{llmrig, stdout_json};
use predicates::str::contains;
use std::collections::BTreeMap;
use std::path::Path;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA2: &str = "89abcdef0123456789abcdef0123456789abcdef";

/// A Llama with hidden 256, 2 layers, 4 heads, 2 KV heads (head dim 64), MLP 512, vocab 1000.
const LLAMA_CONFIG: &str = r#"{"model_type": "llama", "architectures": ["LlamaForCausalLM"],
 "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
 "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 4096,
 "tie_word_embeddings": false}"#;

/// Its parameters: embedding and head 256,000 each, per layer q 65,536 + k 32,768 + v 32,768
/// + o 65,536 + gate/up/down 3 x 131,072 + two norms 512, and the final norm 256.
const LLAMA_PARAMS: u64 =
    256_000 * 2 + 2 * (65_536 + 32_768 * 2 + 65_536 + 3 * 131_072 + 512) + 256;

/// A safetensors file of zeroed BF16 tensors; returns it and its header length.
fn safetensors(tensors: &[(String, Vec<u64>)]) -> (Vec<u8>, u64) {
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<u64>() * 2;
        header.insert(
            name.clone(),
            serde_json::json!({ "dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + bytes] }),
        );
        offset += bytes;
    }
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(&json);
    out.resize(out.len() + offset as usize, 0);
    (out, json.len() as u64)
}

fn layer(i: u32) -> Vec<(String, Vec<u64>)> {
    let p = |s: &str| format!("model.layers.{i}.{s}");
    vec![
        (p("input_layernorm.weight"), vec![256]),
        (p("self_attn.q_proj.weight"), vec![256, 256]),
        (p("self_attn.k_proj.weight"), vec![128, 256]),
        (p("self_attn.v_proj.weight"), vec![128, 256]),
        (p("self_attn.o_proj.weight"), vec![256, 256]),
        (p("post_attention_layernorm.weight"), vec![256]),
        (p("mlp.gate_proj.weight"), vec![512, 256]),
        (p("mlp.up_proj.weight"), vec![512, 256]),
        (p("mlp.down_proj.weight"), vec![256, 512]),
    ]
}

/// A repository's files by name.
type Files = BTreeMap<String, Vec<u8>>;
/// Shard names with their header lengths.
type Heads = Vec<(String, u64)>;

/// The Llama's files: config, index and two shards; with each shard's header length.
fn llama_files() -> (Files, Heads) {
    let mut first = vec![("model.embed_tokens.weight".to_owned(), vec![1000, 256])];
    first.extend(layer(0));
    let mut second = layer(1);
    second.push(("model.norm.weight".into(), vec![256]));
    second.push(("lm_head.weight".into(), vec![1000, 256]));
    let mut files = BTreeMap::new();
    let mut heads = Vec::new();
    let mut weight_map = serde_json::Map::new();
    for (name, tensors) in [
        ("model-00001-of-00002.safetensors", &first),
        ("model-00002-of-00002.safetensors", &second),
    ] {
        let (bytes, header_len) = safetensors(tensors);
        for (t, _) in tensors {
            weight_map.insert(t.clone(), name.into());
        }
        files.insert(name.to_owned(), bytes);
        heads.push((name.to_owned(), header_len));
    }
    let index = serde_json::json!({ "metadata": { "total_size": LLAMA_PARAMS * 2 }, "weight_map": weight_map });
    files.insert(
        "model.safetensors.index.json".into(),
        serde_json::to_vec_pretty(&index).unwrap(),
    );
    files.insert("config.json".into(), LLAMA_CONFIG.as_bytes().to_vec());
    files.insert("README.md".into(), b"# tiny llama\n".to_vec());
    (files, heads)
}

fn write_dir(dir: &Path, files: &Files) {
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// `llmrig` pointed at `hub` with its own empty cache and no token or proxy from the host.
fn cmd(hub: &HubServer, home: &Path) -> assert_cmd::Command {
    let mut c = llmrig();
    c.env("HF_ENDPOINT", hub.endpoint()).env("HF_HOME", home);
    for var in [
        "HF_TOKEN",
        "HF_TOKEN_PATH",
        "HF_HUB_OFFLINE",
        "LLMRIG_HUB_TIMEOUT_S",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env_remove(var);
    }
    c
}

/// stderr of a failed run, which must be one `error:` line (and maybe notes before it).
fn one_line_error(c: &mut assert_cmd::Command) -> String {
    let out = c.assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0].to_owned()
}

/// Asserts that an error line holds `text`.
fn assert_has(e: &str, text: &str) {
    assert!(e.contains(text), "'{text}' not in: {e}");
}

fn llama_hub() -> (HubServer, Files, Heads) {
    let hub = HubServer::start();
    let (files, heads) = llama_files();
    hub.add_repo(
        "org/tiny-llama",
        Repo {
            sha: SHA.into(),
            files: files.clone(),
            gated_token: None,
        },
    );
    (hub, files, heads)
}

#[test]
fn hub_import_equals_a_local_import_and_transfers_only_headers() {
    let (hub, files, heads) = llama_hub();
    let home = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    write_dir(local.path(), &files);

    let remote = stdout_json(cmd(&hub, home.path()).args(["--json", "import", "org/tiny-llama"]));
    let disk = stdout_json(llmrig().args(["--json", "import"]).arg(local.path()));
    assert_eq!(remote["weights"]["params"], LLAMA_PARAMS);
    assert_eq!(remote["weights"]["bytes"], LLAMA_PARAMS * 2);
    for key in ["params", "bytes", "tensors", "by_dtype", "files"] {
        assert_eq!(remote["weights"][key], disk["weights"][key], "{key}");
    }
    assert_eq!(remote["computed_params"], disk["computed_params"]);
    assert_eq!(remote["model"]["params_published"], LLAMA_PARAMS);
    assert_eq!(remote["model"]["hf_repo"], "org/tiny-llama");
    assert_eq!(remote["model"]["id"], "tiny-llama");
    assert_eq!(
        remote["model"]["source"],
        format!("{}/org/tiny-llama/tree/{SHA}", hub.endpoint())
    );

    // Each shard gave exactly its 8-byte length and its JSON header, nothing of the data.
    for (name, header_len) in &heads {
        let served = hub.served(&format!("org/tiny-llama/{name}"));
        assert_eq!(served, 8 + header_len, "{name}");
        assert!(
            served * 10 < files[name].len() as u64,
            "{name}: {served} bytes"
        );
    }
    let whole = |f: &str| files[f].len() as u64;
    let expected_files = whole("config.json")
        + whole("model.safetensors.index.json")
        + heads.iter().map(|(_, h)| 8 + h).sum::<u64>();
    assert_eq!(hub.served_total(), expected_files);
    assert_eq!(hub.served("org/tiny-llama/README.md"), 0);
    let h = &remote["hub"];
    assert_eq!(
        (h["commit"].as_str(), h["revision"].as_str()),
        (Some(SHA), Some("main"))
    );
    assert_eq!(h["from_cache"], false);
    // One API request, config, index, and two per shard.
    assert_eq!(h["requests"], 1 + 2 + 2 * heads.len() as u64);
    let api_bytes = h["transferred_bytes"].as_u64().unwrap() - expected_files;
    assert!(api_bytes > 0 && api_bytes < 1000, "{api_bytes}");
    let weight_files: u64 = heads.iter().map(|(n, _)| whole(n)).sum();
    assert_eq!(h["weight_file_bytes"], weight_files);
    assert!(
        hub.log()
            .iter()
            .all(|l| !l.contains("safetensors ") || l.contains("bytes=")),
        "{:?}",
        hub.log()
    );
}

#[test]
fn hub_plan_equals_a_local_plan_and_a_second_run_works_offline() {
    let (hub, files, _) = llama_hub();
    let home = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    write_dir(local.path(), &files);
    let plan = |c: &mut assert_cmd::Command, model: &str| {
        stdout_json(c.args(["--json", "plan", "-g", "h100-sxm5-80gb", "-m", model]))
    };
    let remote = plan(&mut cmd(&hub, home.path()), "org/tiny-llama");
    let disk = plan(&mut llmrig(), local.path().to_str().unwrap());
    let weights = &remote["model_memory"]["weights_bytes"];
    assert_eq!(weights.as_f64(), Some((LLAMA_PARAMS * 2) as f64));
    assert_eq!(weights, &disk["model_memory"]["weights_bytes"]);
    assert_eq!(remote["model_memory"], disk["model_memory"]);

    // Online again: one API request to learn that main is still the cached commit.
    hub.clear_counts();
    let again = stdout_json(cmd(&hub, home.path()).args(["--json", "import", "org/tiny-llama"]));
    assert_eq!(again["hub"]["from_cache"], true);
    assert_eq!(again["hub"]["requests"], 1);
    assert_eq!(hub.log().len(), 1, "{:?}", hub.log());

    // With the server gone, --offline and HF_HUB_OFFLINE=1 read the cache.
    let endpoint = hub.endpoint();
    drop(hub);
    let dead = HubServer::start();
    let offline = stdout_json(cmd(&dead, home.path()).env("HF_ENDPOINT", &endpoint).args([
        "--json",
        "plan",
        "--offline",
        "-g",
        "h100-sxm5-80gb",
        "-m",
        "org/tiny-llama",
    ]));
    assert_eq!(offline["model_memory"], disk["model_memory"]);
    let compared = stdout_json(cmd(&dead, home.path()).args([
        "--json",
        "compare",
        "--offline",
        "-m",
        "org/tiny-llama",
        "-o",
        "1xh100-sxm5-80gb",
    ]));
    assert_eq!(compared["model_memory"], disk["model_memory"]);
    // Online with the Hub unreachable: the cached commit, with a note saying so.
    cmd(&dead, home.path())
        .env("HF_ENDPOINT", &endpoint)
        .args(["import", "org/tiny-llama"])
        .assert()
        .success()
        .stderr(contains(format!("could not reach {endpoint} (")))
        .stderr(contains("using what an earlier run cached"))
        .stderr(contains(
            "org/tiny-llama is commit 0123456, read from the cache\n",
        ));
    let by_env = stdout_json(cmd(&dead, home.path()).env("HF_HUB_OFFLINE", "1").args([
        "--json",
        "import",
        "hf:org/tiny-llama@main",
    ]));
    assert_eq!(by_env["weights"], again["weights"]);
    assert_eq!(by_env["hub"]["requests"], 0);
    // A full commit id is immutable: cached, it needs no request even online.
    let by_commit = stdout_json(cmd(&dead, home.path()).args([
        "--json",
        "import",
        &format!("org/tiny-llama@{SHA}"),
    ]));
    assert_eq!(by_commit["hub"]["requests"], 0);
    assert!(dead.log().is_empty(), "{:?}", dead.log());
    // The notes say where the model came from.
    cmd(&dead, home.path())
        .args(["import", "org/tiny-llama", "--offline"])
        .assert()
        .success()
        .stderr(contains(
            "org/tiny-llama is commit 0123456, read from the cache (no network used)",
        ));
}

/// A minimal GGUF v3 writer: metadata, tensor infos, 32-byte aligned zeroed data.
#[derive(Default)]
struct Gguf {
    kv: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    data_len: u64,
}

impl Gguf {
    fn key(mut self, k: &str, ty: u32) -> Self {
        self.kv.extend((k.len() as u64).to_le_bytes());
        self.kv.extend(k.as_bytes());
        self.kv.extend(ty.to_le_bytes());
        self.n_kv += 1;
        self
    }
    fn u32(self, k: &str, v: u32) -> Self {
        let mut g = self.key(k, 4);
        g.kv.extend(v.to_le_bytes());
        g
    }
    fn str(self, k: &str, v: &str) -> Self {
        let mut g = self.key(k, 8);
        g.kv.extend((v.len() as u64).to_le_bytes());
        g.kv.extend(v.as_bytes());
        g
    }
    fn tokens(self, n: u64) -> Self {
        let mut g = self.key("tokenizer.ggml.tokens", 9);
        g.kv.extend(8u32.to_le_bytes());
        g.kv.extend(n.to_le_bytes());
        for i in 0..n {
            let t = format!("token-{i:06}");
            g.kv.extend((t.len() as u64).to_le_bytes());
            g.kv.extend(t.as_bytes());
        }
        g
    }
    /// An F16 (type 1) or F32 (type 0) tensor.
    fn tensor(mut self, name: &str, dims: &[u64], ty: u32) -> Self {
        self.infos.extend((name.len() as u64).to_le_bytes());
        self.infos.extend(name.as_bytes());
        self.infos.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.infos.extend(d.to_le_bytes());
        }
        self.infos.extend(ty.to_le_bytes());
        self.infos.extend(self.data_len.to_le_bytes());
        let bytes = dims.iter().product::<u64>() * if ty == 0 { 4 } else { 2 };
        self.data_len += bytes.div_ceil(32) * 32;
        self.n_tensors += 1;
        self
    }
    /// The file and where its header (metadata and tensor infos) ends.
    fn bytes(&self) -> (Vec<u8>, u64) {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(self.n_tensors.to_le_bytes());
        out.extend(self.n_kv.to_le_bytes());
        out.extend(&self.kv);
        out.extend(&self.infos);
        let header_end = out.len() as u64;
        out.resize(out.len().div_ceil(32) * 32, 0);
        out.resize(out.len() + self.data_len as usize, 0);
        (out, header_end)
    }
}

/// The tiny GGUF's metadata (with `extra` keys) and its first tensors: the embedding and layer 0.
fn tiny_gguf_head(extra: impl FnOnce(Gguf) -> Gguf) -> Gguf {
    let g = Gguf::default()
        .str("general.architecture", "llama")
        .str("general.name", "Tiny GGUF")
        .u32("general.file_type", 1)
        .u32("llama.context_length", 2048)
        .u32("llama.embedding_length", 256)
        .u32("llama.block_count", 1)
        .u32("llama.feed_forward_length", 512)
        .u32("llama.attention.head_count", 4)
        .u32("llama.attention.head_count_kv", 2);
    let mut g = extra(g)
        .tokens(8192)
        .tensor("token_embd.weight", &[256, 8192], 1);
    for (t, dims, ty) in [
        ("attn_norm.weight", &[256][..], 0),
        ("attn_q.weight", &[256, 256], 1),
        ("attn_k.weight", &[256, 128], 1),
        ("attn_v.weight", &[256, 128], 1),
        ("attn_output.weight", &[256, 256], 1),
        ("ffn_norm.weight", &[256], 0),
        ("ffn_gate.weight", &[256, 512], 1),
        ("ffn_up.weight", &[256, 512], 1),
        ("ffn_down.weight", &[512, 256], 1),
    ] {
        g = g.tensor(&format!("blk.0.{t}"), dims, ty);
    }
    g
}

/// The tiny GGUF's last tensors: the final norm and the output head.
fn tiny_gguf_tail(g: Gguf) -> Gguf {
    g.tensor("output_norm.weight", &[256], 0)
        .tensor("output.weight", &[256, 8192], 1)
}

/// A one-layer F16 Llama (hidden 256, vocab 8192, so 4 MiB each for the embedding and head)
/// whose tokenizer makes a header of about 160 KB, more than the first range request.
fn tiny_gguf() -> (Vec<u8>, u64) {
    tiny_gguf_tail(tiny_gguf_head(|g| g)).bytes()
}

#[test]
fn hub_gguf_reads_the_header_in_growing_ranges_and_caches_it() {
    let hub = HubServer::start();
    let (gguf, header_end) = tiny_gguf();
    let file = "F16/tiny-F16.gguf";
    hub.add_repo(
        "org/tiny-GGUF",
        Repo {
            sha: SHA.into(),
            files: BTreeMap::from([
                (file.to_owned(), gguf.clone()),
                ("README.md".into(), vec![b'#']),
            ]),
            gated_token: None,
        },
    );
    let home = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("tiny-F16.gguf"), &gguf).unwrap();

    let name = format!("org/tiny-GGUF:{file}");
    let remote = stdout_json(cmd(&hub, home.path()).args(["--json", "import", &name]));
    let disk = stdout_json(
        llmrig()
            .args(["--json", "import"])
            .arg(local.path().join("tiny-F16.gguf")),
    );
    for key in ["params", "bytes", "tensors", "by_dtype", "gguf_file_type"] {
        assert_eq!(remote["weights"][key], disk["weights"][key], "{key}");
    }
    assert_eq!(remote["weights"]["files"], serde_json::json!([file]));
    assert_eq!(remote["computed_params"], disk["computed_params"]);
    assert_eq!(remote["gguf"], disk["gguf"]);

    // Ranges of 64 KiB, then 128 KiB, ... until the header is covered; never the data.
    let (mut covered, mut chunk) = (0u64, 64u64 << 10);
    let mut requests = 0;
    while covered < header_end {
        covered += chunk;
        chunk *= 2;
        requests += 1;
    }
    assert!(requests >= 2, "the header spans several ranges");
    assert_eq!(hub.served(&format!("org/tiny-GGUF/{file}")), covered);
    assert!(
        covered * 10 < gguf.len() as u64,
        "{covered} of {}",
        gguf.len()
    );
    assert_eq!(remote["hub"]["requests"], 1 + requests);

    let offline =
        stdout_json(cmd(&hub, home.path()).args(["--json", "import", "--offline", &name]));
    assert_eq!(offline["weights"], remote["weights"]);
    assert_eq!(offline["hub"]["weight_file_bytes"], gguf.len() as u64);
    // The cache holds the header only.
    let head = home
        .path()
        .join("llmrig/models--org--tiny-GGUF/snapshots")
        .join(SHA)
        .join("llmrig/heads")
        .join(file);
    assert_eq!(std::fs::metadata(head).unwrap().len(), header_end);

    // A repo of GGUF files without a file named says how to name one.
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "org/tiny-GGUF"]));
    assert_has(&e, &format!("name one as 'org/tiny-GGUF:{file}'"));
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "org/tiny-GGUF:other.gguf"]));
    assert_has(
        &e,
        "has no file 'other.gguf' (GGUF files: F16/tiny-F16.gguf)",
    );
}

#[test]
fn gated_repos_say_what_to_do_on_401_and_403() {
    let (hub, files, _) = llama_hub();
    hub.add_repo(
        "org/gated",
        Repo {
            sha: SHA.into(),
            files,
            gated_token: Some("hf_good".into()),
        },
    );
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/org/gated/resolve/{SHA}/config.json", hub.endpoint());
    let e = one_line_error(cmd(&hub, home.path()).args(["plan", "-m", "org/gated"]));
    assert_eq!(
        e,
        format!(
            "error: {url}: access refused (HTTP 401): 'org/gated' is gated or private and no token was sent: \
             accept its terms on {}/org/gated while logged in, then set HF_TOKEN to a read token (or run `hf auth login`)",
            hub.endpoint()
        )
    );
    let e = one_line_error(
        cmd(&hub, home.path())
            .env("HF_TOKEN", "hf_bad")
            .args(["import", "org/gated"]),
    );
    assert_has(
        &e,
        "access refused (HTTP 403): your token has no access to 'org/gated': request access on",
    );
    // The token saved by `hf auth login` works as HF_TOKEN does.
    std::fs::write(home.path().join("token"), "hf_good\n").unwrap();
    let ok = stdout_json(cmd(&hub, home.path()).args(["--json", "import", "org/gated"]));
    assert_eq!(ok["weights"]["params"], LLAMA_PARAMS);
}

#[test]
fn missing_repos_revisions_and_files_are_404s_with_the_url() {
    let (hub, _, _) = llama_hub();
    let home = tempfile::tempdir().unwrap();
    let api =
        |repo: &str, rev: &str| format!("{}/api/models/{repo}/revision/{rev}", hub.endpoint());
    let e = one_line_error(
        cmd(&hub, home.path())
            .env("HF_TOKEN", "hf_x")
            .args(["import", "org/nope"]),
    );
    assert_eq!(
        e,
        format!(
            "error: {}: not found (HTTP 404): no model 'org/nope' on {}: check the name as the model page spells it \
             ('org/nope' is not a local path either)",
            api("org/nope", "main"),
            hub.endpoint()
        )
    );
    // Without a token the Hub answers 401 for a repo it does not show.
    let e = one_line_error(cmd(&hub, home.path()).args(["plan", "-m", "org/nope"]));
    assert_has(&e, "not found (HTTP 401): no model 'org/nope'");
    assert_has(&e, "or set HF_TOKEN for a private model");
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "org/tiny-llama@v9"]));
    assert_has(&e, &api("org/tiny-llama", "v9"));
    assert_has(
        &e,
        "not found (HTTP 404): 'org/tiny-llama' has no such revision",
    );
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "hf:org/bad--name"]));
    assert_has(&e, "'hf:org/bad--name' is not a Hugging Face model id");
}

#[test]
fn a_truncated_response_fails_in_one_line_and_caches_nothing() {
    let (hub, _, heads) = llama_hub();
    let shard = &heads[1].0;
    hub.fault(&format!("org/tiny-llama/{shard}"), Fault::Truncate);
    let home = tempfile::tempdir().unwrap();
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "org/tiny-llama"]));
    let url = format!("{}/org/tiny-llama/resolve/{SHA}/{shard}", hub.endpoint());
    assert!(
        e.starts_with(&format!(
            "error: {url}: the response was truncated: 4 of 8 bytes arrived"
        )),
        "{e}"
    );
    // Nothing marks the commit complete, so --offline refuses it rather than trusting a part.
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "--offline", "org/tiny-llama"]));
    assert_has(&e, "offline: 'org/tiny-llama' at commit");
    assert_has(&e, "is not in the cache");
}

#[test]
fn offline_without_a_cache_and_a_silent_server_fail_clearly() {
    let (hub, _, heads) = llama_hub();
    let home = tempfile::tempdir().unwrap();
    let e =
        one_line_error(cmd(&hub, home.path()).args(["plan", "--offline", "-m", "org/tiny-llama"]));
    assert_has(&e, "offline: 'org/tiny-llama' is not in the cache (");
    assert_has(&e, "run once without --offline");
    assert!(hub.log().is_empty());

    hub.fault(&format!("org/tiny-llama/{}", heads[0].0), Fault::Silent);
    let start = std::time::Instant::now();
    let e = one_line_error(
        cmd(&hub, home.path())
            .env("LLMRIG_HUB_TIMEOUT_S", "0.5")
            .args(["import", "org/tiny-llama"]),
    );
    assert_has(
        &e,
        &format!(
            "/org/tiny-llama/resolve/{SHA}/{}: no answer within 0.5 s",
            heads[0].0
        ),
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    let e = one_line_error(
        cmd(&hub, home.path())
            .env("HF_ENDPOINT", "ftp://x")
            .args(["import", "org/tiny-llama"]),
    );
    assert_eq!(
        e,
        "error: HF_ENDPOINT 'ftp://x' must start with https:// or http://"
    );
}

#[test]
fn local_paths_and_catalog_ids_win_and_hf_forces_the_hub() {
    let (hub, files, _) = llama_hub();
    // A second commit of a repo named like a catalog model.
    let mut other = files.clone();
    other.insert(
        "config.json".into(),
        LLAMA_CONFIG
            .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1")
            .into_bytes(),
    );
    hub.add_repo(
        "meta-llama/Llama-2-7b-hf",
        Repo {
            sha: SHA2.into(),
            files: other,
            gated_token: None,
        },
    );
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    // A local directory spelled like the repo, holding a different model.
    let mut local = files.clone();
    local.insert(
        "config.json".into(),
        LLAMA_CONFIG
            .replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 8")
            .into_bytes(),
    );
    write_dir(&cwd.path().join("org/tiny-llama"), &local);

    let run =
        |args: &[&str]| stdout_json(cmd(&hub, home.path()).current_dir(cwd.path()).args(args));
    let by_path = run(&["--json", "import", "org/tiny-llama"]);
    assert_eq!(
        by_path["model"]["num_attention_heads"], 8,
        "the local directory wins"
    );
    assert!(by_path.get("hub").is_none());
    let forced = run(&["--json", "import", "hf:org/tiny-llama"]);
    assert_eq!(
        forced["model"]["num_attention_heads"], 4,
        "hf: forces the Hub"
    );
    assert_eq!(forced["hub"]["commit"], SHA);

    let catalog = run(&["--json", "plan", "-g", "h100-sxm5-80gb", "-m", "llama-2-7b"]);
    assert_eq!(catalog["model"]["id"], "llama-2-7b");
    assert!(hub.log().iter().all(|l| !l.contains("Llama-2-7b")));
    // The Hub id of a catalog model reads the Hub, and says the catalog has it.
    cmd(&hub, home.path())
        .args([
            "plan",
            "-g",
            "h100-sxm5-80gb",
            "-m",
            "meta-llama/Llama-2-7b-hf",
        ])
        .assert()
        .success()
        .stderr(contains(
            "'meta-llama/Llama-2-7b-hf' is also the catalog's 'llama-2-7b'",
        ));
}

#[test]
fn an_unknown_architecture_imports_from_the_fields_it_shares_and_says_so() {
    let hub = HubServer::start();
    let config = LLAMA_CONFIG
        .replace("\"llama\"", "\"brand_new\"")
        .replace("LlamaForCausalLM", "BrandNewForCausalLM")
        .replace(
            "\"tie_word_embeddings\": false",
            "\"tie_word_embeddings\": false, \"wobble_factor\": 3",
        );
    let (mut files, _) = llama_files();
    files.insert("config.json".into(), config.into_bytes());
    hub.add_repo(
        "lab/brand-new",
        Repo {
            sha: SHA.into(),
            files,
            gated_token: None,
        },
    );
    let home = tempfile::tempdir().unwrap();
    let out = cmd(&hub, home.path())
        .args(["--json", "import", "lab/brand-new"])
        .assert()
        .success()
        .get_output()
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["computed_params"]["total"], LLAMA_PARAMS);
    assert_eq!(json["model"]["architecture"], "BrandNewForCausalLM");
    let notes = json["notes"].to_string();
    assert!(
        notes.contains("model_type 'brand_new' is not one llmrig maps"),
        "{notes}"
    );
}

#[test]
fn a_split_gguf_is_read_whole_from_any_of_its_parts() {
    let hub = HubServer::start();
    let split = |g: Gguf, no| g.u32("split.no", no).u32("split.count", 2);
    let (first, _) = tiny_gguf_head(|g| split(g, 0)).bytes();
    let (second, _) = tiny_gguf_tail(split(Gguf::default(), 1)).bytes();
    let names = [
        "tiny-F16-00001-of-00002.gguf",
        "tiny-F16-00002-of-00002.gguf",
    ];
    hub.add_repo(
        "org/split-GGUF",
        Repo {
            sha: SHA.into(),
            files: BTreeMap::from([(names[0].to_owned(), first), (names[1].to_owned(), second)]),
            gated_token: None,
        },
    );
    let home = tempfile::tempdir().unwrap();
    let whole = tempfile::tempdir().unwrap();
    std::fs::write(whole.path().join("tiny.gguf"), tiny_gguf().0).unwrap();
    let disk = stdout_json(
        llmrig()
            .args(["--json", "import"])
            .arg(whole.path().join("tiny.gguf")),
    );

    // Naming the second part reads both, in order.
    let name = format!("org/split-GGUF:{}", names[1]);
    let remote = stdout_json(cmd(&hub, home.path()).args(["--json", "import", &name]));
    for key in ["params", "bytes", "tensors", "by_dtype"] {
        assert_eq!(remote["weights"][key], disk["weights"][key], "{key}");
    }
    assert_eq!(remote["weights"]["files"], serde_json::json!(names));
    assert_eq!(remote["computed_params"], disk["computed_params"]);
    assert_eq!(
        remote["model"]["params_published"],
        disk["model"]["params_published"]
    );
    let notes = remote["notes"].to_string();
    assert!(
        notes.contains("a 2-part split GGUF: the weights cover all 2 files"),
        "{notes}"
    );
    assert!(
        !notes.contains("this file only") && !notes.contains("tensors hold"),
        "{notes}"
    );

    let offline =
        stdout_json(cmd(&hub, home.path()).args(["--json", "import", "--offline", &name]));
    assert_eq!(offline["weights"], remote["weights"]);
    assert_eq!(offline["notes"][0], remote["notes"][0]);
    // The plan uses all of it.
    let plan = stdout_json(cmd(&hub, home.path()).args([
        "--json",
        "plan",
        "--offline",
        "-g",
        "h100-sxm5-80gb",
        "-m",
        &name,
    ]));
    assert_eq!(
        plan["model_memory"]["weights_bytes"],
        disk["weights"]["bytes"].as_f64().unwrap()
    );
}

#[test]
fn size_caps_and_servers_that_ignore_ranges_fail_in_one_line() {
    let (hub, mut files, heads) = llama_hub();
    let shard = &heads[0].0;
    hub.fault(&format!("org/tiny-llama/{shard}"), Fault::IgnoreRange);
    let home = tempfile::tempdir().unwrap();
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "org/tiny-llama"]));
    let url = format!("{}/org/tiny-llama/resolve/{SHA}/{shard}", hub.endpoint());
    assert_has(
        &e,
        &format!("{url}: asked for bytes 0-7 but got HTTP 200 instead of 206 Partial Content"),
    );

    // A config.json over the 4 MiB cap local imports use.
    let mut padded = LLAMA_CONFIG.trim_end_matches('}').to_owned();
    padded.push_str(&format!(", \"pad\": \"{}\"}}", "x".repeat(5 << 20)));
    files.insert("config.json".into(), padded.into_bytes());
    hub.add_repo(
        "org/padded",
        Repo {
            sha: SHA.into(),
            files,
            gated_token: None,
        },
    );
    let e = one_line_error(cmd(&hub, home.path()).args(["import", "org/padded"]));
    let url = format!("{}/org/padded/resolve/{SHA}/config.json", hub.endpoint());
    assert_has(&e, &format!("{url}: "));
    assert_has(
        &e,
        "bytes is over the 4194304-byte limit for config.json files",
    );
}
