#!/usr/bin/env python3
"""Measure PyTorch on the same shapes and dtypes as an llmrig probe run and print llmrig/PyTorch ratios.

Usage: python3 scripts/torch_compare.py RUN.json [--gpu INDEX]

Reads the probe's JSON (schema 'probe-run'), then times with CUDA events (median of the timed
repetitions after a warm-up), on the same GPU, in this order:
  - torch.matmul for every GEMM the probe timed (same m, n, k and dtype; A·Bᵀ as the probe's TN
    layout; fp8 through torch._scaled_mm, int8 through torch._int_mm);
  - a device-to-device copy (dst.copy_(src)) and a triad (torch.add(b, c, alpha=s, out=a)) of the
    probe's element count, counted read + write like the probe;
  - scaled_dot_product_attention with the flash backend for every attention shape the probe timed.
Exits 0 after printing the table; ratios are informational (targets are in issue 4).
"""
import argparse
import json
import statistics
import sys

import torch
import torch.nn.functional as F


def timed(fn, warmup=10, min_reps=20, min_time_s=1.0):
    """Median seconds per call of fn, timed with CUDA events around each call."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    while len(times) < min_reps or sum(times) < min_time_s:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
        if len(times) >= 5000:
            break
    return statistics.median(times)


def gemm_seconds(dtype, m, n, k):
    dev = "cuda"
    if dtype in ("fp32", "tf32"):
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        a = torch.randn(m, k, device=dev)
        b = torch.randn(n, k, device=dev)
        return timed(lambda: torch.matmul(a, b.t()))
    if dtype in ("fp16", "bf16"):
        t = torch.float16 if dtype == "fp16" else torch.bfloat16
        a = torch.randn(m, k, device=dev, dtype=t)
        b = torch.randn(n, k, device=dev, dtype=t)
        return timed(lambda: torch.matmul(a, b.t()))
    if dtype == "fp8":
        a = torch.randn(m, k, device=dev).to(torch.float8_e4m3fn)
        b = torch.randn(n, k, device=dev).to(torch.float8_e4m3fn)
        one = torch.tensor(1.0, device=dev)
        return timed(lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
    if dtype == "int8":
        a = torch.randint(-63, 63, (m, k), device=dev, dtype=torch.int8)
        b = torch.randint(-63, 63, (n, k), device=dev, dtype=torch.int8)
        return timed(lambda: torch._int_mm(a, b.t()))
    raise ValueError(dtype)


def sdpa_seconds(dtype, b, h, s, d, causal):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    t = torch.float16 if dtype == "f16" else torch.bfloat16
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=t) for _ in range(3))
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--gpu", type=int, default=None, help="NVML index of the GPU to compare (default: first measured)")
    args = ap.parse_args()
    with open(args.run) as f:
        run = json.load(f)
    if run.get("kind") != "probe-run":
        sys.exit(f"{args.run} is not a probe-run document")
    gpu_phases = [p for p in run["phases"] if p["device"].startswith("gpu") and p["device"] != "gpu"]
    if not gpu_phases:
        sys.exit("no GPU phases in the run: " + str(run.get("gpu_unavailable_reason")))
    device = f"gpu{args.gpu}" if args.gpu is not None else gpu_phases[0]["device"]
    torch.cuda.set_device(0)
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}; llmrig run {run['started_at']} ({device})")

    rows = []
    for phase in (p for p in gpu_phases if p["device"] == device):
        for m in phase["results"]:
            if not m.get("times_s"):
                continue
            shape = m.get("shape", {})
            try:
                if phase["kind"] == "gemm":
                    mm, nn, kk = shape["m"], shape["n"], shape["k"]
                    secs = gemm_seconds(m["dtype"], mm, nn, kk)
                    ours, theirs, unit = m["tflops"], 2 * mm * nn * kk / secs / 1e12, "TFLOP/s"
                elif phase["kind"] == "memory":
                    n = shape["elements"]
                    src = torch.randn(n, device="cuda")
                    dst = torch.empty_like(src)
                    if m["label"] == "copy":
                        secs, moved = timed(lambda: dst.copy_(src)), 2 * 4 * n
                    else:
                        other = torch.randn(n, device="cuda")
                        secs, moved = timed(lambda: torch.add(src, other, alpha=3.0, out=dst)), 3 * 4 * n
                    ours, theirs, unit = m["gb_per_s"], moved / secs / 1e9, "GB/s"
                elif phase["kind"] == "attention":
                    b, h, s, d, c = shape["batch"], shape["heads"], shape["seq_len"], shape["head_dim"], shape["causal"]
                    secs = sdpa_seconds(m["dtype"], b, h, s, d, c)
                    flop = 4 * b * h * s * s * d / (2 if c else 1)
                    ours, theirs, unit = m["tflops"], flop / secs / 1e12, "TFLOP/s"
                else:
                    continue
            except Exception as e:  # a dtype PyTorch cannot run here is reported, not fatal
                rows.append((phase["kind"], m["label"], m.get("dtype") or "", m.get("tflops") or m.get("gb_per_s"), None, "", f"torch failed: {e}"))
                continue
            rows.append((phase["kind"], m["label"], m.get("dtype") or "", ours, theirs, unit, ""))

    header = ("phase", "measurement", "dtype", "llmrig", "pytorch", "unit", "llmrig/pytorch")
    table = [header]
    for kind, label, dtype, ours, theirs, unit, note in rows:
        ratio = f"{ours / theirs:.3f}" if ours and theirs else note
        table.append((kind, label, dtype, f"{ours:.1f}" if ours else "-", f"{theirs:.1f}" if theirs else "-", unit, ratio))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
