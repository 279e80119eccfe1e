// The GUI's logic without a window: commands applied to AppState, the jobs they hand to the
// engine, the settings file, and the matrix navigation arithmetic.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gui/app_state.h"
#include "gui/export_dialog.h"
#include "render/workspace.h"
#include "gui/exports_folder.h"
#include "gui/settings.h"
#include "render/matrix_renderer.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::gui {
namespace {

namespace fs = std::filesystem;

// A finished run of a synthetic model, as the engine would return it.
EngineResult result_of(render::SyntheticSpec spec, const std::string& path = "model.safetensors") {
  EngineResult r;
  r.snapshot = std::make_shared<const Snapshot>(render::make_synthetic_snapshot(spec));
  auto info = render::make_synthetic_model_info(*r.snapshot);
  info.path = path;
  r.model = std::make_shared<const ModelInfo>(info);
  return r;
}

render::SyntheticSpec text_spec(int64_t tokens = 100) {
  render::SyntheticSpec s = render::SyntheticSpec::sequence(Variant::causal, 128, 16, 2, 2, 2);
  s.tokens = tokens;
  return s;
}

render::SyntheticSpec image_spec() { return render::SyntheticSpec::grid(8, 1, 1, 1, 2); }

AppState loaded_text_state() {
  AppState s;
  s.checkpoint = "model.safetensors";
  s.text = "hello";
  apply(s, RunNow{});
  apply(s, RunFinished{result_of(text_spec())});
  return s;
}

TEST(AppState, ARunArrivesWithDefaults) {
  AppState s;
  s.checkpoint = "model.safetensors";
  s.text = "some text";
  const Effects e = apply(s, RunNow{});
  ASSERT_TRUE(e.submit.has_value());
  EXPECT_EQ(e.submit->checkpoint, "model.safetensors");
  EXPECT_EQ(*e.submit->text, "some text");
  EXPECT_TRUE(s.running);
  apply(s, RunFinished{result_of(text_spec())});
  EXPECT_FALSE(s.running);
  ASSERT_TRUE(s.snapshot);
  EXPECT_EQ(s.query, 99);  // the last byte sees the whole text
  EXPECT_EQ(s.loaded_checkpoint, "model.safetensors");
  EXPECT_EQ(s.recent.front(), "model.safetensors");
  EXPECT_NE(s.status.find("ran 100 tokens"), std::string::npos);
}

TEST(AppState, ASecondModelRunsWhateverTheFirstRuns) {
  AppState s = loaded_text_state();
  // Not a checkpoint: refused, nothing runs.
  Effects e = apply(s, OpenPartner{"notes.txt"});
  EXPECT_FALSE(e.submit_partner.has_value());
  EXPECT_NE(s.error.find("not a checkpoint"), std::string::npos);
  EXPECT_TRUE(s.partner_checkpoint.empty());
  s.error.clear();
  // Opened: the current input runs on it, with its own tokenizer.
  s.tokenizers["twin.safetensors"] = "twin_meta.pkl";
  e = apply(s, OpenPartner{"twin.safetensors"});
  ASSERT_TRUE(e.submit_partner.has_value());
  EXPECT_FALSE(e.submit.has_value());
  EXPECT_EQ(e.submit_partner->checkpoint, "twin.safetensors");
  EXPECT_EQ(e.submit_partner->tokenizer, "twin_meta.pkl");
  EXPECT_EQ(*e.submit_partner->text, "hello");
  EXPECT_TRUE(s.partner_running);
  s.partner_generation = 7;
  // A stale result is dropped; the awaited one arrives.
  EngineResult stale = result_of(text_spec(), "twin.safetensors");
  stale.generation = 6;
  apply(s, PartnerFinished{stale});
  EXPECT_FALSE(s.partner_snapshot);
  EngineResult r = result_of(text_spec(), "twin.safetensors");
  r.generation = 7;
  apply(s, PartnerFinished{r});
  ASSERT_TRUE(s.partner_snapshot);
  EXPECT_FALSE(s.partner_running);
  // A new input runs on both models.
  s.text = "hello there";
  e = apply(s, RunNow{});
  ASSERT_TRUE(e.submit.has_value() && e.submit_partner.has_value());
  EXPECT_EQ(e.submit->checkpoint, "model.safetensors");
  EXPECT_EQ(e.submit_partner->checkpoint, "twin.safetensors");
  EXPECT_EQ(*e.submit_partner->text, "hello there");
  // A failure is a dialog and leaves no partner run behind.
  s.partner_generation = 8;
  EngineResult failed;
  failed.generation = 8;
  failed.error = "twin.safetensors: not a safetensors file";
  apply(s, PartnerFinished{failed});
  EXPECT_NE(s.error.find("second model: twin.safetensors"), std::string::npos);
  EXPECT_FALSE(s.partner_snapshot);
  // Closed: the first model runs alone again.
  apply(s, OpenPartner{""});
  EXPECT_TRUE(s.partner_checkpoint.empty());
  e = apply(s, RunNow{});
  EXPECT_TRUE(e.submit.has_value());
  EXPECT_FALSE(e.submit_partner.has_value());
}

TEST(AppState, ImageModelsStartAtTheCentrePatch) {
  AppState s;
  s.checkpoint = "image.safetensors";
  apply(s, RunFinished{result_of(image_spec(), "image.safetensors")});
  EXPECT_EQ(s.query, 4 * 8 + 4);
  EXPECT_TRUE(s.is_image_model());
  apply(s, MoveQuery{1, 0});
  EXPECT_EQ(s.query, 4 * 8 + 5);
  apply(s, MoveQuery{0, -1});
  EXPECT_EQ(s.query, 3 * 8 + 5);
  apply(s, MoveQuery{10, 10});  // clamped at the grid's edge
  EXPECT_EQ(s.query, 7 * 8 + 7);
}

TEST(AppState, ErrorsAndCancelsKeepThePreviousRun) {
  AppState s = loaded_text_state();
  const auto before = s.snapshot;
  apply(s, OpenCheckpoint{"broken.safetensors"});
  EXPECT_EQ(s.checkpoint, "broken.safetensors");
  EngineResult failed;
  failed.error = "broken.safetensors: header is not JSON";
  apply(s, RunFinished{failed});
  EXPECT_EQ(s.error, "broken.safetensors: header is not JSON");
  EXPECT_EQ(s.snapshot, before);
  EXPECT_EQ(s.checkpoint, "model.safetensors");
  apply(s, DismissError{});
  EXPECT_TRUE(s.error.empty());
  apply(s, RunNow{});
  EXPECT_FALSE(apply(s, CancelRun{}).submit);
  EngineResult cancelled;
  cancelled.cancelled = true;
  apply(s, RunFinished{cancelled});
  EXPECT_EQ(s.snapshot, before);
  EXPECT_TRUE(s.error.empty());
  EXPECT_EQ(s.status, "run cancelled");
}

// A tokenizer is chosen for the current checkpoint, travels with its jobs, is remembered for
// that checkpoint (not others), comes with a dropped checkpoint after it, and is forgotten when
// the model refuses it.
TEST(AppState, TokenizersPerCheckpoint) {
  AppState s = loaded_text_state();
  EXPECT_EQ(make_job(s).tokenizer, "");
  Effects e = apply(s, OpenTokenizer{"data/meta.pkl"});
  ASSERT_TRUE(e.submit);
  EXPECT_EQ(e.submit->tokenizer, "data/meta.pkl");
  EXPECT_EQ(e.submit->checkpoint, "model.safetensors");
  apply(s, RunFinished{result_of(text_spec())});
  EXPECT_EQ(s.loaded_tokenizer, "data/meta.pkl");
  apply(s, OpenCheckpoint{"other.pt"});
  EXPECT_EQ(make_job(s).tokenizer, "");  // another checkpoint: its own (none yet)
  apply(s, RunFinished{result_of(text_spec(), "other.pt")});
  e = apply(s, OpenCheckpoint{"model.safetensors"});
  ASSERT_TRUE(e.submit);
  EXPECT_EQ(e.submit->tokenizer, "data/meta.pkl");  // remembered
  apply(s, RunFinished{result_of(text_spec())});
  // A refused tokenizer: the error shows, the working one stays, the bad one is forgotten.
  apply(s, OpenTokenizer{"gpt2/encoder.json"});
  EngineResult refused;
  refused.error = "gpt2/: this tokenizer has 50257 ids, more than this model's vocabulary of 65";
  apply(s, RunFinished{refused});
  EXPECT_EQ(s.tokenizer, "data/meta.pkl");
  EXPECT_EQ(s.tokenizers.at("model.safetensors"), "data/meta.pkl");
  apply(s, DismissError{});
  // Dropped together: the tokenizer goes with the checkpoint dropped beside it, whatever the order.
  e = apply(s, DropFiles{{"bpe/vocab.json", "bpe/ckpt.pt"}});
  ASSERT_TRUE(e.submit);
  EXPECT_EQ(e.submit->checkpoint, "bpe/ckpt.pt");
  EXPECT_EQ(e.submit->tokenizer, "bpe/vocab.json");
  EXPECT_EQ(s.tokenizers.at("bpe/ckpt.pt"), "bpe/vocab.json");
  for (const char* name : {"meta.pkl", "x/tokenizer.json", "encoder.json", "vocab.json", "vocab.bpe", "merges.txt"})
    EXPECT_EQ(file_kind(name), FileKind::tokenizer) << name;
  EXPECT_EQ(file_kind("config.json"), FileKind::text);
  // Folders: a tokenizer's folder is a tokenizer; any other folder is refused in one line.
  EXPECT_EQ(file_kind(FMALENS_FIXTURES_DIR "/tokenizers/bpe/gpt2"), FileKind::tokenizer);
  const std::string folder = FMALENS_FIXTURES_DIR "/tokenizers/bpe";
  EXPECT_EQ(file_kind(folder), FileKind::text);
  apply(s, DismissError{});
  EXPECT_FALSE(apply(s, DropFiles{{folder}}).submit);
  EXPECT_NE(s.error.find("a folder; open a checkpoint"), std::string::npos) << s.error;
}

TEST(AppState, CancelOnlyWhileRunning) {
  AppState s = loaded_text_state();
  EXPECT_FALSE(apply(s, CancelRun{}).cancel);
  apply(s, RunNow{});
  EXPECT_TRUE(apply(s, CancelRun{}).cancel);
}

TEST(AppState, TypingReRunsAfterAPause) {
  AppState s = loaded_text_state();
  apply(s, EditText{"hello w", 10.0});
  EXPECT_FALSE(apply(s, Tick{10.1}).submit);  // still typing
  apply(s, EditText{"hello wo", 10.2});
  EXPECT_FALSE(apply(s, Tick{10.4}).submit);
  const Effects e = apply(s, Tick{10.6});
  ASSERT_TRUE(e.submit.has_value());
  EXPECT_EQ(*e.submit->text, "hello wo");
  EXPECT_FALSE(apply(s, Tick{11.0}).submit);  // once
  apply(s, EditText{"", 12.0});
  EXPECT_FALSE(apply(s, Tick{13.0}).submit);  // nothing to run
  EXPECT_EQ(s.status, "type some text to run");
}

TEST(AppState, TheQueryFollowsTheEndOfAGrowingText) {
  AppState s = loaded_text_state();
  EXPECT_EQ(s.query, 99);
  apply(s, RunFinished{result_of(text_spec(110))});
  EXPECT_EQ(s.query, 109);
  apply(s, SelectQuery{20});
  apply(s, RunFinished{result_of(text_spec(111))});
  EXPECT_EQ(s.query, 20);
}

TEST(AppState, SelectionIsClamped) {
  AppState s = loaded_text_state();
  apply(s, SelectLayer{5});
  EXPECT_EQ(s.layer, 1);
  apply(s, SelectHead{-7});
  EXPECT_EQ(s.head, -1);
  apply(s, SelectHead{1});
  EXPECT_EQ(s.head, 1);
  apply(s, SelectQuery{1000});
  EXPECT_EQ(s.query, 99);
  apply(s, MoveQuery{-1, 0});
  EXPECT_EQ(s.query, 98);
  apply(s, MoveQuery{0, -1});
  EXPECT_EQ(s.query, 34);
}

TEST(AppState, ViewsLevelsAndColours) {
  AppState s;
  apply(s, ToggleLevel{2});
  EXPECT_EQ(s.matrix.level_mask & 4u, 0u);
  apply(s, ToggleLevel{2});
  EXPECT_EQ(s.matrix.level_mask & 4u, 4u);
  apply(s, CycleColormap{});
  EXPECT_EQ(s.matrix.colormap, render::Colormap::magma);
  for (int k = 0; k < 3; ++k) apply(s, CycleColormap{});
  EXPECT_EQ(s.matrix.colormap, render::Colormap::viridis);  // the four sequential maps
  apply(s, ToggleLogScale{});
  EXPECT_FALSE(s.matrix.log_scale);
  apply(s, FocusView{ViewId::weights});
  EXPECT_EQ(s.focus, ViewId::weights);
  apply(s, ShowView{ViewId::weights, false});
  EXPECT_FALSE(s.focus.has_value());
  apply(s, SetMatrixView{10, 20, 0.5});
  EXPECT_FALSE(s.nav.fit);
  apply(s, FitMatrix{});
  EXPECT_TRUE(s.nav.fit);
  MatrixSettings m;
  m.decades = 40;
  apply(s, SetMatrixSettings{m});
  EXPECT_EQ(s.matrix.decades, 12.0f);
}

TEST(AppState, FilesByKindAndRecentList) {
  EXPECT_EQ(file_kind("a/b/model.SafeTensors"), FileKind::checkpoint);
  EXPECT_EQ(file_kind("ckpt.pt"), FileKind::checkpoint);
  EXPECT_EQ(file_kind("shoe.PNG"), FileKind::image);
  EXPECT_EQ(file_kind("notes.txt"), FileKind::text);
  AppState s;
  for (int k = 0; k < 15; ++k) add_recent(s, "f" + std::to_string(k));
  add_recent(s, "f12");
  EXPECT_EQ(s.recent.size(), kMaxRecent);
  EXPECT_EQ(s.recent.front(), "f12");
  EXPECT_EQ(std::count(s.recent.begin(), s.recent.end(), "f12"), 1);
}

TEST(AppState, OpeningFiles) {
  const fs::path dir = fs::temp_directory_path() / ("fmalens_state_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  AppState s = loaded_text_state();
  // A broken image: an error, the state as it was.
  const std::string bad = (dir / "bad.png").string();
  std::ofstream(bad) << "not an image";
  EXPECT_FALSE(apply(s, OpenImage{bad}).submit);
  EXPECT_NE(s.error.find("bad.png"), std::string::npos);
  EXPECT_FALSE(s.image);
  s.error.clear();
  // A good image on a text model with no bundled image model: an error.
  const std::string good = std::string(FMALENS_ASSETS_DIR) + "/samples/fashion_mnist_sneaker.png";
  s.image_model = (dir / "missing.safetensors").string();
  EXPECT_FALSE(apply(s, OpenImage{good}).submit);
  EXPECT_NE(s.error.find("text model"), std::string::npos);
  s.error.clear();
  // With one: the app switches to it and runs the image there.
  s.image_model = (dir / "image.safetensors").string();
  std::ofstream(s.image_model) << "x";
  const Effects e = apply(s, OpenImage{good});
  ASSERT_TRUE(e.submit.has_value());
  EXPECT_EQ(e.submit->checkpoint, s.image_model);
  EXPECT_EQ(e.submit->image->width, 28);
  // A text file: its text runs.
  const std::string text = (dir / "notes.txt").string();
  std::ofstream(text) << "from a file";
  s.checkpoint = "model.safetensors";
  const Effects t = apply(s, OpenTextFile{text});
  ASSERT_TRUE(t.submit.has_value());
  EXPECT_EQ(*t.submit->text, "from a file");
  EXPECT_EQ(s.text_path, text);
  // Dropped together: inputs first, then the checkpoint, so one job runs the new input on the new model.
  const Effects d = apply(s, DropFiles{{"other.safetensors", text}});
  ASSERT_TRUE(d.submit.has_value());
  EXPECT_EQ(d.submit->checkpoint, "other.safetensors");
  EXPECT_EQ(*d.submit->text, "from a file");
  fs::remove_all(dir);
}

TEST(Settings, RoundTripAndBadValues) {
  AppState s;
  s.device = "cpu";
  s.recent = {"a.safetensors", "b.png"};
  s.tokenizers = {{"a.safetensors", "data/meta.pkl"}};
  s.visible[static_cast<size_t>(ViewId::compare)] = false;
  s.matrix.colormap = render::Colormap::cividis;
  s.matrix.decades = 6;
  s.matrix.mass = true;
  s.matrix.row_normalise = true;
  s.matrix.gamma = 0.5f;
  s.matrix.sink_strip = true;
  const std::string json = settings_to_json(s, 1.5f);
  AppState t;
  float scale = 1;
  settings_from_json(json, &t, &scale);
  EXPECT_EQ(t.device, "cpu");
  EXPECT_EQ(t.recent, s.recent);
  EXPECT_EQ(t.tokenizers, s.tokenizers);
  EXPECT_FALSE(t.visible[static_cast<size_t>(ViewId::compare)]);
  EXPECT_EQ(t.matrix.colormap, render::Colormap::cividis);
  EXPECT_EQ(t.matrix.decades, 6.0f);
  EXPECT_TRUE(t.matrix.mass && t.matrix.row_normalise && t.matrix.sink_strip);
  EXPECT_EQ(t.matrix.gamma, 0.5f);
  EXPECT_EQ(scale, 1.5f);
  // One bad value costs only itself; garbage changes nothing.
  AppState u;
  settings_from_json(R"({"device": 3, "recent": ["x"], "matrix": {"colormap": "rainbow"}})", &u, &scale);
  EXPECT_EQ(u.device, "auto");
  EXPECT_EQ(u.recent, std::vector<std::string>{"x"});
  EXPECT_EQ(u.matrix.colormap, render::Colormap::viridis);
  settings_from_json("{not json", &u, &scale);
  EXPECT_EQ(u.recent, std::vector<std::string>{"x"});
}

TEST(Settings, FileInTheConfigFolder) {
  const fs::path dir = fs::temp_directory_path() / ("fmalens_settings_test_" + std::to_string(::getpid()));
  setenv("XDG_CONFIG_HOME", dir.c_str(), 1);
  EXPECT_EQ(config_dir(), (dir / "fmalens").string());
  const std::string path = (dir / "fmalens" / "settings.json").string();
  AppState s;
  s.recent = {"z.safetensors"};
  std::string error;
  ASSERT_TRUE(save_settings(path, s, 1, &error)) << error;
  AppState t;
  float scale = 1;
  ASSERT_TRUE(load_settings(path, &t, &scale));
  EXPECT_EQ(t.recent, s.recent);
  EXPECT_EQ(t.tokenizers, s.tokenizers);
  EXPECT_FALSE(load_settings((dir / "missing.json").string(), &t, &scale));
  fs::remove_all(dir);
}

TEST(MatrixNavigation, ZoomKeepsTheCellUnderTheMouse) {
  render::MatrixView v = render::MatrixView::fit(4096, 512, 512);
  EXPECT_DOUBLE_EQ(v.cells_per_pixel, 8.0);
  double t, i;
  v.cell_at(100, 300, &t, &i);
  const render::MatrixView z = v.zoomed(4, 100, 300);
  EXPECT_DOUBLE_EQ(z.cells_per_pixel, 2.0);
  double t2, i2;
  z.cell_at(100, 300, &t2, &i2);
  EXPECT_DOUBLE_EQ(t, t2);
  EXPECT_DOUBLE_EQ(i, i2);
  const render::MatrixView p = z.panned(10, -20);
  EXPECT_DOUBLE_EQ(p.t0, z.t0 - 20);
  EXPECT_DOUBLE_EQ(p.i0, z.i0 + 40);
  // Clamped: never past a cell of 64 pixels, never zoomed out past the fit, never off the matrix.
  EXPECT_DOUBLE_EQ(z.zoomed(1000, 0, 0).clamped(4096, 512, 512).cells_per_pixel, 1.0 / 64);
  EXPECT_DOUBLE_EQ(z.zoomed(0.001, 0, 0).clamped(4096, 512, 512).cells_per_pixel, 8.0);
  const render::MatrixView far = p.panned(-1e6, -1e6).clamped(4096, 512, 512);
  EXPECT_DOUBLE_EQ(far.t0, 4096 - 512 * 2.0);
  EXPECT_DOUBLE_EQ(far.i0, 4096 - 512 * 2.0);
}

}  // namespace
}  // namespace fmalens::gui

