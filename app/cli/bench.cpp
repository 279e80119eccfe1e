// fmalens bench: attention (FMA kernel, FMA in LibTorch ops, dense) and the shipped models,
// side by side in one run; each case in a child process so that its peak memory is its own.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unordered_map>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/cli.h"
#include "fmalens/assets.h"
#include "fmalens/bench.h"
#include "cli/bench_plot.h"
#include "fmalens/atomic_file.h"
#include "fmalens/quote.h"
#include "fmalens/tokenizer.h"
#ifdef FMALENS_WITH_GUI
#include "render/headless_gl.h"
#include "render/matrix_frame_bench.h"
#endif

extern char** environ;

namespace fmalens::cli {
namespace {

constexpr const char* kBundled = "bundled";

// A model option: "bundled" is the bundled model of that kind (none when they are not found).
std::string model_path(const std::string& option, bool image) {
  if (option != kBundled) return option;
  try {
    const BundledFiles b = bundled_files();
    return image ? b.image_model : b.text_model;
  } catch (const Error&) {
    return "";
  }
}

struct BenchArgs {
  bool child = false, quick = false, frames = true;
  BenchCase c;
  int repeats = 5;
  std::string device = "cpu", json, checkpoint, peer, plot;
  std::string text_model = kBundled, image_model = kBundled;  // kBundled: the bundled models
  bool tokenizers = true;
  std::string tokenizer;  // also time this tokenizer (a meta.pkl, BPE files, tokenizer.json)
  std::vector<int64_t> sizes{1024, 4096, 16384, 65536};
  std::vector<std::string> variants{"causal", "bidirectional", "linear"};
  bool attention = false;  // --attention: every attention kind side by side (m 32, p 4)
  bool train_step = false;  // --train-step: a whole model's training step, FMA against dense
  bool sizes_given = false;
};

nlohmann::json to_json(const BenchRecord& r) {
  return {{"variant", r.c.variant}, {"impl", r.c.impl},     {"n", r.c.n},          {"pass", r.c.pass},
          {"ms", r.ms},             {"min_ms", r.min_ms},   {"max_ms", r.max_ms},  {"repeats", r.repeats},
          {"peak_mb", r.peak_mb},   {"gflops", r.gflops},   {"device", r.device},  {"baseline_mb", r.baseline_mb},
          {"note", r.note},         {"dtype", r.c.dtype},   {"downsampling", r.c.downsampling},
          {"m", r.c.m},             {"p", r.c.p}};
}

// --json: every record, atomically.
void write_records_json(const std::string& path, const std::vector<BenchRecord>& records) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : records) j.push_back(to_json(r));
  write_file_atomically(path, j.dump(1) + "\n");
  std::printf("wrote %s\n", path.c_str());
}

// The matrix view's frame time at n tokens, offscreen (headless EGL), `frames` x 10 frames
// per phase; ms = a full redraw (zooming), the note has panning and a still frame.
BenchRecord run_matrix_view_case(const BenchCase& c, int frames) {
  BenchRecord r;
  r.c = c;
#ifdef FMALENS_WITH_GUI
  const auto gl = render::HeadlessGL::create();
  const render::MatrixFrameTimes t = render::time_matrix_frames(c.n, 1024, 1024, 10 * frames);
  r.ms = r.min_ms = r.max_ms = t.zoom_ms;
  r.repeats = 10 * frames;
  r.device = "gl";
  char note[256];
  std::snprintf(note, sizeof(note), "panning %.2f ms, still %.2f ms a frame; 1024x1024 pixels, %s", t.pan_ms, t.still_ms, t.gl.c_str());
  r.note = note;
  r.baseline_mb = resident_mb();
#else
  throw Error("bench: matrix_view needs the build with the window (FMALENS_GUI)");
#endif
  return r;
}

