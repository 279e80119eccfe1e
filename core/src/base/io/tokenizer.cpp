// Tokenizers (see fmalens/tokenizer.h): bytes, nanoGPT char maps, GPT-2 byte-level BPE.
#include "fmalens/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <unordered_map>

#include "base/io/unpickler.h"
#include "fmalens/config.h"
#include "fmalens/quote.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxVocabulary = 10'000'000;
constexpr int64_t kMaxTokenizerFile = 512ll << 20;

std::vector<uint8_t> read_small_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(shown_path(path) + ": not a regular file");
  if (st.st_size > kMaxTokenizerFile)
    throw Error(shown_path(path) + ": " + std::to_string(st.st_size) + " bytes is more than a tokenizer file may hold (" +
                std::to_string(kMaxTokenizerFile) + ")");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    throw Error(shown_path(path) + ": read failed");
  return bytes;
}

nlohmann::json read_json(const std::string& path) {
  const std::vector<uint8_t> bytes = read_small_file(path);
  try {
    return nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(shown_path(path) + ": not valid JSON (" + std::string(e.what()).substr(0, 120) + ")");
  }
}

std::string code_point_name(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", cp);
  return buf;
}

std::string display_path(const std::string& path) {
  std::error_code ec;
  const fs::path rel = fs::relative(path, fs::current_path(ec), ec);
  const std::string r = rel.string();
  return ec || r.empty() || r.rfind("..", 0) == 0 ? path : r;
}

// ---------------------------------------------------------------- bytes

class ByteTokenizer final : public Tokenizer {
 public:
  Kind kind() const override { return Kind::bytes; }
  int64_t size() const override { return 256; }
  std::vector<Token> encode(std::string_view text) const override {
    std::vector<Token> out(text.size());
    for (size_t k = 0; k < text.size(); ++k)
      out[k] = {static_cast<unsigned char>(text[k]), static_cast<int64_t>(k), static_cast<int64_t>(k + 1)};
    return out;
  }
  std::string decode(int64_t id) const override {
    return id >= 0 && id < 256 ? std::string(1, static_cast<char>(id)) : std::string();
  }
  std::string describe() const override { return "bytes"; }
};

// ---------------------------------------------------------------- nanoGPT char map

