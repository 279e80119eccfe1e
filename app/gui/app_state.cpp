#include "gui/app_state.h"

#include "fmalens/quote.h"
#include "gui/views.h"
#include "render/workspace.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fmalens::gui {
namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

Effects submit(AppState& s) {
  Effects e;
  if (s.checkpoint.empty()) {
    s.status = "open a checkpoint to run";
    return e;
  }
  e.submit = make_job(s);
  s.running = true;
  s.text_dirty = false;
  s.status = "running";
  return e;
}

int64_t default_query(const Snapshot& snap) {
  if (snap.config.kind == ModelKind::image) {
    const int64_t g = snap.config.grid_side();
    return (g / 2) * g + g / 2;  // the centre patch
  }
  return std::max<int64_t>(0, snap.tokens - 1);  // the last byte sees the whole text
}

void finish_run(AppState& s, const EngineResult& r) {
  s.running = false;
  if (r.cancelled || !r.error.empty()) s.restore_place.reset();  // a workspace's place is for its own run
  if (r.cancelled) {
    s.status = "run cancelled";
    s.checkpoint = s.loaded_checkpoint;
    s.tokenizer = s.loaded_tokenizer;
    return;
  }
  if (!r.error.empty()) {
    s.error = r.error;
    s.status = "run failed";
    // The previous model and run stay; a refused tokenizer is forgotten for its checkpoint.
    if (s.tokenizer != s.loaded_tokenizer) {
      const auto it = s.tokenizers.find(s.checkpoint);
      if (it != s.tokenizers.end() && it->second == s.tokenizer) {
        if (s.checkpoint == s.loaded_checkpoint && !s.loaded_tokenizer.empty()) it->second = s.loaded_tokenizer;
        else s.tokenizers.erase(it);
      }
    }
    s.checkpoint = s.loaded_checkpoint;
    s.tokenizer = s.loaded_tokenizer;
    return;
  }
  if (r.model) s.model = r.model;
  if (!r.snapshot) return;
  // A new model starts over (default query, whole matrix); a new input to the same model keeps
  // the selection, and a query on the last byte stays on the last byte as the text grows.
  const bool was_last = s.snapshot && s.query == s.snapshot->tokens - 1;
  bool new_model = !s.snapshot || s.snapshot->config.kind != r.snapshot->config.kind || (r.model && s.loaded_checkpoint != r.model->path);
  s.snapshot = r.snapshot;
  s.loaded_checkpoint = s.checkpoint = r.model ? r.model->path : s.checkpoint;
  s.loaded_tokenizer = s.tokenizer;
  const ModelConfig& c = s.snapshot->config;
  s.layer = std::clamp(s.layer, 0, static_cast<int>(std::max<int64_t>(c.n_layer, 1)) - 1);
  s.head = std::clamp(s.head, -1, static_cast<int>(c.n_head) - 1);
  if (s.query < 0 || s.query >= s.snapshot->tokens || new_model || (was_last && c.kind == ModelKind::text))
    s.query = default_query(*s.snapshot);
  if (s.restore_place) {  // a workspace's selection, within this run
    const ViewPlace p = *s.restore_place;
    s.restore_place.reset();
    s.layer = std::clamp(p.layer, 0, static_cast<int>(std::max<int64_t>(c.n_layer, 1)) - 1);
    s.head = std::clamp(p.head, -1, static_cast<int>(c.n_head) - 1);
    if (p.query >= 0) s.query = std::min(p.query, s.snapshot->tokens - 1);
    s.nav = p.nav;
    new_model = false;  // keep the place just restored
    s.back.clear();
    s.forward.clear();
  }
  if (new_model) {
    s.nav.fit = true;
    s.back.clear();  // places of another model mean nothing here
    s.forward.clear();
  }
  const int levels = static_cast<int>(s.snapshot->downsampling.empty() ? 0 : s.snapshot->downsampling[0].size());
  if (s.weights_level < 1 || s.weights_level > levels) s.weights_level = 1;
  add_recent(s, s.loaded_checkpoint);
  char line[160];
  std::snprintf(line, sizeof(line), "ran %lld tokens in %.0f ms on %s", static_cast<long long>(s.snapshot->tokens),
                s.snapshot->run_ms, s.snapshot->device.c_str());
  s.status = line;
}

