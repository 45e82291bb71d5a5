/* vec.h — the vector vocabulary of the kernels: the only file that includes SIMDe and spells
 * instruction-set intrinsics. kernels.c, kernels_grad.c and kernels_bench.c are written
 * against these names only.
 *
 * Why SIMDe: the kernels are written once with x86 intrinsics and SIMDe maps them to SSE /
 * AVX natively, to wasm simd128 under -msimd128, and to portable scalar code in the scalar
 * WASM build, so every target runs the same source with the same IEEE rounding (each
 * operation is one rounded float add, subtract, multiply or divide; -ffp-contract=off keeps
 * the compiler from fusing them), and the three builds give bit-identical results.
 *
 * Lane widths:
 *   v4   4 floats, every target (SSE2 natively, simd128 in WASM). The element-wise kernels,
 *        the Winograd transforms and the dot-product GEMM use it.
 *   vf   the widest float vector the build targets, VF_LANES floats: 16 (AVX-512F) or 8
 *        (AVX) when the compiler targets them (the avx512 / avx2 variants, -march=native),
 *        else 4 (== v4). The GEMM register tiles (kernels.c) are TILE_ROWS rows x 2 vf: 8 x 32
 *        with AVX-512 (32 registers), 6 x 16 with AVX, 4 x 8 in the portable SSE2 and WASM
 *        builds; each was measured the faster tile on its target (4 x 16 emulated on two 128-bit
 *        halves spills registers).
 *        The lane width changes no result: each GEMM output is its K products summed in
 *        k order, whatever tile holds it.
 *        vf_mul_add is the one operation whose rounding differs by target (fused where the
 *        target has FMA): the trainer's GEMM only.
 *   v4i, vfi  4 / VF_LANES int32 lanes, only to build 2^n from float bits in the vector exp.
 *   d2   2 doubles, for GroupNorm's statistics.
 *
 * Not here: the kernels themselves (kernels.c), their scalar references (kernels_ref.c).
 * Model, sampler and UI code never include this file. */
#ifndef DS_VEC_H
#define DS_VEC_H

#include <simde/x86/sse2.h>

typedef simde__m128 v4;
typedef simde__m128i v4i;
typedef simde__m128d d2;

/* ---- v4: 4 floats ---- */
static inline v4 v4_load(const float *p) { return simde_mm_loadu_ps(p); }
static inline void v4_store(float *p, v4 v) { simde_mm_storeu_ps(p, v); }
static inline v4 v4_set1(float x) { return simde_mm_set1_ps(x); }
static inline v4 v4_zero(void) { return simde_mm_setzero_ps(); }
static inline v4 v4_add(v4 a, v4 b) { return simde_mm_add_ps(a, b); }
static inline v4 v4_sub(v4 a, v4 b) { return simde_mm_sub_ps(a, b); }
static inline v4 v4_mul(v4 a, v4 b) { return simde_mm_mul_ps(a, b); }
static inline v4 v4_div(v4 a, v4 b) { return simde_mm_div_ps(a, b); }
static inline v4 v4_min(v4 a, v4 b) { return simde_mm_min_ps(a, b); }
#if defined(SIMDE_WASM_SIMD128_NATIVE)
/* maxps's a > b ? a : b is wasm's pmax(b, a) (b < a ? a : b) for every input, NaN and -0 too;
 * SIMDe spells it as a compare and a bitselect, four x86 instructions in V8 instead of one. */
static inline v4 v4_max(v4 a, v4 b) {
    return simde__m128_from_wasm_v128(wasm_f32x4_pmax(simde__m128_to_wasm_v128(b), simde__m128_to_wasm_v128(a)));
}
#else
static inline v4 v4_max(v4 a, v4 b) { return simde_mm_max_ps(a, b); }
#endif
static inline float v4_first(v4 v) { return simde_mm_cvtss_f32(v); }

/* lanes 2, 3 of v in lanes 0, 1 (lanes 2, 3 of the result: v's own 2, 3) */
static inline v4 v4_high(v4 v) { return simde_mm_movehl_ps(v, v); }
/* The first n (0..3) lanes of v to p: the edge of a row without a variable-size memcpy, which
 * is a libc call in WASM that costs more than the row's arithmetic. */
