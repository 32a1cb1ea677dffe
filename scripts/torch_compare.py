#!/usr/bin/env python3
"""Measure PyTorch on the same shapes and dtypes as an llmrig probe run, timed the same way, and
print llmrig/PyTorch ratios.

Usage: python3 scripts/torch_compare.py RUN.json [--gpu INDEX]

Reads the probe's JSON (kind 'probe-run') and, for the GPU it measured (or --gpu, an NVML
index), times on that same GPU:
  - torch.matmul for every GEMM the probe timed (same m, n, k and dtype; A·Bᵀ as the probe's TN
    layout; fp8 through torch._scaled_mm, int8 through torch._int_mm);
  - a device-to-device copy (dst.copy_(src)) and a triad (torch.add(b, c, alpha=s, out=a)) of the
    probe's element count, counted read + write like the probe;
  - scaled_dot_product_attention with the flash backend for every attention shape the probe timed.

Both sides are timed the same way (llmrig's src/probe/gpu/timing.rs): the probe's number of
warm-up calls, then its number of timed repetitions, enqueued back to back in batches of 8 with a
CUDA event before and after each call and one synchronize per batch; the median per-call time is
compared. Inputs rotate over the same number of sets the probe used (`input_sets`), so both see
the same L2 state. Device: CUDA_DEVICE_ORDER=PCI_BUS_ID makes PyTorch number GPUs as NVML does;
the GPU's UUID is checked where PyTorch reports it.
Exits 0 after printing the table (ratios are informational), 1 when nothing could be compared.
"""
import argparse
import json
import os
import statistics
import sys

# Before torch initialises CUDA: number GPUs in PCI bus order, as NVML (and the probe) do.
os.environ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Repetitions enqueued between synchronizations (BATCH in src/probe/gpu/timing.rs).
BATCH = 8


def timed(calls, warmup, reps):
    """Median seconds per call; `calls` is a list of zero-argument callables used in rotation."""
    i = 0
    for _ in range(warmup):
        calls[i % len(calls)]()
        i += 1
    torch.cuda.synchronize()
    times = []
    while len(times) < reps:
        pairs = []
        for _ in range(min(BATCH, reps - len(times))):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            calls[i % len(calls)]()
            i += 1
            end.record()
            pairs.append((start, end))
        torch.cuda.synchronize()
        times.extend(s.elapsed_time(e) / 1e3 for s, e in pairs)
    return statistics.median(times)


def gemm_calls(dtype, m, n, k, sets, dev):
    def make(gen):
        if dtype in ("fp32", "tf32"):
            return gen(m, k), gen(n, k), lambda a, b: torch.matmul(a, b.t())
        if dtype in ("fp16", "bf16"):
            t = torch.float16 if dtype == "fp16" else torch.bfloat16
            return gen(m, k).to(t), gen(n, k).to(t), lambda a, b: torch.matmul(a, b.t())
        if dtype == "fp8":
            one = torch.tensor(1.0, device=dev)
            return (
                gen(m, k).to(torch.float8_e4m3fn),
                gen(n, k).to(torch.float8_e4m3fn),
                lambda a, b: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16),
            )
        if dtype == "int8":
            ints = lambda r, c: torch.randint(-63, 63, (r, c), device=dev, dtype=torch.int8)  # noqa: E731
            return ints(m, k), ints(n, k), lambda a, b: torch._int_mm(a, b.t())
        raise ValueError(dtype)

    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    calls = []
    for _ in range(sets):
        a, b, f = make(lambda r, c: torch.randn(r, c, device=dev))
        calls.append(lambda a=a, b=b, f=f: f(a, b))
    return calls


def sdpa_call(dtype, b, h, s, d, causal, dev):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    t = torch.float16 if dtype == "f16" else torch.bfloat16
    q, k, v = (torch.randn(b, h, s, d, device=dev, dtype=t) for _ in range(3))

    def call():
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    return [call]


def torch_device(run, nvml_index):
    """PyTorch's index for the GPU with this NVML index (PCI bus order), checked by UUID."""
    gpu = next((g for g in run.get("gpus", []) if g["index"] == nvml_index), None)
    want = (gpu or {}).get("uuid", "").removeprefix("GPU-").lower()
    for i in range(torch.cuda.device_count()):
        uuid = str(getattr(torch.cuda.get_device_properties(i), "uuid", "")).lower()
        if want and uuid == want:
            return i
    return nvml_index


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--gpu", type=int, default=None, help="NVML index of the GPU to compare (default: first measured)")
    args = ap.parse_args()
    with open(args.run) as f:
        run = json.load(f)
    if run.get("kind") != "probe-run":
        sys.exit(f"{args.run} is not a probe-run document")
    gpu_phases = [p for p in run["phases"] if p["device"].startswith("gpu") and p["device"][3:].isdigit()]
    if not gpu_phases:
        sys.exit("no GPU phases in the run: " + str(run.get("gpu_unavailable_reason")))
    device = f"gpu{args.gpu}" if args.gpu is not None else gpu_phases[0]["device"]
    index = torch_device(run, int(device[3:]))
    torch.cuda.set_device(index)
    dev = torch.device("cuda", index)
    print(f"PyTorch {torch.__version__} on cuda:{index} {torch.cuda.get_device_name(index)}; llmrig run {run['started_at']} ({device})")

    rows = []
    for phase in (p for p in gpu_phases if p["device"] == device):
        for m in phase["results"]:
            if not m.get("times_s"):
                continue
            shape = m.get("shape", {})
            warmup, reps, sets = m.get("warmup", 0), len(m["times_s"]), m.get("input_sets") or 1
            try:
                if phase["kind"] == "gemm":
                    mm, nn, kk = shape["m"], shape["n"], shape["k"]
                    secs = timed(gemm_calls(m["dtype"], mm, nn, kk, sets, dev), warmup, reps)
                    ours, theirs, unit = m["tflops"], 2 * mm * nn * kk / secs / 1e12, "TFLOP/s"
                elif phase["kind"] == "memory":
                    n = shape["elements"]
                    src = torch.randn(n, device=dev)
                    dst = torch.empty_like(src)
                    if m["label"] == "copy":
                        secs, moved = timed([lambda: dst.copy_(src)], warmup, reps), 2 * 4 * n
                    else:
                        other = torch.randn(n, device=dev)
                        secs, moved = timed([lambda: torch.add(src, other, alpha=3.0, out=dst)], warmup, reps), 3 * 4 * n
                    ours, theirs, unit = m["gb_per_s"], moved / secs / 1e9, "GB/s"
                elif phase["kind"] == "attention":
                    b, h, s, d, c = shape["batch"], shape["heads"], shape["seq_len"], shape["head_dim"], shape["causal"]
                    secs = timed(sdpa_call(m["dtype"], b, h, s, d, c, dev), warmup, reps)
                    flop = 4 * b * h * s * s * d / (2 if c else 1)
                    ours, theirs, unit = m["tflops"], flop / secs / 1e12, "TFLOP/s"
                else:
                    continue
            except Exception as e:  # a dtype PyTorch cannot run here is reported, not fatal
                rows.append((phase["kind"], m["label"], m.get("dtype") or "", m.get("tflops") or m.get("gb_per_s"), None, "", f"torch failed: {e}"))
                continue
            rows.append((phase["kind"], m["label"], m.get("dtype") or "", ours, theirs, unit, ""))
    if not rows:
        sys.exit("nothing in the run to compare with PyTorch")

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
