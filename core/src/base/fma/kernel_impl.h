// The FMA band kernel, written once with GCC vector extensions and compiled once per
// instruction set (see kernel_avx512.cpp, kernel_avx2.cpp, kernel_generic.cpp, which define
// FMALENS_KERNEL_NS, FMALENS_VW floats per vector, FMALENS_MR rows and FMALENS_NV vectors per
// micro-tile). No torch here: these files are built with ISA flags that must not leak into
// LibTorch's inline functions.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/fma/kernel.h"

namespace fmalens::kernel::FMALENS_KERNEL_NS {
namespace {

constexpr int VW = FMALENS_VW;
constexpr int MR = FMALENS_MR;
constexpr int NV = FMALENS_NV;
constexpr int NR = VW * NV;

typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));

inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof(v)); }
inline vf splat(float x) { return vf{} + x; }

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// C[R x NVv*VW] (=|+=) A[R x kd] * B[kd x NVv*VW]; A read by scalar broadcast (row-major, or
// transposed when AT: element (r, k) at A[k * lda + r]), B by vectors.
template <int R, int NVv, bool AT>
inline void micro(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t kd, bool acc) {
  vf c[R][NVv];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NVv; ++j) c[r][j] = acc ? load(C + r * ldc + j * VW) : vf{};
  for (int64_t k = 0; k < kd; ++k) {
    vf b[NVv];
    for (int j = 0; j < NVv; ++j) b[j] = load(B + k * ldb + j * VW);
    for (int r = 0; r < R; ++r) {
      const vf a = splat(AT ? A[k * lda + r] : A[r * lda + k]);
      for (int j = 0; j < NVv; ++j) c[r][j] += a * b[j];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NVv; ++j) store(C + r * ldc + j * VW, c[r][j]);
}

template <int NVv, bool AT>
inline void micro_rows(int rows, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                       int64_t kd, bool acc) {
  switch (rows) {
#define FMALENS_ROWS(R) \
  case R:               \
    if constexpr (R <= MR) micro<R, NVv, AT>(A, lda, B, ldb, C, ldc, kd, acc); \
    break;
    FMALENS_ROWS(1) FMALENS_ROWS(2) FMALENS_ROWS(3) FMALENS_ROWS(4)
    FMALENS_ROWS(5) FMALENS_ROWS(6) FMALENS_ROWS(7) FMALENS_ROWS(8)
#undef FMALENS_ROWS
    default: break;
  }
}

// C[M x N] (=|+=) A[M x kd] B[kd x N], row-major (A transposed, kd x M, when AT), N a
// multiple of VW (buffers are padded).
template <bool AT = false>
void gemm(int64_t M, int64_t N, int64_t kd, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
          int64_t ldc, bool acc) {
  for (int64_t j = 0; j < N;) {
    const bool wide = N - j >= NR;
    for (int64_t i = 0; i < M; i += MR) {
      const int rows = static_cast<int>(std::min<int64_t>(MR, M - i));
      const float* Ai = AT ? A + i : A + i * lda;
      if (wide) micro_rows<NV, AT>(rows, Ai, lda, B + j, ldb, C + i * ldc + j, ldc, kd, acc);
      else micro_rows<1, AT>(rows, Ai, lda, B + j, ldb, C + i * ldc + j, ldc, kd, acc);
    }
    j += wide ? NR : VW;
  }
}

