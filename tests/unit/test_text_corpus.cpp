// Text corpora: a folder with train/ and heldout/ is split by them, and with the files' starts
// every sampled window lies within one file (files too short for a window are never drawn);
// without them windows run across files as before.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "test_util.h"
#include "train/datasets.h"

namespace fmalens {
namespace {

TEST(TextCorpus, TrainAndHeldoutFoldersAndWindowsWithinFiles) {
  test::TempDir tmp;
  std::filesystem::create_directories(tmp.path + "/train");
  std::filesystem::create_directories(tmp.path + "/heldout");
  test::write_file(tmp.path + "/train/1.c", std::string(300, 'a'));
  test::write_file(tmp.path + "/train/2.c", std::string(50, 'b'));  // shorter than a window
  test::write_file(tmp.path + "/train/3.c", std::string(400, 'c'));
  test::write_file(tmp.path + "/heldout/4.c", std::string(200, 'd'));
  const TextCorpus corpus = load_text_corpus(tmp.path);
  ASSERT_EQ(corpus.train_files.size(), 3u);
  ASSERT_EQ(corpus.val_files.size(), 1u);
  EXPECT_EQ(corpus.train_starts, (std::vector<int64_t>{0, 301, 352}));
  EXPECT_EQ(corpus.val, std::string(200, 'd') + "\n");
  std::mt19937_64 rng(1);
  const auto windows = sample_text_windows(corpus.train, 400, 100, rng, &corpus.train_starts);
  std::set<int64_t> letters;
  for (int64_t b = 0; b < windows.size(0); ++b) {
    const auto row = windows[b];
    const int64_t first = row[0].item<int64_t>();
    letters.insert(first);
    EXPECT_TRUE(row.eq(first).all().item<bool>()) << "window " << b << " spans two files";
  }
  EXPECT_EQ(letters, (std::set<int64_t>{'a', 'c'}));
  // Without the starts, some windows cross a file's end (the old sampling).
  std::mt19937_64 again(1);
  const auto anywhere = sample_text_windows(corpus.train, 400, 100, again);
  bool crossed = false;
  for (int64_t b = 0; b < anywhere.size(0); ++b) crossed = crossed || !anywhere[b].eq(anywhere[b][0]).all().item<bool>();
  EXPECT_TRUE(crossed);
  EXPECT_THROW(sample_text_windows(corpus.train, 1, 500, rng, &corpus.train_starts), c10::Error);  // no file holds 501 bytes
}

}  // namespace
}  // namespace fmalens