static inline void v4_store_part(float *p, v4 v, int n) {
    if (n & 2) {
        simde_mm_storel_pi((simde__m64 *)(void *)p, v);
        v = v4_high(v);
        p += 2;
    }
    if (n & 1) simde_mm_store_ss(p, v);
}
/* even lanes (a0 a2 b0 b2) and odd lanes (a1 a3 b1 b3) of the 8 floats a, b */
static inline v4 v4_even(v4 a, v4 b) { return simde_mm_shuffle_ps(a, b, 0x88); }
static inline v4 v4_odd(v4 a, v4 b) { return simde_mm_shuffle_ps(a, b, 0xDD); }
/* interleaves: (a0 b0 a1 b1) and (a2 b2 a3 b3) */
static inline v4 v4_zip_lo(v4 a, v4 b) { return simde_mm_unpacklo_ps(a, b); }
static inline v4 v4_zip_hi(v4 a, v4 b) { return simde_mm_unpackhi_ps(a, b); }
/* r[0..3] (four rows of a 4x4 block) -> its columns, in place */
static inline void v4_transpose4(v4 r[4]) {
    const v4 t0 = simde_mm_unpacklo_ps(r[0], r[1]), t1 = simde_mm_unpacklo_ps(r[2], r[3]);
    const v4 t2 = simde_mm_unpackhi_ps(r[0], r[1]), t3 = simde_mm_unpackhi_ps(r[2], r[3]);
    r[0] = simde_mm_movelh_ps(t0, t1), r[1] = simde_mm_movehl_ps(t1, t0);
    r[2] = simde_mm_movelh_ps(t2, t3), r[3] = simde_mm_movehl_ps(t3, t2);
}

/* Horizontal sum in a fixed order, (v0 + v2) + (v1 + v3), the same on every target. */
static inline float v4_hsum(v4 v) {
    const v4 s = v4_add(v, v4_high(v));            /* v0+v2 v1+v3 . . */
    const v4 s1 = simde_mm_shuffle_ps(s, s, 0x55); /* v1+v3 in lane 0 */
    return simde_mm_cvtss_f32(simde_mm_add_ss(s, s1));
}

/* ---- v4i: the float bits as 4 int32 ---- */
static inline v4i v4_bits(v4 v) { return simde_mm_castps_si128(v); }
static inline v4 v4i_as_float(v4i v) { return simde_mm_castsi128_ps(v); }
static inline v4i v4i_set1(int x) { return simde_mm_set1_epi32(x); }
static inline v4i v4i_sub(v4i a, v4i b) { return simde_mm_sub_epi32(a, b); }
/* a macro: the shift count must be a compile-time constant on x86 */
#define v4i_shl(v, bits) simde_mm_slli_epi32((v), (bits))

/* ---- d2: 2 doubles ---- */
static inline d2 d2_zero(void) { return simde_mm_setzero_pd(); }
static inline d2 d2_from_low(v4 v) { return simde_mm_cvtps_pd(v); } /* lanes 0, 1 as doubles */
static inline d2 d2_add(d2 a, d2 b) { return simde_mm_add_pd(a, b); }
static inline d2 d2_mul(d2 a, d2 b) { return simde_mm_mul_pd(a, b); }
static inline void d2_store(double *p, d2 v) { simde_mm_storeu_pd(p, v); }