// meta.pkl: {'vocab_size': V, 'itos': {id: char}, 'stoi': {char: id}}. The chars are strings
// of one character (shakespeare_char) or, in some byte-level preparations, ints 0..255.
class CharMapTokenizer final : public Tokenizer {
 public:
  explicit CharMapTokenizer(const std::string& path) {
    source_ = path;
    const std::unique_ptr<pickle::Pickle> p = pickle::unpickle_plain(read_small_file(path), path);
    using K = pickle::Value::Kind;
    const auto fail = [&](const std::string& rule) { throw Error(shown_path(path) + ": " + rule); };
    if (!p->root || p->root->kind != K::dict) fail("meta.pkl holds no dict (nanoGPT's has vocab_size, stoi and itos)");
    const pickle::Dict& root = p->dict(p->root);
    const pickle::Value* stoi = pickle::Pickle::lookup(root, "stoi");
    const pickle::Value* itos = pickle::Pickle::lookup(root, "itos");
    const pickle::Value* vocab_size = pickle::Pickle::lookup(root, "vocab_size");
    if (!stoi || stoi->kind != K::dict) fail("no 'stoi' dict: not a nanoGPT char map");
    int64_t max_id = -1;
    for (const auto& [key, value] : p->dict(stoi).entries) {
      if (value->kind != K::integer || value->i < 0 || value->i >= kMaxVocabulary)
        fail("stoi maps a character to " + (value->kind == K::integer ? std::to_string(value->i) : std::string("a non-integer")) +
             ", not an id");
      std::string ch;
      if (key->kind == K::string) {
        uint32_t cp = 0;
        if (key->s.empty() || utf8_sequence(key->s, 0, &cp) != key->s.size())
          fail("stoi key " + quote(key->s) + " is not one character");
        ch = key->s;
      } else if (key->kind == K::integer && key->i >= 0 && key->i < 256) {
        ch = std::string(1, static_cast<char>(key->i));
        byte_keys_ = true;
      } else {
        fail("stoi has a key that is neither a character nor a byte");
      }
      if (!stoi_.emplace(ch, value->i).second) fail("stoi names " + quote(ch) + " twice");
      max_id = std::max(max_id, value->i);
    }
    if (stoi_.empty()) fail("stoi is empty");
    size_ = max_id + 1;
    if (vocab_size) {
      if (vocab_size->kind != K::integer || vocab_size->i < size_ || vocab_size->i > kMaxVocabulary)
        fail("vocab_size " + (vocab_size->kind == K::integer ? std::to_string(vocab_size->i) : std::string("(not an integer)")) +
             " does not cover stoi's ids (0.." + std::to_string(max_id) + ")");
      size_ = vocab_size->i;
    }
    itos_.assign(static_cast<size_t>(size_), std::string());
    for (const auto& [ch, id] : stoi_) itos_[static_cast<size_t>(id)] = ch;
    if (itos && itos->kind == K::dict)
      for (const auto& [key, value] : p->dict(itos).entries)
        if (key->kind == K::integer && key->i >= 0 && key->i < size_ && value->kind == K::string)
          itos_[static_cast<size_t>(key->i)] = value->s;
  }
  Kind kind() const override { return Kind::char_map; }
  int64_t size() const override { return size_; }
  std::vector<Token> encode(std::string_view text) const override {
    std::vector<Token> out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      uint32_t cp = 0;
      size_t len = byte_keys_ ? 1 : utf8_sequence(text, i, &cp);
      if (len == 0)
        throw Error("the text is not valid UTF-8 at byte " + std::to_string(i) + ", and the " + describe() +
                    " holds characters");
      const std::string ch(text.substr(i, len));
      const auto it = stoi_.find(ch);
      if (it == stoi_.end())
        throw Error("character " + quote(ch) + " (" + (byte_keys_ ? "byte " + std::to_string(static_cast<unsigned char>(ch[0])) : code_point_name(cp)) +
                    ") at byte " + std::to_string(i) + " is not in the " + describe());
      out.push_back({it->second, static_cast<int64_t>(i), static_cast<int64_t>(i + len)});
      i += len;
    }
    return out;
  }
  std::string decode(int64_t id) const override {
    return id >= 0 && id < size_ ? itos_[static_cast<size_t>(id)] : std::string();
  }
  std::string describe() const override {
    return "char map of " + std::to_string(size_) + " from " + display_path(source_);
  }

 private:
  std::unordered_map<std::string, int64_t> stoi_;
  std::vector<std::string> itos_;
  int64_t size_ = 0;
  bool byte_keys_ = false;
};

// ---------------------------------------------------------------- GPT-2 byte-level BPE

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
// for U+0100 onwards, so every byte is a visible character in the vocabulary files.
const std::array<uint32_t, 256>& byte_to_unicode() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

// A vocabulary entry as GPT-2 files write it (each byte as its stand-in character) -> the bytes.
bool unicode_to_bytes(const std::string& s, std::string* out) {
  static const std::unordered_map<uint32_t, uint8_t> inverse = [] {
    std::unordered_map<uint32_t, uint8_t> m;
    for (uint32_t b = 0; b < 256; ++b) m[byte_to_unicode()[b]] = static_cast<uint8_t>(b);
    return m;
  }();
  out->clear();
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t len = utf8_sequence(s, i, &cp);
    if (len == 0) return false;
    const auto it = inverse.find(cp);
    if (it == inverse.end()) return false;
    out->push_back(static_cast<char>(it->second));
    i += len;
  }
  return true;
}

