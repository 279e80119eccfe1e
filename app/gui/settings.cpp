#include "gui/settings.h"
#include "gui/views.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmalens/atomic_file.h"

namespace fmalens::gui {

std::string config_dir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg) return (std::filesystem::path(xdg) / "fmalens").string();
  const char* home = std::getenv("HOME");
  if (home && *home) return (std::filesystem::path(home) / ".config" / "fmalens").string();
  return "";
}

std::string settings_to_json(const AppState& s, float ui_scale) {
  nlohmann::json j;
  j["device"] = s.device;
  j["recent"] = s.recent;
  j["tokenizers"] = s.tokenizers;
  j["exports_dir"] = s.exports_dir;
  nlohmann::json views = nlohmann::json::object();
  for (int v = 0; v < kViewCount; ++v) views[view_name(static_cast<ViewId>(v))] = s.visible[static_cast<size_t>(v)];
  j["views"] = views;
  j["matrix"] = {{"colormap", render::colormap_name(s.matrix.colormap)},
                 {"log_scale", s.matrix.log_scale},
                 {"decades", s.matrix.decades},
                 {"tint_strength", s.matrix.tint_strength},
                 {"outlines", s.matrix.outlines},
                 {"z_order", s.matrix.z_order},
                 {"mass", s.matrix.mass},
                 {"row_normalise", s.matrix.row_normalise},
                 {"gamma", s.matrix.gamma},
                 {"sink_strip", s.matrix.sink_strip}};
  j["ui_scale"] = ui_scale;
  j["heads"] = {{"x", s.heads_x}, {"y", s.heads_y}, {"distance_all_heads", s.distance_all_heads}};
  const char* kinds[2] = {"text", "image"};
  for (int k = 0; k < 2; ++k) {
    const PanelLayout& l = s.layouts[static_cast<size_t>(k)];
    j["layout"][kinds[k]] = {{"sidebar_em", l.sidebar_em}, {"column", l.column}, {"left_split", l.left_split}, {"right_split", l.right_split}};
  }
  if (s.window_width > 0 && s.window_height > 0) j["window"] = {{"width", s.window_width}, {"height", s.window_height}};
  return j.dump(2) + "\n";
}

void settings_from_json(const std::string& text, AppState* s, float* ui_scale) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  // Each value on its own: one bad entry must not cost the others.
  auto read = [&](const char* key, auto&& use) {
    try {
      if (j.contains(key)) use(j.at(key));
    } catch (const std::exception&) {
    }
  };
  read("device", [&](const nlohmann::json& v) { s->device = v.get<std::string>(); });
  read("recent", [&](const nlohmann::json& v) {
    s->recent.clear();
    for (const auto& p : v)
      if (p.is_string() && s->recent.size() < kMaxRecent) s->recent.push_back(p.get<std::string>());
  });
  read("exports_dir", [&](const nlohmann::json& v) { s->exports_dir = v.get<std::string>(); });
  read("tokenizers", [&](const nlohmann::json& v) {
    s->tokenizers.clear();
    for (auto it = v.begin(); it != v.end() && s->tokenizers.size() < 100; ++it)
      if (it.value().is_string()) s->tokenizers[it.key()] = it.value().get<std::string>();
  });
  read("views", [&](const nlohmann::json& v) {
    for (int k = 0; k < kViewCount; ++k) {
      const char* name = view_name(static_cast<ViewId>(k));
      if (v.contains(name) && v[name].is_boolean()) s->visible[static_cast<size_t>(k)] = v[name].get<bool>();
    }
  });
  read("matrix", [&](const nlohmann::json& m) {
    MatrixSettings& ms = s->matrix;
    if (m.contains("colormap")) ms.colormap = render::colormap_from_name(m["colormap"].get<std::string>());
    if (m.contains("log_scale")) ms.log_scale = m["log_scale"].get<bool>();
    if (m.contains("decades")) ms.decades = std::clamp(m["decades"].get<float>(), 1.0f, 12.0f);
    if (m.contains("tint_strength")) ms.tint_strength = std::clamp(m["tint_strength"].get<float>(), 0.0f, 1.0f);
    if (m.contains("outlines")) ms.outlines = m["outlines"].get<bool>();
    if (m.contains("z_order")) ms.z_order = m["z_order"].get<bool>();
    if (m.contains("mass")) ms.mass = m["mass"].get<bool>();
    if (m.contains("row_normalise")) ms.row_normalise = m["row_normalise"].get<bool>();
    if (m.contains("gamma")) ms.gamma = std::clamp(m["gamma"].get<float>(), 0.2f, 3.0f);
    if (m.contains("sink_strip")) ms.sink_strip = m["sink_strip"].get<bool>();
  });
  read("layout", [&](const nlohmann::json& v) {
    const char* kinds[2] = {"text", "image"};
    for (int k = 0; k < 2; ++k) {
      if (!v.contains(kinds[k]) || !v[kinds[k]].is_object()) continue;
      const nlohmann::json& o = v[kinds[k]];
      PanelLayout l = s->layouts[static_cast<size_t>(k)];
      auto number = [&](const char* key, float* out) {
        if (o.contains(key) && o[key].is_number()) *out = o[key].get<float>();
      };
      number("sidebar_em", &l.sidebar_em);
      number("column", &l.column);
      number("left_split", &l.left_split);
      number("right_split", &l.right_split);
      s->layouts[static_cast<size_t>(k)] = clamped(l);
    }
  });
  read("window", [&](const nlohmann::json& v) {
    const int w = v.at("width").get<int>(), h = v.at("height").get<int>();
    if (w >= 64 && h >= 64 && w <= 16384 && h <= 16384) {
      s->window_width = w;
      s->window_height = h;
    }
  });
  read("heads", [&](const nlohmann::json& v) {
    if (v.contains("x") && v["x"].is_string()) s->heads_x = v["x"].get<std::string>();
    if (v.contains("y") && v["y"].is_string()) s->heads_y = v["y"].get<std::string>();
    if (v.contains("distance_all_heads") && v["distance_all_heads"].is_boolean()) s->distance_all_heads = v["distance_all_heads"].get<bool>();
  });
  read("ui_scale", [&](const nlohmann::json& v) { *ui_scale = std::clamp(v.get<float>(), 0.5f, 4.0f); });
}

bool load_settings(const std::string& path, AppState* state, float* ui_scale) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  settings_from_json(text.str(), state, ui_scale);
  return true;
}

bool save_settings(const std::string& path, const AppState& state, float ui_scale, std::string* error) {
  try {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file_atomically(path, settings_to_json(state, ui_scale));
    return true;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return false;
  }
}

}  // namespace fmalens::gui
