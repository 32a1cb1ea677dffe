#!/usr/bin/env python3
"""Lane-level NumPy model of attention.cu, to check its index math without a GPU.

ldmatrix, mma.m16n8k16 and cvt are modelled from the PTX ISA's fragment tables (not from the kernel's
comments), shared memory is a flat array written with the kernel's swizzle, and the kernel's control
flow (tiles, causal skips, masks, online softmax) is transcribed step by step. The result is compared
with a float64 reference of softmax(scale·QKᵀ + mask)·V on the same 16-bit inputs, over awkward
shapes (tails, seq < one tile, several CTAs, causal and not). It checks layouts and bookkeeping; it
says nothing about speed, races or what the compiler makes of the code. Keep it in step with
attention.cu when that changes.
    pip install numpy && python3 kernels/fragment_model.py
"""

import itertools
import sys

import numpy as np

BLOCK_M, BLOCK_N, WARPS, THREADS = 128, 64, 8, 256
LANES = np.arange(32)


# ---- 16-bit formats ----------------------------------------------------------------------------------

def to_bits(x, bf16):
    x = np.asarray(x, dtype=np.float32)
    if not bf16:
        return x.astype(np.float16).view(np.uint16)
    u = x.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even (no NaN inputs here)
    return u.astype(np.uint16)


def from_bits(b, bf16):
    b = np.asarray(b, dtype=np.uint16)
    if not bf16:
        return b.view(np.float16).astype(np.float32)
    return (b.astype(np.uint32) << 16).view(np.float32)


# ---- PTX instruction models --------------------------------------------------------------------------
# A "register" here is a [32, 2] uint16 array: per lane, (low half, high half).

