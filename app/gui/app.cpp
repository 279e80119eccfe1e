// The app's window, frame loop, engine hand-off, screenshots, and the headless and benchmark
// modes. The window's contents are in main_window.cpp.
#include "gui/app.h"

#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fmalens/assets.h"
#include "fmalens/atomic_file.h"
#include "fmalens/image.h"
#include "fmalens/quote.h"
#include "gui/exports_folder.h"
#include "gui/settings.h"
#include "gui/ui_font.h"
#include "gui/views.h"
#include "render/gl.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::gui {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// GLFW's own messages. Until the window is open they are kept for the refusal that follows
// (one line: "cannot open a window: ... (X11: Failed to open display)"); afterwards each
// distinct one is printed once on stderr.
bool g_window_open = false;
std::string g_glfw_message;

void glfw_error(int code, const char* message) {
  g_glfw_message = escaped(message ? message : "");
  if (!g_window_open) return;
  static std::set<std::string> seen;
  if (seen.insert(g_glfw_message).second) std::fprintf(stderr, "glfw error 0x%x: %s\n", code, g_glfw_message.c_str());
}

// " (GLFW's last message)" for a refusal, or "".
std::string glfw_reason() { return g_glfw_message.empty() ? "" : " (" + g_glfw_message + ")"; }

}  // namespace

std::string App::screenshot_path() const {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[64];
  std::strftime(buf, sizeof(buf), "fmalens-%Y%m%d-%H%M%S.png", std::localtime(&t));
  const std::string dir = state_.exports_dir.empty() ? default_exports_dir() : state_.exports_dir;
  return unused_path((std::filesystem::path(dir) / buf).string());
}

App::App(const GuiOptions& options) : options_(options) {
  headless_ = !options.screenshot.empty();
  bench_ = options.bench_frames > 0;
  if (!headless_ && !bench_ && !options.no_settings) {
    const std::string dir = config_dir();
    if (!dir.empty()) {
      settings_path_ = (std::filesystem::path(dir) / "settings.json").string();
      load_settings(settings_path_, &state_, &ui_scale_);
      settings_saved_ = settings_to_json(state_, ui_scale_);
    }
  }
  if (options.ui_scale > 0) ui_scale_ = options.ui_scale;
  state_.devices = {"auto"};
  for (const auto& d : Model::devices()) state_.devices.push_back(d);
  for (const auto& d : state_.devices) state_.device_labels[d] = Model::describe_device(d);  // the GPU's name
  const cli::InputOptions& in = options.input;
  if (in.device != "auto" || std::find(state_.devices.begin(), state_.devices.end(), state_.device) == state_.devices.end())
    state_.device = in.device;
  if (options.synthetic == 0) {  // a model and its inputs (a synthetic snapshot has neither)
    const BundledFiles bundled = bundled_files();
    state_.image_model = bundled.image_model;
    // Inputs: the samples, unless the command line names one; then only that one, so that a
    // text given to an image model (or an image to a text model) is an error, not ignored.
    const bool text_given = !in.text.empty() || !in.text_file.empty(), image_given = !in.image.empty();
    state_.checkpoint = in.checkpoint.empty() ? (image_given ? bundled.image_model : bundled.text_model) : in.checkpoint;
    if (!in.tokenizer.empty()) state_.tokenizers[state_.checkpoint] = in.tokenizer;
    const auto remembered = state_.tokenizers.find(state_.checkpoint);
    state_.tokenizer = remembered == state_.tokenizers.end() ? std::string() : remembered->second;
    if (!in.text.empty()) state_.text = in.text;
    else if (!in.text_file.empty()) state_.text = read_text(in.text_file);
    else if (!image_given) state_.text = read_text(bundled.sample_text);
    state_.text_path = in.text_file;
    if (!text_given) {
      const std::string image = image_given ? in.image : bundled.sample_image;
      try {
        state_.image = std::make_shared<const Image>(load_image(image));
        state_.image_path = image;
      } catch (const std::exception&) {
        // No sample image: images arrive when the user opens one.
      }
    }
  }
  if (!options.view.empty()) state_.focus = view_from_name(options.view);
  if (bench_) state_.focus = ViewId::matrix;
  if (headless_ || bench_) state_.visible.fill(true);
}

App::~App() {
  engine_.reset();  // stops a running job before the window goes
  partner_engine_.reset();
  res_.reset();
  if (window_) {
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window_);
    glfwTerminate();
  }
}