Effects open_image(AppState& s, const std::string& path) {
  try {
    s.image = std::make_shared<const Image>(load_image(path));
  } catch (const std::exception& e) {
    s.error = error_line(e);
    return {};
  }
  s.image_path = path;
  add_recent(s, path);
  if (s.model && !s.is_image_model()) {
    std::error_code ec;
    if (s.image_model.empty() || !std::filesystem::exists(s.image_model, ec)) {
      s.error = "this is a text model: open an image model (.safetensors) to look at " + shown_path(path);
      return {};
    }
    s.checkpoint = s.image_model;  // switch to the bundled image model
  }
  return submit(s);
}

Effects open_text_file(AppState& s, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    s.error = shown_path(path) + ": a folder; open a checkpoint, a tokenizer (or its folder), a text file or an image";
    return {};
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    s.error = "cannot read " + shown_path(path);
    return {};
  }
  const std::streamoff size = in.tellg();
  const std::streamoff keep = std::min<std::streamoff>(size, static_cast<std::streamoff>(kMaxTextBytes));
  std::string text(static_cast<size_t>(keep), '\0');
  in.seekg(size - keep);
  in.read(text.data(), keep);
  if (!in) {
    s.error = "cannot read " + shown_path(path);
    return {};
  }
  if (text.empty()) {
    s.error = shown_path(path) + " is empty: there is nothing to run";
    return {};
  }
  s.text = std::move(text);
  s.text_path = path;
  ++s.text_version;
  add_recent(s, path);
  if (s.is_image_model()) {
    s.error = "this is an image model: open a text model to run " + shown_path(path);
    return {};
  }
  return submit(s);
}

struct Applier {
  AppState& s;