// Runs one case in a child process; its peak RSS comes from wait4's rusage.
BenchRecord run_child(const BenchArgs& a, const BenchCase& c, int repeats, const std::string& checkpoint) {
  std::vector<std::string> args{"/proc/self/exe", "bench", "--child", "--variant", c.variant, "--impl", c.impl,
                                "--size", std::to_string(c.n), "--pass", c.pass, "--repeats", std::to_string(repeats),
                                "--device", a.device, "--dtype", c.dtype, "--downsampling", c.downsampling,
                                "--m", std::to_string(c.m), "--p", std::to_string(c.p)};
  if (!checkpoint.empty()) args.insert(args.end(), {"--checkpoint", checkpoint});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (pipe(pipefd) != 0) throw Error("bench: cannot create a pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  pid_t pid;
  if (posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ) != 0) throw Error("bench: cannot start a child");
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t got; (got = read(pipefd[0], buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(got));
  close(pipefd[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  BenchRecord r;
  r.c = c;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.note = "failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    return r;
  }
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  r.ms = j["ms"];
  r.min_ms = j["min_ms"];
  r.max_ms = j["max_ms"];
  r.repeats = j["repeats"];
  r.gflops = j["gflops"];
  r.device = j["device"];
  r.baseline_mb = j["baseline_mb"];
  r.note = j["note"];
  r.peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0 - r.baseline_mb;
  return r;
}

// The peer (a vectorised PyTorch FMA outside the project) in the same run: its own bench.py
// runs each case in a child process and writes JSON records; its causal FMA and its matmul
// come back as impl "peer".
std::vector<BenchRecord> run_peer(const std::string& script, const std::vector<int64_t>& sizes) {
  std::vector<BenchRecord> out;
  const std::string json_path = "/tmp/fmalens_peer_" + std::to_string(getpid()) + ".json";
  std::string n_list;
  for (int64_t n : sizes) n_list += (n_list.empty() ? "" : ",") + std::to_string(n);
  std::vector<std::string> args{"/usr/bin/python3", script, "--impl", "matmul2048,fma", "--n", n_list, "--out", json_path};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);  // its progress lines go with ours
  pid_t pid;
  const int spawned = posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (spawned != 0) {
    std::fprintf(stderr, "  peer: cannot start /usr/bin/python3 (%s); no peer rows\n", std::strerror(spawned));
    return out;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(json_path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !in) {
    std::fprintf(stderr, "  peer: %s failed (exit %d); no peer rows\n", script.c_str(), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return out;
  }
  const auto records = nlohmann::json::parse(in, nullptr, false);
  std::remove(json_path.c_str());
  if (!records.is_array()) return out;
  for (const auto& j : records) {
    BenchRecord r;
    const std::string impl = j.value("impl", "");
    r.c = {impl == "fma" ? "causal" : "matmul", "peer", j.value("n", int64_t{0}), "forward"};
    r.ms = 1e3 * j.value("median_s", 0.0);
    r.min_ms = 1e3 * j.value("min_s", 0.0);
    r.max_ms = 1e3 * j.value("max_s", 0.0);
    r.repeats = static_cast<int>(j.value("times", nlohmann::json::array()).size());
    r.peak_mb = j.value("peak_extra_mb", 0.0);
    r.gflops = j.value("gflops", 0.0);
    r.flops = j.value("flops", 0.0);
    r.device = "cpu";
    r.note = "peer: " + script;
    out.push_back(r);
  }
  return out;
}

// Least-squares slope of log(y) against log(x).
double fitted_exponent(const std::vector<std::pair<double, double>>& pts) {
  if (pts.size() < 2) return NAN;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : pts) {
    const double lx = std::log(x), ly = std::log(y);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
  }
  const double k = static_cast<double>(pts.size());
  return (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

// On a GPU, one case in this process: the CUDA allocator measures its peak (bench.h), and a
// child each would start CUDA again for every case. A failure is the case's note.
BenchRecord run_in_process(const BenchCase& c, int repeats, const std::string& device, const std::string& checkpoint) {
  try {
    return run_bench_case(c, repeats, device, checkpoint);
  } catch (const std::exception& e) {
    BenchRecord r;
    r.c = c;
    r.note = "failed: " + error_line(e);
    return r;
  }
}

// The smallest n from which FMA is faster than dense in every larger n measured, with the
// dense / FMA time ratio at each n: "from n = 16384 (0.4x at 4096, 2.1x at 16384, ...)".
std::string overtaking(const std::vector<BenchRecord>& records, const std::string& variant, const std::string& pass) {
  std::vector<std::pair<int64_t, double>> ratios;  // (n, dense ms / FMA ms)
  for (const auto& f : records)
    if (f.c.variant == variant && f.c.impl == "fma" && f.c.pass == pass && f.ms > 0)
      for (const auto& d : records)
        if (d.c.variant == (variant == "linear" ? "bidirectional" : variant) && d.c.impl == "dense" && d.c.pass == pass &&
            d.c.n == f.c.n && d.ms > 0)
          ratios.push_back({f.c.n, d.ms / f.ms});
  if (ratios.empty()) return "";
  std::sort(ratios.begin(), ratios.end());
  int64_t from = -1;
  for (auto it = ratios.rbegin(); it != ratios.rend() && it->second > 1.0; ++it) from = it->first;
  std::string out = from > 0 ? "FMA faster from n = " + std::to_string(from) : "dense faster at every n measured";
  for (size_t i = 0; i < ratios.size(); ++i) {
    char cell[64];
    std::snprintf(cell, sizeof(cell), "%s%.2fx at %lld", i == 0 ? " (dense/FMA: " : ", ", ratios[i].second,
                  static_cast<long long>(ratios[i].first));
    out += cell;
  }
  return out + ")";
}

// 1 MiB of English: Debian's fortunes (the training corpus), or the bundled sample repeated.
std::string english_megabyte(std::string* source) {
  constexpr size_t kBytes = 1 << 20;
  std::string text;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it("/usr/share/games/fortunes", ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && it->path().extension() != ".dat" && it->path().extension() != ".u8") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.size() >= kBytes) break;
  }
  *source = "Debian's fortunes";
  if (text.size() < kBytes) {
    std::ifstream in(bundled_files().sample_text, std::ios::binary);
    const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (sample.empty()) return "";
    text.clear();
    while (text.size() < kBytes) text += sample;
    *source = "the bundled sample text, repeated";
  }
  text.resize(kBytes);
  return text;
}

// A byte-level BPE with `merges` merges (GPT-2 has 50,000) from `text`'s own words: the most
// frequent first, each spelled out merge by merge from its first byte, written as encoder.json
// + vocab.bpe in `dir` (so that loading is timed too).
void write_bench_bpe(const std::string& text, size_t merges, const std::filesystem::path& dir) {
  std::unordered_map<std::string_view, int64_t> counts;
  for (const auto& [b, e] : gpt2_pretokenize(text)) ++counts[std::string_view(text).substr(static_cast<size_t>(b), static_cast<size_t>(e - b))];
  std::vector<std::pair<std::string_view, int64_t>> words(counts.begin(), counts.end());
  std::sort(words.begin(), words.end(), [](const auto& x, const auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[gpt2_visible_bytes(std::string(1, static_cast<char>(b)))] = b;
  std::string lines = "#version: 0.2\n";
  size_t made = 0;
  for (const auto& [word, count] : words) {
    std::string prefix(word.substr(0, 1));
    for (size_t k = 1; k < word.size() && made < merges; ++k) {
      const std::string next(1, word[k]);
      const std::string joined = gpt2_visible_bytes(prefix + next);
      if (!vocab.contains(joined)) {
        vocab[joined] = 256 + static_cast<int64_t>(made++);
        lines += gpt2_visible_bytes(prefix) + " " + gpt2_visible_bytes(next) + "\n";
      }
      prefix += next;
    }
    if (made >= merges) break;
  }
  std::filesystem::create_directories(dir);
  write_file_atomically((dir / "encoder.json").string(), vocab.dump());
  write_file_atomically((dir / "vocab.bpe").string(), lines);
}

// Tokenizing 1 MiB of English with the bytes tokenizer and a 50,000-merge BPE (and the user's).
void tokenizer_rows(const BenchArgs& a) {
  std::string source;
  const std::string text = english_megabyte(&source);
  if (text.empty()) {
    std::printf("tokenizers: not measured (no fortunes and no bundled sample text)\n");
    return;
  }
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); };
  // Best of three: the machines are shared.
  const auto time_encode = [&](const Tokenizer& t, size_t* count) {
    double best = 1e300;
    for (int k = 0; k < 3; ++k) {
      const auto t0 = Clock::now();
      *count = t.encode(text).size();
      best = std::min(best, ms_since(t0));
    }
    return best;
  };
  size_t byte_tokens = 0;
  const double bytes_ms = time_encode(*byte_tokenizer(), &byte_tokens);
  std::printf("\ntokenizing 1 MiB of English (%s), best of 3:\n", source.c_str());
  std::printf("  %-44s %9.1f ms  %8zu tokens  %5.2f bytes/token\n", "bytes", bytes_ms, byte_tokens, 1.0 * text.size() / byte_tokens);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("fmalens_bench_bpe_" + std::to_string(::getpid()));
  std::vector<std::pair<std::string, std::string>> rows;
  try {
    write_bench_bpe(text, 50000, dir);
    rows.emplace_back((dir / "encoder.json").string(), "GPT-2 BPE, 50,000 merges (the text's words)");
  } catch (const std::exception& e) {
    std::printf("  BPE: not measured (%s)\n", error_line(e).c_str());
  }
  if (!a.tokenizer.empty()) rows.emplace_back(a.tokenizer, "");
  for (const auto& [path, label] : rows) {
    try {
      const auto t0 = Clock::now();
      const auto t = load_tokenizer(path);
      const double load_ms = ms_since(t0);
      size_t count = 0;
      const double ms = time_encode(*t, &count);
      std::printf("  %-44s %9.1f ms  %8zu tokens  %5.2f bytes/token  (%.1fx bytes; loading %.0f ms)\n",
                  (label.empty() ? t->describe() : label).substr(0, 44).c_str(), ms, count, 1.0 * text.size() / count, ms / bytes_ms,
                  load_ms);
    } catch (const std::exception& e) {
      std::printf("  %s: not measured (%s)\n", path.c_str(), error_line(e).c_str());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// One row of `bench --attention`: an attention and its FMA settings.
struct AttentionRow {
  const char* label;
  const char* variant;
  const char* impl;
  const char* downsampling;
};

// `fmalens bench --attention`: the paper's comparison of efficient attentions on one machine in
// one run. Every row at m 32, p 4, each case in a child (its own peak memory), dense left out
// where it would not fit or take over a minute; time and memory ratios to dense at the same n.
int run_attention_comparison(const BenchArgs& a) {
  const bool on_gpu = a.device == "cuda";
  const std::vector<int64_t> sizes = a.sizes_given ? a.sizes : std::vector<int64_t>{256, 1024, 4096, 16384, 65536};
  // The learned row besides avgpool and nested (which have their own rows; nested has no
  // downsampled-query variant).
  const std::string learned = a.c.downsampling == "avgpool" || a.c.downsampling == "nested" ? "groupedconv" : a.c.downsampling;
  const std::string fma_label = "FMA (" + learned + ")";
  const std::vector<AttentionRow> rows = {
      {"dense", "causal", "dense", "groupedconv"},
      {"local (FMA's fine band)", "causal", "local", "groupedconv"},
      {"elu_linear", "causal", "elu_linear", "groupedconv"},
      {"FMA (avgpool)", "causal", "fma", "avgpool"},
      {fma_label.c_str(), "causal", "fma", learned.c_str()},
      {"FMA (nested)", "causal", "fma", "nested"},
      {"dense", "bidirectional", "dense", "groupedconv"},
      {fma_label.c_str(), "bidirectional", "fma", learned.c_str()},
      {"FMA, downsampled queries", "linear", "fma", learned.c_str()},
  };
  std::printf("fmalens bench --attention on %s; q, k, v in %s; batch 1, %lld heads, head dim %lld, m 32, p 4\n",
              describe_bench_device(a.device).c_str(), a.c.dtype.c_str(), static_cast<long long>(kBenchHeads),
              static_cast<long long>(kBenchHeadDim));
  std::fflush(stdout);
  std::vector<BenchRecord> records;
  const double memory_mb = device_memory_mb(a.device);
  std::map<std::string, std::pair<int64_t, double>> last_dense;  // variant/pass -> (n, ms)
  for (const char* pass : {"forward", "forward_backward"})
    for (int64_t n : sizes)
      for (const AttentionRow& row : rows) {
        BenchCase c{row.variant, row.impl, n, pass, a.c.dtype, row.downsampling, 32, 4};
        int repeats = n >= 16384 ? std::max(1, a.repeats / 2) : a.repeats;
        const bool bwd = std::string(pass) == "forward_backward";
        if (c.impl == "dense") {
          const std::string key = c.variant + std::string("/") + pass;
          const auto it = last_dense.find(key);
          const double predicted_ms =
              it == last_dense.end() ? 0 : it->second.second * std::pow(static_cast<double>(n) / static_cast<double>(it->second.first), 2.0);
          if (predicted_ms > 60e3 || dense_bytes_needed(n, bwd, a.device) / (1024.0 * 1024.0) > 0.6 * memory_mb) {
            std::fprintf(stderr, "  %-13s %-24s %-16s n=%-6lld left out: %s\n", c.variant.c_str(), row.label, pass,
                         static_cast<long long>(n), predicted_ms > 60e3 ? "over a minute a call" : "its n x n matrices do not fit");
            continue;
          }
          if (predicted_ms > 2e3) repeats = 1;
        }
        BenchRecord r = on_gpu ? run_in_process(c, repeats, a.device, "") : run_child(a, c, repeats, "");
        std::fprintf(stderr, "  %-13s %-24s %-16s n=%-6lld %10.2f ms  peak %9.1f MB %s\n", c.variant.c_str(), row.label, pass,
                     static_cast<long long>(n), r.ms, r.peak_mb, r.note.c_str());
        if (c.impl == "dense" && r.ms > 0) last_dense[c.variant + std::string("/") + pass] = {n, r.ms};
        records.push_back(r);
      }
  // The table: per pass and n, every row with its ratios to dense of the same kind (causal or
  // bidirectional) at the same n.
  auto find = [&](const std::string& variant, const std::string& impl, const std::string& ds, const std::string& pass, int64_t n)
      -> const BenchRecord* {
    for (const auto& r : records)
      if (r.c.variant == variant && r.c.impl == impl && (impl != "fma" || r.c.downsampling == ds) && r.c.pass == pass && r.c.n == n &&
          r.ms > 0)
        return &r;
    return nullptr;
  };
  for (const char* pass : {"forward", "forward_backward"}) {
    std::printf("\n%s: median ms (peak MB above the inputs) [time x, memory x against dense]\n", pass);
    std::printf("%-40s", "attention");
    for (int64_t n : sizes) std::printf(" | %30lld", static_cast<long long>(n));
    std::printf("\n");
    for (const AttentionRow& row : rows) {
      std::printf("%-40s", (std::string(row.variant == std::string("causal") ? "causal " : "bidirectional ") + row.label).c_str());
      for (int64_t n : sizes) {
        const BenchRecord* r = find(row.variant, row.impl, row.downsampling, pass, n);
        const BenchRecord* d = find(row.variant == std::string("linear") ? "bidirectional" : row.variant, "dense", "", pass, n);
        char cell[64] = "-";
        if (r && d && r != d)
          std::snprintf(cell, sizeof(cell), "%.2f (%.0f) [%.2fx %.1fx]", r->ms, r->peak_mb, d->ms / r->ms,
                        d->peak_mb / std::max(0.1, r->peak_mb));
        else if (r)
          std::snprintf(cell, sizeof(cell), "%.2f (%.0f)", r->ms, r->peak_mb);
        std::printf(" | %30s", cell);
      }
      std::printf("\n");
    }
  }
  if (!a.plot.empty()) {
    std::vector<PlotSeries> series;
    const char* colours[] = {"#d62728", "#9467bd", "#8c564b", "#ff7f0e", "#1f77b4", "#e377c2", "#d62728", "#2ca02c", "#17becf"};
    static_assert(sizeof(colours) / sizeof(colours[0]) == 9, "one colour per row");
    for (size_t k = 0; k < rows.size() && k < 9; ++k) {
      const bool bidirectional = std::string(rows[k].variant) != "causal";
      series.push_back({std::string(bidirectional ? "bidir. " : "causal ") + rows[k].label, rows[k].variant, rows[k].impl,
                        std::string(rows[k].impl) == "fma" ? rows[k].downsampling : "", colours[k], bidirectional ? "6,4" : ""});
    }
    write_file_atomically(a.plot, bench_plot_svg(records, series, {"forward", "forward_backward"},
                                                 a.device + ", 4 heads, d 64, m 32, p 4"));
    std::printf("wrote %s\n", a.plot.c_str());
  }
  if (!a.json.empty()) write_records_json(a.json, records);
  return 0;
}

// `fmalens bench --train-step`: one training step (forward, loss, backward) of a whole 4-layer
// byte model at each n, FMA with groupedconv and with nested summaries against dense attention
// where dense fits; each case in a child (its own peak memory).
int run_train_step_comparison(const BenchArgs& a) {
  const std::vector<int64_t> sizes = a.sizes_given ? a.sizes : std::vector<int64_t>{4096, 16384, 65536};
  struct Row {
    const char* label;
    const char* impl;
    const char* downsampling;
  };
  const Row rows[] = {{"dense", "dense", "groupedconv"}, {"FMA (groupedconv)", "fma", "groupedconv"}, {"FMA (nested)", "fma", "nested"}};
  std::printf("fmalens bench --train-step on %s: a byte model of 4 layers, 4 heads, width 128, no position table, m 32, p 4;\n"
              "one sequence of n bytes, forward + cross-entropy + backward\n",
              describe_bench_device(a.device).c_str());
  std::printf("%8s | %-18s | %10s | %10s | %9s | %s\n", "n", "attention", "ms", "peak MB", "bytes/s", "vs dense");
  std::fflush(stdout);
  std::vector<BenchRecord> records;
  const double memory_mb = device_memory_mb(a.device);
  for (int64_t n : sizes) {
    double dense_ms = 0, dense_peak = 0;  // this n's dense step, when it ran
    for (const Row& row : rows) {
      BenchCase c{"train_step", row.impl, n, "forward_backward", "float32", row.downsampling, 32, 4};
      BenchRecord r;
      // Dense keeps every layer's n x n weights for the backward pass.
      if (std::string(row.impl) == "dense" && dense_bytes_needed(n, true, a.device, 4) / (1024.0 * 1024.0) > 0.6 * memory_mb) {
        r.c = c;
        r.note = "does not fit";
      } else {
        r = run_child(a, c, std::max(1, n >= 16384 ? a.repeats / 2 : a.repeats), "");
      }
      records.push_back(r);
      const BenchRecord& kept = records.back();
      const bool is_dense = std::string(row.impl) == "dense";
      if (is_dense && kept.ms > 0) {
        dense_ms = kept.ms;
        dense_peak = kept.peak_mb;
      }
      char ratio[64] = "";
      if (!is_dense && dense_ms > 0 && kept.ms > 0)
        std::snprintf(ratio, sizeof(ratio), "%.1fx faster, %.1fx less memory", dense_ms / kept.ms, dense_peak / std::max(kept.peak_mb, 1.0));
      if (kept.ms > 0)
        std::printf("%8lld | %-18s | %10.0f | %10.0f | %9.0f | %s\n", static_cast<long long>(n), row.label, kept.ms, kept.peak_mb,
                    static_cast<double>(n) / (kept.ms / 1000.0), ratio);
      else
        std::printf("%8lld | %-18s | %10s | %10s | %9s | %s\n", static_cast<long long>(n), row.label, "-", "-", "-", kept.note.c_str());
      std::fflush(stdout);
    }
  }
  if (!a.json.empty()) write_records_json(a.json, records);
  return 0;
}

int run_parent(const BenchArgs& a) {
  std::vector<BenchRecord> records;
  const bool on_gpu = a.device == "cuda";
  std::printf("fmalens bench on %s; q, k, v in %s\n", describe_bench_device(a.device).c_str(), a.c.dtype.c_str());
  std::fflush(stdout);
  auto add = [&](BenchCase c, int repeats, const std::string& ckpt = "") {
    c.dtype = a.c.dtype;
    c.downsampling = a.c.downsampling;
    BenchRecord r = on_gpu && c.variant != "matrix_view" ? run_in_process(c, repeats, a.device, ckpt) : run_child(a, c, repeats, ckpt);
    std::fprintf(stderr, "  %-13s %-7s %-16s n=%-6lld %9.2f ms  peak %8.1f MB  %7.1f GFLOP/s %s\n", c.variant.c_str(),
                 c.impl.c_str(), c.pass.c_str(), static_cast<long long>(c.n), r.ms, r.peak_mb, r.gflops, r.note.c_str());
    records.push_back(r);
  };
  const double memory_mb = device_memory_mb(a.device);
  // Dense grows as n^2: from its time at the last n, a case predicted past a few seconds a
  // call runs once after its warm-up, and one past a minute is left out.
  std::map<std::string, std::pair<int64_t, double>> last_dense;  // variant/pass -> (n, ms)
  auto dense_repeats = [&](const std::string& key, int64_t n) {
    auto it = last_dense.find(key);
    const double predicted_ms = it == last_dense.end() ? 0 : it->second.second * std::pow(static_cast<double>(n) / static_cast<double>(it->second.first), 2.0);
    return predicted_ms > 60e3 ? 0 : predicted_ms > 2e3 ? 1 : n >= 16384 ? 3 : a.repeats;
  };
  add({"matmul", "dense", 2048, "forward"}, a.repeats);
  for (const auto& variant : a.variants)
    for (const char* pass : {"forward", "forward_backward"})
      for (int64_t n : a.sizes) {
        add({variant, "fma", n, pass}, a.repeats);
        const bool bwd = std::string(pass) == "forward_backward";
        // On a GPU the automatic path is the ops path: no separate row.
        if (!on_gpu && ((variant == "causal" && (bwd ? n <= 16384 : n <= 4096)) || (a.quick && n <= 4096)))
          add({variant, "fma_ops", n, pass}, std::max(1, a.repeats / 2));
        if (variant == "linear") continue;  // dense is the same as bidirectional's
        const std::string key = variant + "/" + pass;
        const int repeats = dense_repeats(key, n);
        if (repeats == 0) {
          std::fprintf(stderr, "  %-13s dense   %-16s n=%-6lld left out: over a minute a call, predicted from n = %lld\n",
                       variant.c_str(), pass, static_cast<long long>(n), static_cast<long long>(last_dense[key].first));
        } else if (dense_bytes_needed(n, bwd, a.device) / (1024.0 * 1024.0) < 0.6 * memory_mb) {
          add({variant, "dense", n, pass}, repeats);
          if (records.back().ms > 0) last_dense[key] = {n, records.back().ms};
        }
      }
  // A model that is not there (the bundled ones beside a binary copied out of its tree) leaves
  // its end-to-end rows out, and the run says so; '' asks for no such rows.
  auto usable = [](const std::string& option, const std::string& path, const char* kind) {
    if (option.empty()) return false;
    if (!path.empty() && access(path.c_str(), R_OK) == 0) return true;
    std::fprintf(stderr, "  %s model %s not found or not readable: no end-to-end %s rows\n", kind,
                 option == kBundled ? "(the bundled one)" : option.c_str(), kind);
    return false;
  };
  const std::string text_model = model_path(a.text_model, false), image_model = model_path(a.image_model, true);
  if (usable(a.text_model, text_model, "text"))
    for (int64_t n : {1024, 4096}) add({"text_model", "fma", n, "forward"}, a.repeats, text_model);
  if (usable(a.image_model, image_model, "image")) add({"image_model", "fma", 1, "forward"}, a.repeats, image_model);
#ifdef FMALENS_WITH_GUI
  if (a.frames)
    for (int64_t n : {1024, 4096, 16384}) add({"matrix_view", "fma", n, "frame"}, a.repeats);
#endif
  add({"matmul", "dense", 2048, "forward"}, a.repeats);  // again: a drift check for a shared machine
  if (!a.peer.empty()) {
    if (access(a.peer.c_str(), R_OK) != 0) {
      std::fprintf(stderr, "  peer: %s not found; no peer rows\n", a.peer.c_str());
    } else {
      std::fprintf(stderr, "peer (%s):\n", a.peer.c_str());
      std::vector<int64_t> causal_sizes;
      for (const auto& v : a.variants)
        if (v == "causal") causal_sizes = a.sizes;
      if (!causal_sizes.empty())
        for (auto& r : run_peer(a.peer, causal_sizes)) records.push_back(r);
    }
  }

  // The table, with ratios to dense and to the peer in the same run.
  std::map<std::string, const BenchRecord*> by_key;
  auto key = [](const BenchCase& c) { return c.variant + "/" + c.impl + "/" + c.pass + "/" + std::to_string(c.n); };
  for (const auto& r : records)
    if (r.c.impl != "peer" || !by_key.count(key(r.c))) by_key[key(r.c)] = &r;
  auto find = [&](const std::string& k) -> const BenchRecord* {
    auto it = by_key.find(k);
    return it != by_key.end() && it->second->ms > 0 ? it->second : nullptr;
  };
  std::printf("\n%-13s %-16s %6s | %9s %8s %7s | %9s %8s %7s %6s | %8s %7s %6s %6s\n", "variant", "pass", "n", "FMA ms", "peak MB",
              "GFLOP/s", "dense ms", "peak MB", "time x", "mem x", "peer ms", "peak MB", "time x", "mem x");
  auto cell = [](const BenchRecord* r, const char* fmt, double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), fmt, v);
    return r ? std::string(buf) : std::string("-");
  };
  for (const auto& r : records) {
    if (r.c.impl != "fma" || r.c.variant == "text_model" || r.c.variant == "image_model") continue;
    if (r.ms <= 0) {  // the child failed or was stopped: say so instead of printing zeros
      std::printf("%-13s %-16s %6lld | not measured: %s\n", r.c.variant.c_str(), r.c.pass.c_str(), static_cast<long long>(r.c.n),
                  r.note.c_str());
      continue;
    }
    const std::string n = std::to_string(r.c.n);
    const BenchRecord* d = find((r.c.variant == "linear" ? "bidirectional" : r.c.variant) + "/dense/" + r.c.pass + "/" + n);
    const BenchRecord* p = find(r.c.variant + "/peer/" + r.c.pass + "/" + n);
    const double fma_mb = std::max(0.1, r.peak_mb);
    std::printf("%-13s %-16s %6lld | %9.2f %8.1f %7.1f | %9s %8s %7s %6s | %8s %7s %6s %6s\n", r.c.variant.c_str(), r.c.pass.c_str(),
                static_cast<long long>(r.c.n), r.ms, r.peak_mb, r.gflops, cell(d, "%.2f", d ? d->ms : 0).c_str(),
                cell(d, "%.1f", d ? d->peak_mb : 0).c_str(), cell(d, "%.1f", d ? d->ms / r.ms : 0).c_str(),
                cell(d, "%.0f", d ? d->peak_mb / fma_mb : 0).c_str(), cell(p, "%.1f", p ? p->ms : 0).c_str(),
                cell(p, "%.1f", p ? p->peak_mb : 0).c_str(), cell(p, "%.2f", p ? p->ms / r.ms : 0).c_str(),
                cell(p, "%.1f", p ? p->peak_mb / fma_mb : 0).c_str());
  }
  for (const auto& r : records)
    if (r.c.impl == "fma_ops") {
      if (const BenchRecord* f = find(r.c.variant + "/fma/" + r.c.pass + "/" + std::to_string(r.c.n)))
        std::printf("kernel vs LibTorch ops  %-13s %-16s n=%-6lld %8.2f ms vs %8.2f ms: %.1fx\n", r.c.variant.c_str(),
                    r.c.pass.c_str(), static_cast<long long>(r.c.n), f->ms, r.ms, r.ms / f->ms);
    }
  for (const auto& r : records)
    if (r.c.variant == "matrix_view")
      std::printf("matrix view  n=%-6lld a full redraw (zoom) %.1f ms; %s\n", static_cast<long long>(r.c.n), r.ms, r.note.c_str());
  for (const auto& r : records)
    if (r.c.variant == "text_model" || r.c.variant == "image_model")
      std::printf("%-11s %6lld %s: %.1f ms (with capture)\n", r.c.variant.c_str(), static_cast<long long>(r.c.n),
                  r.c.variant == "text_model" ? "bytes" : "image", r.ms);
  double mm = 0, peer_mm = 0;
  for (const auto& r : records)
    if (r.c.variant == "matmul") {
      double& best = r.c.impl == "peer" ? peer_mm : mm;
      best = std::max(best, r.gflops);
    }
  if (peer_mm > 0) std::printf("2048^2 matmul: %.1f GFLOP/s here, %.1f GFLOP/s in the peer's PyTorch\n", mm, peer_mm);
  for (const auto& variant : a.variants) {
    std::vector<std::pair<double, double>> t, m;
    double best = 0;
    for (const auto& r : records)
      if (r.c.variant == variant && r.c.impl == "fma" && r.c.pass == "forward") {
        best = std::max(best, r.gflops);
        if (r.c.n >= 4096 && r.ms > 0) t.push_back({static_cast<double>(r.c.n), r.ms});
        if (r.c.n >= 4096 && r.peak_mb > 0) m.push_back({static_cast<double>(r.c.n), r.peak_mb});
      }
    std::vector<std::pair<double, double>> t_top;  // the last step, 16384 -> 65536, the target's
    for (auto pt : t)
      if (pt.first >= 16384) t_top.push_back(pt);
    std::printf("%-13s forward: time ~ n^%.2f (n >= 4096), n^%.2f (16384..65536); memory ~ n^%.2f; best %.1f GFLOP/s = %.0f%% of a "
                "2048^2 matmul (%.1f GFLOP/s)\n",
                variant.c_str(), fitted_exponent(t), fitted_exponent(t_top), fitted_exponent(m), best, mm > 0 ? 100 * best / mm : 0.0,
                mm);
  }
  for (const auto& variant : a.variants)
    for (const char* pass : {"forward", "forward_backward"}) {
      const std::string line = overtaking(records, variant, pass);
      if (!line.empty()) std::printf("%-13s %-16s %s\n", variant.c_str(), pass, line.c_str());
    }
  if (a.tokenizers) tokenizer_rows(a);
  if (!a.plot.empty()) {
    write_file_atomically(a.plot, bench_plot_svg(records));
    std::printf("wrote %s\n", a.plot.c_str());
  }
  if (!a.json.empty()) write_records_json(a.json, records);
  return 0;
}

}  // namespace

void add_bench(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("bench", "Benchmark FMA against dense attention (time, peak memory, GFLOP/s) and the shipped models");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("--json", a->json, "Also write the records as JSON to this file");
  cmd->add_option("--plot", a->plot, "Also draw time and peak memory against n (FMA, the peer, dense) as SVG");
  cmd->add_option("--peer", a->peer, "The peer's bench.py (../shared/peers/fma-torch/bench.py) to run in the same session");
  cmd->add_option("--n", a->sizes, "Sequence lengths (default 1024 4096 16384 65536; with --attention 256 .. 65536)")->delimiter(',');
  cmd->add_option("--variants", a->variants, "causal, bidirectional, linear")->delimiter(',');
  cmd->add_option("--repeats", a->repeats, "Timed calls per case (the median is reported)");
  cmd->add_option("--device", a->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--dtype", a->c.dtype, "q, k, v (and the models' weights) in float32, bfloat16 or float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  cmd->add_option("--text-model", a->text_model, "Text model for the end-to-end rows (default: the bundled one; '' to skip)");
  cmd->add_option("--image-model", a->image_model, "Image model for the end-to-end rows (default: the bundled one; '' to skip)");
  cmd->add_flag("--quick", a->quick, "Also time the LibTorch-ops FMA at every n <= 4096");
  cmd->add_flag("!--no-frames", a->frames, "Leave out the matrix view's offscreen frame times");
  cmd->add_flag("!--no-tokenizers", a->tokenizers, "Leave out tokenizing 1 MiB of English (bytes, a 50,000-merge BPE)");
  cmd->add_option("--tokenizer", a->tokenizer, "Also time tokenizing with this tokenizer (meta.pkl, BPE files or tokenizer.json)");
  cmd->add_flag("--train-step", a->train_step,
                "A whole model's training step instead (4 layers, 4 heads, width 128; forward + loss + backward of n bytes; n 4096, "
                "16384, 65536): dense where it fits, FMA with groupedconv and with nested summaries");
  cmd->add_flag("--attention", a->attention,
                "Every attention side by side instead (m 32, p 4; forward and forward+backward; n 256 .. 65536): causal dense, "
                "local, elu_linear, FMA with avgpool, groupedconv (or --downsampling) and nested summaries; bidirectional dense, FMA, "
                "FMA with downsampled queries; ratios to dense");
  cmd->add_option("--downsampling", a->c.downsampling, "FMA's summaries: groupedconv (default), conv, avgpool or nested")
      ->check(CLI::IsMember({"groupedconv", "conv", "avgpool", "nested"}));
  // The child side (one case, prints one JSON line).
  cmd->add_flag("--child", a->child)->group("");
  cmd->add_option("--variant", a->c.variant)->group("");
  cmd->add_option("--impl", a->c.impl)->group("");
  cmd->add_option("--size", a->c.n)->group("");
  cmd->add_option("--pass", a->c.pass)->group("");
  cmd->add_option("--checkpoint", a->checkpoint)->group("");
  cmd->add_option("--m", a->c.m)->group("");
  cmd->add_option("--p", a->c.p)->group("");
  cmd->callback([a, &action, cmd] {
    a->sizes_given = cmd->get_option("--n")->count() > 0;
    action = [a]() -> int {
      if (!a->child) {
        return a->train_step ? run_train_step_comparison(*a) : a->attention ? run_attention_comparison(*a) : run_parent(*a);
      }
      BenchRecord r = a->c.variant == "matrix_view" ? run_matrix_view_case(a->c, a->repeats)
                                                    : run_bench_case(a->c, a->repeats, a->device, a->checkpoint);
      std::printf("%s\n", to_json(r).dump().c_str());
      return 0;
    };
  });
}

}  // namespace fmalens::cli
