// The GUI's state as a plain struct, and the commands that change it. Widgets never change the
// state directly: they emit commands, and apply() turns a command into the new state plus the
// side effects the app must carry out (submit a job to the engine, cancel). apply() touches no
// window and no GL, so the tests drive the GUI's logic without a display.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fmalens/engine.h"
#include "gui/layout.h"
#include "render/colormap.h"
#include "render/matrix_style.h"

namespace fmalens::gui {

// The views, in the order of the views' registry (gui/views.h: names, titles, panels, figures).
enum class ViewId { matrix, levels, weights, regions, text, model, compare, heads, distance, error, pair };
constexpr int kViewCount = 11;

struct MatrixSettings : render::MatrixStyle {
  float overlay_opacity = 0.7f;      // region maps: attention over the image
};

// Where the matrix panel looks. `fit`: the whole matrix, whatever the panel's size.
struct MatrixNavigation {
  bool fit = true;
  double t0 = 0, i0 = 0, cells_per_pixel = 1;
};

// Where the user is looking: what Back and Forward step through.
struct ViewPlace {
  int layer = 0, head = -1;
  int64_t query = -1;
  MatrixNavigation nav;
  bool operator==(const ViewPlace& o) const {
    return layer == o.layer && head == o.head && query == o.query && nav.fit == o.nav.fit &&
           (nav.fit || (nav.t0 == o.nav.t0 && nav.i0 == o.nav.i0 && nav.cells_per_pixel == o.nav.cells_per_pixel));
  }
  bool operator!=(const ViewPlace& o) const { return !(*this == o); }
};

struct AppState {
  // --- the model and its last run
  std::string checkpoint;         // the checkpoint wanted (being loaded, or loaded)
  std::string loaded_checkpoint;  // the one the snapshot came from
  std::shared_ptr<const ModelInfo> model;
  std::shared_ptr<const Snapshot> snapshot;
  std::string device = "auto";
  std::vector<std::string> devices{"auto", "cpu"};
  std::map<std::string, std::string> device_labels;  // name -> words for menus: "cuda:0 (NVIDIA H200)"
  std::string image_model;        // bundled image model, used when an image is opened on a text model

  // --- a second model (the pair view): run on the same input by an engine of its own whenever
  // the first model runs; "" : none
  std::string partner_checkpoint;
  std::shared_ptr<const ModelInfo> partner_model;
  std::shared_ptr<const Snapshot> partner_snapshot;
  uint64_t partner_generation = 0;  // of the partner job awaited (0: none)
  bool partner_running = false;

  // --- inputs (both kept: the model runs the one it takes)
  std::string text;
  std::string text_path;          // file the text came from ("" typed)
  uint64_t text_version = 0;      // changes with the text (the text box resyncs on it)
  std::shared_ptr<const Image> image;
  std::string image_path;

  // --- selection
  int layer = 0;
  int head = -1;        // -1: the average over heads
  int64_t query = -1;   // token (row-major patch); -1: choose a default when a run arrives

  // --- views
  std::array<bool, kViewCount> visible{true, true, true, true, true, true, true, true, true, true, true};
  std::optional<ViewId> focus;  // one view fills the main area
  MatrixSettings matrix;
  MatrixNavigation nav;
  int weights_level = 1;
  // The head finder's axes (names of head_metric_names()) and the distance profile's small multiples.
  std::string heads_x = "mean distance", heads_y = "fine mass";
  bool distance_all_heads = false;
  // Back / Forward through places (zoom, pan, query, layer, head) of the current model. A burst
  // of one kind of change (a drag, a held arrow key) is one step: it joins the last step when
  // it comes within kHistoryMergeSeconds of it.
  std::vector<ViewPlace> back, forward;
  int history_kind = -1;       // the command kind of the last step
  double history_at = -1e9;    // when it was last extended
  double now = 0;              // the last Tick's time
  std::optional<ViewPlace> restore_place;  // a workspace's selection, applied when its run arrives
  // The panels' splits per model kind (text, image) and the window's size in screen
  // coordinates (0: not known yet), kept in the settings.
  std::array<PanelLayout, 2> layouts{PanelLayout::defaults(false), PanelLayout::defaults(true)};
  int window_width = 0, window_height = 0;

  // --- running
  uint64_t generation = 0;  // of the job whose result is awaited (0: none)
  bool running = false;
  std::string status;
  bool text_dirty = false;  // edited since the last submit (debounced re-run)
  double text_changed_at = 0;
  double debounce_s = 0.35;

  // --- dialogs and files
  std::string error;  // shown in a modal dialog until dismissed
  bool show_help = false;
  bool keyboard_nav = false;  // F6: ImGui's keyboard navigation instead of the view keys
  std::vector<std::string> recent;  // most recent first
  // Tokenizers (text models that do not read bytes): the one given for `checkpoint` ("": as
  // Model::load finds it), the one the loaded model runs with, and the user's choice per
  // checkpoint (kept in the settings with the recent files).
  std::string tokenizer, loaded_tokenizer;
  // Screenshots and exported figures go here (exports_folder.h); the settings keep it.
  std::string exports_dir;
  std::map<std::string, std::string> tokenizers;
  std::string screenshot_path;      // requested: saved after this frame is drawn
  bool quit = false;

