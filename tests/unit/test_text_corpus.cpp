// Text corpora: a folder with train/ and heldout/ is split by them, and with the files' starts
// every sampled window lies within one file (files too short for a window are never drawn);
// without them windows run across files as before.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "fmalens/train.h"
#include "test_util.h"
#include "train_util.h"
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

// eval --context: every held-out byte scored once (the first 128 KiB of each file), sorted into
// offset buckets that add up to the whole; the window length changes what a byte sees.
TEST(TextCorpus, ContextEvalScoresEveryHeldoutByteOnceByOffset) {
  test::TempDir tmp;
  std::string text;
  for (int i = 0; text.size() < 150000; ++i) text += "line " + std::to_string(i % 97) + ": the quick brown fox " + std::to_string(i % 13) + "\n";
  std::filesystem::create_directories(tmp.path + "/data/train");
  std::filesystem::create_directories(tmp.path + "/data/heldout");
  test::write_file(tmp.path + "/data/train/t.txt", text.substr(0, 20000));
  test::write_file(tmp.path + "/data/heldout/a.txt", text.substr(7, 3000));
  test::write_file(tmp.path + "/data/heldout/b.txt", text.substr(0, 140000));  // cut to 128 KiB
  const std::string model = tmp.path + "/m.safetensors";
  train(test::tiny_text_training(model, tmp.path + "/data", 256, 32, 16, 4, 2), nullptr);
  const EvalResult r = evaluate(model, tmp.path + "/data", 0, "cpu", nullptr, {}, 256);
  EXPECT_EQ(r.context, 256);
  EXPECT_EQ(r.items, 2999 + (kContextEvalFileBytes - 1));
  ASSERT_EQ(r.by_offset.size(), 5u);
  int64_t bytes = 0;
  double bits = 0;
  for (const OffsetBucket& b : r.by_offset) {
    bytes += b.bytes;
    bits += b.bits_per_byte * static_cast<double>(b.bytes);
  }
  EXPECT_EQ(bytes, r.items);
  EXPECT_NEAR(bits / static_cast<double>(bytes), r.value, 1e-9);
  EXPECT_EQ(r.by_offset[0].bytes, 2 * 1023);                          // offsets 1..1023 of both files
  EXPECT_EQ(r.by_offset[4].bytes, kContextEvalFileBytes - 65536);     // 64K.. of the long one
  // A shorter window sees less of each file: another figure, on the same bytes.
  const EvalResult short_window = evaluate(model, tmp.path + "/data", 0, "cpu", nullptr, {}, 128);
  EXPECT_EQ(short_window.items, r.items);
  EXPECT_NE(short_window.value, r.value);
  // A file shorter than half a window is one window whatever the length.
  std::filesystem::create_directories(tmp.path + "/short");
  test::write_file(tmp.path + "/short/s.txt", text.substr(0, 100));
  EXPECT_DOUBLE_EQ(evaluate(model, tmp.path + "/short", 0, "cpu", nullptr, {}, 256).value,
                   evaluate(model, tmp.path + "/short", 0, "cpu", nullptr, {}, 200).value);
  // Refused by name: odd, longer than the model's context, no data.
  EXPECT_THROW(evaluate(model, tmp.path + "/data", 0, "cpu", nullptr, {}, 255), Error);
  EXPECT_THROW(evaluate(model, tmp.path + "/data", 0, "cpu", nullptr, {}, 512), Error);
  EXPECT_THROW(evaluate(model, "", 0, "cpu", nullptr, {}, 256), Error);
}

}  // namespace
}  // namespace fmalens