namespace {

// The app's icon (the data folder's desktop/fmalens-64.png, made by tools/make_icon.py) on the
// window, where the desktop shows window icons. Cosmetic: without the data folder or the file
// the window keeps the desktop's default icon, and the error for the missing models comes later.
void set_window_icon(GLFWwindow* window) {
  try {
    const Image icon = load_image((std::filesystem::path(assets_dir()) / "desktop" / "fmalens-64.png").string());
    if (icon.channels != 4) return;
    GLFWimage image{icon.width, icon.height, const_cast<unsigned char*>(icon.pixels.data())};
    glfwSetWindowIcon(window, 1, &image);  // GLFW copies the pixels
  } catch (const Error&) {
  }
}

}  // namespace

void App::open_window() {
  glfwSetErrorCallback(glfw_error);
  if (!glfwInit())
    throw EnvironmentError("cannot open a window: no display (set DISPLAY, or run headless under xvfb-run -a with --screenshot)" +
                           glfw_reason());
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  glfwWindowHint(GLFW_VISIBLE, headless_ ? GLFW_FALSE : GLFW_TRUE);
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);
  // The size the window had when it was last closed, unless --size says otherwise.
  const bool restore = !options_.size_given && !headless_ && state_.window_width > 0 && state_.window_height > 0;
  if (restore) glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_FALSE);  // saved in screen coordinates, already scaled
  window_ = glfwCreateWindow(restore ? state_.window_width : options_.width, restore ? state_.window_height : options_.height, "FMA Lens",
                             nullptr, nullptr);
  if (!window_) {
    glfwTerminate();
    throw EnvironmentError("cannot open a window with OpenGL 3.3 core (update the graphics driver, or try LIBGL_ALWAYS_SOFTWARE=1)" +
                           glfw_reason());
  }
  g_window_open = true;
  set_window_icon(window_);
  // Never larger than the monitor's work area (a 2x content scale can ask for more).
  if (!headless_)
    if (GLFWmonitor* monitor = glfwGetPrimaryMonitor()) {
      int x = 0, y = 0, work_w = 0, work_h = 0, w = 0, h = 0;
      glfwGetMonitorWorkarea(monitor, &x, &y, &work_w, &work_h);
      glfwGetWindowSize(window_, &w, &h);
      if (work_w > 0 && work_h > 0 && (w > work_w || h > work_h)) glfwSetWindowSize(window_, std::min(w, work_w), std::min(h, work_h));
    }
  glfwMakeContextCurrent(window_);
  glfwSwapInterval(headless_ || bench_ ? 0 : 1);
  glfwSetWindowUserPointer(window_, this);
  glfwSetDropCallback(window_, [](GLFWwindow* w, int count, const char** paths) {
    auto* app = static_cast<App*>(glfwGetWindowUserPointer(w));
    for (int k = 0; k < count; ++k) app->dropped_.emplace_back(paths[k]);
  });
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout lives in the settings (layout.h), computed from the window's size
  ImGui_ImplGlfw_InitForOpenGL(window_, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");
  float xs = 1, ys = 1;
  if (!headless_) glfwGetWindowContentScale(window_, &xs, &ys);
  content_scale_ = std::max({xs, ys, 1.0f});
  rebuild_fonts();
  res_ = std::make_unique<ViewResources>();
  if (headless_) {
    headless_target_ = std::make_unique<render::OffscreenTarget>();
    headless_target_->resize(options_.width, options_.height);
  }
  engine_ = std::make_unique<Engine>();
  engine_->set_result_ready([] { glfwPostEmptyEvent(); });  // wakes wait_for_work
  partner_engine_ = std::make_unique<Engine>();
  partner_engine_->set_result_ready([] { glfwPostEmptyEvent(); });
}

void App::rebuild_fonts() {
  const float scale = content_scale_ * ui_scale_;
  if (scale == built_scale_) return;
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  // The system's sans-serif at 15 px per unit of scale, then its monospace for the text view's
  // cells (ProggyClean, 13 px, for either when fontconfig finds none).
  static const std::string sans_bytes = read_font_file(ui_font_file(false)), mono_bytes = read_font_file(ui_font_file(true));
  static ImVector<ImWchar> ranges;  // Latin-1 and A, Greek, punctuation, arrows, maths, boxes: the labels' symbols
  if (ranges.empty()) {
    ImFontGlyphRangesBuilder builder;
    builder.AddRanges(io.Fonts->GetGlyphRangesDefault());
    static const ImWchar extra[] = {0x0100, 0x017F, 0x0370, 0x03FF, 0x2000, 0x206F, 0x2190, 0x21FF, 0x2200, 0x22FF, 0x2500, 0x25FF, 0};
    builder.AddRanges(extra);
    builder.BuildRanges(&ranges);
  }
  for (const std::string* bytes : {&sans_bytes, &mono_bytes}) {
    ImFont* font = nullptr;
    if (!bytes->empty()) {
      ImFontConfig cfg;
      cfg.FontDataOwnedByAtlas = false;  // the bytes live as long as the process
      cfg.OversampleH = 2;
      font = io.Fonts->AddFontFromMemoryTTF(const_cast<char*>(bytes->data()), static_cast<int>(bytes->size()), std::round(15.0f * scale),
                                            &cfg, ranges.Data);
    }
    if (!font) {
      ImFontConfig cfg;
      cfg.SizePixels = std::round(13.0f * scale);
      io.Fonts->AddFontDefault(&cfg);
    }
  }
  if (built_scale_ != 0) {  // the backend builds the first font texture in its first frame
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
  }
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 0;
  style.ScaleAllSizes(scale);
  built_scale_ = scale;
}