  bool is_image_model() const { return model && model->config.kind == ModelKind::image; }
  int64_t tokens() const { return snapshot ? snapshot->tokens : 0; }
  PanelLayout& layout() { return layouts[is_image_model() ? 1 : 0]; }
  // A device of `devices` in words for menus (its name when it has no label).
  const std::string& device_label(const std::string& name) const {
    const auto it = device_labels.find(name);
    return it == device_labels.end() ? name : it->second;
  }
};

// --- commands ----------------------------------------------------------------------------
struct OpenCheckpoint { std::string path; };
struct OpenImage { std::string path; };
struct OpenTextFile { std::string path; };
struct OpenTokenizer { std::string path; };  // for the current checkpoint
struct OpenWorkspace { std::string path; };
struct OpenPartner { std::string path; };  // the second model of the pair view ("": close it)
struct PartnerFinished { EngineResult result; };  // render/workspace.h: the model, input, selection and views it names
struct DropFiles { std::vector<std::string> paths; };
struct EditText { std::string text; double now = 0; };
// Masked LMs: the word (letters and digits) at the query becomes '_' runs, the masks the model
// fills in; one byte when the query is not in a word.
struct MaskAtQuery {};
struct Tick { double now = 0; };  // once per frame: debounced re-runs
struct RunNow {};
struct CancelRun {};
struct RunFinished { EngineResult result; };
struct SetDevice { std::string device; };
struct SelectLayer { int layer = 0; };
struct SelectHead { int head = -1; };
struct SelectQuery { int64_t query = 0; };
struct MoveQuery { int64_t dx = 0, dy = 0; };  // dy: grid rows (images) or 64 bytes (text)
struct SetMatrixSettings { MatrixSettings settings; };
struct ToggleLevel { int level = 0; };
struct CycleColormap {};
struct ToggleLogScale {};
struct SetMatrixView { double t0 = 0, i0 = 0, cells_per_pixel = 1; };
struct FitMatrix {};
struct SetWeightsLevel { int level = 1; };
struct SetHeadsAxes { std::string x, y; };
struct SetDistanceAllHeads { bool all = false; };
struct ShowView { ViewId view; bool visible = true; };
struct FocusView { std::optional<ViewId> view; };
struct GoBack {};
struct GoForward {};
struct ResetLayout {};  // the current model kind's default splits
struct ShowHelp { bool show = true; };
struct SetKeyboardNav { bool on = true; };
struct DismissError {};
struct TakeScreenshot { std::string path; };
struct ClearRecent {};
struct SetExportsFolder { std::string path; };  // where screenshots and exported figures go
struct Quit {};

using Command = std::variant<OpenCheckpoint, OpenImage, OpenTextFile, OpenTokenizer, OpenWorkspace, OpenPartner, PartnerFinished, DropFiles, EditText, MaskAtQuery, Tick, RunNow, CancelRun, RunFinished,
                             SetDevice, SelectLayer, SelectHead, SelectQuery, MoveQuery, SetMatrixSettings, ToggleLevel,
                             CycleColormap, ToggleLogScale, SetMatrixView, FitMatrix, SetWeightsLevel, SetHeadsAxes, SetDistanceAllHeads, ShowView, FocusView,
                             GoBack, GoForward, ResetLayout, ShowHelp, SetKeyboardNav, DismissError, TakeScreenshot, ClearRecent, SetExportsFolder, Quit>;

// What the app must do after a command: the state itself is already updated.
struct Effects {
  std::optional<EngineJob> submit;  // hand this job to the engine (its generation goes to state.generation)
  // the same input for the second model's engine (its generation goes to state.partner_generation)
  std::optional<EngineJob> submit_partner;
  bool cancel = false;              // cancel the engine's current job
};

// Applies `command` to `state`. Never throws: bad input becomes state.error, and the state
// that was there stays.
Effects apply(AppState& state, const Command& command);

// The job that runs the current inputs on the wanted checkpoint.
EngineJob make_job(const AppState& state);
// `job`'s inputs on the second model (its own tokenizer, found as Model::load finds it).
EngineJob partner_job(const AppState& state, const EngineJob& job);

// Kind of a file by its name: checkpoint (.safetensors, .pt, .pth, .ckpt, .bin), image
// (.png, .jpg, .jpeg, .bmp, .gif, .tga, .pgm, .ppm, .pnm), tokenizer (.pkl, tokenizer.json,
// encoder.json, vocab.json, vocab.bpe, merges.txt), workspace (*.workspace.json) or text (anything else).
enum class FileKind { checkpoint, image, text, tokenizer, workspace };
FileKind file_kind(const std::string& path);

// The status bar's right side: the model, what it read and the selection, e.g.
// "text_fma · 804 bytes · layer 1/4 · head avg · query 803 · cpu".
std::string status_summary(const AppState& state);

constexpr size_t kMaxRecent = 10;
constexpr size_t kMaxHistory = 100;
constexpr double kHistoryMergeSeconds = 1.0;
ViewPlace place_of(const AppState& state);
constexpr size_t kMaxTextBytes = 1 << 20;  // text files are cut to their last 1 MiB
void add_recent(AppState& state, const std::string& path);

}  // namespace fmalens::gui
