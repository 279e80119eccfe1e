// The window's tiling, computed from the window's size every frame: a sidebar on the left and
// the views in two columns of two panels each (matrix over text or region maps, levels over
// the details). The splits are fractions, so the panels follow the window and never leave it;
// the user moves them by dragging a panel's inner border; they are remembered per model kind
// (text, image) in the settings. No ImGui here: the tests check the rules without a window.
#pragma once

namespace fmalens::gui {

struct Rect {
  float x = 0, y = 0, w = 0, h = 0;
  float right() const { return x + w; }
  float bottom() const { return y + h; }
};

struct PanelLayout {
  float sidebar_em = 21;      // the sidebar's width in font heights
  float column = 0.58f;       // the left column's share of the views' width
  float left_split = 0.62f;   // the top-left panel's share of the left column's height
  float right_split = 0.36f;  // the top-right panel's share of the right column's height
  // Text models: a tall matrix over the text. Image models: the region maps (a grid of maps
  // over the picture) get as much room as the matrix.
  static PanelLayout defaults(bool image_model);
  bool operator==(const PanelLayout& o) const {
    return sidebar_em == o.sidebar_em && column == o.column && left_split == o.left_split && right_split == o.right_split;
  }
  bool operator!=(const PanelLayout& o) const { return !(*this == o); }
};

enum class Slot { top_left, bottom_left, top_right, bottom_right };
constexpr int kSlotCount = 4;

struct LayoutRects {
  Rect sidebar;
  Rect views;                  // everything right of the sidebar (one view alone fills it)
  Rect slots[kSlotCount];      // by Slot; an unshown slot's rect is empty (w = h = 0)
  const Rect& slot(Slot s) const { return slots[static_cast<int>(s)]; }
};

// `client`: the window below the menu bar and above the status bar. A hidden slot's neighbour
// takes its room (a column with both hidden gives its width to the other). The sidebar keeps
// at least 10 font heights and at most 35 % of the window; a panel keeps at least 3 font heights
// (when the window has them).
LayoutRects layout_rects(const PanelLayout& layout, const bool shown[kSlotCount], const Rect& client, float font_size);

// The layout after the user dragged a border: `now` is where the sidebar (slot == nullptr) or a
// slot lies after the drag, the layout having placed it at layout_rects(...). An inner edge that
// moved becomes the new split; edges on the window's border are not splits and are ignored.
PanelLayout layout_after_resize(const PanelLayout& layout, const bool shown[kSlotCount], const Rect& client, float font_size,
                                const Slot* slot, const Rect& now);

// Fractions within [0.1, 0.9] and a sidebar within [10, 60] font heights: what a settings file
// (or a drag) may give is brought back to a usable layout.
PanelLayout clamped(PanelLayout layout);

}  // namespace fmalens::gui