def ldmatrix_x4(smem, addr, trans):
    """addr: [32] byte addresses; lanes 8i..8i+7 give the rows of matrix i → result register i."""
    regs = []
    for i in range(4):
        reg = np.zeros((32, 2), np.uint16)
        for j in range(2):
            if trans:  # lane l gets row 2(l%4)+j, column l/4
                src = 8 * i + 2 * (LANES % 4) + j
                reg[:, j] = smem[addr[src] // 2 + LANES // 4]
            else:      # lane l gets row l/4, column 2(l%4)+j
                src = 8 * i + LANES // 4
                reg[:, j] = smem[addr[src] // 2 + 2 * (LANES % 4) + j]
        regs.append(reg)
    return regs


def mma16816(d, a, b0, b1, bf16):
    """d: [4][32] float32 accumulators (c0..c3), a: 4 registers, b0/b1: registers."""
    g, q = LANES // 4, LANES % 4
    A = np.zeros((16, 16), np.float64)
    B = np.zeros((16, 8), np.float64)
    C = np.zeros((16, 8), np.float64)
    for j in range(2):
        A[g, 2 * q + j] = from_bits(a[0][:, j], bf16)
        A[g + 8, 2 * q + j] = from_bits(a[1][:, j], bf16)
        A[g, 2 * q + 8 + j] = from_bits(a[2][:, j], bf16)
        A[g + 8, 2 * q + 8 + j] = from_bits(a[3][:, j], bf16)
        B[2 * q + j, g] = from_bits(b0[:, j], bf16)
        B[2 * q + 8 + j, g] = from_bits(b1[:, j], bf16)
        C[g, 2 * q + j] = d[j]
        C[g + 8, 2 * q + j] = d[2 + j]
    D = (A @ B + C).astype(np.float32)
    for j in range(2):
        d[j] = D[g, 2 * q + j]
        d[2 + j] = D[g + 8, 2 * q + j]


def pack2(lo, hi, bf16):
    return np.stack([to_bits(lo, bf16), to_bits(hi, bf16)], axis=1)


def shfl_xor(v, m):
    return v[LANES ^ m]


# ---- the kernel, transcribed -------------------------------------------------------------------------

def tile_offset_bytes(D, row, chunk):
    return (row * D + ((chunk ^ (row & 7)) << 3)) * 2


def load_tile(smem, tile, g, D, rows, row0, seq):
    chunks = D // 8
    for i in range(rows * chunks // THREADS):
        for tid in range(THREADS):
            idx = tid + i * THREADS
            r, c = idx // chunks, idx % chunks
            dst = (tile + tile_offset_bytes(D, r, c)) // 2
            grow = row0 + r
            smem[dst:dst + 8] = g[grow * D + c * 8: grow * D + c * 8 + 8] if grow < seq else 0


def run_cta(Q, K, V, O, D, bf16, grid_x, bx, seq, scale, causal):
    """Q, K, V, O: flat uint16 arrays of one (batch, head) slice."""
    KS, NT, DT = D // 16, BLOCK_N // 8, D // 8
    q_bytes, kv_bytes = BLOCK_M * D * 2, BLOCK_N * D * 2
    smem = np.zeros((q_bytes + 4 * kv_bytes) // 2, np.uint16)
    sQ, sK = 0, q_bytes
    sV = sK + 2 * kv_bytes
    m0 = (grid_x - 1 - bx) * BLOCK_M
    if m0 >= seq:
        return
    n_end = min(seq, m0 + BLOCK_M) if causal else seq
    n_tiles = (n_end + BLOCK_N - 1) // BLOCK_N
    scale_log2 = np.float32(scale * 1.4426950408889634)

    warps = []
    for w in range(WARPS):
        warps.append(dict(o=np.zeros((DT, 4, 32), np.float32), m_lo=np.full(32, -np.inf, np.float32),
                          m_hi=np.full(32, -np.inf, np.float32), l_lo=np.zeros(32, np.float32),
                          l_hi=np.zeros(32, np.float32), qf=None))

    load_tile(smem, sQ, Q, D, BLOCK_M, m0, seq)
    load_tile(smem, sK, K, D, BLOCK_N, 0, seq)
    load_tile(smem, sV, V, D, BLOCK_N, 0, seq)
    for t in range(n_tiles):
        stage, n0 = t & 1, t * BLOCK_N
        if t + 1 < n_tiles:
            nxt = (stage ^ 1) * kv_bytes
            # The model runs warps one after another, so prefetching into the other stage here is
            # safe exactly when the kernel's barrier makes it safe: nobody reads that stage in tile t.
            load_tile(smem, sK + nxt, K, D, BLOCK_N, n0 + BLOCK_N, seq)
            load_tile(smem, sV + nxt, V, D, BLOCK_N, n0 + BLOCK_N, seq)
        for w in range(WARPS):
            st = warps[w]
            warp_row0 = m0 + w * 16
            row_lo = warp_row0 + LANES // 4
            row_hi = row_lo + 8
            if t == 0:
                st["qf"] = []
                for ks in range(KS):
                    r = w * 16 + (LANES & 15)
                    c = ks * 2 + (LANES >> 4)
                    st["qf"].append(ldmatrix_x4(smem, sQ + tile_offset_bytes(D, r, c), False))
            if causal and n0 > warp_row0 + 15:
                continue
            kt, vt = sK + stage * kv_bytes, sV + stage * kv_bytes
            s = np.zeros((NT, 4, 32), np.float32)
            for ks in range(KS):
                for p in range(NT // 2):
                    r = p * 16 + (LANES & 7) + ((LANES >> 4) << 3)
                    c = ks * 2 + ((LANES >> 3) & 1)
                    b = ldmatrix_x4(smem, kt + tile_offset_bytes(D, r, c), False)
                    mma16816(s[2 * p], st["qf"][ks], b[0], b[1], bf16)
                    mma16816(s[2 * p + 1], st["qf"][ks], b[2], b[3], bf16)
            need_mask = (n0 + BLOCK_N > seq) or (causal and n0 + BLOCK_N - 1 > warp_row0)
            s *= scale_log2
            if need_mask:
                for nt in range(NT):
                    for e in range(4):
                        key = n0 + nt * 8 + (LANES & 3) * 2 + (e & 1)
                        row = row_lo if e < 2 else row_hi
                        masked = (key >= seq) | ((row < key) if causal else False)
                        s[nt, e] = np.where(masked, -np.inf, s[nt, e])
            mx_lo = np.maximum(st["m_lo"], np.max(s[:, 0:2], axis=(0, 1)))
            mx_hi = np.maximum(st["m_hi"], np.max(s[:, 2:4], axis=(0, 1)))
            for sh in (1, 2):
                mx_lo = np.maximum(mx_lo, shfl_xor(mx_lo, sh))
                mx_hi = np.maximum(mx_hi, shfl_xor(mx_hi, sh))
            base_lo = np.where(mx_lo == -np.inf, 0, mx_lo).astype(np.float32)
            base_hi = np.where(mx_hi == -np.inf, 0, mx_hi).astype(np.float32)
            alpha_lo = np.exp2(st["m_lo"] - base_lo)
            alpha_hi = np.exp2(st["m_hi"] - base_hi)
            st["m_lo"], st["m_hi"] = mx_lo, mx_hi
            s[:, 0:2] = np.exp2(s[:, 0:2] - base_lo)
            s[:, 2:4] = np.exp2(s[:, 2:4] - base_hi)
            st["l_lo"] = st["l_lo"] * alpha_lo + s[:, 0:2].sum(axis=(0, 1))
            st["l_hi"] = st["l_hi"] * alpha_hi + s[:, 2:4].sum(axis=(0, 1))
            st["o"][:, 0:2] *= alpha_lo
            st["o"][:, 2:4] *= alpha_hi
            for j in range(BLOCK_N // 16):
                pa = [pack2(s[2 * j, 0], s[2 * j, 1], bf16), pack2(s[2 * j, 2], s[2 * j, 3], bf16),
                      pack2(s[2 * j + 1, 0], s[2 * j + 1, 1], bf16), pack2(s[2 * j + 1, 2], s[2 * j + 1, 3], bf16)]
                for p in range(DT // 2):
                    r = j * 16 + (LANES & 7) + (((LANES >> 3) & 1) << 3)
                    c = p * 2 + (LANES >> 4)
                    b = ldmatrix_x4(smem, vt + tile_offset_bytes(D, r, c), True)
                    mma16816(st["o"][2 * p], pa, b[0], b[1], bf16)
                    mma16816(st["o"][2 * p + 1], pa, b[2], b[3], bf16)

    for w in range(WARPS):
        st = warps[w]
        row_lo = m0 + w * 16 + LANES // 4
        row_hi = row_lo + 8
        l_lo, l_hi = st["l_lo"], st["l_hi"]
        for sh in (1, 2):
            l_lo = l_lo + shfl_xor(l_lo, sh)
            l_hi = l_hi + shfl_xor(l_hi, sh)
        inv_lo = np.where(l_lo > 0, 1 / np.where(l_lo > 0, l_lo, 1), 0).astype(np.float32)
        inv_hi = np.where(l_hi > 0, 1 / np.where(l_hi > 0, l_hi, 1), 0).astype(np.float32)
        col = (LANES & 3) * 2
        for i in range(D // 8):
            lo = pack2(st["o"][i, 0] * inv_lo, st["o"][i, 1] * inv_lo, bf16)
            hi = pack2(st["o"][i, 2] * inv_hi, st["o"][i, 3] * inv_hi, bf16)
            for lane in range(32):
                if row_lo[lane] < seq:
                    O[row_lo[lane] * D + i * 8 + col[lane]: row_lo[lane] * D + i * 8 + col[lane] + 2] = lo[lane]
                if row_hi[lane] < seq:
                    O[row_hi[lane] * D + i * 8 + col[lane]: row_hi[lane] * D + i * 8 + col[lane] + 2] = hi[lane]


def reference(q, k, v, scale, causal):
    s = (q @ k.T) * scale
    if causal:
        s = np.where(np.tril(np.ones_like(s, dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)) @ v


def check(seq, D, bf16, causal, rng):
    scale = 1 / np.sqrt(D)
    qb, kb, vb = (to_bits(rng.standard_normal(seq * D) * 1.5, bf16) for _ in range(3))
    out = np.full(seq * D, 0x7FC0 if bf16 else 0x7E00, np.uint16)  # NaN sentinel: unwritten shows up
    grid_x = (seq + BLOCK_M - 1) // BLOCK_M
    for bx in range(grid_x):
        run_cta(qb, kb, vb, out, D, bf16, grid_x, bx, seq, scale, causal)
    ref = reference(*(from_bits(x, bf16).astype(np.float64).reshape(seq, D) for x in (qb, kb, vb)), scale, causal)
    got = from_bits(out, bf16).reshape(seq, D).astype(np.float64)
    # Relative to 1 + |ref|: P and O are rounded to 16 bits (bf16 half-ulp = 2^-9 relative), while
    # index bugs give errors of order 1.
    err = np.max(np.abs(got - ref) / (1 + np.abs(ref))) if np.all(np.isfinite(got)) else np.inf
    tol = 1e-2 if bf16 else 2e-3
    ok = err <= tol
    name = f"seq={seq:4d} d={D:3d} {'bf16' if bf16 else 'f16 '} {'causal' if causal else 'full  '}"
    print(f"{name}: max |err|/(1+|ref|) = {err:.2e} (tol {tol:.0e}) {'ok' if ok else 'FAIL'}")
    return ok


def main():
    rng = np.random.default_rng(4)
    cases = itertools.product([1, 37, 64, 130, 257], [64, 128], [True, False], [True, False])
    failures = sum(not check(seq, D, bf16, causal, rng) for seq, D, bf16, causal in cases)
    print("FAILED" if failures else "all cases match the reference")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
