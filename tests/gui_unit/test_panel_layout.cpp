// The window's tiling (gui/layout.h): panels inside the window at every size, hidden panels'
// room given to their neighbours, a dragged inner border becoming the split, outer borders
// ignored; the layout and window size kept in the settings; Reset layout per model kind; the
// status bar's summary.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gui/app_state.h"
#include "gui/layout.h"
#include "gui/settings.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::gui {
namespace {

constexpr bool kAll[kSlotCount] = {true, true, true, true};

bool inside(const Rect& r, const Rect& outer) {
  return r.x >= outer.x - 1e-3f && r.y >= outer.y - 1e-3f && r.right() <= outer.right() + 1e-3f && r.bottom() <= outer.bottom() + 1e-3f;
}
float area(const Rect& r) { return r.w * r.h; }

struct WindowCase {
  float w, h, font;
};

TEST(PanelLayout, PanelsTileTheWindowAtEverySizeAndScale) {
  // 800x600, 1280x800, 2560x1440 at 1x; a 2x interface at 1600x1000 and 2560x1440; a tiny window.
  const WindowCase cases[] = {{800, 600, 15}, {1280, 800, 15}, {2560, 1440, 15}, {1600, 1000, 30}, {2560, 1440, 30}, {320, 240, 15}};
  for (bool image : {false, true})
    for (const WindowCase& c : cases) {
      SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h) + " font " + std::to_string(c.font) + (image ? " image" : " text"));
      const Rect client{0, 22, c.w, c.h - 22 - 22};
      const LayoutRects r = layout_rects(PanelLayout::defaults(image), kAll, client, c.font);
      EXPECT_TRUE(inside(r.sidebar, client));
      EXPECT_LE(r.sidebar.w, c.w * 0.35f + 1);
      EXPECT_FLOAT_EQ(r.sidebar.right(), r.views.x);
      float sum = 0;
      for (const Rect& s : r.slots) {
        EXPECT_TRUE(inside(s, r.views));
        EXPECT_GT(s.w, 0);
        EXPECT_GT(s.h, 0);
        sum += area(s);
      }
      EXPECT_NEAR(sum, area(r.views), 1.0f);  // no gap, no overlap
      // Columns line up: the right column starts where the left one ends.
      EXPECT_FLOAT_EQ(r.slot(Slot::top_left).right(), r.slot(Slot::top_right).x);
      EXPECT_FLOAT_EQ(r.slot(Slot::top_left).bottom(), r.slot(Slot::bottom_left).y);
      if (c.h >= 600) {
        for (const Rect& s : r.slots) EXPECT_GE(s.h, 3 * c.font - 1);  // every panel keeps a few lines
      }
    }
}

TEST(PanelLayout, HiddenPanelsGiveTheirRoomToTheirNeighbours) {
  const Rect client{0, 20, 1280, 760};
  const PanelLayout l;
  const bool no_bottom_left[kSlotCount] = {true, false, true, true};
  LayoutRects r = layout_rects(l, no_bottom_left, client, 15);
  EXPECT_FLOAT_EQ(r.slot(Slot::top_left).h, client.h);
  EXPECT_FLOAT_EQ(r.slot(Slot::bottom_left).w, 0);
  const bool left_only[kSlotCount] = {true, true, false, false};
  r = layout_rects(l, left_only, client, 15);
  EXPECT_FLOAT_EQ(r.slot(Slot::top_left).w, r.views.w);
  const bool right_only[kSlotCount] = {false, false, true, true};
  r = layout_rects(l, right_only, client, 15);
  EXPECT_FLOAT_EQ(r.slot(Slot::top_right).x, r.views.x);
  EXPECT_FLOAT_EQ(r.slot(Slot::top_right).w, r.views.w);
}