class BpeTokenizer final : public Tokenizer {
 public:
  // `vocab`: entry (GPT-2 characters) -> id; `merges`: pairs by rank, best first.
  BpeTokenizer(std::string source, const std::string& vocab_file, const std::vector<std::pair<std::string, int64_t>>& vocab,
               const std::string& merges_file, const std::vector<std::pair<std::string, std::string>>& merges) {
    source_ = std::move(source);
    int64_t max_id = -1;
    std::string bytes;
    for (const auto& [entry, id] : vocab) {
      if (id < 0 || id >= kMaxVocabulary)
        throw Error(shown_path(vocab_file) + ": token " + quote(entry) + " has id " + std::to_string(id) + ", outside 0.." +
                    std::to_string(kMaxVocabulary - 1));
      if (!unicode_to_bytes(entry, &bytes))
        throw Error(shown_path(vocab_file) + ": token " + quote(entry) +
                    " holds a character outside GPT-2's byte-to-unicode table (not a byte-level BPE vocabulary)");
      if (!id_of_.emplace(bytes, id).second)
        throw Error(shown_path(vocab_file) + ": two tokens are the bytes " + quote(bytes));
      max_id = std::max(max_id, id);
    }
    if (max_id < 0) throw Error(shown_path(vocab_file) + ": the vocabulary is empty");
    size_ = max_id + 1;
    bytes_of_.assign(static_cast<size_t>(size_), std::string());
    std::vector<uint8_t> seen(static_cast<size_t>(size_), 0);
    for (const auto& [b, id] : id_of_) {
      if (seen[static_cast<size_t>(id)]) throw Error(shown_path(vocab_file) + ": id " + std::to_string(id) + " is given to two tokens");
      seen[static_cast<size_t>(id)] = 1;
      bytes_of_[static_cast<size_t>(id)] = b;
    }
    for (int b = 0; b < 256; ++b) {
      const auto it = id_of_.find(std::string(1, static_cast<char>(b)));
      if (it == id_of_.end())
        throw Error(shown_path(vocab_file) + ": the vocabulary has no token for byte " + std::to_string(b) +
                    " (a byte-level BPE has all 256)");
      byte_id_[static_cast<size_t>(b)] = static_cast<int32_t>(it->second);
    }
    std::string a, b;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& [left, right] = merges[rank];
      const std::string line = "merge " + std::to_string(rank + 1) + " " + quote(left + " " + right);
      if (!unicode_to_bytes(left, &a) || !unicode_to_bytes(right, &b))
        throw Error(shown_path(merges_file) + ": " + line + " holds a character outside GPT-2's byte-to-unicode table");
      const auto ia = id_of_.find(a), ib = id_of_.find(b), iab = id_of_.find(a + b);
      if (ia == id_of_.end() || ib == id_of_.end() || iab == id_of_.end())
        throw Error(shown_path(merges_file) + ": " + line + " joins or makes a token that is not in the vocabulary");
      // A pair listed twice keeps its first (best) rank, as GPT-2's dict of ranks does.
      merge_of_.emplace(pair_key(ia->second, ib->second), Merge{static_cast<int32_t>(rank), static_cast<int32_t>(iab->second)});
    }
    merge_count_ = static_cast<int64_t>(merges.size());
  }

  Kind kind() const override { return Kind::bpe; }
  int64_t size() const override { return size_; }

  std::vector<Token> encode(std::string_view text) const override {
    std::vector<Token> out;
    out.reserve(text.size() / 3 + 1);
    std::unordered_map<std::string_view, std::vector<int32_t>> cache;  // words repeat: merge each once
    std::vector<int32_t> symbols;
    for (const auto& [begin, end] : gpt2_pretokenize(text)) {
      const std::string_view word = text.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
      auto it = cache.find(word);
      if (it == cache.end()) it = cache.emplace(word, merge_word(word)).first;
      int64_t at = begin;
      for (const int32_t id : it->second) {
        const auto len = static_cast<int64_t>(bytes_of_[static_cast<size_t>(id)].size());
        out.push_back({id, at, at + len});
        at += len;
      }
    }
    return out;
  }
  std::string decode(int64_t id) const override {
    return id >= 0 && id < size_ ? bytes_of_[static_cast<size_t>(id)] : std::string();
  }
  std::string describe() const override {
    return "GPT-2 BPE, " + std::to_string(size_) + " tokens and " + std::to_string(merge_count_) + " merges, from " +
           display_path(source_);
  }

 private:
  struct Merge {
    int32_t rank, merged;
  };
  static uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }

  // GPT-2's bpe(): repeatedly merge every occurrence (left to right) of the best-ranked
  // adjacent pair, until no adjacent pair has a merge.
  std::vector<int32_t> merge_word(std::string_view word) const {
    std::vector<int32_t> s(word.size());
    for (size_t k = 0; k < word.size(); ++k) s[k] = byte_id_[static_cast<unsigned char>(word[k])];
    while (s.size() > 1) {
      int32_t best_rank = std::numeric_limits<int32_t>::max(), best_merged = -1;
      int32_t first = 0, second = 0;
      for (size_t k = 0; k + 1 < s.size(); ++k) {
        const auto it = merge_of_.find(pair_key(s[k], s[k + 1]));
        if (it != merge_of_.end() && it->second.rank < best_rank) {
          best_rank = it->second.rank;
          best_merged = it->second.merged;
          first = s[k];
          second = s[k + 1];
        }
      }
      if (best_merged < 0) break;
      std::vector<int32_t> next;
      next.reserve(s.size());
      for (size_t k = 0; k < s.size();) {
        if (k + 1 < s.size() && s[k] == first && s[k + 1] == second) {
          next.push_back(best_merged);
          k += 2;
        } else {
          next.push_back(s[k++]);
        }
      }
      s.swap(next);
    }
    return s;
  }

  std::unordered_map<std::string, int64_t> id_of_;
  std::vector<std::string> bytes_of_;
  std::array<int32_t, 256> byte_id_{};
  std::unordered_map<uint64_t, Merge> merge_of_;
  int64_t size_ = 0, merge_count_ = 0;
};

