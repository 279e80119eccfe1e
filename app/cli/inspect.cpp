// fmalens inspect: runs a model with capture and writes every captured array as .npy, with a
// manifest that says what each file holds. The raw export that users load in NumPy.
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "cli/cli.h"
#include "cli/input.h"
#include "fmalens/atomic_file.h"
#include "fmalens/head_metrics.h"
#include "fmalens/layout.h"
#include "fmalens/model.h"
#include "fmalens/npy.h"
#include "fmalens/quote.h"

namespace fmalens::cli {
namespace {

void make_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw Error(dir + ": exists and is not a folder");
    return;
  }
  if (::mkdir(dir.c_str(), 0755) != 0) throw Error("cannot create folder " + shown_path(dir) + ": " + std::strerror(errno));
}

// The arrays are written into a temporary folder beside --out and moved into it only when all
// of them are written: a failure (full disk, `ulimit -f`, an interrupted run) leaves --out as
// it was, with no partial files, and no temporary folder behind.
class Staging {
 public:
  explicit Staging(const std::string& out) : out_(out) {
    struct stat st {};
    if (::stat(out.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) throw Error(out + ": exists and is not a folder");
    std::string tmpl = out + ".tmp-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw Error("cannot create folder " + shown_path(out) + ": " + std::strerror(errno));
    dir_ = tmpl;
  }
  ~Staging() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  // Runs write(path in the staging folder); its errors name the file under --out.
  template <class Write>
  void add(const std::string& name, Write&& write) {
    try {
      write(dir_ + "/" + name);
    } catch (const Error& e) {
      std::string msg = e.what();
      const auto at = msg.find(dir_);
      if (at != std::string::npos) msg.replace(at, dir_.size(), out_);
      throw Error(msg);
    }
    names_.push_back(name);
  }
  // A folder of files: created in the staging folder, filled by fill(path), moved as one.
  template <class Fill>
  void add_folder(const std::string& name, Fill&& fill) {
    add(name, [&](const std::string& path) {
      make_dir(path);
      fill(path);
    });
  }
  // Moves every staged file into --out (created if missing); a staged folder replaces the one there.
  // Files an earlier run's manifest lists and this run does not write are removed (a model with
  // fewer layers or levels leaves no stale arrays behind); nothing else of the folder is touched.
  void commit() {
    make_dir(out_);
    for (const std::string& stale : previous_files()) {
      if (std::find(names_.begin(), names_.end(), stale) != names_.end()) continue;
      std::error_code ec;
      std::filesystem::remove_all(out_ + "/" + stale, ec);
    }
    for (const std::string& name : names_) {
      std::error_code ec;
      if (std::filesystem::is_directory(dir_ + "/" + name, ec) && std::filesystem::is_directory(out_ + "/" + name, ec))
        std::filesystem::remove_all(out_ + "/" + name, ec);
      if (::rename((dir_ + "/" + name).c_str(), (out_ + "/" + name).c_str()) != 0)
        throw Error("cannot write " + shown_path(out_ + "/" + name) + ": " + std::strerror(errno));
    }
    ::rmdir(dir_.c_str());
    dir_.clear();
  }

 private:
  // What the manifest already in --out says an earlier run wrote (plain names only).
  std::vector<std::string> previous_files() const {
    std::vector<std::string> files;
    std::ifstream in(out_ + "/manifest.json", std::ios::binary);
    if (!in) return files;
    const nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
    if (!m.is_object()) return files;
    auto keep = [&](const nlohmann::json& name) {
      if (!name.is_string()) return;
      const std::string s = name.get<std::string>();
      if (!s.empty() && s.find('/') == std::string::npos && s != "." && s != "..") files.push_back(s);
    };
    if (m.contains("arrays") && m["arrays"].is_array())
      for (const auto& a : m["arrays"])
        if (a.is_object() && a.contains("file")) keep(a["file"]);
    if (m.contains("head_metrics") && m["head_metrics"].is_object() && m["head_metrics"].contains("file")) keep(m["head_metrics"]["file"]);
    if (m.contains("sparse_rows")) files.push_back("heads");
    return files;
  }

  std::string out_, dir_;
  std::vector<std::string> names_;
};

// A head's slice [n, K] of a [heads, n, K] array.
Array head_slice(const Array& a, int64_t head) {
  Array out;
  out.shape.assign(a.shape.begin() + 1, a.shape.end());
  size_t per = 1;
  for (auto s : out.shape) per *= static_cast<size_t>(s);
  out.data.assign(a.data.begin() + static_cast<std::ptrdiff_t>(per * static_cast<size_t>(head)),
                  a.data.begin() + static_cast<std::ptrdiff_t>(per * static_cast<size_t>(head + 1)));
  return out;
}

// "START:LEN,START:LEN" -> [start, start + len) ranges. Throws Error naming the bad item.
std::vector<std::pair<int64_t, int64_t>> parse_mask_spans(const std::string& list) {
  std::vector<std::pair<int64_t, int64_t>> out;
  size_t start = 0;
  while (start < list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, end - start);
    start = end + 1;
    long long s = -1, n = -1;
    char tail = 0;
    if (std::sscanf(item.c_str(), "%lld:%lld%c", &s, &n, &tail) != 2 || s < 0 || n < 1 || n > (int64_t{1} << 30))
      throw Error("--mask: cannot read " + quote(item) + " (expected START:LEN with LEN >= 1)");
    out.emplace_back(s, s + n);
  }
  return out;
}

}  // namespace

