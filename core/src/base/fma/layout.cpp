// Band layout of FMA (see layout.h and FMA.md). Pure index arithmetic.
//
// 1D, query i, level l >= 1 of width w: superblock P = i / 2w holds query blocks c = 2P, 2P+1.
//   causal slots:        blocks [2P-2, 2P-1]            x p summaries  (even c masks 2P-1 = c-1)
//   bidirectional slots: blocks [2P-2, 2P-1, 2P+2, 2P+3] x p           (even c masks c-1,
//                                                                       odd c masks c+1)
// 2D, query cell C of side s, parent P (side 2s): slots are the 4 children (Z order) of each of
//   P's 8 neighbours (row-major, centre skipped) x p; a child within Chebyshev distance 1 of C
//   is masked (served by a finer level), as is a child outside the grid.
#include "fmalens/layout.h"

#include <cstdlib>

namespace fmalens {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t chebyshev(int64_t ay, int64_t ax, int64_t by, int64_t bx) {
  return std::max(std::llabs(ay - by), std::llabs(ax - bx));
}

// The 8 neighbours of a parent cell, row-major, centre skipped: direction d -> (dy, dx).
void direction(int64_t d, int64_t* dy, int64_t* dx) {
  const int64_t idx = d < 4 ? d : d + 1;  // skip the centre (index 4 of the 3x3)
  *dy = idx / 3 - 1;
  *dx = idx % 3 - 1;
}

int64_t direction_index(int64_t dy, int64_t dx) {
  const int64_t idx = (dy + 1) * 3 + (dx + 1);
  return idx < 4 ? idx : idx - 1;  // idx == 4 (centre) never asked
}

}  // namespace

int64_t Layout::morton(int64_t y, int64_t x) {
  int64_t z = 0;
  for (int b = 0; b < 31; ++b) {
    z |= ((x >> b) & 1) << (2 * b);
    z |= ((y >> b) & 1) << (2 * b + 1);
  }
  return z;
}

void Layout::unmorton(int64_t z, int64_t* y, int64_t* x) {
  int64_t yy = 0, xx = 0;
  for (int b = 0; b < 31; ++b) {
    xx |= ((z >> (2 * b)) & 1) << b;
    yy |= ((z >> (2 * b + 1)) & 1) << b;
  }
  *y = yy;
  *x = xx;
}

Layout::Layout(const AttentionConfig& config) : config_(config) {
  const int L = coarse_levels(config);  // validates
  const int64_t m = config.m, p = config.p;
  if (config.variant == Variant::grid2d) {
    side_ = config.grid_side;
    tokens_ = side_ * side_;
    config_.n = tokens_;
    LevelGeometry fine;
    fine.level = 0;
    fine.width = m;
    fine.block_tokens = 1;
    fine.slots = 9 * m * m;
    fine.group_queries = m * m;
    fine.groups = tokens_ / (m * m);
    fine.blocks = tokens_;
    levels_.push_back(fine);
    for (int l = 1; l <= L; ++l) {
      const int64_t s = m << (l - 1);
      LevelGeometry g;
      g.level = l;
      g.width = s;
      g.block_tokens = s * s;
      g.summaries = p;
      g.alpha = config.scale_attn ? static_cast<double>((s * s) / p) : 1.0;
      g.slots = 32 * p;
      g.group_queries = 4 * s * s;
      g.groups = tokens_ / g.group_queries;
      g.blocks = (side_ / s) * (side_ / s);
      levels_.push_back(g);
    }
  } else {
    tokens_ = config.n;
    const bool causal = config.variant == Variant::causal;
    LevelGeometry fine;
    fine.level = 0;
    fine.width = m;
    fine.block_tokens = 1;
    fine.slots = (causal ? 2 : 3) * m;
    fine.group_queries = m;
    fine.groups = tokens_ / m;
    fine.blocks = tokens_;
    levels_.push_back(fine);
    for (int l = 1; l <= L; ++l) {
      const int64_t w = m << (l - 1);
      LevelGeometry g;
      g.level = l;
      g.width = w;
      g.block_tokens = w;
      g.summaries = p;
      g.alpha = config.scale_attn ? static_cast<double>(w / p) : 1.0;
      g.slots = (causal ? 2 : 4) * p;
      g.group_queries = 2 * w;
      g.groups = tokens_ / (2 * w);
      g.blocks = tokens_ / w;
      levels_.push_back(g);
    }
  }
}

int64_t Layout::to_internal(int64_t t) const {
  if (config_.variant != Variant::grid2d) return t;
  return morton(t / side_, t % side_);
}

int64_t Layout::to_token(int64_t z) const {
  if (config_.variant != Variant::grid2d) return z;
  int64_t y, x;
  unmorton(z, &y, &x);
  return y * side_ + x;
}