  Effects operator()(const OpenCheckpoint& c) {
    if (c.path.empty()) return {};
    s.checkpoint = c.path;
    const auto it = s.tokenizers.find(c.path);
    s.tokenizer = it == s.tokenizers.end() ? std::string() : it->second;
    return submit(s);
  }
  Effects operator()(const OpenTokenizer& c) {
    if (c.path.empty()) return {};
    s.tokenizer = c.path;
    s.tokenizers[s.checkpoint] = c.path;
    return submit(s);
  }
  Effects operator()(const OpenWorkspace& c) {
    render::Workspace w;
    try {
      w = render::load_workspace(c.path);
      for (const auto& name : w.hidden)
        if (!view_from_name(name)) throw Error("workspace " + shown_path(c.path) + ": views.hidden names no view " + quote(name));
      if (!w.focus.empty() && !view_from_name(w.focus))
        throw Error("workspace " + shown_path(c.path) + ": views.alone names no view " + quote(w.focus));
      if (w.checkpoint.empty()) throw Error("workspace " + shown_path(c.path) + ": it names no checkpoint");
    } catch (const std::exception& e) {
      s.error = error_line(e);
      return {};
    }
    // The input first (a refused one leaves the state as it was), then the model and the views.
    if (!w.text_file.empty()) {
      const std::string text_before = s.text;
      open_text_file(s, w.text_file);
      if (!s.error.empty()) return {};
      (void)text_before;
    } else if (!w.image.empty()) {
      open_image(s, w.image);
      if (!s.error.empty()) return {};
    } else if (!w.text.empty()) {
      s.text = w.text;
      s.text_path.clear();
      ++s.text_version;
    }
    s.checkpoint = w.checkpoint;
    s.tokenizer = w.tokenizer;
    if (!w.tokenizer.empty()) s.tokenizers[w.checkpoint] = w.tokenizer;
    if (std::find(s.devices.begin(), s.devices.end(), w.device) != s.devices.end()) s.device = w.device;
    const render::FigureSettings& f = w.settings;
    static_cast<render::MatrixStyle&>(s.matrix) = f;
    s.matrix.overlay_opacity = f.overlay_opacity;
    s.weights_level = w.weights_level;
    s.heads_x = f.heads_x;
    s.heads_y = f.heads_y;
    s.distance_all_heads = f.all_heads_profiles;
    s.visible.fill(true);
    for (const auto& name : w.hidden) s.visible[static_cast<size_t>(*view_from_name(name))] = false;
    s.focus = w.focus.empty() ? std::nullopt : view_from_name(w.focus);
    s.restore_place = ViewPlace{f.layer, f.head, f.query, {f.fit, f.t0, f.i0, f.cells_per_pixel}};
    s.partner_checkpoint = w.partner;  // runs beside the first model (apply() submits it)
    s.partner_snapshot.reset();
    s.partner_model.reset();
    s.status = "opened workspace " + c.path;
    return submit(s);
  }
  Effects operator()(const OpenImage& c) { return open_image(s, c.path); }
  Effects operator()(const OpenTextFile& c) { return open_text_file(s, c.path); }
  Effects operator()(const DropFiles& c) {
    // Inputs first, then checkpoints, then tokenizers (for the checkpoint dropped with them):
    // the final job runs the new inputs on the new model.
    Effects out;
    const auto pass_of = [](FileKind k) { return k == FileKind::checkpoint ? 1 : k == FileKind::tokenizer || k == FileKind::workspace ? 2 : 0; };
    for (int pass = 0; pass < 3; ++pass)
      for (const auto& path : c.paths) {
        const FileKind kind = file_kind(path);
        if (pass_of(kind) != pass) continue;
        Effects e = kind == FileKind::checkpoint  ? (*this)(OpenCheckpoint{path})
                    : kind == FileKind::tokenizer ? (*this)(OpenTokenizer{path})
                    : kind == FileKind::workspace ? (*this)(OpenWorkspace{path})
                    : kind == FileKind::image     ? open_image(s, path)
                                                  : open_text_file(s, path);
        if (e.submit) out.submit = std::move(e.submit);
      }
    return out;
  }
  Effects operator()(const EditText& c) {
    if (c.text == s.text) return {};
    s.text = c.text;
    s.text_path.clear();
    ++s.text_version;
    s.text_dirty = true;
    s.text_changed_at = c.now;
    return {};
  }
  Effects operator()(const MaskAtQuery&) {
    if (!s.snapshot || !s.model || !s.model->config.masked_lm || s.query < 0 || s.query >= s.snapshot->tokens) {
      s.status = "M masks a word for a masked LM (this model reads every byte)";
      return {};
    }
    // The query's byte in the user's text (the run may be its last block_size bytes).
    const int64_t at = s.snapshot->text_offset + s.query;
    if (at < 0 || at >= static_cast<int64_t>(s.text.size())) return {};
    auto word = [&](int64_t i) { return std::isalnum(static_cast<unsigned char>(s.text[static_cast<size_t>(i)])) != 0; };
    int64_t begin = at, end = at + 1;
    if (word(at)) {
      while (begin > 0 && word(begin - 1)) --begin;
      while (end < static_cast<int64_t>(s.text.size()) && word(end)) ++end;
    }
    s.text.replace(static_cast<size_t>(begin), static_cast<size_t>(end - begin), static_cast<size_t>(end - begin), '_');
    s.text_path.clear();
    ++s.text_version;
    return submit(s);
  }
  Effects operator()(const Tick& c) {
    s.now = c.now;
    if (!s.text_dirty || c.now - s.text_changed_at < s.debounce_s) return {};
    if (s.is_image_model()) {
      s.text_dirty = false;
      return {};
    }
    if (s.text.empty()) {
      s.text_dirty = false;
      s.status = "type some text to run";
      return {};
    }
    return submit(s);
  }
  Effects operator()(const RunNow&) { return submit(s); }
  Effects operator()(const CancelRun&) {
    Effects e;
    e.cancel = s.running;
    return e;
  }
  Effects operator()(const RunFinished& c) {
    finish_run(s, c.result);
    return {};
  }
  Effects operator()(const OpenPartner& c) {
    s.partner_checkpoint = c.path;
    s.partner_model.reset();
    s.partner_snapshot.reset();
    s.partner_running = false;
    if (c.path.empty()) {
      s.partner_generation = 0;
      s.status = "second model closed";
      return {};
    }
    if (file_kind(c.path) != FileKind::checkpoint) {
      s.error = "second model " + shown_path(c.path) + ": not a checkpoint (.safetensors, .pt, .pth, .ckpt, .bin)";
      s.partner_checkpoint.clear();
      return {};
    }
    Effects e;
    if (s.snapshot || !s.text.empty()) e.submit_partner = partner_job(s, make_job(s));
    return e;
  }
  Effects operator()(const PartnerFinished& c) {
    const EngineResult& r = c.result;
    if (r.generation != s.partner_generation) return {};  // superseded
    s.partner_running = false;
    if (r.cancelled) return {};
    if (!r.error.empty()) {
      s.error = "second model: " + r.error;
      s.partner_snapshot.reset();
      return {};
    }
    s.partner_model = r.model;
    s.partner_snapshot = r.snapshot;
    return {};
  }
  Effects operator()(const SetDevice& c) {
    if (c.device == s.device) return {};
    s.device = c.device;
    return s.snapshot ? submit(s) : Effects{};
  }
  Effects operator()(const SelectLayer& c) {
    const int layers = s.snapshot ? static_cast<int>(s.snapshot->layers.size()) : 0;
    if (layers > 0) s.layer = std::clamp(c.layer, 0, layers - 1);
    return {};
  }
  Effects operator()(const SelectHead& c) {
    const int heads = s.snapshot ? static_cast<int>(s.snapshot->config.n_head) : 0;
    if (heads > 0) s.head = std::clamp(c.head, -1, heads - 1);
    return {};
  }
  Effects operator()(const SelectQuery& c) {
    if (s.tokens() > 0) s.query = std::clamp<int64_t>(c.query, 0, s.tokens() - 1);
    return {};
  }
  Effects operator()(const MoveQuery& c) {
    const int64_t n = s.tokens();
    if (n <= 0) return {};
    int64_t q = std::max<int64_t>(s.query, 0);
    if (s.snapshot->config.kind == ModelKind::image) {
      const int64_t g = s.snapshot->config.grid_side();
      const int64_t y = std::clamp<int64_t>(q / g + c.dy, 0, g - 1), x = std::clamp<int64_t>(q % g + c.dx, 0, g - 1);
      q = y * g + x;
    } else {
      q += c.dx + 64 * c.dy;
    }
    s.query = std::clamp<int64_t>(q, 0, n - 1);
    return {};
  }
  Effects operator()(const SetMatrixSettings& c) {
    s.matrix = c.settings;
    s.matrix.decades = std::clamp(s.matrix.decades, 1.0f, 12.0f);
    s.matrix.tint_strength = std::clamp(s.matrix.tint_strength, 0.0f, 1.0f);
    s.matrix.gamma = std::clamp(s.matrix.gamma, 0.05f, 20.0f);
    s.matrix.overlay_opacity = std::clamp(s.matrix.overlay_opacity, 0.0f, 1.0f);
    return {};
  }
  Effects operator()(const ToggleLevel& c) {
    if (c.level >= 0 && c.level < 32) s.matrix.level_mask ^= 1u << c.level;
    return {};
  }
  Effects operator()(const CycleColormap&) {
    // The four sequential maps (diverging is for signed values).
    s.matrix.colormap = static_cast<render::Colormap>((static_cast<int>(s.matrix.colormap) + 1) % 4);
    return {};
  }
  Effects operator()(const ToggleLogScale&) {
    s.matrix.log_scale = !s.matrix.log_scale;
    return {};
  }
  Effects operator()(const SetMatrixView& c) {
    if (!(c.cells_per_pixel > 0)) return {};
    s.nav = {false, c.t0, c.i0, c.cells_per_pixel};
    return {};
  }
  Effects operator()(const FitMatrix&) {
    s.nav.fit = true;
    return {};
  }
  Effects operator()(const SetWeightsLevel& c) {
    s.weights_level = std::max(1, c.level);
    return {};
  }
  Effects operator()(const SetHeadsAxes& c) {
    if (!c.x.empty()) s.heads_x = c.x;
    if (!c.y.empty()) s.heads_y = c.y;
    return {};
  }
  Effects operator()(const SetDistanceAllHeads& c) {
    s.distance_all_heads = c.all;
    return {};
  }
  Effects operator()(const ShowView& c) {
    s.visible[static_cast<size_t>(c.view)] = c.visible;
    if (!c.visible && s.focus == c.view) s.focus.reset();
    return {};
  }
  Effects operator()(const FocusView& c) {
    s.focus = c.view;
    if (c.view) s.visible[static_cast<size_t>(*c.view)] = true;
    return {};
  }
  // A place of the history, brought within the current run (a shorter text, fewer layers).
  void go_to(const ViewPlace& p) {
    (*this)(SelectLayer{p.layer});
    (*this)(SelectHead{p.head});
    if (p.query >= 0) (*this)(SelectQuery{p.query});
    s.nav = p.nav;
  }
  Effects operator()(const GoBack&) {
    if (s.back.empty()) return {};
    s.forward.push_back(place_of(s));
    go_to(s.back.back());
    s.back.pop_back();
    s.history_kind = -1;  // the next change is a step of its own
    return {};
  }
  Effects operator()(const GoForward&) {
    if (s.forward.empty()) return {};
    s.back.push_back(place_of(s));
    go_to(s.forward.back());
    s.forward.pop_back();
    s.history_kind = -1;
    return {};
  }
  Effects operator()(const ResetLayout&) {
    s.layout() = PanelLayout::defaults(s.is_image_model());
    s.focus.reset();
    return {};
  }
  Effects operator()(const SetKeyboardNav& c) {
    s.keyboard_nav = c.on;
    s.status = c.on ? "keyboard navigation: arrows move, Space activates, Alt reaches the menus; Esc or F6 leaves"
                    : "keyboard navigation off: the keys drive the views again";
    return {};
  }
  Effects operator()(const ShowHelp& c) {
    s.show_help = c.show;
    return {};
  }
  Effects operator()(const DismissError&) {
    s.error.clear();
    return {};
  }
  Effects operator()(const TakeScreenshot& c) {
    s.screenshot_path = c.path;
    return {};
  }
  Effects operator()(const SetExportsFolder& c) {
    std::error_code ec;
    if (!std::filesystem::is_directory(c.path, ec)) {
      s.error = "exports folder " + shown_path(c.path) + ": not a folder";
      return {};
    }
    s.exports_dir = c.path;
    s.status = "screenshots and figures go to " + c.path;
    return {};
  }
  Effects operator()(const ClearRecent&) {
    s.recent.clear();
    return {};
  }
  Effects operator()(const Quit&) {
    s.quit = true;
    return {};
  }
};

}  // namespace


