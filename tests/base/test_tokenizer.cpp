// Tokenizers: bytes, nanoGPT char maps (meta.pkl) and GPT-2 byte-level BPE in its three file
// forms, against tests/fixtures/tokenizers (made by make_tokenizers.py with Python's `regex`
// module, the one GPT-2's encoder.py uses, and GPT-2's bpe() written out).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "fmalens/tokenizer.h"
#include "test_util.h"

namespace fmalens {
namespace {

const std::string kDir = FMALENS_FIXTURES_DIR "/tokenizers";

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

nlohmann::json cases() { return nlohmann::json::parse(test::read_file(kDir + "/bpe/cases.json")); }

TEST(Tokenizer, BytesAreTheirOwnIds) {
  const auto t = byte_tokenizer();
  EXPECT_EQ(t->size(), 256);
  EXPECT_EQ(t->describe(), "bytes");
  const std::string text("a\xff\n", 3);
  const auto tokens = t->encode(text);
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1].id, 255);
  EXPECT_EQ(tokens[2].begin, 2);
  EXPECT_EQ(t->decode(255), "\xff");
  EXPECT_EQ(t->decode(256), "");
}

// GPT-2's pattern, as Python's regex module splits the cases (invalid bytes as surrogates).
TEST(Tokenizer, Gpt2PretokenizerSplitsAsThePublishedPattern) {
  const nlohmann::json all = cases();  // held: a range over a temporary's member dangles
  for (const auto& c : all["cases"]) {
    const std::string text = from_hex(c["hex"]);
    std::vector<std::pair<int64_t, int64_t>> expected;
    for (const auto& s : c["spans"]) expected.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
    EXPECT_EQ(gpt2_pretokenize(text), expected) << c["hex"];
  }
}

TEST(Tokenizer, BpeGivesGpt2IdsInEachFileForm) {
  const auto all = cases();
  for (const std::string form : {"/bpe/gpt2/encoder.json", "/bpe/gpt2/vocab.bpe", "/bpe/gpt2", "/bpe/hf/vocab.json", "/bpe/hf",
                                 "/bpe/hf_json/tokenizer.json", "/bpe/hf_json"}) {
    const auto t = load_tokenizer(kDir + form);
    EXPECT_EQ(t->kind(), Tokenizer::Kind::bpe) << form;
    EXPECT_EQ(t->size(), all["vocab_size"].get<int64_t>()) << form;
    EXPECT_NE(t->describe().find("GPT-2 BPE, " + std::to_string(t->size()) + " tokens and " + std::to_string(all["merges"].get<int>()) + " merges"),
              std::string::npos)
        << t->describe();
    for (const auto& c : all["cases"]) {
      const std::string text = from_hex(c["hex"]);
      const std::vector<Token> tokens = t->encode(text);
      std::vector<int64_t> ids;
      std::string round_trip;
      int64_t at = 0;
      for (const Token& k : tokens) {
        ids.push_back(k.id);
        EXPECT_EQ(k.begin, at) << form << " " << c["hex"];  // every byte in exactly one token, in order
        EXPECT_EQ(text.substr(static_cast<size_t>(k.begin), static_cast<size_t>(k.end - k.begin)), t->decode(k.id));
        at = k.end;
        round_trip += t->decode(k.id);
      }
      EXPECT_EQ(ids, c["ids"].get<std::vector<int64_t>>()) << form << " " << c["hex"];
      EXPECT_EQ(round_trip, text);
    }
  }
}

TEST(Tokenizer, CharMapFromNanoGptMetaPkl) {
  const std::string meta = kDir + "/nanogpt_char/data/shakespeare_char/meta.pkl";
  const auto t = load_tokenizer(meta);
  EXPECT_EQ(t->kind(), Tokenizer::Kind::char_map);
  const std::string text = test::read_file(kDir + "/nanogpt_char/input.txt");
  const auto tokens = t->encode(text);
  ASSERT_EQ(tokens.size(), text.size());
  std::string back;
  for (const Token& k : tokens) back += t->decode(k.id);
  EXPECT_EQ(back, text);
  EXPECT_EQ(t->decode(0), "\n");  // sorted characters: the newline first
  EXPECT_NE(t->describe().find("char map of " + std::to_string(t->size()) + " from "), std::string::npos) << t->describe();
  // A character outside the map: named, with its code point and byte position.
  test::expect_error([&] { t->encode("Speak \xe2\x82\xac"); }, "character '\xe2\x82\xac' (U+20AC) at byte 6",
                     "is not in the char map of");
  test::expect_error([&] { t->encode("Speak Z"); }, "character 'Z' (U+005A) at byte 6", "is not in the char map");
  test::expect_error([&] { t->encode("Sp\xff"); }, "the text is not valid UTF-8 at byte 2", "holds characters");
}