// vocab.bpe / merges.txt: an optional "#version" line, then "left right" per line.
std::vector<std::pair<std::string, std::string>> read_merges(const std::string& path) {
  const std::vector<uint8_t> bytes = read_small_file(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::pair<std::string, std::string>> merges;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 >= line.size() || line.find(' ', space + 1) != std::string_view::npos)
      throw Error(shown_path(path) + ": line " + std::to_string(line_no) + " " + quote(line) +
                  " is not a merge (two tokens separated by one space)");
    merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  return merges;
}

std::vector<std::pair<std::string, int64_t>> vocab_entries(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) throw Error(shown_path(path) + ": the vocabulary is not a JSON object of token -> id");
  std::vector<std::pair<std::string, int64_t>> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) throw Error(shown_path(path) + ": token " + quote(it.key()) + " has no integer id");
    out.emplace_back(it.key(), it.value().get<int64_t>());
  }
  return out;
}

std::shared_ptr<const Tokenizer> load_vocab_and_merges(const std::string& vocab_path, const std::string& merges_path,
                                                       const std::string& source) {
  return std::make_shared<BpeTokenizer>(source, vocab_path, vocab_entries(read_json(vocab_path), vocab_path), merges_path,
                                        read_merges(merges_path));
}

// A Hugging Face tokenizer.json: model BPE, ByteLevel pre-tokenizer (alone or in a sequence),
// nothing that changes GPT-2's splitting; added tokens join the vocabulary for decoding.
std::shared_ptr<const Tokenizer> load_hf_tokenizer(const std::string& path) {
  const nlohmann::json j = read_json(path);
  const auto fail = [&](const std::string& rule) -> void { throw Error(shown_path(path) + ": " + rule); };
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) fail("no 'model': not a tokenizer.json");
  const nlohmann::json& model = j["model"];
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") fail("model type " + quote(type) + " is not BPE");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
      fail(std::string("the BPE model has a ") + key + ", which GPT-2's byte-level BPE does not");
  if (model.value("byte_fallback", false)) fail("the BPE model uses byte_fallback (SentencePiece style), not GPT-2's byte-level BPE");
  bool byte_level = false;
  const nlohmann::json pre = j.value("pre_tokenizer", nlohmann::json());
  const auto check_byte_level = [&](const nlohmann::json& p) {
    if (!p.is_object() || p.value("type", std::string()) != "ByteLevel") return false;
    if (!p.value("use_regex", true)) fail("the ByteLevel pre-tokenizer does not split with GPT-2's pattern (use_regex false)");
    return true;
  };
  if (check_byte_level(pre)) {
    byte_level = true;
  } else if (pre.is_object() && pre.value("type", std::string()) == "Sequence" && pre.contains("pretokenizers") &&
             pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 1) {
    byte_level = check_byte_level(pre["pretokenizers"][0]);
  }
  if (!byte_level)
    fail("the pre-tokenizer is " + (pre.is_object() ? quote(pre.value("type", std::string("?"))) : std::string("missing")) +
         ", not ByteLevel (GPT-2's)");
  if (j.contains("normalizer") && !j["normalizer"].is_null()) fail("the tokenizer has a normalizer, which GPT-2's does not");
  if (!model.contains("vocab") || !model.contains("merges") || !model["merges"].is_array()) fail("the BPE model lacks vocab or merges");
  std::vector<std::pair<std::string, int64_t>> vocab = vocab_entries(model["vocab"], path);
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& m : model["merges"]) {
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= s.size() || s.find(' ', space + 1) != std::string::npos)
        fail("merge " + quote(s) + " is not two tokens separated by one space");
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail("a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    std::map<std::string, int64_t> known(vocab.begin(), vocab.end());
    for (const auto& t : j["added_tokens"])
      if (t.is_object() && t.contains("content") && t["content"].is_string() && t.contains("id") && t["id"].is_number_integer() &&
          !known.count(t["content"].get<std::string>()))
        vocab.emplace_back(t["content"].get<std::string>(), t["id"].get<int64_t>());
  }
  return std::make_shared<BpeTokenizer>(path, path, vocab, path, merges);
}