EngineJob make_job(const AppState& s) {
  EngineJob job;
  job.checkpoint = s.checkpoint;
  job.tokenizer = s.tokenizer;
  job.device = s.device;
  if (!s.text.empty()) job.text = s.text;
  if (s.image) job.image = *s.image;
  return job;
}

EngineJob partner_job(const AppState& s, const EngineJob& job) {
  EngineJob partner = job;
  partner.checkpoint = s.partner_checkpoint;
  const auto it = s.tokenizers.find(s.partner_checkpoint);
  partner.tokenizer = it == s.tokenizers.end() ? std::string() : it->second;
  return partner;
}

FileKind file_kind(const std::string& path) {
  if (render::is_workspace_path(path)) return FileKind::workspace;
  const std::string ext = lower_extension(path);
  const std::string name = std::filesystem::path(path).filename().string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {  // a BPE's folder is a tokenizer; other folders are refused as text
    for (const char* file : {"tokenizer.json", "encoder.json", "vocab.json", "meta.pkl"})
      if (std::filesystem::exists(std::filesystem::path(path) / file, ec)) return FileKind::tokenizer;
    return FileKind::text;
  }
  if (ext == ".pkl" || name == "tokenizer.json" || name == "encoder.json" || name == "vocab.json" || name == "vocab.bpe" ||
      name == "merges.txt")
    return FileKind::tokenizer;
  for (const char* e : {".safetensors", ".pt", ".pth", ".ckpt", ".bin"})
    if (ext == e) return FileKind::checkpoint;
  // TGA and PNM count as images so that the loader's one-line refusal names them (not read as text).
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pgm", ".ppm", ".pnm"})
    if (ext == e) return FileKind::image;
  return FileKind::text;
}

