// The tokenizer readers and the GPT-2 pre-tokenizer. The first byte chooses what the rest is:
//   0: a meta.pkl (nanoGPT char map)      1: a Hugging Face tokenizer.json
//   2: encoder.json, a 0 byte, vocab.bpe  3: text, encoded with the committed fixture BPE
// A tokenizer it accepts must tile any text with tokens whose ids are in range and whose bytes
// decode back (for BPE, exactly the text); refusals are one-line Errors naming the file.
#include <filesystem>
#include <memory>

#include "fmalens/tokenizer.h"
#include "fuzz_util.h"

using namespace fmalens;

namespace {

const std::string kSample = std::string("First Citizen:\nSpeak, speak. It's 2023's idea \xf0\x9f\x98\x80 \xff\xfe end  \n", 60);

void check_tiles(const Tokenizer& t, const std::string& text, bool exact_round_trip) {
  std::vector<Token> tokens;
  try {
    tokens = t.encode(text);
  } catch (const Error& e) {
    fuzz::check(t.kind() == Tokenizer::Kind::char_map, std::string("a BPE refused text: ") + e.what());
    fuzz::check_message(e);
    return;
  }
  int64_t at = 0;
  std::string back;
  for (const Token& k : tokens) {
    fuzz::check(k.begin == at && k.end > k.begin, "tokens do not tile the text");
    fuzz::check(k.id >= 0 && k.id < t.size(), "token id outside the vocabulary");
    back += t.decode(k.id);
    at = k.end;
  }
  fuzz::check(at == static_cast<int64_t>(text.size()), "tokens do not cover the text");
  if (exact_round_trip) fuzz::check(back == text, "BPE tokens do not decode to the text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int form = data[0] % 4;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  fuzz::Scratch& scratch = fuzz::Scratch::get();
  if (form == 3) {
    static const std::shared_ptr<const Tokenizer> fixture = load_tokenizer(FMALENS_FIXTURES_DIR "/tokenizers/bpe/gpt2");
    const std::string text(reinterpret_cast<const char*>(body), n);
    const auto spans = gpt2_pretokenize(text);
    int64_t at = 0;
    for (const auto& [b, e] : spans) {
      fuzz::check(b == at && e > b, "pre-tokenizer spans do not tile the text");
      at = e;
    }
    fuzz::check(at == static_cast<int64_t>(n), "pre-tokenizer spans do not cover the text");
    check_tiles(*fixture, text, true);
    return 0;
  }
  std::string path;
  if (form == 0) {
    path = scratch.write("meta.pkl", body, n);
  } else if (form == 1) {
    path = scratch.write("tokenizer.json", body, n);
  } else {
    std::filesystem::create_directories(scratch.path("bpe"));
    const uint8_t* zero = static_cast<const uint8_t*>(std::memchr(body, 0, n));
    const size_t vocab_size = zero ? static_cast<size_t>(zero - body) : n;
    path = scratch.write("bpe/encoder.json", body, vocab_size);
    const size_t rest = zero ? n - vocab_size - 1 : 0;
    scratch.write("bpe/vocab.bpe", zero ? zero + 1 : body, rest);
  }
  std::shared_ptr<const Tokenizer> t;
  try {
    t = load_tokenizer(path);
  } catch (const Error& e) {
    fuzz::check_message(e, form == 2 ? "" : path);
    return 0;
  }
  fuzz::check(t->size() >= 1, "an accepted tokenizer with no ids");
  check_tiles(*t, kSample, t->kind() == Tokenizer::Kind::bpe);
  return 0;
}
