// Batch-1 GEMV (decode proxy) for llmrig's probe: y = W x, W bf16 row-major, x bf16, y fp32.
// Compiled at run time by NVRTC; self-contained (no includes). Contract: kernels/README.md.
//
// Memory-bound by design: one warp per row, each lane reads 16 bytes (8 bf16) of W per load and
// issues GEMV_UNROLL loads before using any, so a warp keeps 32 * 16 * GEMV_UNROLL bytes in flight.
// W is streamed once, so its loads skip L1 (no_allocate); x is tiny and re-read by every warp, so it
// goes through the read-only cache.

#define GEMV_WARPS 8
#define GEMV_UNROLL 4

// bf16 is the upper half of an fp32, so widening is a shift.
__device__ __forceinline__ float bf16lo(unsigned int u) { return __uint_as_float(u << 16); }
__device__ __forceinline__ float bf16hi(unsigned int u) { return __uint_as_float(u & 0xffff0000u); }

__device__ __forceinline__ uint4 load_stream16(const uint4* p)
{
#if __CUDA_ARCH__ >= 700
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
                 : "l"(p));
    return r;
#else
    return __ldg(p);
#endif
}

__device__ __forceinline__ float dot8(uint4 w, uint4 x, float acc)
{
    acc = fmaf(bf16lo(w.x), bf16lo(x.x), acc);
    acc = fmaf(bf16hi(w.x), bf16hi(x.x), acc);
    acc = fmaf(bf16lo(w.y), bf16lo(x.y), acc);
    acc = fmaf(bf16hi(w.y), bf16hi(x.y), acc);
    acc = fmaf(bf16lo(w.z), bf16lo(x.z), acc);
    acc = fmaf(bf16hi(w.z), bf16hi(x.z), acc);
    acc = fmaf(bf16lo(w.w), bf16lo(x.w), acc);
    acc = fmaf(bf16hi(w.w), bf16hi(x.w), acc);
    return acc;
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32)
gemv_bf16(const unsigned short* __restrict__ W, const unsigned short* __restrict__ x,
          float* __restrict__ y, int rows, int cols)
{
    const int lane = threadIdx.x & 31;
    const int row = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (row >= rows) return;  // whole warp leaves together: no shuffle below is left half-done

    const int cols8 = cols >> 3;  // 16-byte vectors per row (cols % 8 == 0 by contract)
    const uint4* wrow = reinterpret_cast<const uint4*>(W) + (unsigned long long)row * cols8;
    const uint4* xv = reinterpret_cast<const uint4*>(x);

    float acc[GEMV_UNROLL];
#pragma unroll
    for (int k = 0; k < GEMV_UNROLL; ++k) acc[k] = 0.f;

    for (int base = lane; base < cols8; base += 32 * GEMV_UNROLL) {
        uint4 wv[GEMV_UNROLL], xx[GEMV_UNROLL];
#pragma unroll
        for (int k = 0; k < GEMV_UNROLL; ++k) {
            const int i = base + 32 * k;
            if (i < cols8) wv[k] = load_stream16(wrow + i);
        }
#pragma unroll
        for (int k = 0; k < GEMV_UNROLL; ++k) {
            const int i = base + 32 * k;
            if (i < cols8) xx[k] = __ldg(xv + i);
        }
#pragma unroll
        for (int k = 0; k < GEMV_UNROLL; ++k) {
            const int i = base + 32 * k;
            if (i < cols8) acc[k] = dot8(wv[k], xx[k], acc[k]);
        }
    }

    float sum = 0.f;
#pragma unroll
    for (int k = 0; k < GEMV_UNROLL; ++k) sum += acc[k];
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) y[row] = sum;
}