SlotRef Layout::slot(int l, int64_t i, int64_t k) const {
  return config_.variant == Variant::grid2d ? slot_2d(l, i, k) : slot_1d(l, i, k);
}

SlotRef Layout::slot_1d(int l, int64_t i, int64_t k) const {
  const bool causal = config_.variant == Variant::causal;
  const bool zero_pad = config_.boundary == Boundary::zero_pad;
  const int64_t m = config_.m, p = config_.p, n = tokens_;
  SlotRef r;
  if (l == 0) {
    const int64_t key = (i / m - 1) * m + k;
    r.block = key;
    if (causal && key > i) return r;
    if (key < 0) {
      if (causal && zero_pad) r.valid = r.phantom = true;
      return r;
    }
    r.valid = key < n;
    return r;
  }
  const int64_t w = levels_[static_cast<size_t>(l)].width;
  const int64_t P = i / (2 * w), c = i / w, jb = k / p;
  static const int64_t kOffsets[4] = {-2, -1, 2, 3};
  const int64_t b = 2 * P + kOffsets[jb];
  r.block = b;
  r.summary = static_cast<int>(k % p);
  if (b == c - 1 || b == c + 1) return r;  // served by the next finer level
  if (b < 0) {
    if (causal && zero_pad) r.valid = r.phantom = true;
    return r;
  }
  r.valid = b < n / w;
  return r;
}

SlotRef Layout::slot_2d(int l, int64_t i, int64_t k) const {
  const int64_t G = side_, y = i / G, x = i % G;
  SlotRef r;
  if (l == 0) {
    const int64_t rr = config_.m, cells = G / rr;
    const int64_t nb = k / (rr * rr), j = k % (rr * rr);
    const int64_t ncy = y / rr + nb / 3 - 1, ncx = x / rr + nb % 3 - 1;
    if (ncy < 0 || ncx < 0 || ncy >= cells || ncx >= cells) return r;
    int64_t jy, jx;
    unmorton(j, &jy, &jx);
    r.block = (ncy * rr + jy) * G + ncx * rr + jx;
    r.valid = true;
    return r;
  }
  const int64_t s = levels_[static_cast<size_t>(l)].width, cells = G / s, p = config_.p;
  const int64_t cy = y / s, cx = x / s;
  const int64_t cand = k / p;
  int64_t dy, dx, chy, chx;
  direction(cand / 4, &dy, &dx);
  unmorton(cand % 4, &chy, &chx);
  const int64_t by = 2 * (cy / 2 + dy) + chy, bx = 2 * (cx / 2 + dx) + chx;
  r.summary = static_cast<int>(k % p);
  if (by < 0 || bx < 0 || by >= cells || bx >= cells) return r;
  r.block = by * cells + bx;
  r.valid = chebyshev(by, bx, cy, cx) > 1;
  return r;
}

int64_t Layout::key_row(int l, int64_t g, int64_t k) const {
  if (config_.variant == Variant::grid2d) return key_row_2d(l, g, k);
  const int64_t m = config_.m, p = config_.p, n = tokens_;
  if (l == 0) {
    const int64_t key = (g - 1) * m + k;
    return key >= 0 && key < n ? key : -1;
  }
  static const int64_t kOffsets[4] = {-2, -1, 2, 3};
  const int64_t w = levels_[static_cast<size_t>(l)].width;
  const int64_t b = 2 * g + kOffsets[k / p];
  return b >= 0 && b < n / w ? b * p + k % p : -1;
}

int64_t Layout::key_row_2d(int l, int64_t g, int64_t k) const {
  const int64_t G = side_;
  if (l == 0) {
    const int64_t rr = config_.m, cells = G / rr;
    int64_t cy, cx;
    unmorton(g, &cy, &cx);
    const int64_t nb = k / (rr * rr), j = k % (rr * rr);
    const int64_t ncy = cy + nb / 3 - 1, ncx = cx + nb % 3 - 1;
    if (ncy < 0 || ncx < 0 || ncy >= cells || ncx >= cells) return -1;
    return morton(ncy, ncx) * rr * rr + j;
  }
  const int64_t s = levels_[static_cast<size_t>(l)].width, parents = G / (2 * s), p = config_.p;
  int64_t py, px, dy, dx;
  unmorton(g, &py, &px);
  const int64_t cand = k / p;
  direction(cand / 4, &dy, &dx);
  if (py + dy < 0 || px + dx < 0 || py + dy >= parents || px + dx >= parents) return -1;
  // Children of a parent are 4 consecutive cells in Z order at this level.
  return (morton(py + dy, px + dx) * 4 + cand % 4) * p + k % p;
}

