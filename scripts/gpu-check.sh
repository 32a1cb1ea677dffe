#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU, its driver and PyTorch (never run by CI).
#
# 1. Finds the CUDA libraries PyTorch's wheels ship (cuBLASLt, NVRTC) and puts them on the path.
# 2. Runs `llmrig probe` with LLMRIG_REQUIRE_GPU=1, so a missing GPU fails instead of skipping.
# 3. Runs the test suite with LLMRIG_REQUIRE_GPU=1 (GPU phases must run and pass their checks).
# 4. Times PyTorch on the same shapes (matmul, device copy, flash SDPA) and prints the ratios.
#
# Usage: scripts/gpu-check.sh [extra probe flags, e.g. --full]
# Env:   OUT=FILE (probe JSON), LLMRIG_BIN=path (a prebuilt llmrig; otherwise cargo builds one),
#        PYTHON=python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
OUT="${OUT:-reports/runs/gpu-check-$(date -u +%Y%m%dT%H%M%SZ).json}"
mkdir -p "$(dirname "$OUT")"
export LLMRIG_REQUIRE_GPU=1

# CUDA libraries from the Python environment's nvidia-* wheels (e.g. site-packages/nvidia/cu13/lib).
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

if [ -n "${LLMRIG_BIN:-}" ]; then
    BIN="$LLMRIG_BIN"
elif command -v cargo >/dev/null 2>&1; then
    cargo build --release --locked
    BIN=target/release/llmrig
elif [ -x target/release/llmrig ]; then
    BIN=target/release/llmrig
else
    echo "no cargo and no target/release/llmrig: set LLMRIG_BIN" >&2
    exit 2
fi

echo "== llmrig probe (LLMRIG_REQUIRE_GPU=1) -> $OUT"
status=0
"$BIN" probe --out "$OUT" "$@" || status=$?
if [ ! -f "$OUT" ]; then
    echo "the probe wrote no result" >&2
    exit 2
fi

echo "== tests with LLMRIG_REQUIRE_GPU=1"
if command -v cargo >/dev/null 2>&1; then
    cargo test --release --locked || status=1
else
    # Prebuilt test binaries (cargo test --release --no-run) carried to this machine.
    ran=0
    for t in target/release/deps/cli-* target/release/deps/llmrig-*; do
        if [ -x "$t" ] && [ -f "$t" ]; then
            "$t" || status=1
            ran=1
        fi
    done
    [ "$ran" = 1 ] || echo "no cargo and no prebuilt test binaries: tests not run" >&2
fi

echo "== PyTorch comparison"
"$PYTHON" scripts/torch_compare.py "$OUT" || status=1
exit "$status"
