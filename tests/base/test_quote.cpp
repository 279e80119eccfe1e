// The one function that quotes outside values in messages (fmalens/quote.h).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "fmalens/config.h"
#include "fmalens/quote.h"

namespace fmalens {
namespace {

TEST(Quote, PlainValuesAreQuotedAsTheyAre) {
  EXPECT_EQ(quote("causal"), "'causal'");
  EXPECT_EQ(quote(""), "''");
  EXPECT_EQ(quote("caf\xc3\xa9 \xe2\x9c\x93"), "'caf\xc3\xa9 \xe2\x9c\x93'");  // UTF-8 stays readable
}

TEST(Quote, ControlBytesBackslashesAndInvalidUtf8AreEscaped) {
  EXPECT_EQ(quote("ca\nusal"), "'ca\\nusal'");
  EXPECT_EQ(quote("a\tb\rc"), "'a\\tb\\rc'");
  EXPECT_EQ(quote(std::string("a\0b\x08\x7f", 5)), "'a\\x00b\\x08\\x7f'");
  EXPECT_EQ(quote("back\\slash"), "'back\\\\slash'");
  EXPECT_EQ(quote("bad \xff\xfe utf8 \xc3"), "'bad \\xff\\xfe utf8 \\xc3'");
  EXPECT_EQ(quote("overlong \xc0\xaf"), "'overlong \\xc0\\xaf'");
  // C1 controls, the line and paragraph separators, bidirectional overrides.
  EXPECT_EQ(quote("nel\xc2\x85"), "'nel\\x85'");
  EXPECT_EQ(quote("ls\xe2\x80\xa8ps\xe2\x80\xa9"), "'ls\\u{2028}ps\\u{2029}'");
  EXPECT_EQ(quote("rlo\xe2\x80\xae"), "'rlo\\u{202e}'");
}

TEST(Quote, LongValuesAreCutWithTheirLength) {
  const std::string long_value(200, 'x');
  EXPECT_EQ(quote(long_value, 10), "'xxxxxxxxxx...' (200 bytes)");
  EXPECT_EQ(quote(long_value).size(), std::string("'...' (200 bytes)").size() + 80);
  // Cut at a character boundary: never half a UTF-8 sequence.
  EXPECT_EQ(quote("ab\xc3\xa9\xc3\xa9", 3), "'ab...' (6 bytes)");
  EXPECT_EQ(quote(std::string(10, 'y'), 10), "'yyyyyyyyyy'");
}

TEST(Quote, PathsAreShownAsTypedUnlessTheyNeedEscapes) {
  EXPECT_EQ(shown_path("/tmp/model.safetensors"), "/tmp/model.safetensors");
  EXPECT_EQ(shown_path("/tmp/mod\xc3\xa8le dir/x.png"), "/tmp/mod\xc3\xa8le dir/x.png");
  EXPECT_EQ(shown_path("no\nsuch.safetensors"), "'no\\nsuch.safetensors'");
  EXPECT_EQ(shown_path(""), "''");
  EXPECT_EQ(shown_path(std::string(300, 'p')), std::string(300, 'p'));
}

TEST(Quote, ErrorLineKeepsOneLine) {
  // An Error's message is one line with its values quoted: only stray control bytes change.
  EXPECT_EQ(error_line(Error("x: got 'a\\nb'")), "x: got 'a\\nb'");
  EXPECT_EQ(error_line(Error("x: raw\nnewline")), "x: raw\\nnewline");
  // Any other exception (LibTorch's carry a backtrace): its first line.
  EXPECT_EQ(error_line(std::runtime_error("shape mismatch\nException raised from ...\nframe #0")), "shape mismatch");
}

}  // namespace
}  // namespace fmalens
