// The views' registry: one complete row per view, names that round-trip, and the `--view` list.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "gui/views.h"

namespace fmalens::gui {
namespace {

TEST(Views, EveryViewHasOneCompleteRowInViewIdOrder) {
  std::set<std::string> names, titles;
  for (int v = 0; v < kViewCount; ++v) {
    const ViewRow& row = view_rows()[static_cast<size_t>(v)];
    SCOPED_TRACE(row.name());
    EXPECT_EQ(static_cast<int>(row.id), v);
    EXPECT_NE(row.panel, nullptr);
    EXPECT_NE(row.figure.draw, nullptr);
    EXPECT_NE(row.figure.available, nullptr);
    EXPECT_TRUE(names.insert(row.name()).second) << "two views named " << row.name();
    EXPECT_TRUE(titles.insert(row.title).second);
    EXPECT_EQ(view_from_name(row.name()), row.id);
    EXPECT_EQ(&view_row(row.id), &row);
  }
  EXPECT_FALSE(view_from_name("all").has_value());
  EXPECT_FALSE(view_from_name("Matrix").has_value());
}

TEST(Views, ViewListsAreParsedInTheOrderGiven) {
  bool all = true;
  const auto two = parse_view_list("levels,matrix,levels", &all);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], &view_row(ViewId::levels).figure);
  EXPECT_EQ(two[1], &view_row(ViewId::matrix).figure);
  EXPECT_FALSE(all);
  EXPECT_EQ(parse_view_list("all", &all).size(), static_cast<size_t>(kViewCount));
  EXPECT_TRUE(all);
  try {
    parse_view_list("matrix,sideways");
    ADD_FAILURE() << "an unknown view was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown view 'sideways'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(view_names_help()), std::string::npos) << msg;
  }
  EXPECT_THROW(parse_view_list(",,"), Error);
}

}  // namespace
}  // namespace fmalens::gui