std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

// ---------------------------------------------------------------- the pre-tokenizer

// GPT-2's pattern with \s spelled out as Unicode White_Space (what Python's regex module means
// by \s): tab to CR, U+0085 and the separators (category Z).
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Z}\\p{L}\\p{N}]+"
    "|[\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Z}]+(?![^\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Z}])|[\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Z}]+";

// Invalid UTF-8 bytes are matched as U+E000 + byte, private-use characters: like the lone
// surrogates Python's surrogateescape makes of them, they are neither letters, numbers nor space.
constexpr uint32_t kInvalidByteBase = 0xE000;

struct CompiledPattern {
  pcre2_code* code = nullptr;
  CompiledPattern() {
    int err = 0;
    PCRE2_SIZE offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &offset,
                         nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      throw Error(std::string("GPT-2's pattern does not compile with this PCRE2: ") + reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // when JIT is unavailable, the interpreter matches
  }
  ~CompiledPattern() { pcre2_code_free(code); }
};

}  // namespace

std::vector<std::pair<int64_t, int64_t>> gpt2_pretokenize(std::string_view text) {
  static const CompiledPattern pattern;
  // The text as valid UTF-8, and where each of its characters starts in `text`.
  std::string u;
  u.reserve(text.size() + 16);
  std::vector<int64_t> source_of(1, 0);  // indexed by offset in u; only character starts are set
  source_of.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(text, i, &cp);
    if (len > 0) {
      u.append(text.data() + i, len);
    } else {
      len = 1;
      const uint32_t stand_in = kInvalidByteBase + static_cast<unsigned char>(text[i]);
      u.push_back(static_cast<char>(0xE0 | (stand_in >> 12)));
      u.push_back(static_cast<char>(0x80 | ((stand_in >> 6) & 0x3F)));
      u.push_back(static_cast<char>(0x80 | (stand_in & 0x3F)));
    }
    i += len;
    source_of.resize(u.size() + 1, -1);
    source_of[u.size()] = static_cast<int64_t>(i);
  }
  std::vector<std::pair<int64_t, int64_t>> spans;
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match(pcre2_match_data_create_from_pattern(pattern.code, nullptr),
                                                                        &pcre2_match_data_free);
  size_t at = 0;
  while (at < u.size()) {
    const int rc = pcre2_match(pattern.code, reinterpret_cast<PCRE2_SPTR>(u.data()), u.size(), at, PCRE2_NO_UTF_CHECK, match.get(),
                               nullptr);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
    if (rc < 0 || ov[1] <= ov[0]) {  // cannot happen (every character matches an alternative): keep the rest whole
      spans.emplace_back(source_of[at], static_cast<int64_t>(text.size()));
      break;
    }
    if (ov[0] > at) spans.emplace_back(source_of[at], source_of[ov[0]]);  // likewise: no gap is left out
    spans.emplace_back(source_of[ov[0]], source_of[ov[1]]);
    at = ov[1];
  }
  return spans;
}

