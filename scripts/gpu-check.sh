#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU, its driver and PyTorch (never run by CI).
#
# 1. Stops at once, with one line and exit 3, when the machine has no NVIDIA GPU.
# 2. Finds the CUDA libraries PyTorch's wheels ship (cuBLASLt, NVRTC, NCCL) and puts them on
#    the library path.
# 3. Runs `llmrig probe` with LLMRIG_REQUIRE_GPU=1 into the output folder, then reads the run
#    JSON: any failed or skipped GPU phase, any failed correctness check, or no GPU measured
#    fails the script.
# 4. Runs the real test binaries (listed by `cargo test --no-run --message-format=json`) with
#    LLMRIG_REQUIRE_GPU=1, so a GPU test that cannot run fails instead of skipping.
# 5. Times PyTorch on the same shapes, the same way (scripts/torch_compare.py), and ends with
#    the llmrig/PyTorch ratio table.
#
# Usage: scripts/gpu-check.sh [OUT_DIR] [probe flags, e.g. --full]
# The output folder is OUT_DIR, else $LLMRIG_OUT, else $OUT (batch systems preset OUT to a
# folder they collect; it is always treated as a folder), else target/gpu-check/<time>.
# It receives probe.json, tests.log and torch-compare.txt.
# Env: LLMRIG_BIN=path (a prebuilt llmrig) with LLMRIG_TEST_BINS="bin1 bin2" (prebuilt test
#      binaries) when cargo is not installed; PYTHON=python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    OUT_DIR="$1"
    shift
else
    OUT_DIR="${LLMRIG_OUT:-${OUT:-target/gpu-check/$(date -u +%Y%m%dT%H%M%SZ)}}"
fi
if [ -e "$OUT_DIR" ] && [ ! -d "$OUT_DIR" ]; then
    echo "gpu-check: '$OUT_DIR' is a file; the output must be a folder (argument, LLMRIG_OUT or OUT)" >&2
    exit 2
fi

# 1. A GPU, or one clear line and a non-zero exit.
gpus=""
if command -v nvidia-smi >/dev/null 2>&1; then
    gpus="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)"
elif [ -d /proc/driver/nvidia/gpus ]; then
    gpus="$(find /proc/driver/nvidia/gpus -mindepth 1 -maxdepth 1 | wc -l)"
fi
if [ -z "$gpus" ] || [ "$gpus" -eq 0 ]; then
    echo "gpu-check: no NVIDIA GPU on this machine (nvidia-smi lists none, no /proc/driver/nvidia/gpus): nothing was checked" >&2
    exit 3
fi
mkdir -p "$OUT_DIR"
export LLMRIG_REQUIRE_GPU=1
PYTHON="${PYTHON:-python3}"
status=0

# 2. CUDA libraries from the Python environment's nvidia-* wheels (e.g. site-packages/nvidia/cu13/lib).
NV_LIBS="$("$PYTHON" - <<'PY' 2>/dev/null || true
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
print(":".join(sorted({d for r in roots for d in glob.glob(os.path.join(r, "nvidia", "*", "lib"))})))
PY
)"
if [ -n "$NV_LIBS" ]; then
    export LLMRIG_CUDA_LIB_PATH="$NV_LIBS"
    export LD_LIBRARY_PATH="$NV_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

if command -v cargo >/dev/null 2>&1; then
    cargo build --release --locked
    BIN="${LLMRIG_BIN:-target/release/llmrig}"
    # Only real test executables: cargo's own list, not whatever sits in target/release/deps
    # (which also holds the llmrig binary itself).
    TEST_BINS="$(cargo test --release --locked --no-run --message-format=json 2>/dev/null |
        "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')"
elif [ -n "${LLMRIG_BIN:-}" ]; then
    BIN="$LLMRIG_BIN"
    TEST_BINS="${LLMRIG_TEST_BINS:-}"
else
    echo "gpu-check: no cargo and no LLMRIG_BIN: nothing to run" >&2
    exit 2
fi

# 3. The probe, into the output folder.
RUN="$OUT_DIR/probe.json"
echo "== llmrig probe (LLMRIG_REQUIRE_GPU=1) -> $RUN"
"$BIN" probe --out "$RUN" "$@" || status=1
if [ ! -f "$RUN" ]; then
    echo "gpu-check: the probe wrote no result" >&2
    exit 2
fi
"$PYTHON" - "$RUN" <<'PY' || status=1
import json, sys
run = json.load(open(sys.argv[1]))
bad = []
if run.get("gpu_unavailable_reason"):
    bad.append("no GPU measured: " + run["gpu_unavailable_reason"])
for p in run.get("phases", []):
    gpu = p["device"].startswith("gpu")
    one_gpu = p["kind"] in ("p2p", "nccl") and "two or more GPUs" in (p.get("note") or "")
    if p["status"] == "failed" or (gpu and p["status"] == "skipped" and not one_gpu):
        bad.append(f"{p['name']}: {p['status']}: {p.get('note', '')}")
    for m in p.get("results", []):
        if m.get("check_passed") is False:
            bad.append(f"{p['name']} {m['label']}: check failed (error {m.get('max_rel_error')})")
for f in run.get("findings", []):
    print(f"finding {f['severity']} [{f['code']}] {f.get('device', '')} {f['message']}")
if bad:
    print("gpu-check: the probe run is not clean:", *bad, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("gpu-check: every GPU phase ran and every check passed")
PY

# 4. The test binaries, from the repository root (their fixtures are found from there).
echo "== tests with LLMRIG_REQUIRE_GPU=1 -> $OUT_DIR/tests.log"
: > "$OUT_DIR/tests.log"
if [ -z "$TEST_BINS" ]; then
    echo "gpu-check: no test binaries to run" | tee -a "$OUT_DIR/tests.log" >&2
    status=1
fi
for t in $TEST_BINS; do
    echo "-- $t" >> "$OUT_DIR/tests.log"
    "$t" >> "$OUT_DIR/tests.log" 2>&1 || { echo "gpu-check: $t failed (see tests.log)" >&2; status=1; }
done

# 5. PyTorch on the same shapes; the table is the script's last output.
echo "== PyTorch comparison -> $OUT_DIR/torch-compare.txt"
"$PYTHON" scripts/torch_compare.py "$RUN" | tee "$OUT_DIR/torch-compare.txt" || status=1
exit "$status"
