// nanoGPT checkpoints with their tokenizers (tests/fixtures/tokenizers, made by
// make_tokenizers.py): the char model finds its meta.pkl as nanoGPT's sample.py does and gives
// the logits the PyTorch reference gives; the BPE model runs with its files and refuses without.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "fmalens/model.h"
#include "test_util.h"

namespace fmalens {
namespace {

const std::string kDir = FMALENS_FIXTURES_DIR "/tokenizers";

void expect_logits(const Snapshot& s, const std::string& npy) {
  const test::Npy expected = test::read_npy(npy);
  ASSERT_EQ(s.logits.shape, expected.shape);
  double worst = 0;
  for (size_t k = 0; k < expected.data.size(); ++k) worst = std::max(worst, std::fabs(double(s.logits.data[k]) - expected.data[k]));
  EXPECT_LT(worst, 2e-4) << npy;
}

TEST(TokenizerModels, CharModelRunsItsTextWithNanoGptsLogits) {
  auto model = Model::load(kDir + "/nanogpt_char/out-shakespeare-char/ckpt.pt");
  ASSERT_TRUE(model->tokenizer());
  EXPECT_EQ(model->tokenizer()->kind(), Tokenizer::Kind::char_map);
  EXPECT_NE(model->info().tokenizer.find("char map of 35 from "), std::string::npos) << model->info().tokenizer;
  EXPECT_NE(model->describe().find("tokenizer   char map of 35"), std::string::npos);
  const std::string text = test::read_file(kDir + "/nanogpt_char/input.txt");
  const Snapshot s = model->run_text(text);
  EXPECT_EQ(s.tokens, static_cast<int64_t>(text.size()));
  ASSERT_EQ(s.token_ids.size(), text.size());
  EXPECT_EQ(s.token_text(0), "F");
  EXPECT_EQ(s.vocabulary_entry(s.token_ids[1]), "i");
  expect_logits(s, kDir + "/nanogpt_char/logits.npy");
}

TEST(TokenizerModels, BpeModelRunsWithItsFilesAndRefusesWithout) {
  const std::string ckpt = kDir + "/nanogpt_bpe/ckpt.pt";
  auto bare = Model::load(ckpt);
  EXPECT_FALSE(bare->tokenizer());
  EXPECT_EQ(bare->info().tokenizer, "");
  try {
    bare->run_text("hello world");
    ADD_FAILURE() << "bytes were run as BPE ids";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("vocabulary of 335 is not bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--tokenizer"), std::string::npos) << msg;
  }
  for (const std::string form : {"/bpe/gpt2", "/bpe/hf/merges.txt", "/bpe/hf_json/tokenizer.json"}) {
    auto model = Model::load(ckpt, kDir + form);
    const std::string text = test::read_file(kDir + "/nanogpt_bpe/input.txt");
    const Snapshot s = model->run_text(text);
    const auto ids = nlohmann::json::parse(test::read_file(kDir + "/nanogpt_bpe/tokens.json")).get<std::vector<int64_t>>();
    EXPECT_EQ(s.token_ids, ids) << form;
    EXPECT_EQ(s.tokens, static_cast<int64_t>(ids.size()));
    // Token spans tile the text; bytes map back to their token.
    int64_t at = 0;
    for (int64_t t = 0; t < s.tokens; ++t) {
      const auto [begin, end] = s.bytes_of_token(t);
      EXPECT_EQ(begin, at);
      EXPECT_EQ(s.token_of_byte(begin), t);
      EXPECT_EQ(s.token_of_byte(end - 1), t);
      at = end;
    }
    EXPECT_EQ(at, static_cast<int64_t>(text.size()));
    expect_logits(s, kDir + "/nanogpt_bpe/logits.npy");
  }
}

// Longer than the context: the last block_size tokens run, and the text starts at the first.
TEST(TokenizerModels, LongTextKeepsTheLastTokensOfTheContext) {
  auto model = Model::load(kDir + "/nanogpt_bpe/ckpt.pt", kDir + "/bpe/gpt2");
  std::string text;
  for (int k = 0; k < 40; ++k) text += "The summaries of a level are learned. ";
  const Snapshot s = model->run_text(text);
  EXPECT_EQ(s.tokens, model->config().block_size);
  EXPECT_GT(s.dropped, 0);
  EXPECT_EQ(s.text, text.substr(static_cast<size_t>(s.text_offset)));
  EXPECT_EQ(s.bytes_of_token(s.tokens - 1).second, static_cast<int64_t>(s.text.size()));
  // A tokenizer larger than the vocabulary is refused.
  auto chars = Model::load(kDir + "/nanogpt_char/out-shakespeare-char/ckpt.pt");
  EXPECT_THROW(chars->set_tokenizer(load_tokenizer(kDir + "/bpe/gpt2")), Error);
  EXPECT_EQ(chars->tokenizer()->kind(), Tokenizer::Kind::char_map);  // unchanged
}

}  // namespace
}  // namespace fmalens
