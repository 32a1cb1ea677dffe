// Device memory bandwidth kernels (STREAM copy and triad) for llmrig's probe.
// Compiled at run time by NVRTC; self-contained (no includes). Contract: kernels/README.md.
//
// Each thread moves UNROLL float4 (16-byte) elements per pass of a grid-stride loop. All loads of a
// pass are issued before any store so several 16-byte requests are in flight per thread; element k
// of a pass sits blockDim.x apart, so each warp instruction covers 512 contiguous bytes.

#define STREAM_UNROLL 4

extern "C" __global__ void __launch_bounds__(256)
stream_copy_f32x4(const float4* __restrict__ a, float4* __restrict__ c, unsigned long long n4)
{
    const unsigned long long bdim = blockDim.x;
    const unsigned long long step = (unsigned long long)gridDim.x * bdim * STREAM_UNROLL;
    for (unsigned long long base = (unsigned long long)blockIdx.x * bdim * STREAM_UNROLL + threadIdx.x;
         base < n4; base += step) {
        float4 v[STREAM_UNROLL];
#pragma unroll
        for (int k = 0; k < STREAM_UNROLL; ++k) {
            const unsigned long long i = base + k * bdim;
            if (i < n4) v[k] = a[i];
        }
#pragma unroll
        for (int k = 0; k < STREAM_UNROLL; ++k) {
            const unsigned long long i = base + k * bdim;
            if (i < n4) c[i] = v[k];
        }
    }
}

extern "C" __global__ void __launch_bounds__(256)
stream_triad_f32x4(const float4* __restrict__ a, const float4* __restrict__ b,
                   float4* __restrict__ c, float s, unsigned long long n4)
{
    const unsigned long long bdim = blockDim.x;
    const unsigned long long step = (unsigned long long)gridDim.x * bdim * STREAM_UNROLL;
    for (unsigned long long base = (unsigned long long)blockIdx.x * bdim * STREAM_UNROLL + threadIdx.x;
         base < n4; base += step) {
        float4 va[STREAM_UNROLL], vb[STREAM_UNROLL];
#pragma unroll
        for (int k = 0; k < STREAM_UNROLL; ++k) {
            const unsigned long long i = base + k * bdim;
            if (i < n4) { va[k] = a[i]; vb[k] = b[i]; }
        }
#pragma unroll
        for (int k = 0; k < STREAM_UNROLL; ++k) {
            const unsigned long long i = base + k * bdim;
            if (i < n4) {
                float4 r;
                r.x = fmaf(s, vb[k].x, va[k].x);
                r.y = fmaf(s, vb[k].y, va[k].y);
                r.z = fmaf(s, vb[k].z, va[k].z);
                r.w = fmaf(s, vb[k].w, va[k].w);
                c[i] = r;
            }
        }
    }
}
