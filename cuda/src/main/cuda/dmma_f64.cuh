// fp64 tensor-core (DMMA) building blocks of the fp64 kernels (forward v9, backward v3): the warp-level matrix
// products and the branch-free exp of the softmax weights.
#pragma once
#include "common.cuh"

// fp64 tensor cores (DMMA, mma.sync f64): lane = 4*grp + t (grp = group id, t = thread in group). Fragments of the
// warp-level products C += A B (row.col):
//   16x8x4:   A 16x4: a0 = A[grp][t], a1 = A[grp+8][t];  B 4x8: b0 = B[t][grp];
//             C 16x8: c0, c1 = C[grp][2t, 2t+1], c2, c3 = C[grp+8][2t, 2t+1]
//   16x8x16 (Hopper's largest fp64 shape, the one CUTLASS's sm_90 DGEMM uses; SM90_16x8x16_F64F64F64F64_TN):
//             A 16x16: a[v0 + 2 v1] = A[grp + 8 v0][t + 4 v1];  B 16x8: b[v] = B[t + 4 v][grp];  C as 16x8x4.
// In forward v9's O += P V (and the backward's products over keys or query rows) the 16 keys s*16 .. s*16+15 of a
// k-step are ordered so that logical k = t + 4 v1 is key s*16 + (v1/2)*8 + 2t + (v1%2): the thread's own score
// fragments of n-tiles 2s and 2s+1 are its A fragment, so P never leaves the registers.
// sm_90 issues 16x8x4 as one mma.m16n8k4 and 16x8x16 as one mma.m16n8k16; the compute_80 PTX as m8n8k4 pieces.
__device__ __forceinline__ void dmma16x8x4(double (&c)[4], double a0, double a1, double b0) {
#if __CUDA_ARCH__ >= 900
    asm volatile("mma.sync.aligned.m16n8k4.row.col.f64.f64.f64.f64 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+d"(c[0]), "+d"(c[1]), "+d"(c[2]), "+d"(c[3])
                 : "d"(a0), "d"(a1), "d"(b0));
#else
    asm volatile("mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
                 : "+d"(c[0]), "+d"(c[1])
                 : "d"(a0), "d"(b0));
    asm volatile("mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
                 : "+d"(c[2]), "+d"(c[3])
                 : "d"(a1), "d"(b0));
#endif
}

__device__ __forceinline__ void dmma16x8x16(double (&c)[4], const double (&a)[8], const double (&b)[4]) {
#if __CUDA_ARCH__ >= 900
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f64.f64.f64.f64 {%0,%1,%2,%3}, {%4,%5,%6,%7,%8,%9,%10,%11}, "
                 "{%12,%13,%14,%15}, {%0,%1,%2,%3};\n"
                 : "+d"(c[0]), "+d"(c[1]), "+d"(c[2]), "+d"(c[3])
                 : "d"(a[0]), "d"(a[1]), "d"(a[2]), "d"(a[3]), "d"(a[4]), "d"(a[5]), "d"(a[6]), "d"(a[7]),
                   "d"(b[0]), "d"(b[1]), "d"(b[2]), "d"(b[3]));
#else
#pragma unroll
    for (int v1 = 0; v1 < 4; v1++) dmma16x8x4(c, a[2 * v1], a[2 * v1 + 1], b[v1]);
#endif
}

// ------------------------------------------------------------------------------------------------------------------
// exp(x) for x <= 0 (and -inf) without branches, for the softmax weights: exp(x) = 2^(k/64) exp(r), k = rint(64 x /
// ln2), r = x - k ln2/64 (ln2/64 split in two: the high part has 36 bits, so k * high is exact), |r| <= ln2/128, exp(r)
// by its degree-5 Taylor polynomial (truncation < 4e-17 relative), 2^(j/64) from a table (correctly rounded, computed
// to 60 digits), 2^(k>>6) added to the exponent field. About 2 ulp; 10 fp64 operations against libdevice's ~16 and a
// range branch. Results below 2^-1020 (x < -707) are flushed to 0: against a row sum >= 1 they are far below its
// rounding. exp(0) = 1 exactly (the row maximum's weight). Arguments a few ulp above 0 (a score at the row maximum
// minus a rounded log-sum-exp, in the backward) take the same path (k = 0) and stay accurate.
__constant__ double swi_exp2_64th[64] = {
    0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
    0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
    0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
    0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
    0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
    0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
    0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
    0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
    0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
    0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
    0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
    0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
    0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
    0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
    0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0,
};
__device__ __forceinline__ double swi_exp_nonpos(double x, const double* tab /* shared copy of swi_exp2_64th */) {
    const double SHIFT = 0x1.8p52;                       // adding it rounds to an integer held in the low word
    const double t = fma(x, 0x1.71547652b82fep+6, SHIFT);  // 64 / ln2
    const int k = __double2loint(t);
    const double kd = t - SHIFT;
    double r = fma(kd, -0x1.62e42fefa0000p-7, x);          // ln2/64, high 36 bits
    r = fma(kd, -0x1.cf79abc9e3b3ap-46, r);                 // ln2/64, low part
    double p = fma(r, 0x1.1111111111111p-7, 0x1.5555555555555p-5);  // 1/120, 1/24
    p = fma(p, r, 0x1.5555555555555p-3);                    // 1/6
    p = fma(p, r, 0.5);
    p = fma(p, r, 1.0);
    p = fma(p, r, 1.0);
    const double y = tab[k & 63] * p;                       // in (0.99, 2)
    const double z = __hiloint2double(__double2hiint(y) + ((k >> 6) << 20), __double2loint(y));
    return x < -707.0 ? 0.0 : z;
}