/* ---- vf: the widest float vector of the build ---- */
#if defined(__AVX512F__)
#include <simde/x86/avx512.h>
#define VF_LANES 16
typedef simde__m512 vf;
static inline vf vf_load(const float *p) { return simde_mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { simde_mm512_storeu_ps(p, v); }
static inline vf vf_set1(float x) { return simde_mm512_set1_ps(x); }
static inline vf vf_zero(void) { return simde_mm512_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return simde_mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return simde_mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return simde_mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return simde_mm512_div_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return simde_mm512_min_ps(a, b); }
static inline vf vf_max(vf a, vf b) { return simde_mm512_max_ps(a, b); }
typedef simde__m512i vfi;
static inline vfi vf_bits(vf v) { return simde_mm512_castps_si512(v); }
static inline vf vfi_as_float(vfi v) { return simde_mm512_castsi512_ps(v); }
static inline vfi vfi_set1(int x) { return simde_mm512_set1_epi32(x); }
static inline vfi vfi_sub(vfi a, vfi b) { return simde_mm512_sub_epi32(a, b); }
#define vfi_shl(v, bits) simde_mm512_slli_epi32((v), (bits))
#elif defined(__AVX__)
#include <simde/x86/avx.h>
#define VF_LANES 8
typedef simde__m256 vf;
static inline vf vf_load(const float *p) { return simde_mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { simde_mm256_storeu_ps(p, v); }
static inline vf vf_set1(float x) { return simde_mm256_set1_ps(x); }
static inline vf vf_zero(void) { return simde_mm256_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return simde_mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return simde_mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return simde_mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return simde_mm256_div_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return simde_mm256_min_ps(a, b); }
static inline vf vf_max(vf a, vf b) { return simde_mm256_max_ps(a, b); }
#include <simde/x86/avx2.h>
typedef simde__m256i vfi;
static inline vfi vf_bits(vf v) { return simde_mm256_castps_si256(v); }
static inline vf vfi_as_float(vfi v) { return simde_mm256_castsi256_ps(v); }
static inline vfi vfi_set1(int x) { return simde_mm256_set1_epi32(x); }
static inline vfi vfi_sub(vfi a, vfi b) { return simde_mm256_sub_epi32(a, b); }
#define vfi_shl(v, bits) simde_mm256_slli_epi32((v), (bits))
#else
#define VF_LANES 4
typedef v4 vf; /* the same type, so the same functions */
#define vf_load v4_load
#define vf_store v4_store
#define vf_set1 v4_set1
#define vf_zero v4_zero
#define vf_add v4_add
#define vf_sub v4_sub
#define vf_mul v4_mul
#define vf_div v4_div
#define vf_min v4_min
#define vf_max v4_max
typedef v4i vfi;
#define vf_bits v4_bits
#define vfi_as_float v4i_as_float
#define vfi_set1 v4i_set1
#define vfi_sub v4i_sub
#define vfi_shl v4i_shl
#endif

/* c + a * b rounded once where the build targets FMA (the avx2 variant, -march=native on an
 * FMA CPU), else mul then add (rounded twice). So its result depends on the target: only the
 * trainer's GEMM (ds_gemm_train) uses it, never the forward or anything the browser runs.
 * VF_HAS_FMA says which. WASM never fuses: relaxed SIMD's FMA is not in every browser. */
#if defined(__AVX512F__) && !defined(__wasm__)
#define VF_HAS_FMA 1
static inline vf vf_mul_add(vf a, vf b, vf c) { return simde_mm512_fmadd_ps(a, b, c); }
#elif defined(__AVX__) && defined(__FMA__) && !defined(__wasm__)
#include <simde/x86/fma.h>
#define VF_HAS_FMA 1
static inline vf vf_mul_add(vf a, vf b, vf c) { return simde_mm256_fmadd_ps(a, b, c); }
#else
#define VF_HAS_FMA 0
static inline vf vf_mul_add(vf a, vf b, vf c) { return vf_add(c, vf_mul(a, b)); }
#endif

/* ---- one elementary function: SiLU's exp (forward in kernels.c, backward in kernels_grad.c) ----
 * exp(x) = 2^n * e^r, n = round(x / ln 2), |r| <= ln2 / 2, e^r by the Cephes degree-5
 * polynomial (relative error about 1.2e-7 in float); x is clamped to [-87.3, 88.4] first so
 * 2^n stays a normal float. n is rounded by adding 1.5 * 2^23, which leaves n in the low
 * bits of the sum: its exponent field comes from integer adds and a shift, with no float <->
 * int conversion (wasm's saturating i32x4.trunc_sat costs V8 about eight x86 instructions). */
#define DS_VEC_EXP_BODY(V, VI, x)                                                                   \
    const V magic = V##_set1(12582912.0f); /* 1.5 * 2^23 */                                          \
    x = V##_min(x, V##_set1(88.3762626647949f));                                                     \
    x = V##_max(x, V##_set1(-87.3365447504019f));                                                    \
    const V t = V##_add(V##_mul(x, V##_set1(1.44269504088896341f)), magic); /* magic + n */          \
    const V n = V##_sub(t, magic);                                                                   \
    x = V##_sub(x, V##_mul(n, V##_set1(0.693359375f)));                                              \
    x = V##_sub(x, V##_mul(n, V##_set1(-2.12194440e-4f)));                                           \
    V z = V##_mul(x, x);                                                                             \
    V p = V##_set1(1.9875691500e-4f);                                                                \
    p = V##_add(V##_mul(p, x), V##_set1(1.3981999507e-3f));                                          \
    p = V##_add(V##_mul(p, x), V##_set1(8.3334519073e-3f));                                          \
    p = V##_add(V##_mul(p, x), V##_set1(4.1665795894e-2f));                                          \
    p = V##_add(V##_mul(p, x), V##_set1(1.6666665459e-1f));                                          \
    p = V##_add(V##_mul(p, x), V##_set1(5.0000001201e-1f));                                          \
    p = V##_add(V##_add(V##_mul(p, z), x), V##_set1(1.0f));                                          \
    /* bits(t) - bits(magic) = n; (n + 127) << 23 is 2^n */                                          \
    const VI e = VI##_shl(VI##_sub(V##_bits(t), VI##_set1(0x4B400000 - 127)), 23);                   \
    return V##_mul(p, VI##_as_float(e));

/* the same operations at both widths, written once: each lane of vf_exp is v4_exp's bits */
static inline v4 v4_exp(v4 x) { DS_VEC_EXP_BODY(v4, v4i, x) }
#if VF_LANES > 4
static inline vf vf_exp(vf x) { DS_VEC_EXP_BODY(vf, vfi, x) }
#else
#define vf_exp v4_exp
#endif

#endif