// exp(x) for x <= 0 mostly (Cephes expf polynomial; relative error ~1e-7).
inline vf vexp(vf x) {
  x = x < splat(-87.3f) ? splat(-87.3f) : x;
  x = x > splat(88.3f) ? splat(88.3f) : x;
  const vf fx = x * 1.44269504088896341f;
  const vi k = __builtin_convertvector(fx + (fx >= 0 ? splat(0.5f) : splat(-0.5f)), vi);
  const vf kf = __builtin_convertvector(k, vf);
  const vf r = x - kf * 0.693359375f - kf * -2.12194440e-4f;
  vf y = splat(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const vi bits = (k + 127) << 23;
  vf scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

// Per-thread buffers, grown as needed and reused across calls.
struct Workspace {
  std::vector<float> kt, vt, kpk, vpk, s, w, dp, tq, ty, qpad, dypad, tmp, slot_alpha;
  void ensure(std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.assign(static_cast<size_t>(n), 0.0f);
  }
};
Workspace& workspace() {
  static thread_local Workspace ws;
  return ws;
}

struct Dims {
  int64_t d, dp, K, Kp, Q0, Q0p, tiles;
};

Dims dims_of(const Problem& p) {
  Dims D;
  D.d = p.d;
  D.dp = round_up(p.d, VW);
  D.K = p.total_slots();
  D.Kp = round_up(D.K, VW);
  D.Q0 = p.tile_queries;
  D.Q0p = padded_tile(p.tile_queries);
  D.tiles = p.n / p.tile_queries;
  return D;
}

// Packs every slot of tile (b, q0): keys transposed into kt (d x Kp) and/or row-major into
// kpk (K x dp); values row-major into vpk (K x dp) and/or transposed into vt (d x Kp).
void pack_tile(const Problem& p, const Dims& D, int64_t b, int64_t q0, Workspace& ws, bool keys_t, bool keys_rows,
               bool values_rows, bool values_t) {
  int32_t off = 0;
  for (int l = 0; l < p.num_levels; ++l) {
    const Level& L = p.level[l];
    const int64_t g = q0 / L.group_queries;
    const float* kb = L.keys + b * L.rows * D.d;
    const float* vb = L.values + b * L.rows * D.d;
    for (int64_t s = L.seg_offsets[g]; s < L.seg_offsets[g + 1]; ++s) {
      const Segment& seg = L.segments[s];
      for (int32_t j = 0; j < seg.count; ++j) {
        const int64_t col = off + seg.slot_begin + j;
        const float* kr = seg.row_begin >= 0 ? kb + (seg.row_begin + j) * D.d : nullptr;
        const float* vr = seg.row_begin >= 0 ? vb + (seg.row_begin + j) * D.d : nullptr;
        if (keys_t)
          for (int64_t e = 0; e < D.d; ++e) ws.kt[static_cast<size_t>(e * D.Kp + col)] = kr ? kr[e] : 0.0f;
        if (keys_rows) {
          float* dst = &ws.kpk[static_cast<size_t>(col * D.dp)];
          if (kr) std::memcpy(dst, kr, sizeof(float) * static_cast<size_t>(D.d));
          else std::fill(dst, dst + D.d, 0.0f);
        }
        if (values_rows) {
          float* dst = &ws.vpk[static_cast<size_t>(col * D.dp)];
          if (vr) std::memcpy(dst, vr, sizeof(float) * static_cast<size_t>(D.d));
          else std::fill(dst, dst + D.d, 0.0f);
        }
        if (values_t)
          for (int64_t e = 0; e < D.d; ++e) ws.vt[static_cast<size_t>(e * D.Kp + col)] = vr ? vr[e] : 0.0f;
      }
    }
    off += L.slots;
  }
}

// Backward: scores of the tile (Q0 x Kp in ws.s) and the per-slot multipliers (alpha, or 0 when
// masked, in ws.w), query-major (the forward works slot-major: forward_range).
void scores(const Problem& p, const Dims& D, int64_t b, int64_t q0, Workspace& ws) {
  const float* Q = p.q + (b * p.n + q0) * D.d;
  gemm(D.Q0, D.Kp, D.d, Q, D.d, ws.kt.data(), D.Kp, ws.s.data(), D.Kp, false);
  for (int64_t r = 0; r < D.Q0; ++r) {
    float* s = &ws.s[static_cast<size_t>(r * D.Kp)];
    float* w = &ws.w[static_cast<size_t>(r * D.Kp)];
    int32_t off = 0;
    for (int l = 0; l < p.num_levels; ++l) {
      const Level& L = p.level[l];
      const int64_t g = q0 / L.group_queries, qi = q0 + r - g * L.group_queries;
      const uint8_t* valid = L.valid + (g * L.group_queries + qi) * L.slots;
      for (int32_t k = 0; k < L.slots; ++k) {
        const bool ok = valid[k] != 0;
        w[off + k] = ok ? L.alpha : 0.0f;
        if (!ok) s[off + k] = p.masked_score;
      }
      off += L.slots;
    }
    for (int64_t k = D.K; k < D.Kp; ++k) {
      w[k] = 0.0f;
      s[k] = p.masked_score;
    }
  }
}

// Backward: s <- w * exp(s - M) row by row, M the forward's row maxima.
void weights(const Dims& D, Workspace& ws, const float* row_max) {
  for (int64_t r = 0; r < D.Q0; ++r) {
    float* s = &ws.s[static_cast<size_t>(r * D.Kp)];
    const float* w = &ws.w[static_cast<size_t>(r * D.Kp)];
    const vf m = splat(row_max[r]);
    for (int64_t k = 0; k < D.Kp; k += VW) store(s + k, vexp(load(s + k) - m) * load(w + k));
  }
}

// Lane i of a vector <- bit i of `bits`: all ones when set.
inline vi lanes_of(uint32_t bits) {
  vi lane_bit;
  for (int i = 0; i < VW; ++i) lane_bit[i] = 1 << i;
  return ((vi{} + static_cast<int32_t>(bits)) & lane_bit) != 0;
}

// Forward of tiles [begin, end). Works in the transposed orientation, slots x queries:
// S^T = K_tile Q_tile^T (K x Q0p) from the packed key rows and the pre-transposed queries, so
// that masking, the joint max, exp and the row sums run as vectors across a tile's queries
// (one alpha and one validity row per slot), and Y = (P^T)^T V reads P^T by broadcast.
void forward_range(const Problem& p, int64_t begin, int64_t end) {
  const Dims D = dims_of(p);
  Workspace& ws = workspace();
  ws.ensure(ws.kpk, D.K * D.dp);
  ws.ensure(ws.vpk, D.K * D.dp);
  ws.ensure(ws.s, D.K * D.Q0p);
  ws.ensure(ws.ty, D.Q0p * D.dp);
  ws.ensure(ws.tmp, 2 * D.Q0p);
  ws.ensure(ws.slot_alpha, D.K);
  float* mx = ws.tmp.data();
  float* z = mx + D.Q0p;
  float* slot_alpha = ws.slot_alpha.data();
  for (int l = 0, off = 0; l < p.num_levels; off += p.level[l].slots, ++l)
    std::fill(slot_alpha + off, slot_alpha + off + p.level[l].slots, p.level[l].alpha);
  const vf masked = splat(p.masked_score), q_scale = splat(p.q_scale);
  for (int64_t idx = begin; idx < end; ++idx) {
    const int64_t b = idx / D.tiles, t = idx % D.tiles, q0 = t * D.Q0;
    pack_tile(p, D, b, q0, ws, false, true, true, false);
    float* S = ws.s.data();
    gemm(D.K, D.Q0p, D.d, ws.kpk.data(), D.dp, p.qt + idx * D.d * D.Q0p, D.Q0p, S, D.Q0p, false);
    const int64_t words = D.Q0p / 16;
    const uint16_t* valid = p.tile_valid + t * D.K * words;
    // Masked slots score `masked_score` (they take part in the max, as in the ops path).
    for (int64_t c = 0; c < D.Q0p; c += VW) store(mx + c, splat(-INFINITY));
    for (int64_t k = 0; k < D.K; ++k) {
      float* row = S + k * D.Q0p;
      const uint16_t* vrow = valid + k * words;
      for (int64_t c = 0; c < D.Q0p; c += VW) {
        const vi ok = lanes_of(static_cast<uint32_t>(vrow[c / 16]) >> (c % 16));
        const vf sc = ok ? load(row + c) * q_scale : masked;
        store(row + c, sc);
        const vf m = load(mx + c);
        store(mx + c, sc > m ? sc : m);
      }
    }
    for (int64_t c = 0; c < D.Q0p; c += VW) store(z + c, vf{});
    for (int64_t k = 0; k < D.K; ++k) {
      float* row = S + k * D.Q0p;
      const uint16_t* vrow = valid + k * words;
      const vf a = splat(slot_alpha[k]);
      for (int64_t c = 0; c < D.Q0p; c += VW) {
        const vi ok = lanes_of(static_cast<uint32_t>(vrow[c / 16]) >> (c % 16));
        const vf e = ok ? vexp(load(row + c) - load(mx + c)) * a : vf{};
        store(row + c, e);
        store(z + c, load(z + c) + e);
      }
    }
    gemm<true>(D.Q0, D.dp, D.K, S, D.Q0p, ws.vpk.data(), D.dp, ws.ty.data(), D.dp, false);
    for (int64_t r = 0; r < D.Q0; ++r) {
      const int64_t row = b * p.n + q0 + r;
      const float inv = 1.0f / z[r];
      float* y = p.y + row * D.d;
      const float* ty = &ws.ty[static_cast<size_t>(r * D.dp)];
      for (int64_t e = 0; e < D.d; ++e) y[e] = ty[e] * inv;
      p.row_max[row] = mx[r];
      p.row_norm[row] = z[r];
      int32_t off = 0;
      for (int l = 0; l < p.num_levels; ++l) {
        const Level& L = p.level[l];
        if (L.capture) {
          float* c = L.capture + row * L.capture_slots;
          const float* e = S + off * D.Q0p + r;  // slot k of this query at e[k * Q0p]
          if (L.capture_slot) {
            const int32_t* map = L.capture_slot + (q0 + r) * L.slots;
            std::fill(c, c + L.capture_slots, 0.0f);
            for (int32_t k = 0; k < L.slots; ++k)
              if (map[k] >= 0) c[map[k]] = e[k * D.Q0p] * inv;
          } else {
            for (int32_t k = 0; k < L.slots; ++k) c[k] = e[k * D.Q0p] * inv;
          }
        }
        off += L.slots;
      }
    }
  }
}

void backward_range(const Problem& p, int64_t b_begin, int64_t b_end) {
  const Dims D = dims_of(p);
  Workspace& ws = workspace();
  ws.ensure(ws.kt, D.d * D.Kp);
  ws.ensure(ws.vt, D.d * D.Kp);
  ws.ensure(ws.kpk, D.K * D.dp);
  ws.ensure(ws.vpk, D.K * D.dp);
  ws.ensure(ws.s, D.Q0 * D.Kp);
  ws.ensure(ws.w, D.Q0 * D.Kp);
  ws.ensure(ws.dp, D.Q0 * D.Kp);
  ws.ensure(ws.tq, D.Kp * D.Q0);  // transposed P or dS: (K x Q0)
  ws.ensure(ws.ty, std::max(D.Q0, D.K) * D.dp);
  ws.ensure(ws.qpad, D.Q0 * D.dp);
  ws.ensure(ws.dypad, D.Q0 * D.dp);
  ws.ensure(ws.tmp, 3 * D.Q0);
  for (int64_t e = 0; e < D.d; ++e) {
    std::fill(ws.kt.begin() + e * D.Kp + D.K, ws.kt.begin() + (e + 1) * D.Kp, 0.0f);
    std::fill(ws.vt.begin() + e * D.Kp + D.K, ws.vt.begin() + (e + 1) * D.Kp, 0.0f);
  }
  float* mx = ws.tmp.data();
  float* inv_z = mx + D.Q0;
  float* dd = inv_z + D.Q0;
  for (int64_t b = b_begin; b < b_end; ++b) {
    for (int64_t t = 0; t < D.tiles; ++t) {
      const int64_t q0 = t * D.Q0;
      pack_tile(p, D, b, q0, ws, true, true, false, true);
      scores(p, D, b, q0, ws);
      for (int64_t r = 0; r < D.Q0; ++r) {
        const int64_t row = b * p.n + q0 + r;
        mx[r] = p.row_max[row];
        inv_z[r] = 1.0f / p.row_norm[row];
        // D_r = dY_r . y_r
        const float* gy = p.grad_y + row * D.d;
        const float* y = p.y + row * D.d;
        float acc = 0;
        for (int64_t e = 0; e < D.d; ++e) acc += gy[e] * y[e];
        // d lse / d s = P, so lse's gradient enters as dS = P (dP - D + g_lse).
        dd[r] = p.grad_lse ? acc - p.grad_lse[row] : acc;
        float* qp = &ws.qpad[static_cast<size_t>(r * D.dp)];
        float* gp = &ws.dypad[static_cast<size_t>(r * D.dp)];
        std::memcpy(qp, p.q + row * D.d, sizeof(float) * static_cast<size_t>(D.d));
        std::memcpy(gp, gy, sizeof(float) * static_cast<size_t>(D.d));
        std::fill(qp + D.d, qp + D.dp, 0.0f);
        std::fill(gp + D.d, gp + D.dp, 0.0f);
      }
      weights(D, ws, mx);  // s = alpha exp(S - M), masked 0
      // P = s / Z; dP = dY V^T; dS = P (dP - D)
      const float* GY = p.grad_y + (b * p.n + q0) * D.d;
      gemm(D.Q0, D.Kp, D.d, GY, D.d, ws.vt.data(), D.Kp, ws.dp.data(), D.Kp, false);
      for (int64_t r = 0; r < D.Q0; ++r) {
        float* P = &ws.s[static_cast<size_t>(r * D.Kp)];
        float* dS = &ws.dp[static_cast<size_t>(r * D.Kp)];
        const vf iz = splat(inv_z[r]), dr = splat(dd[r]);
        for (int64_t k = 0; k < D.Kp; k += VW) {
          const vf pk = load(P + k) * iz;
          store(P + k, pk);
          store(dS + k, pk * (load(dS + k) - dr));
        }
      }
      // dQ = dS K  (Q0 x dp)
      gemm(D.Q0, D.dp, D.K, ws.dp.data(), D.Kp, ws.kpk.data(), D.dp, ws.ty.data(), D.dp, false);
      for (int64_t r = 0; r < D.Q0; ++r)
        std::memcpy(p.grad_q + (b * p.n + q0 + r) * D.d, &ws.ty[static_cast<size_t>(r * D.dp)],
                    sizeof(float) * static_cast<size_t>(D.d));
      // dK_slots = dS^T Q, dV_slots = P^T dY, each (K x dp), scattered into the tables.
      for (int pass = 0; pass < 2; ++pass) {
        const float* src = pass == 0 ? ws.dp.data() : ws.s.data();
        for (int64_t r = 0; r < D.Q0; ++r)
          for (int64_t k = 0; k < D.K; ++k) ws.tq[static_cast<size_t>(k * D.Q0 + r)] = src[r * D.Kp + k];
        gemm(D.K, D.dp, D.Q0, ws.tq.data(), D.Q0, pass == 0 ? ws.qpad.data() : ws.dypad.data(), D.dp, ws.ty.data(),
             D.dp, false);
        int32_t off = 0;
        for (int l = 0; l < p.num_levels; ++l) {
          const Level& L = p.level[l];
          float* table = (pass == 0 ? L.grad_keys : L.grad_values) + b * L.rows * D.d;
          const int64_t g = q0 / L.group_queries;
          for (int64_t s = L.seg_offsets[g]; s < L.seg_offsets[g + 1]; ++s) {
            const Segment& seg = L.segments[s];
            if (seg.row_begin < 0) continue;
            for (int32_t j = 0; j < seg.count; ++j) {
              float* dst = table + (seg.row_begin + j) * D.d;
              const float* src2 = &ws.ty[static_cast<size_t>((off + seg.slot_begin + j) * D.dp)];
              for (int64_t e = 0; e < D.d; ++e) dst[e] += src2[e];
            }
          }
          off += L.slots;
        }
      }
    }
  }
}

// The weights of one position t, w[t] (p x d), serve every block of every batch row, so the
// loops run over t outside and over a chunk of blocks inside: w[t] stays in L1 and the
// chunk's accumulators (kChunk x p x d) too; w is read once per chunk, x once.
constexpr int64_t kChunk = 16;

// Any p: accumulators in memory (L1).
void downsample_forward_any(const Downsample& ds, int64_t begin, int64_t end) {
  const int64_t d = ds.d, pd = ds.p * ds.d;
  for (int64_t j0 = begin; j0 < end; j0 += kChunk) {
    const int64_t j1 = std::min(end, j0 + kChunk);
    for (int64_t j = j0; j < j1; ++j) std::memcpy(ds.out + j * pd, ds.bias, sizeof(float) * static_cast<size_t>(pd));
    for (int64_t t = 0; t < ds.bt; ++t) {
      const float* wt = ds.w + t * pd;
      for (int64_t j = j0; j < j1; ++j) {  // (b, blk) rows are consecutive: j = b*nb + blk
        const float* xt = ds.x + (j * ds.bt + t) * d;
        float* o = ds.out + j * pd;
        for (int64_t s = 0; s < ds.p; ++s) {
          float* os = o + s * d;
          const float* ws = wt + s * d;
          for (int64_t g = 0; g < d; ++g) os[g] += ws[g] * xt[g];
        }
      }
    }
  }
}

// p = P, d a multiple of VW: JB blocks x P summaries of one vector of channels accumulate in
// registers over a run of kRun positions; each weight vector w[t, s, channels] is loaded once
// for the JB blocks, each x vector once for the P summaries.
constexpr int64_t kRun = 64;
template <int P>
void downsample_forward_registers(const Downsample& ds, int64_t begin, int64_t end) {
  constexpr int JB = P >= 8 ? 2 : 16 / P > 8 ? 8 : 16 / P;
  const int64_t d = ds.d, pd = P * ds.d;
  for (int64_t j0 = begin; j0 < end; j0 += JB) {
    const int jb_count = static_cast<int>(std::min<int64_t>(JB, end - j0));
    for (int64_t t0 = 0; t0 < ds.bt; t0 += kRun) {
      const int64_t t1 = std::min(ds.bt, t0 + kRun);
      for (int64_t g = 0; g < d; g += VW) {
        vf acc[JB][P];
        for (int jb = 0; jb < JB; ++jb)
          for (int s = 0; s < P; ++s)
            acc[jb][s] = jb < jb_count ? load(t0 == 0 ? ds.bias + s * d + g : ds.out + (j0 + jb) * pd + s * d + g) : vf{};
        for (int64_t t = t0; t < t1; ++t) {
          vf x[JB];
          for (int jb = 0; jb < JB; ++jb) x[jb] = jb < jb_count ? load(ds.x + ((j0 + jb) * ds.bt + t) * d + g) : vf{};
          for (int s = 0; s < P; ++s) {
            const vf w = load(ds.w + t * pd + s * d + g);
            for (int jb = 0; jb < JB; ++jb) acc[jb][s] += w * x[jb];
          }
        }
        for (int jb = 0; jb < jb_count; ++jb)
          for (int s = 0; s < P; ++s) store(ds.out + (j0 + jb) * pd + s * d + g, acc[jb][s]);
      }
    }
  }
}

void downsample_forward(const Downsample& ds, int64_t begin, int64_t end) {
  if (ds.d % VW == 0) {
    switch (ds.p) {
      case 1: return downsample_forward_registers<1>(ds, begin, end);
      case 2: return downsample_forward_registers<2>(ds, begin, end);
      case 4: return downsample_forward_registers<4>(ds, begin, end);
      case 8: return downsample_forward_registers<8>(ds, begin, end);
      default: break;
    }
  }
  downsample_forward_any(ds, begin, end);
}

void downsample_grad_x(const Downsample& ds, int64_t begin, int64_t end) {
  const int64_t d = ds.d, pd = ds.p * ds.d;
  for (int64_t j0 = begin; j0 < end; j0 += kChunk) {
    const int64_t j1 = std::min(end, j0 + kChunk);
    for (int64_t t = 0; t < ds.bt; ++t) {
      const float* wt = ds.w + t * pd;
      for (int64_t j = j0; j < j1; ++j) {
        const float* go = ds.grad_out + j * pd;
        float* gxt = ds.grad_x + (j * ds.bt + t) * d;
        for (int64_t g = 0; g < d; ++g) gxt[g] = 0.0f;
        for (int64_t s = 0; s < ds.p; ++s) {
          const float* ws = wt + s * d;
          const float* gos = go + s * d;
          for (int64_t g = 0; g < d; ++g) gxt[g] += ws[g] * gos[g];
        }
      }
    }
  }
}

void downsample_grad_w(const Downsample& ds, int64_t begin, int64_t end) {
  const int64_t d = ds.d, pd = ds.p * ds.d, blocks = ds.B * (ds.n / ds.bt);
  for (int64_t t0 = begin; t0 < end; t0 += kChunk) {
    const int64_t t1 = std::min(end, t0 + kChunk);
    std::fill(ds.grad_w + t0 * pd, ds.grad_w + t1 * pd, 0.0f);
    for (int64_t j = 0; j < blocks; ++j) {
      const float* go = ds.grad_out + j * pd;
      for (int64_t t = t0; t < t1; ++t) {
        const float* xt = ds.x + (j * ds.bt + t) * d;
        float* gw = ds.grad_w + t * pd;
        for (int64_t s = 0; s < ds.p; ++s) {
          float* gws = gw + s * d;
          const float* gos = go + s * d;
          for (int64_t g = 0; g < d; ++g) gws[g] += xt[g] * gos[g];
        }
      }
    }
  }
}

}  // namespace

extern const Ops ops;
const Ops ops{FMALENS_KERNEL_NAME, &downsample_forward, &downsample_grad_x, &downsample_grad_w, &forward_range,
              &backward_range};

}  // namespace fmalens::kernel::FMALENS_KERNEL_NS
