// The window's contents: menu bar, the sidebar, the views' windows in their default layout (or
// one view alone), the dialogs, and the keyboard shortcuts.
#include "gui/exports_folder.h"
#include "gui/app.h"  // first: GLFW without its own GL header

#include <imgui.h>
#include <imgui_internal.h>  // ClosePopupsExceptModals: Esc closes the menus

#include <cmath>
#include <filesystem>

#include "fmalens/quote.h"
#include "gui/key_rules.h"
#include "gui/panels.h"
#include "gui/export_dialog.h"
#include "gui/views.h"

namespace fmalens::gui {
namespace {

constexpr ImGuiWindowFlags kPanelFlags = ImGuiWindowFlags_NoCollapse;

bool key(int glfw_key) { return ImGui::IsKeyPressed(glfw_key, true); }

}  // namespace

void App::open_file(FileKind kind) {
  choosing_partner_ = false;
  const std::string& hint = kind == FileKind::checkpoint ? state_.checkpoint : kind == FileKind::image ? state_.image_path : state_.text_path;
  file_dialog_.open(kind, hint);
}

void App::export_figure(const render::ExportRequest& request) {
  render::FigureSource src;
  src.snapshot = state_.snapshot.get();
  src.model = state_.model.get();
  src.model_name = std::filesystem::path(state_.loaded_checkpoint.empty() ? state_.checkpoint : state_.loaded_checkpoint).stem().string();
  src.partner = state_.partner_snapshot.get();
  src.partner_name = std::filesystem::path(state_.partner_checkpoint).stem().string();
  render::ExportRequest req = request;
  req.out = unused_path(req.out);  // never over an earlier figure
  try {
    const std::vector<std::string> written = render::export_figures(src, req);
    std::error_code ec;
    const std::string folder = std::filesystem::path(req.out).parent_path().string();
    if (!folder.empty() && std::filesystem::is_directory(folder, ec)) state_.exports_dir = folder;  // the next one goes there too
    state_.status = "exported " + (written.empty() ? std::string() : written.front());
  } catch (const std::exception& e) {
    state_.error = "export failed: " + error_line(e);
  }
}

void App::save_workspace_file() {
  const std::string dir = state_.exports_dir.empty() ? default_exports_dir() : state_.exports_dir;
  const std::string& model = state_.loaded_checkpoint.empty() ? state_.checkpoint : state_.loaded_checkpoint;
  const std::string name = (model.empty() ? std::string("fmalens") : std::filesystem::path(model).stem().string()) + ".workspace.json";
  const std::string path = unused_path((std::filesystem::path(dir) / name).string());
  try {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    render::save_workspace(path, workspace_of(state_));
    state_.status = "saved workspace " + path;
  } catch (const std::exception& e) {
    state_.error = error_line(e);
  }
}

void App::zoom_matrix(double factor) {
  const render::MatrixView v = res_->last_matrix_view;
  if (v.cells_per_pixel <= 0 || !state_.snapshot) return;
  const render::MatrixView z = v.zoomed(factor, static_cast<float>(res_->last_matrix_w) * 0.5f, static_cast<float>(res_->last_matrix_h) * 0.5f)
                                   .clamped(state_.snapshot->tokens, res_->last_matrix_w, res_->last_matrix_h);
  commands_.push_back(SetMatrixView{z.t0, z.i0, z.cells_per_pixel});
}

void App::handle_shortcuts() {
  const ImGuiIO& io = ImGui::GetIO();
  KeyContext context;
  context.text_field = io.WantTextInput;
  context.widget_active = ImGui::IsAnyItemActive() && !io.WantTextInput;
  context.error_dialog = !state_.error.empty();
  context.file_dialog = file_dialog_.is_open();
  context.export_dialog = export_dialog_.is_open();
  context.menu_or_popup = ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId | ImGuiPopupFlags_AnyPopupLevel) &&
                          !context.error_dialog && !context.file_dialog && !context.export_dialog;
  context.help = state_.show_help;
  context.running = state_.running;
  context.keyboard_nav = state_.keyboard_nav;
  auto& c = commands_;
  bool f_key = false;
  for (int k = GLFW_KEY_F1; k <= GLFW_KEY_F12; ++k) f_key = f_key || key(k);
  // The mouse's side buttons (X1, X2): back and forward, as in a browser.
  if (!context.file_dialog && !context.export_dialog && !context.error_dialog) {
    if (ImGui::IsMouseClicked(3)) c.push_back(GoBack{});
    if (ImGui::IsMouseClicked(4)) c.push_back(GoForward{});
  }
  if (key(GLFW_KEY_ESCAPE)) {
    switch (route_key({true, false, false, false}, context)) {
      case KeyRoute::close_error: c.push_back(DismissError{}); break;
      case KeyRoute::close_file_dialog: file_dialog_.close(); break;
      case KeyRoute::close_export_dialog: export_dialog_.close(); break;
      case KeyRoute::close_menu: ImGui::ClosePopupsExceptModals(); break;
      case KeyRoute::close_help: c.push_back(ShowHelp{false}); break;
      case KeyRoute::leave_keyboard_nav: c.push_back(SetKeyboardNav{false}); break;
      case KeyRoute::cancel_run: c.push_back(CancelRun{}); break;
      default: break;
    }
    return;
  }
  const KeyRoute route = route_key({false, io.KeyCtrl, io.KeyAlt, f_key}, context);
  if (route == KeyRoute::global_shortcut) {
    if (io.KeyCtrl) {
      if (key(GLFW_KEY_O)) open_file(FileKind::checkpoint);
      if (key(GLFW_KEY_T)) open_file(FileKind::text);
      if (key(GLFW_KEY_I)) open_file(FileKind::image);
      if (key(GLFW_KEY_R)) c.push_back(RunNow{});
      if (key(GLFW_KEY_P)) c.push_back(TakeScreenshot{screenshot_path()});
      if (key(GLFW_KEY_S) && state_.snapshot) save_workspace_file();
      if (key(GLFW_KEY_E) && state_.snapshot) export_dialog_.open(state_.focus.value_or(ViewId::matrix));
      if (key(GLFW_KEY_Q)) c.push_back(Quit{});
      if (key(GLFW_KEY_W) && focused_view_) c.push_back(ShowView{*focused_view_, false});
      if (key(GLFW_KEY_0)) c.push_back(FocusView{std::nullopt});
      for (int v = 0; v < kViewCount && v < 9; ++v)
        if (key(GLFW_KEY_1 + v)) c.push_back(FocusView{static_cast<ViewId>(v)});
    }
    if (io.KeyAlt && key(GLFW_KEY_LEFT)) c.push_back(GoBack{});
    if (io.KeyAlt && key(GLFW_KEY_RIGHT)) c.push_back(GoForward{});
    if (key(GLFW_KEY_F1)) c.push_back(ShowHelp{!state_.show_help});
    if (key(GLFW_KEY_F6)) c.push_back(SetKeyboardNav{!state_.keyboard_nav});
    if (key(GLFW_KEY_F12)) c.push_back(TakeScreenshot{screenshot_path()});
    return;
  }
  if (route != KeyRoute::view_shortcut) return;
  if (key(GLFW_KEY_LEFT)) c.push_back(MoveQuery{-1, 0});
  if (key(GLFW_KEY_RIGHT)) c.push_back(MoveQuery{1, 0});
  if (key(GLFW_KEY_UP)) c.push_back(MoveQuery{0, -1});
  if (key(GLFW_KEY_DOWN)) c.push_back(MoveQuery{0, 1});
  if (key(GLFW_KEY_PAGE_UP)) c.push_back(MoveQuery{0, -16});
  if (key(GLFW_KEY_PAGE_DOWN)) c.push_back(MoveQuery{0, 16});
  if (key(GLFW_KEY_HOME)) c.push_back(SelectQuery{0});
  if (key(GLFW_KEY_M)) c.push_back(MaskAtQuery{});
  if (key(GLFW_KEY_END)) c.push_back(SelectQuery{state_.tokens() - 1});
  if (key(GLFW_KEY_LEFT_BRACKET)) c.push_back(SelectLayer{state_.layer - 1});
  if (key(GLFW_KEY_RIGHT_BRACKET)) c.push_back(SelectLayer{state_.layer + 1});
  if (key(GLFW_KEY_COMMA)) c.push_back(SelectHead{state_.head - 1});
  if (key(GLFW_KEY_PERIOD)) c.push_back(SelectHead{state_.head + 1});
  if (key(GLFW_KEY_A)) c.push_back(SelectHead{-1});
  if (key(GLFW_KEY_L)) c.push_back(ToggleLogScale{});
  if (key(GLFW_KEY_C)) c.push_back(CycleColormap{});
  if (key(GLFW_KEY_EQUAL) || key(GLFW_KEY_KP_ADD)) zoom_matrix(1.5);
  if (key(GLFW_KEY_MINUS) || key(GLFW_KEY_KP_SUBTRACT)) zoom_matrix(1 / 1.5);
  if (key(GLFW_KEY_0) || key(GLFW_KEY_KP_0)) c.push_back(FitMatrix{});
}