void App::start() {
  if (options_.synthetic > 0) {
    // The smallest layout that holds the tokens asked for (a power-of-two grid or length).
    const Variant variant = variant_from_string(options_.synthetic_variant);
    render::SyntheticSpec spec;
    if (variant == Variant::grid2d) {
      int64_t side = 1;
      while (side * side < options_.synthetic) side *= 2;
      spec = render::SyntheticSpec::grid(side, 1, 1, 2, 2);
    } else {
      int64_t n = 64;
      while (n < options_.synthetic) n *= 2;
      spec = render::SyntheticSpec::sequence(variant, n, 32, 4, 2, 2);
      spec.tokens = options_.synthetic;
    }
    EngineResult r;
    r.snapshot = std::make_shared<const Snapshot>(render::make_synthetic_snapshot(spec));
    auto info = render::make_synthetic_model_info(*r.snapshot);
    info.path = "synthetic " + std::string(to_string(spec.variant)) + " n=" + std::to_string(r.snapshot->tokens);
    r.model = std::make_shared<const ModelInfo>(info);
    state_.checkpoint = info.path;
    state_.text = r.snapshot->text;  // the text box shows what the synthetic run "read"
    ++state_.text_version;
    commands_.push_back(RunFinished{r});
    return;
  }
  if (!options_.workspace.empty()) commands_.push_back(OpenWorkspace{options_.workspace});
  else commands_.push_back(RunNow{});
  if (!options_.partner.empty()) commands_.push_back(OpenPartner{options_.partner});
}

void App::perform(const Effects& e) {
  if (e.cancel) engine_->cancel();
  if (e.submit) state_.generation = engine_->submit(*e.submit);
  if (e.cancel && state_.partner_running) partner_engine_->cancel();
  if (e.submit_partner) state_.partner_generation = partner_engine_->submit(*e.submit_partner);
}

void App::apply_commands() {
  // Applying a command may not add commands, but a DropFiles may arrive while iterating: swap first.
  std::vector<Command> pending;
  pending.swap(commands_);
  for (const Command& c : pending) perform(apply(state_, c));
}

bool App::idle() const {
  return !state_.running && !state_.partner_running && !state_.text_dirty && !(res_ && res_->animating) && dropped_.empty() && commands_.empty();
}

// Idle is idle: with nothing to draw the window sleeps until an event (input, a finished run:
// the engine posts an empty event, a file dropped), and while minimised it draws nothing.
// After an event it draws a few frames (ImGui settles hover states and popups in them).
void App::wait_for_work() {
  if (headless_ || bench_) {
    glfwPollEvents();
    return;
  }
  if (state_.running || state_.partner_running) {
    glfwWaitEventsTimeout(1.0 / 30);  // the progress bar moves
    frames_to_settle_ = kSettleFrames;
    return;
  }
  if (!idle() || frames_to_settle_ > 0) {
    glfwPollEvents();
    if (frames_to_settle_ > 0) --frames_to_settle_;
    return;
  }
  // Changed settings are written within two seconds: wake for them, otherwise only for events.
  const bool settings_pending = !settings_path_.empty() && settings_to_json(state_, ui_scale_) != settings_saved_;
  do {
    if (settings_pending) glfwWaitEventsTimeout(2.0);
    else if (ImGui::GetIO().WantTextInput) glfwWaitEventsTimeout(0.5);  // the text cursor blinks
    else glfwWaitEvents();
  } while (glfwGetWindowAttrib(window_, GLFW_ICONIFIED) && !glfwWindowShouldClose(window_) && !settings_pending);
  frames_to_settle_ = kSettleFrames;
}