std::string gpt2_visible_bytes(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    const uint32_t cp = byte_to_unicode()[static_cast<unsigned char>(c)];
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

std::shared_ptr<const Tokenizer> byte_tokenizer() {
  static const std::shared_ptr<const Tokenizer> bytes = std::make_shared<ByteTokenizer>();
  return bytes;
}

std::shared_ptr<const Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(shown_path(path) + ": no such tokenizer file or folder");
  const auto sibling = [](const std::string& file, const char* name) { return (fs::path(file).parent_path() / name).string(); };
  const auto pair_or_fail = [&](const std::string& file, const char* partner) {
    const std::string other = sibling(file, partner);
    if (!fs::exists(other)) throw Error(shown_path(path) + ": " + partner + " is not beside it (a BPE needs both files)");
    return other;
  };
  if (fs::is_directory(status)) {
    const fs::path dir(path);
    for (const char* name : {"tokenizer.json", "encoder.json", "vocab.json", "meta.pkl"})
      if (fs::exists(dir / name)) return load_tokenizer((dir / name).string());
    throw Error(shown_path(path) + ": the folder holds no tokenizer.json, encoder.json + vocab.bpe, vocab.json + merges.txt or meta.pkl");
  }
  const std::string name = name_of(path);
  const std::string source = fs::path(path).parent_path().empty() ? path : fs::path(path).parent_path().string() + "/";
  if (name == "encoder.json") return load_vocab_and_merges(path, pair_or_fail(path, "vocab.bpe"), source);
  if (name == "vocab.bpe") return load_vocab_and_merges(pair_or_fail(path, "encoder.json"), path, source);
  if (name == "vocab.json") return load_vocab_and_merges(path, pair_or_fail(path, "merges.txt"), source);
  if (name == "merges.txt") return load_vocab_and_merges(pair_or_fail(path, "vocab.json"), path, source);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pkl") == 0) return std::make_shared<CharMapTokenizer>(path);
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) return load_hf_tokenizer(path);
  throw Error(shown_path(path) +
              ": not a tokenizer (give a meta.pkl, a tokenizer.json, encoder.json + vocab.bpe, vocab.json + merges.txt, or their folder)");
}

std::string find_nanogpt_meta(const std::string& checkpoint_path, const std::string& dataset) {
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(checkpoint_path), ec).parent_path();
  if (ec) return "";
  if (fs::is_regular_file(dir / "meta.pkl", ec)) return (fs::path(checkpoint_path).parent_path() / "meta.pkl").string();
  // A dataset name is one folder name; anything else (a path, "..") is not looked up.
  if (dataset.empty() || dataset == "." || dataset == ".." || dataset.find('/') != std::string::npos || dataset.find('\0') != std::string::npos)
    return "";
  for (fs::path d = dir;; d = d.parent_path()) {
    const fs::path candidate = d / "data" / dataset / "meta.pkl";
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
    if (d == d.parent_path()) break;
  }
  return "";
}

}  // namespace fmalens