namespace fmalens::gui {
namespace {

// Masked LMs: M turns the word at the query into '_' runs (the masks) and runs again; other
// models refuse it with a status line and keep the text.
TEST(AppState, MaskAtQueryMasksTheWordForMaskedModels) {
  AppState s;
  s.checkpoint = "masked.safetensors";
  s.text = "the cat sat on the mat";
  auto info = std::make_shared<ModelInfo>();
  info->config.kind = ModelKind::text;
  s.model = info;
  auto snap = std::make_shared<Snapshot>();
  snap->config = info->config;
  snap->text = s.text;
  snap->tokens = static_cast<int64_t>(s.text.size());
  s.snapshot = snap;
  s.query = 5;  // the 'a' of "cat"
  Effects e = apply(s, MaskAtQuery{});
  EXPECT_FALSE(e.submit.has_value());
  EXPECT_EQ(s.text, "the cat sat on the mat");
  info->config.masked_lm = true;
  e = apply(s, MaskAtQuery{});
  ASSERT_TRUE(e.submit.has_value());
  EXPECT_EQ(s.text, "the ___ sat on the mat");
  ASSERT_TRUE(e.submit->text.has_value());
  EXPECT_EQ(*e.submit->text, "the ___ sat on the mat");
  s.query = 7;  // a space: one byte
  apply(s, MaskAtQuery{});
  EXPECT_EQ(s.text, "the ____sat on the mat");
}

}  // namespace
}  // namespace fmalens::gui

