// Text to token ids and back, for the vocabularies users' models have: bytes (this project's
// models), a nanoGPT char map (meta.pkl) and GPT-2's byte-level BPE. Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fmalens {

// One token of an encoded text: its id and the bytes [begin, end) of the input it stands for.
struct Token {
  int64_t id = 0;
  int64_t begin = 0, end = 0;
};

class Tokenizer {
 public:
  enum class Kind { bytes, char_map, bpe };
  virtual ~Tokenizer() = default;
  virtual Kind kind() const = 0;
  // Ids are 0 .. size() - 1.
  virtual int64_t size() const = 0;
  // Every byte of `text` belongs to exactly one token, in order. Throws Error (naming the
  // tokenizer's file, the character and its byte position) for text it cannot encode.
  virtual std::vector<Token> encode(std::string_view text) const = 0;
  // The bytes of token `id` ("" outside 0 .. size() - 1).
  virtual std::string decode(int64_t id) const = 0;
  // For people: "bytes", "char map of 65 from data/shakespeare_char/meta.pkl",
  // "GPT-2 BPE, 50257 tokens, from gpt2/".
  virtual std::string describe() const = 0;
  // The file or folder it was read from ("" for bytes).
  const std::string& source() const { return source_; }

 protected:
  std::string source_;
};

// Bytes: 256 ids, one per byte (the bundled models' vocabulary).
std::shared_ptr<const Tokenizer> byte_tokenizer();

// A tokenizer from `path`: a nanoGPT meta.pkl (char map), a Hugging Face tokenizer.json (BPE
// with the ByteLevel pre-tokenizer), an encoder.json or vocab.json (with vocab.bpe or
// merges.txt beside it), or a folder holding one of these. Throws Error naming the file and rule.
std::shared_ptr<const Tokenizer> load_tokenizer(const std::string& path);

// Where nanoGPT's sample.py finds a char model's meta.pkl: beside the checkpoint, then
// data/<dataset>/meta.pkl in the checkpoint's folder and each folder above it. "" when none.
std::string find_nanogpt_meta(const std::string& checkpoint_path, const std::string& dataset);

// Bytes as GPT-2's vocabulary files write them (bytes_to_unicode: each byte one visible
// character), for writing encoder.json / vocab.bpe.
std::string gpt2_visible_bytes(std::string_view bytes);

// GPT-2's pre-tokenizer: the byte spans [begin, end) its pattern splits `text` into (letters,
// numbers, other runs, each with one leading space; contractions; whitespace). Invalid UTF-8
// bytes count as "other" characters, as Python sees them with errors="surrogateescape".
std::vector<std::pair<int64_t, int64_t>> gpt2_pretokenize(std::string_view text);

}  // namespace fmalens
