#!/usr/bin/env python3
"""Compile every kernel in kernels/ through libnvrtc (ctypes), as PTX and (with --cubin) as the
sm_XY cubins llmrig builds at run time (the same cubin check runs in `cargo test`).

Developer check, no GPU needed. For each source and architecture it compiles PTX
(--gpu-architecture=compute_XY -std=c++17), prints NVRTC's log, checks that every entry point and the
expected instructions are in the PTX, and exits non-zero on any failure. With --cubin it also builds a
cubin per architecture (sm_XY) with `--ptxas-options=-v` and reports registers, spills and stack per
kernel; a spill or stack frame in any kernel is a failure.

libnvrtc is taken from $LLMRIG_NVRTC_LIB, else from pip's nvidia-cuda-nvrtc
(site-packages/nvidia/cu13/lib or nvidia/cuda_nvrtc/lib), else the loader's default `libnvrtc.so`.
    pip install nvidia-cuda-nvrtc==13.0.88 && python3 kernels/check_nvrtc.py --cubin
"""

import argparse
import ctypes
import glob
import os
import re
import site
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHS = ["80", "86", "89", "90"]

# source → (entry points, PTX substrings that must appear, minimum arch)
KERNELS = {
    "stream.cu": (["stream_copy_f32x4", "stream_triad_f32x4"], [".v4.f32", "st.global.v4.f32"], 0),
    "gemv.cu": (["gemv_bf16"], ["ld.global.nc.L1::no_allocate.v4.u32", "shfl.sync.bfly"], 0),
    "attention.cu": (
        ["attention_fwd_f16_d64", "attention_fwd_f16_d128", "attention_fwd_bf16_d64", "attention_fwd_bf16_d128"],
        [
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32",
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32",
            "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
            "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16",
            "cp.async.cg.shared.global",
            "cp.async.wait_group",
            "cvt.rn.bf16x2.f32",
            "cvt.rn.f16x2.f32",
            "ex2.approx.ftz.f32",
        ],
        80,
    ),
}


def find_nvrtc():
    env = os.environ.get("LLMRIG_NVRTC_LIB")
    if env:
        return env
    roots = site.getsitepackages() + [site.getusersitepackages()]
    for root in roots:
        for pattern in ("nvidia/cu13/lib/libnvrtc.so.*", "nvidia/cuda_nvrtc/lib/libnvrtc.so.*"):
            hits = sorted(h for h in glob.glob(os.path.join(root, pattern)) if "alt" not in h)
            if hits:
                return hits[0]
    return "libnvrtc.so"


def load_nvrtc(path):
    # libnvrtc dlopens libnvrtc-builtins by soname at compile time; loading it first from the same
    # directory (RTLD_GLOBAL) satisfies that without LD_LIBRARY_PATH.
    libdir = os.path.dirname(path)
    if libdir:
        for builtins in sorted(glob.glob(os.path.join(libdir, "libnvrtc-builtins.so.*"))):
            if "alt" not in builtins:
                ctypes.CDLL(builtins, mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(path)
    lib.nvrtcGetErrorString.restype = ctypes.c_char_p
    major, minor = ctypes.c_int(), ctypes.c_int()
    lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    return lib, f"{major.value}.{minor.value}"


def compile_source(lib, name, src, opts, want_cubin):
    """Returns (ok, log, ptx_or_None)."""
    prog = ctypes.c_void_p()
    rc = lib.nvrtcCreateProgram(ctypes.byref(prog), src.encode(), name.encode(), 0, None, None)
    if rc != 0:
        return False, f"nvrtcCreateProgram: {lib.nvrtcGetErrorString(rc).decode()}", None
    try:
        arr = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
        rc = lib.nvrtcCompileProgram(prog, len(opts), arr)
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, buf)
        log = buf.value.decode(errors="replace").strip()
        if rc != 0:
            return False, f"{lib.nvrtcGetErrorString(rc).decode()}\n{log}", None
        if want_cubin:
            lib.nvrtcGetCUBINSize(prog, ctypes.byref(size))
            return size.value > 0, log, None
        lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
        ptx = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetPTX(prog, ptx)
        return True, log, ptx.value.decode(errors="replace")
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


