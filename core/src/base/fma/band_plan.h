// The kernels' view of a Layout: its band plan in internal (Z) order, which only the attention
// kernels read (the viewer and the exporters use Layout's token-order slots).
#pragma once

#include <cstdint>

#include "fmalens/layout.h"

namespace fmalens {

struct LayoutBandPlan {
  // Level l, group g, slot k: the key row in the level's key table, or -1 for a zero key.
  static int64_t key_row(const Layout& layout, int l, int64_t g, int64_t k) { return layout.key_row(l, g, k); }
  // Whether query q (0..Q-1 within group g) may use slot k.
  static bool slot_valid(const Layout& layout, int l, int64_t g, int64_t q, int64_t k) { return layout.slot_valid(l, g, q, k); }
};

}  // namespace fmalens