namespace fmalens::gui {
namespace {

// Screenshots and exports never land on an earlier file; the default folder follows XDG.
TEST(ExportsFolder, FreeNamesAndThePicturesFolder) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("fmalens_exports_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "Pictures");
  const std::string first = (dir / "fig.png").string();
  EXPECT_EQ(unused_path(first), first);
  std::ofstream(first) << "x";
  EXPECT_EQ(unused_path(first), (dir / "fig-2.png").string());
  std::ofstream((dir / "fig-2.png").string()) << "x";
  EXPECT_EQ(unused_path(first), (dir / "fig-3.png").string());
  const char* old_home = std::getenv("HOME");
  const std::string saved_home = old_home ? old_home : "";
  ::setenv("HOME", dir.c_str(), 1);
  ::unsetenv("XDG_PICTURES_DIR");
  ::setenv("XDG_CONFIG_HOME", (dir / "config").c_str(), 1);
  EXPECT_EQ(default_exports_dir(), (dir / "Pictures").string());
  std::filesystem::create_directories(dir / "config");
  std::filesystem::create_directories(dir / "Bilder");
  std::ofstream((dir / "config" / "user-dirs.dirs").string()) << "# comment\nXDG_PICTURES_DIR=\"$HOME/Bilder\"\n";
  EXPECT_EQ(default_exports_dir(), (dir / "Bilder").string());
  ::setenv("XDG_PICTURES_DIR", (dir / "Pictures").c_str(), 1);
  EXPECT_EQ(default_exports_dir(), (dir / "Pictures").string());
  ::unsetenv("XDG_PICTURES_DIR");
  ::unsetenv("XDG_CONFIG_HOME");
  ::setenv("HOME", saved_home.c_str(), 1);
  // Kept in the settings.
  AppState s;
  s.exports_dir = (dir / "Bilder").string();
  AppState t;
  float scale = 1;
  settings_from_json(settings_to_json(s, 1.0f), &t, &scale);
  EXPECT_EQ(t.exports_dir, s.exports_dir);
  std::filesystem::remove_all(dir);
}

// Back / Forward: each change of place is a step; a burst of one kind (a drag, a held key) is one
// step; Forward is dropped by a new change; a new model starts a new history; places come back
// clamped to the current run.
TEST(AppState, BackAndForwardStepThroughPlaces) {
  AppState s = loaded_text_state();
  apply(s, Tick{10.0});
  const ViewPlace start = place_of(s);
  apply(s, SelectQuery{5});
  apply(s, Tick{12.0});
  apply(s, SetMatrixView{3, 4, 0.5});  // a drag: many views within a second, one step
  apply(s, Tick{12.2});
  apply(s, SetMatrixView{6, 8, 0.5});
  apply(s, Tick{12.4});
  apply(s, SetMatrixView{9, 12, 0.5});
  apply(s, Tick{14.0});
  apply(s, SelectLayer{1});
  ASSERT_EQ(s.back.size(), 3u);
  EXPECT_TRUE(s.forward.empty());

  apply(s, GoBack{});
  EXPECT_EQ(s.layer, 0);
  EXPECT_DOUBLE_EQ(s.nav.t0, 9);  // the drag's end
  apply(s, GoBack{});  // before the drag: the query chosen, the whole matrix
  EXPECT_TRUE(s.nav.fit);
  EXPECT_EQ(s.query, 5);
  apply(s, GoBack{});
  EXPECT_EQ(place_of(s), start);
  apply(s, GoBack{});  // nothing further back: nothing happens
  EXPECT_EQ(place_of(s), start);
  EXPECT_EQ(s.forward.size(), 3u);

  apply(s, GoForward{});
  EXPECT_EQ(s.query, 5);
  apply(s, Tick{20.0});
  apply(s, SelectHead{1});  // a new change drops what was ahead
  EXPECT_TRUE(s.forward.empty());
  EXPECT_EQ(s.back.size(), 2u);

  // Non-moves are no steps: the same query again, a colour change.
  apply(s, Tick{30.0});
  apply(s, SelectQuery{s.query});
  apply(s, CycleColormap{});
  EXPECT_EQ(s.back.size(), 2u);

  // A place beyond a shorter run comes back clamped.
  apply(s, Tick{40.0});
  apply(s, SelectQuery{90});
  apply(s, Tick{50.0});
  apply(s, SelectQuery{10});
  apply(s, RunFinished{result_of(text_spec(20))});  // the same model, a shorter text
  apply(s, GoBack{});
  EXPECT_EQ(s.query, 19);

  // Another model: a new history.
  apply(s, RunFinished{result_of(text_spec(), "other.safetensors")});
  EXPECT_TRUE(s.back.empty());
  EXPECT_TRUE(s.forward.empty());
}

// A workspace written from one window and opened in another: the same model, input, colours,
// views, and (once its run arrives) the same layer, head, query and matrix navigation; a bad
// one is refused with one line and changes nothing.
TEST(AppState, WorkspacesRoundTrip) {
  const fs::path dir = fs::temp_directory_path() / ("fmalens_ws_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  AppState a = loaded_text_state();
  apply(a, SelectLayer{1});
  apply(a, SelectHead{1});
  apply(a, SelectQuery{42});
  apply(a, SetMatrixView{10, 20, 0.25});
  apply(a, CycleColormap{});
  apply(a, ShowView{ViewId::compare, false});
  apply(a, SetHeadsAxes{"entropy (bits)", "sink mass"});
  const std::string path = (dir / "w.workspace.json").string();
  render::save_workspace(path, workspace_of(a));
  EXPECT_EQ(file_kind(path), FileKind::workspace);

  AppState b;
  b.devices = a.devices;
  const Effects e = apply(b, DropFiles{{path}});
  ASSERT_TRUE(e.submit) << b.error;
  EXPECT_EQ(b.checkpoint, fs::absolute(a.checkpoint).lexically_normal().string());
  EXPECT_EQ(b.text, a.text);
  EXPECT_EQ(b.matrix.colormap, a.matrix.colormap);
  EXPECT_FALSE(b.visible[static_cast<size_t>(ViewId::compare)]);
  EXPECT_EQ(b.heads_x, "entropy (bits)");
  EngineResult r = result_of(text_spec());
  r.model = std::make_shared<ModelInfo>(*r.model);
  std::const_pointer_cast<ModelInfo>(r.model)->path = b.checkpoint;
  apply(b, RunFinished{r});
  EXPECT_EQ(b.layer, 1);
  EXPECT_EQ(b.head, 1);
  EXPECT_EQ(b.query, 42);
  EXPECT_FALSE(b.nav.fit);
  EXPECT_DOUBLE_EQ(b.nav.cells_per_pixel, 0.25);

  // Refused: not a workspace, a view it does not know; the state stays.
  std::ofstream(dir / "bad.workspace.json") << R"({"fmalens_workspace": 1, "checkpoint": "m.safetensors", "views": {"hidden": ["nope"]}})";
  AppState c = loaded_text_state();
  const std::string text_before = c.text;
  EXPECT_FALSE(apply(c, OpenWorkspace{(dir / "bad.workspace.json").string()}).submit);
  EXPECT_NE(c.error.find("nope"), std::string::npos) << c.error;
  EXPECT_EQ(c.error.find('\n'), std::string::npos);
  EXPECT_EQ(c.text, text_before);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fmalens::gui