void add_recent(AppState& s, const std::string& path) {
  if (path.empty()) return;
  s.recent.erase(std::remove(s.recent.begin(), s.recent.end(), path), s.recent.end());
  s.recent.insert(s.recent.begin(), path);
  if (s.recent.size() > kMaxRecent) s.recent.resize(kMaxRecent);
}

ViewPlace place_of(const AppState& s) { return {s.layer, s.head, s.query, s.nav}; }

Effects apply(AppState& state, const Command& command) {
  // The commands that move the view are steps of the history (Back returns to where it was).
  const bool navigation = std::holds_alternative<SelectLayer>(command) || std::holds_alternative<SelectHead>(command) ||
                          std::holds_alternative<SelectQuery>(command) || std::holds_alternative<MoveQuery>(command) ||
                          std::holds_alternative<SetMatrixView>(command) || std::holds_alternative<FitMatrix>(command);
  const ViewPlace before = place_of(state);
  Effects effects = std::visit(Applier{state}, command);
  // Whatever runs the first model runs the second on the same input.
  if (effects.submit && !state.partner_checkpoint.empty() && !effects.submit_partner)
    effects.submit_partner = partner_job(state, *effects.submit);
  if (effects.submit_partner) state.partner_running = true;
  if (navigation && place_of(state) != before) {
    const int kind = static_cast<int>(command.index());
    const bool same_burst = kind == state.history_kind && state.now - state.history_at < kHistoryMergeSeconds && !state.back.empty();
    if (!same_burst) {
      state.back.push_back(before);
      if (state.back.size() > kMaxHistory) state.back.erase(state.back.begin());
    }
    state.forward.clear();
    state.history_kind = kind;
    state.history_at = state.now;
  }
  return effects;
}

std::string status_summary(const AppState& s) {
  const std::string& path = s.loaded_checkpoint.empty() ? s.checkpoint : s.loaded_checkpoint;
  std::string out = path.empty() ? "no model" : std::filesystem::path(path).stem().string();
  const char* dot = " \u00b7 ";
  if (s.snapshot) {
    const char* unit = s.is_image_model() ? " patches" : s.snapshot->token_ids.empty() ? " bytes" : " tokens";
    out += dot + std::to_string(s.snapshot->tokens) + unit;
  }
  if (s.model) {
    out += dot + std::string("layer ") + std::to_string(s.layer) + "/" + std::to_string(s.model->config.n_layer);
    out += dot + (s.head < 0 ? std::string("head avg") : "head " + std::to_string(s.head));
  }
  if (s.snapshot && s.query >= 0) out += dot + std::string("query ") + std::to_string(s.query);
  return out + dot + s.device_label(s.device);
}

}  // namespace fmalens::gui
