#include "render/workspace.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmalens/atomic_file.h"
#include "fmalens/quote.h"
#include "render/figure_common.h"

namespace fmalens::render {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxWorkspaceBytes = 4 << 20;
constexpr size_t kMaxTypedText = 1 << 20;

std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  const fs::path a = fs::absolute(path, ec);
  return ec ? path : a.lexically_normal().string();
}

}  // namespace

bool is_workspace_path(const std::string& path) {
  const std::string suffix = ".workspace.json";
  return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string workspace_to_json(const Workspace& w) {
  const FigureSettings& s = w.settings;
  nlohmann::json j = {
      {"fmalens_workspace", 1},
      {"checkpoint", absolute(w.checkpoint)},
      {"tokenizer", absolute(w.tokenizer)},
      {"device", w.device},
      {"partner", absolute(w.partner)},
      {"input", {{"text_file", absolute(w.text_file)}, {"image", absolute(w.image)}, {"text", w.text_file.empty() && w.image.empty() ? w.text : ""}}},
      {"selection", {{"layer", s.layer}, {"head", s.head}, {"query", s.query}, {"level", s.level}, {"weights_level", w.weights_level}}},
      {"colours",
       {{"colormap", colormap_name(s.colormap)},
        {"log_scale", s.log_scale},
        {"decades", s.decades},
        {"tint_strength", s.tint_strength},
        {"outlines", s.outlines},
        {"z_order", s.z_order},
        {"mass", s.mass},
        {"row_normalise", s.row_normalise},
        {"gamma", s.gamma},
        {"sink_strip", s.sink_strip},
        {"level_mask", s.level_mask},
        {"overlay_opacity", s.overlay_opacity}}},
      {"matrix", {{"fit", s.fit}, {"t0", s.t0}, {"i0", s.i0}, {"cells_per_pixel", s.cells_per_pixel}}},
      {"heads", {{"x", s.heads_x}, {"y", s.heads_y}, {"distance_all_heads", s.all_heads_profiles}}},
      {"views", {{"alone", w.focus}, {"hidden", w.hidden}}},
  };
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Workspace workspace_from_json(const std::string& text, const std::string& path) {
  const std::string where = "workspace " + shown_path(path);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("fmalens_workspace")) throw Error(where + ": not an FMA Lens workspace (a JSON object with fmalens_workspace)");
  const fs::path folder = fs::path(path).parent_path();
  Workspace w;
  // Each field: absent keeps the default, a wrong type is refused by name.
  auto at = [](const nlohmann::json& parent, const char*, const char* key) -> const nlohmann::json* {
    return parent.contains(key) ? &parent.at(key) : nullptr;
  };
  auto string_field = [&](const nlohmann::json& parent, const char* group, const char* key, std::string* out, bool is_path) {
    const nlohmann::json* v = at(parent, group, key);
    if (!v) return;
    if (!v->is_string()) throw Error(where + ": " + group + key + " must be a string");
    *out = v->get<std::string>();
    if (is_path && !out->empty() && fs::path(*out).is_relative()) *out = (folder / *out).lexically_normal().string();
  };
  auto number_field = [&](const nlohmann::json& parent, const char* group, const char* key, auto* out, double lo, double hi) {
    const nlohmann::json* v = at(parent, group, key);
    if (!v) return;
    if (!v->is_number() || v->get<double>() < lo || v->get<double>() > hi)
      throw Error(where + ": " + group + key + " must be a number in [" + format_number(lo) + ", " + format_number(hi) + "]");
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v->get<double>());
  };
  auto bool_field = [&](const nlohmann::json& parent, const char* group, const char* key, bool* out) {
    const nlohmann::json* v = at(parent, group, key);
    if (!v) return;
    if (!v->is_boolean()) throw Error(where + ": " + group + key + " must be true or false");
    *out = v->get<bool>();
  };
  auto object = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json empty = nlohmann::json::object();
    if (!j.contains(key)) return empty;
    if (!j.at(key).is_object()) throw Error(where + ": " + key + " must be an object");
    return j.at(key);
  };
  string_field(j, "", "checkpoint", &w.checkpoint, true);
  string_field(j, "", "tokenizer", &w.tokenizer, true);
  string_field(j, "", "device", &w.device, false);
  string_field(j, "", "partner", &w.partner, true);
  const nlohmann::json& input = object("input");
  string_field(input, "input.", "text_file", &w.text_file, true);
  string_field(input, "input.", "image", &w.image, true);
  string_field(input, "input.", "text", &w.text, false);
  if (w.text.size() > kMaxTypedText) throw Error(where + ": input.text is longer than 1 MiB (save the text as a file)");
  FigureSettings& s = w.settings;
  const nlohmann::json& sel = object("selection");
  number_field(sel, "selection.", "layer", &s.layer, 0, 1 << 20);
  number_field(sel, "selection.", "head", &s.head, -1, 1 << 20);
  number_field(sel, "selection.", "query", &s.query, -1, 1e15);
  number_field(sel, "selection.", "level", &s.level, -1, 31);
  number_field(sel, "selection.", "weights_level", &w.weights_level, 1, 31);
  const nlohmann::json& colours = object("colours");
  std::string colormap = colormap_name(s.colormap);
  string_field(colours, "colours.", "colormap", &colormap, false);
  try {
    s.colormap = colormap_from_name(colormap);
  } catch (const Error& e) {
    throw Error(where + ": colours." + e.what());
  }
  bool_field(colours, "colours.", "log_scale", &s.log_scale);
  number_field(colours, "colours.", "decades", &s.decades, 1, 12);
  number_field(colours, "colours.", "tint_strength", &s.tint_strength, 0, 1);
  bool_field(colours, "colours.", "outlines", &s.outlines);
  bool_field(colours, "colours.", "z_order", &s.z_order);
  bool_field(colours, "colours.", "mass", &s.mass);
  bool_field(colours, "colours.", "row_normalise", &s.row_normalise);
  number_field(colours, "colours.", "gamma", &s.gamma, 0.05, 20);
  bool_field(colours, "colours.", "sink_strip", &s.sink_strip);
  number_field(colours, "colours.", "level_mask", &s.level_mask, 0, 4294967295.0);
  number_field(colours, "colours.", "overlay_opacity", &s.overlay_opacity, 0, 1);
  const nlohmann::json& matrix = object("matrix");
  bool_field(matrix, "matrix.", "fit", &s.fit);
  number_field(matrix, "matrix.", "t0", &s.t0, -1e15, 1e15);
  number_field(matrix, "matrix.", "i0", &s.i0, -1e15, 1e15);
  number_field(matrix, "matrix.", "cells_per_pixel", &s.cells_per_pixel, 1e-9, 1e15);
  const nlohmann::json& heads = object("heads");
  string_field(heads, "heads.", "x", &s.heads_x, false);
  string_field(heads, "heads.", "y", &s.heads_y, false);
  bool_field(heads, "heads.", "distance_all_heads", &s.all_heads_profiles);
  const nlohmann::json& views = object("views");
  string_field(views, "views.", "alone", &w.focus, false);
  if (views.contains("hidden")) {
    const nlohmann::json& hidden = views.at("hidden");
    if (!hidden.is_array()) throw Error(where + ": views.hidden must be a list of view names");
    for (const auto& v : hidden) {
      if (!v.is_string()) throw Error(where + ": views.hidden must be a list of view names");
      w.hidden.push_back(v.get<std::string>());
    }
  }
  return w;
}

Workspace load_workspace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("workspace " + shown_path(path) + ": cannot be read");
  std::string text;
  text.resize(kMaxWorkspaceBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxWorkspaceBytes) throw Error("workspace " + shown_path(path) + ": larger than 4 MiB, not a workspace");
  return workspace_from_json(text, path);
}

void save_workspace(const std::string& path, const Workspace& w) {
  try {
    write_file_atomically(path, workspace_to_json(w));
  } catch (const std::exception& e) {
    throw Error("cannot write workspace " + shown_path(path) + ": " + e.what());
  }
}

}  // namespace fmalens::render