void App::draw_menu_bar() {
  auto& c = commands_;
  if (!ImGui::BeginMainMenuBar()) return;
  menu_height_ = ImGui::GetWindowSize().y;
  if (ImGui::BeginMenu("File")) {
    if (ImGui::MenuItem("Open checkpoint...", "Ctrl+O")) open_file(FileKind::checkpoint);
    if (ImGui::MenuItem("Open text file...", "Ctrl+T")) open_file(FileKind::text);
    if (ImGui::MenuItem("Open image...", "Ctrl+I")) open_file(FileKind::image);
    if (ImGui::MenuItem("Open tokenizer...", nullptr, false, !state_.is_image_model())) open_file(FileKind::tokenizer);
    if (ImGui::MenuItem("Open workspace...")) open_file(FileKind::workspace);
    if (ImGui::MenuItem("Open second model...", nullptr, false, static_cast<bool>(state_.snapshot))) {
      open_file(FileKind::checkpoint);
      choosing_partner_ = true;
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("A second checkpoint run on the same input: the view Two models shows both side by side");
    if (ImGui::MenuItem("Close second model", nullptr, false, !state_.partner_checkpoint.empty())) c.push_back(OpenPartner{""});
    if (ImGui::MenuItem("Save workspace", "Ctrl+S", false, static_cast<bool>(state_.snapshot))) save_workspace_file();
    if (ImGui::BeginMenu("Recent", !state_.recent.empty())) {
      for (const auto& path : state_.recent)
        if (ImGui::MenuItem(path.c_str())) c.push_back(DropFiles{{path}});
      ImGui::Separator();
      if (ImGui::MenuItem("Clear")) c.push_back(ClearRecent{});
      ImGui::EndMenu();
    }
    ImGui::Separator();
    if (ImGui::MenuItem("Export figure...", "Ctrl+E", false, static_cast<bool>(state_.snapshot)))
      export_dialog_.open(state_.focus.value_or(ViewId::matrix));
    if (ImGui::MenuItem("Save screenshot", "F12")) c.push_back(TakeScreenshot{screenshot_path()});
    if (ImGui::MenuItem("Exports folder...")) file_dialog_.open_folder(state_.exports_dir.empty() ? default_exports_dir() : state_.exports_dir);
    if (ImGui::IsItemHovered()) data_tooltip("%s", (state_.exports_dir.empty() ? default_exports_dir() : state_.exports_dir).c_str());
    ImGui::Separator();
    if (ImGui::MenuItem("Quit", "Ctrl+Q")) c.push_back(Quit{});
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Run")) {
    if (ImGui::MenuItem("Run again", "Ctrl+R")) c.push_back(RunNow{});
    if (ImGui::MenuItem("Cancel", "Esc", false, state_.running)) c.push_back(CancelRun{});
    if (ImGui::BeginMenu("Device")) {
      for (const auto& d : state_.devices)
        if (ImGui::MenuItem(state_.device_label(d).c_str(), nullptr, d == state_.device)) c.push_back(SetDevice{d});
      ImGui::EndMenu();
    }
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("View")) {
    for (int v = 0; v < kViewCount; ++v) {
      const auto view = static_cast<ViewId>(v);
      if (ImGui::MenuItem(view_title(view), nullptr, state_.visible[static_cast<size_t>(v)]))
        c.push_back(ShowView{view, !state_.visible[static_cast<size_t>(v)]});
    }
    ImGui::Separator();
    if (ImGui::BeginMenu("Alone")) {
      for (int v = 0; v < kViewCount; ++v) {
        const std::string shortcut = v < 9 ? "Ctrl+" + std::to_string(v + 1) : "";
        if (ImGui::MenuItem(view_title(static_cast<ViewId>(v)), shortcut.empty() ? nullptr : shortcut.c_str(), state_.focus == static_cast<ViewId>(v)))
          c.push_back(FocusView{static_cast<ViewId>(v)});
      }
      if (ImGui::MenuItem("All views", "Ctrl+0", !state_.focus)) c.push_back(FocusView{std::nullopt});
      ImGui::EndMenu();
    }
    if (ImGui::MenuItem("Back", "Alt+Left", false, !state_.back.empty())) c.push_back(GoBack{});
    if (ImGui::MenuItem("Forward", "Alt+Right", false, !state_.forward.empty())) c.push_back(GoForward{});
    ImGui::Separator();
    if (ImGui::MenuItem("Reset layout")) c.push_back(ResetLayout{});
    // On top of the monitor's content scale; the fonts are rebuilt at the next frame's start.
    if (ImGui::BeginMenu("Interface scale")) {
      for (const float scale : {0.75f, 1.0f, 1.25f, 1.5f, 2.0f}) {
        const std::string label = std::to_string(static_cast<int>(std::lround(scale * 100))) + " %";
        if (ImGui::MenuItem(label.c_str(), nullptr, std::fabs(ui_scale_ - scale) < 1e-3f)) ui_scale_ = scale;
      }
      ImGui::EndMenu();
    }
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Help")) {
    if (ImGui::MenuItem("Keyboard shortcuts", "F1")) c.push_back(ShowHelp{true});
    if (ImGui::MenuItem("About FMA Lens")) c.push_back(ShowHelp{true});  // the help window starts with it
    ImGui::EndMenu();
  }
  if (state_.running) {
    ImGui::SameLine(ImGui::GetWindowWidth() - ImGui::GetFontSize() * 16);
    ImGui::ProgressBar(static_cast<float>(res_->engine_progress), ImVec2(ImGui::GetFontSize() * 10, 0), "running");
  }
  ImGui::EndMainMenuBar();
}

namespace {

// Tiled panels: placed by the layout every frame, moved only by dragging their borders.
constexpr ImGuiWindowFlags kTileFlags = kPanelFlags | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings;

void place(const Rect& r) {
  ImGui::SetNextWindowPos(ImVec2(r.x, r.y), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(r.w, r.h), ImGuiCond_Always);
}

Rect current_window_rect() {
  const ImVec2 pos = ImGui::GetWindowPos(), size = ImGui::GetWindowSize();
  return {pos.x, pos.y, size.x, size.y};
}

}  // namespace

void App::draw_status_bar(float height) {
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  place({0, display.y - height, display.x, height});
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(ImGui::GetStyle().FramePadding.x * 2, ImGui::GetStyle().FramePadding.y));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                                     ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoBringToFrontOnFocus;
  if (ImGui::Begin("##status bar", nullptr, flags)) {
    const std::string where = status_summary(state_);
    const float where_w = ImGui::CalcTextSize(where.c_str()).x;
    const float right = ImGui::GetWindowContentRegionMax().x;
    // The message on the left, cut before it runs into the summary on the right.
    ImGui::PushClipRect(ImGui::GetCursorScreenPos(), ImVec2(ImGui::GetWindowPos().x + right - where_w - ImGui::GetFontSize(), display.y), true);
    ImGui::TextUnformatted(state_.running ? "running..." : state_.status.empty() ? "ready" : state_.status.c_str());
    ImGui::PopClipRect();
    if (ImGui::IsItemHovered() && !state_.status.empty()) data_tooltip("%s", state_.status.c_str());
    ImGui::SameLine(right - where_w);
    ImGui::TextDisabled("%s", where.c_str());
  }
  ImGui::End();
  ImGui::PopStyleVar(2);
}