PTXAS_FN = re.compile(r"Compiling entry function '(\w+)' for '(\w+)'")
PTXAS_STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
PTXAS_REGS = re.compile(r"Used (\d+) registers")
PTXAS_SMEM = re.compile(r"(\d+) bytes smem")


def parse_ptxas(log):
    """ptxas -v lines → {function: {regs, stack, spill_st, spill_ld, smem}}."""
    out, fn = {}, None
    for line in log.splitlines():
        m = PTXAS_FN.search(line)
        if m:
            fn = m.group(1)
            out[fn] = {"regs": None, "stack": 0, "spill_st": 0, "spill_ld": 0, "smem": 0}
            continue
        if fn is None:
            continue
        m = PTXAS_STACK.search(line)
        if m:
            out[fn]["stack"], out[fn]["spill_st"], out[fn]["spill_ld"] = map(int, m.groups())
        m = PTXAS_REGS.search(line)
        if m:
            out[fn]["regs"] = int(m.group(1))
            m = PTXAS_SMEM.search(line)
            if m:
                out[fn]["smem"] = int(m.group(1))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cubin", action="store_true", help="also build sm_XY cubins and report ptxas -v")
    ap.add_argument("--arch", action="append", help="compute capability digits, e.g. 90 (repeatable)")
    args = ap.parse_args()
    archs = args.arch or ARCHS

    path = find_nvrtc()
    try:
        lib, version = load_nvrtc(path)
    except OSError as e:
        print(f"error: cannot load libnvrtc ({path}): {e}", file=sys.stderr)
        return 2
    print(f"NVRTC {version} from {path}")

    failures = 0
    rows = []
    for fname, (entries, needles, min_arch) in KERNELS.items():
        src = open(os.path.join(HERE, fname)).read()
        for arch in archs:
            if int(arch) < min_arch:
                continue
            ok, log, ptx = compile_source(lib, fname, src, [f"--gpu-architecture=compute_{arch}", "-std=c++17"], False)
            problems = []
            if not ok:
                problems.append("compile failed")
            else:
                problems += [f"missing entry {e}" for e in entries if f".entry {e}(" not in ptx]
                problems += [f"missing `{n}`" for n in needles if n not in ptx]
                counts = {k: ptx.count(k) for k in ("mma.sync", "ldmatrix", "cp.async.cg")}
            status = "ok" if not problems else "FAIL: " + "; ".join(problems)
            extra = f" ({', '.join(f'{k} x{v}' for k, v in counts.items() if v)})" if ok and fname == "attention.cu" else ""
            print(f"[compute_{arch}] {fname}: {status}{extra}")
            if log:
                print("  log: " + log.replace("\n", "\n       "))
            failures += bool(problems)

            if args.cubin and ok:
                opts = [f"--gpu-architecture=sm_{arch}", "-std=c++17", "--ptxas-options=-v"]
                ok2, log2, _ = compile_source(lib, fname, src, opts, True)
                if not ok2:
                    print(f"[sm_{arch}] {fname}: FAIL cubin\n  {log2}")
                    failures += 1
                    continue
                for fn, info in parse_ptxas(log2).items():
                    bad = info["spill_st"] or info["spill_ld"] or info["stack"]
                    failures += bool(bad)
                    rows.append((f"sm_{arch}", fn, info, "SPILL/STACK" if bad else "ok"))

    # Attention must refuse pre-sm_80 targets rather than build something wrong.
    src = open(os.path.join(HERE, "attention.cu")).read()
    ok, _, _ = compile_source(lib, "attention.cu", src, ["--gpu-architecture=compute_75", "-std=c++17"], False)
    print(f"[compute_75] attention.cu: {'FAIL: compiled, should refuse' if ok else 'refused as intended'}")
    failures += ok

    if rows:
        print("\n| arch | kernel | registers | spill st/ld (B) | stack (B) | static smem (B) | |")
        print("|---|---|---|---|---|---|---|")
        for arch, fn, i, verdict in rows:
            print(f"| {arch} | {fn} | {i['regs']} | {i['spill_st']}/{i['spill_ld']} | {i['stack']} | {i['smem']} | {verdict} |")

    print(f"\n{'FAILED' if failures else 'all kernels compiled'} ({failures} failure(s))")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
