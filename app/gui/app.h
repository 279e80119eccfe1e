// The desktop app: a GLFW window with Dear ImGui, the engine running the model in the
// background, the state and its commands, the panels. One instance per process.
#pragma once

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <memory>
#include <string>
#include <vector>

#include "fmalens/engine.h"
#include "gui/app_state.h"
#include "gui/dialogs.h"
#include "gui/export_dialog.h"
#include "gui/gui_main.h"
#include "gui/view_resources.h"
#include "render/offscreen_target.h"

namespace fmalens::gui {

class App {
 public:
  explicit App(const GuiOptions& options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Throws fmalens::Error when there is no display or no OpenGL 3.3 core context.
  void open_window();
  // The main loop; returns the process exit code.
  int run();

 private:
  // --- frame (app.cpp)
  void frame();
  void apply_commands();
  void perform(const Effects& effects);
  // --- the headless harnesses (app_harness.cpp): --screenshot and --bench-frames
  // Stops the run on a new error and applies the command line's selection once the model ran;
  // false: this frame draws nothing more.
  bool harness_before_draw(const std::string& error_before);
  // --layer, --head, --query applied once the first run arrived ("" ) or what is wrong with them.
  std::string apply_start_selection();
  // --screenshot: saves the window after --frames frames of the result, then closes.
  void harness_after_draw();
  void save_screenshot(const std::string& path, bool headless);
  // A free file name for a screenshot in the exports folder (time-stamped).
  std::string screenshot_path() const;
  void write_view_rects(const std::string& path) const;
  bool idle() const;
  void wait_for_work();
  void rebuild_fonts();
  void save_settings_if_changed(double now, bool force);
  void bench_step();  // app_bench.cpp
  void start();
  // --- window contents (main_window.cpp)
  void draw_main_window();
  void draw_menu_bar();
  void draw_status_bar(float height);
  void handle_shortcuts();
  void zoom_matrix(double factor);
  void open_file(FileKind kind);
  void export_figure(const render::ExportRequest& request);  // File > Export...
  void save_workspace_file();  // File > Save workspace: into the exports folder

  GuiOptions options_;
  bool headless_ = false, bench_ = false;
  GLFWwindow* window_ = nullptr;
  float content_scale_ = 1, ui_scale_ = 1, built_scale_ = 0;
  std::string settings_path_;
  std::string settings_saved_;  // what the settings file holds
  std::string settings_error_;  // the last failure to save them (printed once)
  double settings_checked_at_ = 0;
  AppState state_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Engine> partner_engine_;  // the pair view's second model, on a worker of its own
  bool choosing_partner_ = false;           // the open file dialog picks the second model
  std::unique_ptr<ViewResources> res_;
  std::vector<Command> commands_;
  FileDialog file_dialog_;
  ExportDialog export_dialog_;
  std::string text_buffer_;
  uint64_t text_buffer_version_ = ~0ull;
  std::unique_ptr<render::OffscreenTarget> headless_target_;
  float menu_height_ = 0;
  std::optional<ViewId> focused_view_;
  bool keyboard_nav_started_ = false;  // F6's mode was on last frame  // the view whose window had the focus last frame
  int exit_code_ = 0;
  static constexpr int kSettleFrames = 3;
  int frames_to_settle_ = kSettleFrames;
  // Headless and bench bookkeeping.
  int frames_after_result_ = 0;
  int frames_waited_ = 0;  // for pictures still refining
  std::string titled_checkpoint_;  // the model the window's title names
  bool selection_applied_ = false;
  std::vector<double> frame_ms_;
  double last_frame_at_ = 0;
  size_t bench_run_from_ = 0;
  std::vector<std::string> dropped_;
};

}  // namespace fmalens::gui