// nanoGPT's sample.py: meta.pkl beside the checkpoint, else data/<dataset>/meta.pkl above it.
TEST(Tokenizer, FindsMetaPklAsNanoGptDoes) {
  const std::string ckpt = kDir + "/nanogpt_char/out-shakespeare-char/ckpt.pt";
  EXPECT_EQ(std::filesystem::weakly_canonical(find_nanogpt_meta(ckpt, "shakespeare_char")),
            std::filesystem::weakly_canonical(kDir + "/nanogpt_char/data/shakespeare_char/meta.pkl"));
  EXPECT_EQ(find_nanogpt_meta(ckpt, "openwebtext"), "");
  EXPECT_EQ(find_nanogpt_meta(ckpt, "../nanogpt_char/data/shakespeare_char"), "");  // a path is not a dataset name
  EXPECT_EQ(find_nanogpt_meta(ckpt, ""), "");
  test::TempDir tmp;
  std::filesystem::copy_file(ckpt, tmp.path("ckpt.pt"));
  std::filesystem::copy_file(kDir + "/nanogpt_char/data/shakespeare_char/meta.pkl", tmp.path("meta.pkl"));
  EXPECT_EQ(find_nanogpt_meta(tmp.path("ckpt.pt"), "anything"), tmp.path("meta.pkl"));
}

TEST(Tokenizer, RefusesBrokenFilesInOneLine) {
  test::TempDir tmp;
  const std::string p = tmp.path("meta.pkl");
  test::write_file(p, "not a pickle");
  test::expect_error([&] { load_tokenizer(p); }, p + ": pickle at byte", "");
  static const char kEmptyDict[] = "\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.";
  test::write_file(p, std::string(kEmptyDict, sizeof(kEmptyDict) - 1));  // {}: no stoi
  test::expect_error([&] { load_tokenizer(p); }, p + ": ", "no 'stoi' dict");
  // A pickle that names a global (os.system) is refused by name, never called.
  static const char kSystem[] = "\x80\x02" "cos\nsystem\n" "X\x02\x00\x00\x00ls\x85R.";
  test::write_file(p, std::string(kSystem, sizeof(kSystem) - 1));
  test::expect_error([&] { load_tokenizer(p); }, p + ": pickle at byte", "forbidden global 'os.system'");

  std::filesystem::create_directory(tmp.path("bpe"));
  const std::string enc = tmp.path("bpe/encoder.json");
  test::write_file(enc, "{\"a\": 0}");
  test::expect_error([&] { load_tokenizer(enc); }, enc + ": ", "vocab.bpe is not beside it");
  test::write_file(tmp.path("bpe/vocab.bpe"), "#version: 0.2\na b\n");
  test::expect_error([&] { load_tokenizer(enc); }, enc + ": ", "no token for byte 0");
  test::write_file(enc, "{\"a\": ");
  test::expect_error([&] { load_tokenizer(enc); }, enc + ": ", "not valid JSON");
  // A merge that makes a token the vocabulary lacks.
  std::filesystem::copy_file(kDir + "/bpe/gpt2/encoder.json", enc, std::filesystem::copy_options::overwrite_existing);
  test::write_file(tmp.path("bpe/vocab.bpe"), "#version: 0.2\nq z\n");
  test::expect_error([&] { load_tokenizer(enc); }, tmp.path("bpe/vocab.bpe") + ": ", "merge 1 'q z' joins or makes a token that is not in the vocabulary");
  test::write_file(tmp.path("bpe/vocab.bpe"), "#version: 0.2\nqz\n");
  test::expect_error([&] { load_tokenizer(enc); }, tmp.path("bpe/vocab.bpe") + ": line 2 'qz'", "is not a merge");

  const std::string hf = tmp.path("tokenizer.json");
  test::write_file(hf, R"({"model": {"type": "WordPiece", "vocab": {}}})");
  test::expect_error([&] { load_tokenizer(hf); }, hf + ": ", "model type 'WordPiece' is not BPE");
  test::write_file(hf, R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}})");
  test::expect_error([&] { load_tokenizer(hf); }, hf + ": ", "the pre-tokenizer is 'Metaspace', not ByteLevel");
  test::write_file(tmp.path("other.txt"), "x");
  test::expect_error([&] { load_tokenizer(tmp.path("other.txt")); }, tmp.path("other.txt") + ": ", "not a tokenizer");
  test::expect_error([&] { load_tokenizer(tmp.path("missing")); }, tmp.path("missing") + ": ", "no such tokenizer");
  std::filesystem::create_directory(tmp.path("empty"));
  test::expect_error([&] { load_tokenizer(tmp.path("empty")); }, tmp.path("empty") + ": ", "the folder holds no tokenizer.json");
}

}  // namespace
}  // namespace fmalens