void add_inspect(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("inspect", "Run a model with capture and write every captured array as .npy plus a manifest");
  auto in = std::make_shared<InputOptions>();
  auto out = std::make_shared<std::string>();
  add_input_options(cmd, *in, CheckpointOption::required);
  cmd->add_option("--out", *out, "Folder to write (created if missing)")->required();
  auto masks = std::make_shared<std::string>();
  cmd->add_option("--mask", *masks,
                  "Masked LMs: byte ranges START:LEN[,START:LEN...] of the text run to mask; the model fills them in "
                  "(the manifest's filled_text)");
  auto format = std::make_shared<std::string>("npy");
  auto top_k = std::make_shared<int64_t>(8);
  cmd->add_option("--format", *format,
                  "npy (the arrays, default) or headvis: also per-head sparse rows (the top keys of every query with their weights and "
                  "the token strings) in heads/L<l>H<h>.json, the shape HeadVis-style viewers read (documented in the README)")
      ->check(CLI::IsMember({"npy", "headvis"}));
  cmd->add_option("--top-k", *top_k, "With --format headvis: keys kept per query (default 8)")->check(CLI::Range(1, 4096));
  cmd->callback([in, out, masks, format, top_k, &action] {
    action = [in, out, masks, format, top_k]() -> int {
      auto model = Model::load(in->checkpoint, in->tokenizer);
      RunOptions ro;
      ro.device = in->device;
      ro.mask_spans = parse_mask_spans(*masks);
      Snapshot snap = run_input(*model, *in, ro);
      Staging staging(*out);
      nlohmann::json arrays = nlohmann::json::array();
      auto add = [&](const std::string& file, const std::vector<int64_t>& shape, const char* dtype, const std::string& meaning) {
        arrays.push_back({{"file", file}, {"shape", shape}, {"dtype", dtype}, {"meaning", meaning}});
      };
      staging.add("logits.npy", [&](const std::string& p) { write_npy(p, snap.logits); });
      add("logits.npy", snap.logits.shape, "float32",
          snap.config.kind == ModelKind::image ? "class logits"
          : snap.config.masked_lm              ? "logits of the byte at each position (masked LM), one row per input byte"
          : snap.token_ids.empty()             ? "next-byte logits, one row per input byte"
                                               : "next-token logits, one row per input token");
      nlohmann::json token_spans = nlohmann::json::array();
      if (snap.config.kind == ModelKind::text) {
        std::vector<int64_t> ids;
        for (int64_t t = 0; t < snap.tokens; ++t) {
          const auto [begin, end] = snap.bytes_of_token(t);
          ids.push_back(snap.token_ids.empty() ? static_cast<unsigned char>(snap.text[static_cast<size_t>(t)])
                                               : snap.token_ids[static_cast<size_t>(t)]);
          token_spans.push_back({begin, end});
        }
        staging.add("tokens.npy", [&, ids](const std::string& p) { write_npy(p, {snap.tokens}, ids); });
        add("tokens.npy", {snap.tokens}, "int64", "the token ids run, in order (byte models: the bytes)");
      }
      const bool fma = uses_fma_bands(snap.config.attention_kind);
      if (fma) {
        const Layout layout(snap.attention);
        for (int l = 0; l < layout.num_levels(); ++l) {
          // What each slot of each query stands for: key token (fine) / block (coarse), -1 masked, -2 phantom.
          const LevelGeometry& g = layout.level(l);
          std::vector<int32_t> map(static_cast<size_t>(snap.tokens * g.slots));
          for (int64_t i = 0; i < snap.tokens; ++i)
            for (int64_t k = 0; k < g.slots; ++k) {
              const SlotRef r = layout.slot(l, i, k);
              map[static_cast<size_t>(i * g.slots + k)] = r.phantom ? -2 : (r.valid ? static_cast<int32_t>(r.block) : -1);
            }
          const std::string f = "level" + std::to_string(l) + "_slot_blocks.npy";
          staging.add(f, [&](const std::string& p) { write_npy(p, {snap.tokens, g.slots}, map); });
          add(f, {snap.tokens, g.slots}, "int32",
              l == 0 ? "fine band: the key token of each slot (-1 masked, -2 phantom zero key)"
                     : "coarse level " + std::to_string(l) + ": the block of each slot (slot k is summary k % p; -1 masked, -2 phantom)");
        }
      }
      for (size_t L = 0; L < snap.layers.size(); ++L) {
        const LayerSnapshot& ls = snap.layers[L];
        const std::string pre = "layer" + std::to_string(L);
        staging.add(pre + "_q.npy", [&](const std::string& p) { write_npy(p, ls.q); });
        add(pre + "_q.npy", ls.q.shape, "float32", "queries [heads, n, d], unscaled");
        staging.add(pre + "_k.npy", [&](const std::string& p) { write_npy(p, ls.k); });
        add(pre + "_k.npy", ls.k.shape, "float32", "keys [heads, n, d]");
        if (!fma) continue;
        staging.add(pre + "_row_max.npy", [&](const std::string& p) { write_npy(p, ls.row_max); });
        add(pre + "_row_max.npy", ls.row_max.shape, "float32", "joint max M_i of the scores over all levels [heads, n]");
        staging.add(pre + "_row_norm.npy", [&](const std::string& p) { write_npy(p, ls.row_norm); });
        add(pre + "_row_norm.npy", ls.row_norm.shape, "float32", "normaliser Z_i = sum_l alpha_l sum exp(s - M_i) [heads, n]");
        for (int64_t h = 0; h < snap.config.n_head; ++h)
          for (size_t l = 0; l < ls.bands.size(); ++l) {
            const Array band = head_slice(ls.bands[l], h);
            const std::string f = pre + "_head" + std::to_string(h) + "_level" + std::to_string(l) + "_weights.npy";
            staging.add(f, [&](const std::string& p) { write_npy(p, band); });
            add(f, band.shape, "float32",
                "attention coefficients C_l after the joint softmax (alpha included) [n, slots]; slot meaning in level" +
                    std::to_string(l) + "_slot_blocks.npy");
          }
        for (size_t l = 0; l < snap.downsampling[L].size(); ++l) {
          const auto& w = snap.downsampling[L][l];
          const std::string f = pre + "_level" + std::to_string(l + 1) + "_downsample_";
          staging.add(f + "keys.npy", [&](const std::string& p) { write_npy(p, w.keys); });
          staging.add(f + "values.npy", [&](const std::string& p) { write_npy(p, w.values); });
          add(f + "keys.npy", w.keys.shape, "float32", "key downsampling basis functions [p, d, block tokens]");
          add(f + "values.npy", w.values.shape, "float32", "value downsampling basis functions [p, d, block tokens]");
        }
      }
      // --format headvis: per head, each query's top keys by the implied row's weight (O(n) memory).
      std::vector<std::pair<std::string, std::string>> sparse_files;
      if (*format == "headvis") {
        if (!fma) throw Error("--format headvis needs an FMA or local model (this one has " + std::string(attention_kind_name(snap.config.attention_kind)) + " attention)");
        std::vector<std::string> token_strings;
        for (int64_t t = 0; t < snap.tokens; ++t)
          token_strings.push_back(snap.config.kind == ModelKind::image ? "patch " + std::to_string(t) : snap.token_text(t));
        const int64_t k = std::min<int64_t>(*top_k, snap.tokens);
        for (int layer = 0; layer < static_cast<int>(snap.layers.size()); ++layer)
          for (int head = 0; head < static_cast<int>(snap.config.n_head); ++head) {
            nlohmann::json rows = nlohmann::json::array(), weights = nlohmann::json::array();
            std::vector<int64_t> order(static_cast<size_t>(snap.tokens));
            for (int64_t i = 0; i < snap.tokens; ++i) {
              const Array row = implied_attention_rows(snap, layer, head, i, i + 1);
              for (int64_t t = 0; t < snap.tokens; ++t) order[static_cast<size_t>(t)] = t;
              std::partial_sort(order.begin(), order.begin() + k, order.end(),
                                [&](int64_t a, int64_t b) { return row.data[static_cast<size_t>(a)] > row.data[static_cast<size_t>(b)]; });
              nlohmann::json keys = nlohmann::json::array(), w = nlohmann::json::array();
              for (int64_t j = 0; j < k; ++j) {
                const float v = row.data[static_cast<size_t>(order[static_cast<size_t>(j)])];
                if (v <= 0) break;
                keys.push_back(order[static_cast<size_t>(j)]);
                w.push_back(v);
              }
              rows.push_back(keys);
              weights.push_back(w);
            }
            const nlohmann::json file = {{"format", "fmalens-sparse-attention/1"}, {"layer", layer}, {"head", head}, {"top_k", k},
                                         {"tokens", token_strings}, {"keys", rows}, {"weights", weights}};
            sparse_files.emplace_back("L" + std::to_string(layer) + "H" + std::to_string(head) + ".json",
                                      file.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
          }
        staging.add_folder("heads", [&](const std::string& folder) {
          for (const auto& [name, text] : sparse_files) write_file_atomically(folder + "/" + name, text);
        });
      }
      std::string head_metrics_text;  // every head's statistics (head_metrics.h), FMA and local runs
      if (fma) {
        const std::vector<HeadStats> stats = head_stats(snap);
        head_metrics_text = head_stats_json(stats, Layout(snap.attention).num_levels(), snap.tokens);
        staging.add("head_metrics.json", [&](const std::string& p) { write_file_atomically(p, head_metrics_text); });
      }
      nlohmann::json input = {{"tokens", snap.tokens}};
      if (snap.config.kind == ModelKind::text) {
        input["text_offset"] = snap.text_offset;
        input["dropped_bytes"] = snap.dropped;
        input["tokenizer"] = model->info().tokenizer;
        // Each token's bytes [begin, end) in the text run (which starts at text_offset).
        input["token_byte_spans"] = token_spans;
        if (!snap.masked.empty()) {
          input["masked_spans"] = ro.mask_spans;
          input["filled_text"] = snap.filled;  // invalid UTF-8 is written as U+FFFD
        }
      }
      nlohmann::json manifest = {{"checkpoint", in->checkpoint},
                                 {"model", nlohmann::json::parse(to_json(snap.config))},
                                 {"attention_as_run", {{"n", snap.attention.tokens()}, {"variant", to_string(snap.attention.variant)}}},
                                 {"input", input},
                                 {"device", snap.device},
                                 {"run_ms", snap.run_ms},
                                 {"arrays", arrays}};
      if (!sparse_files.empty())
        manifest["sparse_rows"] = {{"files", "heads/L<layer>H<head>.json"},
                                   {"meaning", "per query its top_k keys (indices into tokens) and their weights in the implied matrix, "
                                               "largest first; tokens as strings"}};
      if (fma)
        manifest["head_metrics"] = {{"file", "head_metrics.json"},
                                    {"meaning", "per layer and head: mass per level, attended distance (mean, median, profile by level "
                                                "over log-spaced bins), entropy, sink and phantom mass"}};
      const std::string manifest_text = manifest.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      staging.add("manifest.json", [&](const std::string& p) { write_file_atomically(p, manifest_text); });
      staging.commit();
      if (snap.dropped > 0)
        std::fprintf(stderr, "note: the input is longer than the context; ran its last %lld tokens (%lld bytes left out)\n",
                     static_cast<long long>(snap.tokens), static_cast<long long>(snap.dropped));
      std::printf("wrote %zu arrays and manifest.json to %s (%.0f ms on %s)\n", arrays.size(), out->c_str(), snap.run_ms,
                  snap.device.c_str());
      return 0;
    };
  });
}

}  // namespace fmalens::cli