bool Layout::slot_valid(int l, int64_t g, int64_t q, int64_t k) const {
  const int64_t z = g * levels_[static_cast<size_t>(l)].group_queries + q;
  return slot(l, to_token(z), k).valid;
}

int Layout::locate(int64_t i, int64_t t, int64_t* first_slot) const {
  const int64_t m = config_.m, p = config_.p;
  if (!serves(config_, 0, i, t)) {
    for (int l = 1; l < num_levels(); ++l) {
      const int64_t w = levels_[static_cast<size_t>(l)].width;
      if (config_.variant == Variant::grid2d) {
        const int64_t G = side_, cells = G / w;
        const int64_t by = (t / G) / w, bx = (t % G) / w;
        if (!serves(config_, l, i, by * cells + bx)) continue;
        const int64_t cy = (i / G) / w, cx = (i % G) / w;
        const int64_t d = direction_index(by / 2 - cy / 2, bx / 2 - cx / 2);
        *first_slot = (d * 4 + morton(by % 2, bx % 2)) * p;
        return l;
      }
      const int64_t b = t / w;
      if (!serves(config_, l, i, b)) continue;
      const int64_t P = i / (2 * w), rel = b - 2 * P;  // one of -2, -1, 2, 3
      const int64_t jb = rel < 0 ? rel + 2 : rel;
      *first_slot = jb * p;
      return l;
    }
    return -1;
  }
  if (config_.variant == Variant::grid2d) {
    const int64_t G = side_;
    const int64_t ty = t / G, tx = t % G, iy = i / G, ix = i % G;
    const int64_t nb = (ty / m - iy / m + 1) * 3 + (tx / m - ix / m + 1);
    *first_slot = nb * m * m + morton(ty % m, tx % m);
  } else {
    *first_slot = t - (i / m - 1) * m;
  }
  return 0;
}

double Layout::phantom_count(int64_t i) const {
  if (config_.variant != Variant::causal || config_.boundary != Boundary::zero_pad) return 0.0;
  double count = i / config_.m == 0 ? static_cast<double>(config_.m) : 0.0;
  for (int l = 1; l < num_levels(); ++l) {
    const LevelGeometry& g = levels_[static_cast<size_t>(l)];
    const int64_t c = i / g.width;
    if (c <= 1) count += static_cast<double>((c + 1) * g.summaries) * g.alpha;
  }
  return count;
}

int64_t Layout::weight_rows(int l) const {
  const LevelGeometry& g = level(l);
  return l > 0 && config_.query_downsampling ? g.blocks : tokens_;
}

int64_t Layout::stored_weights() const {
  int64_t total = 0;
  for (int l = 0; l < num_levels(); ++l) total += weight_rows(l) * level(l).slots;
  return total;
}

std::vector<int64_t> Layout::block_tokens(int l, int64_t block) const {
  if (l == 0) return {block};
  const int64_t w = levels_[static_cast<size_t>(l)].width;
  std::vector<int64_t> out;
  if (config_.variant == Variant::grid2d) {
    const int64_t cells = side_ / w, by = block / cells, bx = block % cells;
    for (int64_t y = by * w; y < (by + 1) * w; ++y)
      for (int64_t x = bx * w; x < (bx + 1) * w; ++x) out.push_back(y * side_ + x);
  } else {
    for (int64_t t = block * w; t < (block + 1) * w; ++t) out.push_back(t);
  }
  return out;
}

bool serves(const AttentionConfig& c, int l, int64_t i, int64_t x) {
  const int64_t m = c.m;
  if (c.variant == Variant::grid2d) {
    const int64_t G = c.grid_side;
    const int64_t iy = i / G, ix = i % G;
    if (l == 0) return chebyshev(x / G / m, x % G / m, iy / m, ix / m) <= 1;
    const int64_t s = m << (l - 1), cells = G / s;
    if (x < 0 || x >= cells * cells) return false;
    const int64_t by = x / cells, bx = x % cells, cy = iy / s, cx = ix / s;
    return chebyshev(by / 2, bx / 2, cy / 2, cx / 2) <= 1 && chebyshev(by, bx, cy, cx) > 1;
  }
  if (l == 0) {
    const int64_t kb = floor_div(x, m), qb = i / m;
    if (x < 0 || x >= c.n) return false;
    if (c.variant == Variant::causal) return x <= i && kb >= qb - 1;
    return std::llabs(kb - qb) <= 1;
  }
  const int64_t w = m << (l - 1), cq = i / w, b = x;
  if (b < 0 || b >= c.n / w) return false;
  const bool odd = cq % 2 == 1;
  if (c.variant == Variant::causal) return b == cq - 2 || (odd && b == cq - 3);
  return b == cq - 2 || b == cq + 2 || (!odd && b == cq + 3) || (odd && b == cq - 3);
}

}  // namespace fmalens
