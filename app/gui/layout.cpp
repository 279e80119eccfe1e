#include "gui/layout.h"

#include <algorithm>
#include <cmath>

namespace fmalens::gui {
namespace {

constexpr float kMinFraction = 0.1f, kMaxFraction = 0.9f;
constexpr float kMinSidebarEm = 10, kMaxSidebarEm = 60;
constexpr float kMinPanelEm = 3;
constexpr float kMaxSidebarShare = 0.35f;

float clamp_or(float v, float lo, float hi, float otherwise) { return std::isfinite(v) ? std::clamp(v, lo, hi) : otherwise; }

// `length` split at `fraction`: the first part's length, each part at least `min_px` when the
// length has room for both.
float split_at(float length, float fraction, float min_px) {
  const float least = std::min(min_px, length * 0.5f);
  return std::round(std::clamp(length * fraction, least, length - least));
}

bool moved(float now, float placed) { return std::fabs(now - placed) > 0.5f; }

}  // namespace

PanelLayout PanelLayout::defaults(bool image_model) {
  PanelLayout l;
  if (image_model) {
    l.column = 0.5f;
    l.left_split = 0.5f;
  }
  return l;
}

PanelLayout clamped(PanelLayout l) {
  const PanelLayout d;
  l.sidebar_em = clamp_or(l.sidebar_em, kMinSidebarEm, kMaxSidebarEm, d.sidebar_em);
  l.column = clamp_or(l.column, kMinFraction, kMaxFraction, d.column);
  l.left_split = clamp_or(l.left_split, kMinFraction, kMaxFraction, d.left_split);
  l.right_split = clamp_or(l.right_split, kMinFraction, kMaxFraction, d.right_split);
  return l;
}

LayoutRects layout_rects(const PanelLayout& layout, const bool shown[kSlotCount], const Rect& client, float font_size) {
  const PanelLayout l = clamped(layout);
  LayoutRects r;
  const float most = std::floor(client.w * kMaxSidebarShare);
  const float sidebar_w = std::round(std::clamp(l.sidebar_em * font_size, std::min(kMinSidebarEm * font_size, most), most));
  r.sidebar = {client.x, client.y, sidebar_w, client.h};
  r.views = {client.x + sidebar_w, client.y, client.w - sidebar_w, client.h};
  const float min_px = kMinPanelEm * font_size;
  const bool left = shown[0] || shown[1], right = shown[2] || shown[3];
  const float left_w = left && right ? split_at(r.views.w, l.column, min_px) : left ? r.views.w : 0;
  auto column = [&](float x, float w, int top, float fraction) {
    if (w <= 0) return;
    const int bottom = top + 1;
    const float top_h = shown[top] && shown[bottom] ? split_at(client.h, fraction, min_px) : shown[top] ? client.h : 0;
    if (shown[top]) r.slots[top] = {x, client.y, w, top_h};
    if (shown[bottom]) r.slots[bottom] = {x, client.y + top_h, w, client.h - top_h};
  };
  column(r.views.x, left_w, 0, l.left_split);
  column(r.views.x + left_w, r.views.w - left_w, 2, l.right_split);
  return r;
}

PanelLayout layout_after_resize(const PanelLayout& layout, const bool shown[kSlotCount], const Rect& client, float font_size,
                                const Slot* slot, const Rect& now) {
  PanelLayout l = clamped(layout);
  if (font_size <= 0 || client.w <= 0 || client.h <= 0) return l;
  const LayoutRects placed = layout_rects(l, shown, client, font_size);
  const Rect& views = placed.views;
  if (!slot) {
    if (moved(now.right(), placed.sidebar.right())) l.sidebar_em = (now.right() - client.x) / font_size;
    return clamped(l);
  }
  const int index = static_cast<int>(*slot);
  const Rect& p = placed.slots[index];
  if (p.w <= 0 || p.h <= 0) return l;  // not shown: it was not placed
  const bool left_column = index < 2, top = index % 2 == 0;
  const bool other_column = left_column ? shown[2] || shown[3] : shown[0] || shown[1];
  // Left edge: the sidebar's border when the panel starts the views, else the column split.
  if (moved(now.x, p.x)) {
    if (p.x == views.x) l.sidebar_em = (now.x - client.x) / font_size;
    else if (!left_column && views.w > 0) l.column = (now.x - views.x) / views.w;
  }
  if (left_column && other_column && views.w > 0 && moved(now.right(), p.right())) l.column = (now.right() - views.x) / views.w;
  float& split = left_column ? l.left_split : l.right_split;
  const bool partner_shown = shown[index ^ 1];  // the other panel of the column
  if (partner_shown) {
    if (top && moved(now.bottom(), p.bottom())) split = (now.bottom() - client.y) / client.h;
    if (!top && moved(now.y, p.y)) split = (now.y - client.y) / client.h;
  }
  return clamped(l);
}

}  // namespace fmalens::gui