TEST(PanelLayout, DraggingAnInnerBorderMovesTheSplitAndOuterBordersDoNot) {
  const Rect client{0, 20, 1280, 760};
  const float font = 15;
  const PanelLayout l;
  const LayoutRects before = layout_rects(l, kAll, client, font);
  const Slot top_left = Slot::top_left, bottom_right = Slot::bottom_right;

  // The matrix's right border 60 px to the right: the column split follows, both columns agree.
  Rect dragged = before.slot(Slot::top_left);
  dragged.w += 60;
  PanelLayout after = layout_after_resize(l, kAll, client, font, &top_left, dragged);
  LayoutRects now = layout_rects(after, kAll, client, font);
  EXPECT_NEAR(now.slot(Slot::top_left).right(), dragged.right(), 1.0f);
  EXPECT_NEAR(now.slot(Slot::top_right).x, dragged.right(), 1.0f);
  EXPECT_NEAR(now.slot(Slot::bottom_left).right(), dragged.right(), 1.0f);
  EXPECT_FLOAT_EQ(after.left_split, l.left_split);

  // Its bottom border up 100 px: the left column's split.
  dragged = before.slot(Slot::top_left);
  dragged.h -= 100;
  after = layout_after_resize(l, kAll, client, font, &top_left, dragged);
  now = layout_rects(after, kAll, client, font);
  EXPECT_NEAR(now.slot(Slot::bottom_left).y, dragged.bottom(), 1.0f);
  EXPECT_FLOAT_EQ(after.right_split, l.right_split);
  EXPECT_FLOAT_EQ(after.column, l.column);

  // The details' top border (moving its y and height together): the right column's split.
  dragged = before.slot(Slot::bottom_right);
  dragged.y -= 40;
  dragged.h += 40;
  after = layout_after_resize(l, kAll, client, font, &bottom_right, dragged);
  EXPECT_NEAR(layout_rects(after, kAll, client, font).slot(Slot::top_right).bottom(), dragged.y, 1.0f);

  // Borders on the window's edge are not splits: the details' right and bottom edges.
  dragged = before.slot(Slot::bottom_right);
  dragged.w -= 50;
  dragged.h -= 50;
  EXPECT_EQ(layout_after_resize(l, kAll, client, font, &bottom_right, dragged), l);

  // The sidebar's right border (or the matrix's left one) sets the sidebar's width.
  Rect sidebar = before.sidebar;
  sidebar.w += 45;
  after = layout_after_resize(l, kAll, client, font, nullptr, sidebar);
  EXPECT_NEAR(layout_rects(after, kAll, client, font).sidebar.w, sidebar.w, 1.0f);
  dragged = before.slot(Slot::top_left);
  dragged.x -= 30;
  dragged.w += 30;
  after = layout_after_resize(l, kAll, client, font, &top_left, dragged);
  EXPECT_NEAR(layout_rects(after, kAll, client, font).sidebar.w, before.sidebar.w - 30, 1.0f);

  // A drag past the limits stops at them: the matrix never squeezes the right column away.
  dragged = before.slot(Slot::top_left);
  dragged.w = client.w * 2;
  after = layout_after_resize(l, kAll, client, font, &top_left, dragged);
  EXPECT_LE(after.column, 0.9f);
  EXPECT_GT(layout_rects(after, kAll, client, font).slot(Slot::top_right).w, 0);
}

TEST(PanelLayout, SettingsKeepTheSplitsPerKindAndTheWindowSize) {
  AppState s;
  s.layouts[0].column = 0.7f;
  s.layouts[1].left_split = 0.3f;
  s.layouts[1].sidebar_em = 30;
  s.window_width = 1500;
  s.window_height = 900;
  AppState t;
  float scale = 1;
  settings_from_json(settings_to_json(s, 1.0f), &t, &scale);
  EXPECT_EQ(t.layouts[0], s.layouts[0]);
  EXPECT_EQ(t.layouts[1], s.layouts[1]);
  EXPECT_EQ(t.window_width, 1500);
  EXPECT_EQ(t.window_height, 900);

  // Out of range, not numbers, a window too small: clamped or skipped, never fatal.
  AppState u;
  settings_from_json(R"({"layout": {"text": {"column": 5, "left_split": "x", "sidebar_em": -3}, "image": 7},
                         "window": {"width": 10, "height": 900}})",
                     &u, &scale);
  EXPECT_FLOAT_EQ(u.layouts[0].column, 0.9f);
  EXPECT_FLOAT_EQ(u.layouts[0].left_split, PanelLayout().left_split);
  EXPECT_FLOAT_EQ(u.layouts[0].sidebar_em, 10);
  EXPECT_EQ(u.layouts[1], PanelLayout::defaults(true));
  EXPECT_EQ(u.window_width, 0);
  EXPECT_EQ(clamped(PanelLayout{std::numeric_limits<float>::quiet_NaN(), 0.5f, 0.5f, 0.5f}).sidebar_em, PanelLayout().sidebar_em);
}

EngineResult synthetic_result(render::SyntheticSpec spec, int64_t tokens) {
  EngineResult r;
  spec.tokens = tokens;
  r.snapshot = std::make_shared<const Snapshot>(render::make_synthetic_snapshot(spec));
  auto info = render::make_synthetic_model_info(*r.snapshot);
  info.path = "/models/text_fma.safetensors";
  r.model = std::make_shared<const ModelInfo>(info);
  return r;
}

TEST(PanelLayout, ResetLayoutResetsTheCurrentKindOnly) {
  AppState s;
  s.layouts[0].column = 0.8f;
  s.layouts[1].column = 0.2f;
  apply(s, ResetLayout{});  // no model yet: a text layout
  EXPECT_EQ(s.layouts[0], PanelLayout::defaults(false));
  EXPECT_FLOAT_EQ(s.layouts[1].column, 0.2f);
}

TEST(StatusBar, SummaryNamesTheModelTheInputAndTheSelection) {
  AppState s;
  s.device_labels["cpu"] = "cpu";
  s.device = "cpu";
  EXPECT_EQ(status_summary(s), "no model \u00b7 cpu");
  s.checkpoint = "/models/text_fma.safetensors";
  const EngineResult r = synthetic_result(render::SyntheticSpec::sequence(Variant::causal, 128, 16, 2, 2, 2), 100);
  s.generation = 1;
  s.running = true;
  EngineResult done = r;
  done.generation = 1;
  apply(s, RunFinished{done});
  s.layer = 1;
  s.head = 2;
  s.query = 42;
  const std::string summary = status_summary(s);
  EXPECT_EQ(summary.rfind("text_fma \u00b7 100 bytes \u00b7 layer 1/", 0), 0u) << summary;
  EXPECT_NE(summary.find("head 2 \u00b7 query 42 \u00b7 cpu"), std::string::npos) << summary;
}

}  // namespace
}  // namespace fmalens::gui
