// View 6's panel: the model's configuration, its FMA levels, parameter counts and the
// training loss curve from the checkpoint's metadata.
#include <imgui.h>

#include <nlohmann/json.hpp>

#include <cstdio>

#include "fmalens/layout.h"
#include "gui/panels.h"
#include "render/model_figure.h"

namespace fmalens::gui {
namespace {

// The table's rows as "key<TAB>value" lines: what Ctrl+C over the tables copies.
std::string g_copied;

void row(const char* key, const std::string& value) {
  g_copied += std::string(key) + "\t" + value + "\n";
  ImGui::TableNextRow();
  ImGui::TableSetColumnIndex(0);
  ImGui::TextDisabled("%s", key);
  ImGui::TableSetColumnIndex(1);
  ImGui::TextUnformatted(value.c_str());
}

std::string training_summary(const std::string& json) {
  const nlohmann::json t = nlohmann::json::parse(json, nullptr, false);
  if (!t.is_object()) return "";
  std::string out;
  try {
    out = std::to_string(t.value("steps_done", int64_t{0})) + " steps in " + std::to_string(static_cast<int64_t>(t.value("wall_s", 0.0))) +
          " s on " + t.value("device", std::string("?"));
    if (t.contains("final_val_loss") && t["final_val_loss"].is_number())
      out += ", final validation loss " + std::to_string(t["final_val_loss"].get<double>());
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace

void draw_model_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.model) {
    ImGui::TextDisabled("No model loaded.");
    return;
  }
  const ModelInfo& info = *s.model;
  const ModelConfig& c = info.config;
  const float half = ImGui::GetContentRegionAvail().x * 0.5f;
  ImGui::BeginChild("##model_tables", ImVec2(0, ImGui::GetContentRegionAvail().y * 0.5f));
  g_copied.clear();
  if (ImGui::BeginTable("config", 2, ImGuiTableFlags_SizingFixedFit)) {
    row("file", info.path + " (" + info.format + ")");
    row("model", std::string(c.kind == ModelKind::text ? "text GPT over bytes" : "image ViT") + ", " +
                     attention_kind_name(c.attention_kind) + " attention");
    row("shape", std::to_string(c.n_layer) + " layers, " + std::to_string(c.n_head) + " heads, width " + std::to_string(c.n_embd) +
                     ", head dim " + std::to_string(c.n_embd / std::max<int64_t>(c.n_head, 1)));
    if (c.kind == ModelKind::text) row("context", std::to_string(c.block_size) + " bytes");
    else
      row("input", image_input_summary(c));
    row("parameters", std::to_string(info.parameters));
    for (const auto& g : info.groups) row(("  " + g.name).c_str(), std::to_string(g.count));
    if (!info.training_json.empty()) row("training", training_summary(info.training_json));
    ImGui::EndTable();
  }
  if (uses_fma_bands(c.attention_kind)) {
    try {
      const AttentionConfig a = c.attention_config();
      const Layout layout(a);
      char fma_line[256];
      std::snprintf(fma_line, sizeof(fma_line), "FMA: %s, n %lld, %s %lld, p %lld, %s, boundary %s", to_string(a.variant),
                    static_cast<long long>(a.tokens()), a.variant == Variant::grid2d ? "r" : "m", static_cast<long long>(a.m),
                    static_cast<long long>(a.p), to_string(a.downsampling), to_string(a.boundary));
      ImGui::TextUnformatted(fma_line);
      g_copied += std::string(fma_line) + "\n";
      if (ImGui::BeginTable("levels", 5, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit, ImVec2(half * 1.6f, 0))) {
        for (const char* h : {"level", a.variant == Variant::grid2d ? "cell side" : "width", "summaries", "alpha", "slots/query"})
          ImGui::TableSetupColumn(h);
        ImGui::TableHeadersRow();
        g_copied += std::string("level\t") + (a.variant == Variant::grid2d ? "cell side" : "width") + "\tsummaries\talpha\tslots/query\n";
        for (const auto& g : layout.levels()) {
          g_copied += (g.level == 0 ? std::string("fine") : std::to_string(g.level)) + "\t" + std::to_string(g.width) + "\t" +
                      (g.level == 0 ? std::string("tokens") : std::to_string(g.summaries)) + "\t" + std::to_string(static_cast<int>(g.alpha)) +
                      "\t" + std::to_string(g.slots) + "\n";
          ImGui::TableNextRow();
          ImGui::TableSetColumnIndex(0);
          ImGui::Text(g.level == 0 ? "fine" : "%d", g.level);
          ImGui::TableSetColumnIndex(1);
          ImGui::Text("%lld", static_cast<long long>(g.width));
          ImGui::TableSetColumnIndex(2);
          if (g.level == 0) ImGui::TextDisabled("tokens");
          else ImGui::Text("%lld", static_cast<long long>(g.summaries));
          ImGui::TableSetColumnIndex(3);
          ImGui::Text("%.0f", g.alpha);
          ImGui::TableSetColumnIndex(4);
          ImGui::Text("%lld", static_cast<long long>(g.slots));
        }
        ImGui::EndTable();
      }
    } catch (const std::exception& e) {
      ImGui::TextWrapped("%s", e.what());
    }
  }
  // Ctrl+C anywhere over the tables copies every value (tab-separated, for a spreadsheet or a note).
  if (ImGui::IsWindowHovered(ImGuiHoveredFlags_ChildWindows)) copy_on_ctrl_c(g_copied);
  ImGui::EndChild();
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Ctrl+C: copy these values");

  const float f = p.font_px();
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::model)];
  KeyHasher key;
  key.add(reinterpret_cast<uintptr_t>(s.model.get())).add(f);  // the metadata can be large: parse on redraw only
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    const render::LossCurve curve = render::parse_loss_curve(info.training_json);
    render::draw_loss_curve(p.res.ctx, curve, img.rect(), img.width(), img.height(), f, &img.canvas());
    img.finish();
  }
  img.show("##loss");
}

}  // namespace fmalens::gui