void App::frame() {
  wait_for_work();
  float xs = 1, ys = 1;
  if (!headless_) glfwGetWindowContentScale(window_, &xs, &ys);
  content_scale_ = std::max({xs, ys, 1.0f});
  rebuild_fonts();
  const double now = glfwGetTime();

  res_->engine_progress = engine_->progress();
  if (auto r = engine_->poll()) commands_.push_back(RunFinished{std::move(*r)});
  if (auto r = partner_engine_->poll()) commands_.push_back(PartnerFinished{std::move(*r)});
  if (!dropped_.empty()) {
    commands_.push_back(DropFiles{dropped_});
    dropped_.clear();
  }
  commands_.push_back(Tick{now});
  const std::string error_before = state_.error;
  apply_commands();
  if ((headless_ || bench_) && !harness_before_draw(error_before)) return;
  if (!headless_ && !bench_) {  // the window: --layer, --head, --query once the model ran; a bad one is a dialog
    const std::string bad = apply_start_selection();
    if (!bad.empty()) state_.error = bad;
  }

  // The title names the model: "text_fma.safetensors - FMA Lens".
  if (state_.loaded_checkpoint != titled_checkpoint_) {
    titled_checkpoint_ = state_.loaded_checkpoint;
    const std::string name = std::filesystem::path(titled_checkpoint_).filename().string();
    glfwSetWindowTitle(window_, (name.empty() ? std::string("FMA Lens") : name + " \u2014 FMA Lens").c_str());
  }
  // The size to open with next time (a maximised window keeps the size it had before).
  if (!headless_ && !bench_ && !glfwGetWindowAttrib(window_, GLFW_ICONIFIED) && !glfwGetWindowAttrib(window_, GLFW_MAXIMIZED))
    glfwGetWindowSize(window_, &state_.window_width, &state_.window_height);
  res_->update(state_);
  res_->animating = false;
  if (res_->ctx.shaders().reload_if_changed()) {
    for (auto& img : res_->images) img.invalidate();
    res_->matrix_complete = false;
  }
  if (!res_->ctx.shaders().last_error().empty() && state_.error.empty()) state_.error = res_->ctx.shaders().last_error();

  ImGuiIO& io = ImGui::GetIO();
  if (state_.keyboard_nav) io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  else io.ConfigFlags &= ~ImGuiConfigFlags_NavEnableKeyboard;
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  handle_shortcuts();
  try {
    draw_main_window();
  } catch (const std::exception& e) {
    // A view that cannot draw (a shader that does not compile, a texture too large) reports and the app goes on.
    state_.error = error_line(e);
  }
  ImGui::Render();
  apply_commands();

  int fb_w = 0, fb_h = 0;
  if (headless_) {
    headless_target_->bind();
    fb_w = headless_target_->width();
    fb_h = headless_target_->height();
  } else {
    glfwGetFramebufferSize(window_, &fb_w, &fb_h);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glViewport(0, 0, fb_w, fb_h);
  }
  glClearColor(0.06f, 0.06f, 0.07f, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

  if (!state_.screenshot_path.empty()) {
    const std::string path = state_.screenshot_path;
    state_.screenshot_path.clear();
    try {
      save_screenshot(path, headless_);
      state_.status = "saved " + path;
    } catch (const std::exception& e) {
      state_.error = error_line(e);
    }
  }
  if (headless_) harness_after_draw();
  if (!headless_) glfwSwapBuffers(window_);
  if (bench_ && state_.snapshot && selection_applied_) bench_step();
}

void App::save_settings_if_changed(double now, bool force) {
  // Written when they change (checked every two seconds) and at exit, so that a killed app
  // loses little.
  if (settings_path_.empty() || (!force && now - settings_checked_at_ < 2)) return;
  settings_checked_at_ = now;
  const std::string json = settings_to_json(state_, ui_scale_);
  if (json == settings_saved_) return;
  std::string error;
  if (save_settings(settings_path_, state_, ui_scale_, &error)) {
    settings_saved_ = json;
  } else if (error != settings_error_) {  // said once, not every two seconds
    std::fprintf(stderr, "warning: settings not saved: %s\n", escaped(error).c_str());
    settings_error_ = error;
  }
}

int App::run() {
  start();
  while (!glfwWindowShouldClose(window_) && !state_.quit) {
    frame();
    save_settings_if_changed(glfwGetTime(), false);
  }
  save_settings_if_changed(glfwGetTime(), true);
  return exit_code_;
}

int run_gui(const GuiOptions& options) {
  App app(options);
  app.open_window();
  return app.run();
}

}  // namespace fmalens::gui
