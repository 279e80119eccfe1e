// The band layout of FMA in GLSL: for query i and key token t, the level that serves t and
// its first slot. The same arithmetic as Layout::locate and serves() in
// core/src/fma/layout.cpp (a render test compares the two for every cell of several layouts).
//   1D, fine block size m: the fine level holds key blocks c0-1 and c0 (causal; c0+1 too when
//   bidirectional); coarse level l (width w = m 2^(l-1)), query block c = i / w: key block b
//   is served when b = c-2, or c-3 for odd c (bidirectional also c+2, and c+3 for even c).
//   2D, fine cell side r on a G x G grid: the fine level holds the 3 x 3 cells around the
//   query's cell; level l (side s = r 2^(l-1)) the children of the parent's 3 x 3 parents that
//   are not within Chebyshev distance 1 of the query's cell.
uniform int u_variant;  // 0 causal, 1 bidirectional, 2 grid2d
uniform int u_n;        // tokens the layout covers (1D: the padded n; 2D: G * G)
uniform int u_m;        // 1D: fine block size m; 2D: fine cell side r
uniform int u_p;        // summaries per block
uniform int u_grid;     // 2D: grid side G
uniform int u_levels;   // 1 + number of coarse levels

// a / b for a >= 0, b > 0. GPUs (and llvmpipe, which scalarises integer division) divide
// integers slowly; a float quotient corrected by one step is exact for a, b < 2^24.
int idiv(int a, int b) {
  int q = int(float(a) / float(b));
  if (q * b > a) --q;
  else if ((q + 1) * b <= a) ++q;
  return q;
}
ivec2 idiv(ivec2 a, int b) { return ivec2(idiv(a.x, b), idiv(a.y, b)); }

// Morton (Z) order, bits interleaved x first (Layout::morton).
int spread_bits(int v) {
  v &= 0xFFFF;
  v = (v | (v << 8)) & 0x00FF00FF;
  v = (v | (v << 4)) & 0x0F0F0F0F;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v;
}
int compact_bits(int v) {
  v &= 0x55555555;
  v = (v | (v >> 1)) & 0x33333333;
  v = (v | (v >> 2)) & 0x0F0F0F0F;
  v = (v | (v >> 4)) & 0x00FF00FF;
  v = (v | (v >> 8)) & 0x0000FFFF;
  return v;
}
int morton(int y, int x) { return spread_bits(x) | (spread_bits(y) << 1); }
ivec2 unmorton(int z) { return ivec2(compact_bits(z >> 1), compact_bits(z)); }  // (y, x)

int chebyshev(ivec2 a, ivec2 b) {
  ivec2 d = abs(a - b);
  return max(d.x, d.y);
}

// Neighbour index of a parent offset (dy, dx) in -1..1, row-major with the centre skipped.
int direction_index(ivec2 d) {
  int idx = (d.x + 1) * 3 + (d.y + 1);
  return idx < 4 ? idx : idx - 1;
}

// Why a loop of shifts finds the level: after the fine level and coarse levels 1..l, the
// keys covered are exactly those whose block at width m 2^l (2D: cell of side r 2^l) is the
// query's or a neighbour of it (causal: only the left neighbour), so the serving level is the
// smallest l at which the two blocks, shifted right by l, are at most one apart.
int locate_1d(int i, int t, out int first_slot) {
  first_slot = 0;
  if (i < 0 || t < 0 || i >= u_n || t >= u_n) return -1;
  bool causal = u_variant == 0;
  if (causal && t > i) return -1;
  int qb = idiv(i, u_m), kb = idiv(t, u_m);
  if (causal ? kb >= qb - 1 : abs(kb - qb) <= 1) {
    first_slot = t - (qb - 1) * u_m;
    return 0;
  }
  int l = 1;
  while (l < u_levels && abs((qb >> l) - (kb >> l)) > 1) ++l;
  if (l >= u_levels) return -1;
  int c = qb >> (l - 1), b = kb >> (l - 1);  // blocks at the level's width m 2^(l-1)
  int rel = b - 2 * (c >> 1);               // one of -2, -1, 2, 3
  first_slot = (rel < 0 ? rel + 2 : rel) * u_p;
  return l;
}

// i and t are row-major token indices on the G x G grid.
int locate_2d(int i, int t, out int first_slot) {
  first_slot = 0;
  int G = u_grid;
  if (i < 0 || t < 0 || i >= G * G || t >= G * G) return -1;
  int iy = idiv(i, G), ty = idiv(t, G);
  ivec2 q = ivec2(iy, i - iy * G), k = ivec2(ty, t - ty * G);  // (y, x)
  int r = u_m;
  ivec2 kc = idiv(k, r), qc = idiv(q, r);  // fine cells
  if (chebyshev(kc, qc) <= 1) {
    ivec2 nb = kc - qc + 1;
    first_slot = (nb.x * 3 + nb.y) * r * r + morton(k.x - kc.x * r, k.y - kc.y * r);
    return 0;
  }
  int l = 1;
  while (l < u_levels && chebyshev(kc >> l, qc >> l) > 1) ++l;
  if (l >= u_levels) return -1;
  ivec2 b = kc >> (l - 1), c = qc >> (l - 1);  // cells at the level's side r 2^(l-1)
  first_slot = (direction_index((b >> 1) - (c >> 1)) * 4 + morton(b.x & 1, b.y & 1)) * u_p;
  return l;
}

// Level serving key token t for query i (-1: none) and its first slot; token order.
int locate(int i, int t, out int first_slot) {
  return u_variant == 2 ? locate_2d(i, t, first_slot) : locate_1d(i, t, first_slot);
}

// Column of the level's band texture that holds the cell's value (render/band_data.h).
int band_column(int level, int first_slot) { return level == 0 ? first_slot : idiv(first_slot, u_p); }

// Row-major token of an axis position: 2D matrices can order their axes along the Z curve,
// where every cell of every level is a contiguous range.
int axis_token(int a, int z_order) {
  if (u_variant != 2 || z_order == 0) return a;
  ivec2 yx = unmorton(a);
  return yx.x * u_grid + yx.y;
}