void App::draw_main_window() {
  draw_menu_bar();
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  const float font = ImGui::GetFontSize();
  const float status_h = std::round(ImGui::GetFrameHeight());
  const float fb_scale = ImGui::GetIO().DisplayFramebufferScale.x;
  PanelContext p{state_, *res_, commands_, glfwGetTime(), fb_scale > 0 ? fb_scale : 1.0f, headless_, &text_buffer_, &text_buffer_version_};
  draw_status_bar(status_h);

  // Which slots hold a window: matrix over text (or region maps), levels over the details tabs.
  const bool image = state_.is_image_model();
  const ViewId below = image ? ViewId::regions : ViewId::text;
  // One window, as tabs.
  const ViewId tabs[] = {ViewId::weights, ViewId::compare, ViewId::model, ViewId::heads, ViewId::distance, ViewId::error, ViewId::pair};
  auto visible = [&](ViewId v) { return state_.visible[static_cast<size_t>(v)]; };
  bool any_tab = false;
  for (ViewId v : tabs) any_tab = any_tab || visible(v);
  const bool shown[kSlotCount] = {visible(ViewId::matrix), visible(below), visible(ViewId::levels), any_tab};
  const Rect client{0, menu_height_, display.x, std::max(0.0f, display.y - menu_height_ - status_h)};
  PanelLayout& layout = state_.layout();
  const LayoutRects rects = layout_rects(layout, shown, client, font);
  // After a tile's Begin: a border the user dragged moves the layout's split (placed next frame).
  // Compared with where this frame placed it, so the panels not dragged (still where the old
  // split put them) do not undo the one that was.
  const PanelLayout placed_with = layout;
  auto follow = [&](const Slot* slot) {
    const PanelLayout dragged = layout_after_resize(placed_with, shown, client, font, slot, current_window_rect());
    if (dragged != placed_with) layout = dragged;
  };

  place(rects.sidebar);
  // Keyboard navigation starts in the sidebar (ImGui's nav needs a focused window).
  if (state_.keyboard_nav && !keyboard_nav_started_) ImGui::SetNextWindowFocus();
  keyboard_nav_started_ = state_.keyboard_nav;
  if (ImGui::Begin("Controls", nullptr, kTileFlags)) {
    follow(nullptr);
    if (auto kind = draw_controls_panel(p)) open_file(*kind);
  }
  ImGui::End();

  focused_view_.reset();  // Ctrl+W closes the view whose window has the focus
  auto note_focus = [&](ViewId view) {
    if (ImGui::IsWindowFocused(ImGuiFocusedFlags_RootAndChildWindows)) focused_view_ = view;
  };
  auto window = [&](ViewId view, Slot slot) {
    place(rects.slot(slot));
    bool open = true;
    if (ImGui::Begin(view_title(view), &open, kTileFlags)) {
      follow(&slot);
      draw_view_panel(view, p);
      note_focus(view);
    }
    ImGui::End();
    if (!open) commands_.push_back(ShowView{view, false});
  };

  if (state_.focus) {
    place(rects.views);
    bool open = true;
    const std::string title = std::string(view_title(*state_.focus)) + "###focus";
    if (ImGui::Begin(title.c_str(), &open, kTileFlags | ImGuiWindowFlags_NoResize)) {
      draw_view_panel(*state_.focus, p);
      note_focus(*state_.focus);
    }
    ImGui::End();
    if (!open) commands_.push_back(FocusView{std::nullopt});
  } else {
    if (shown[0]) window(ViewId::matrix, Slot::top_left);
    if (shown[1]) window(below, Slot::bottom_left);
    if (shown[2]) window(ViewId::levels, Slot::top_right);
    if (shown[3]) {
      place(rects.slot(Slot::bottom_right));
      const Slot slot = Slot::bottom_right;
      if (ImGui::Begin("Details", nullptr, kTileFlags)) {
        follow(&slot);
        if (ImGui::BeginTabBar("##details")) {
          for (ViewId v : tabs) {
            if (!visible(v)) continue;
            bool open = true;
            if (ImGui::BeginTabItem(view_title(v), &open)) {
              draw_view_panel(v, p);
              note_focus(v);
              ImGui::EndTabItem();
            }
            if (!open) commands_.push_back(ShowView{v, false});
          }
          ImGui::EndTabBar();
        }
      }
      ImGui::End();
    }
  }
  if (auto request = export_dialog_.draw(state_)) export_figure(*request);
  draw_error_dialog(state_, commands_);
  draw_help_window(state_, commands_);
  if (auto path = file_dialog_.draw()) {
    const FileKind kind = file_dialog_.kind();  // what the user asked to open, whatever the name
    if (file_dialog_.choosing_folder()) commands_.push_back(SetExportsFolder{*path});
    else if (kind == FileKind::checkpoint && choosing_partner_) commands_.push_back(OpenPartner{*path});
    else if (kind == FileKind::checkpoint) commands_.push_back(OpenCheckpoint{*path});
    else if (kind == FileKind::image) commands_.push_back(OpenImage{*path});
    else if (kind == FileKind::tokenizer) commands_.push_back(OpenTokenizer{*path});
    else if (kind == FileKind::workspace) commands_.push_back(OpenWorkspace{*path});
    else commands_.push_back(OpenTextFile{*path});
  }
}

}  // namespace fmalens::gui
