// The live window driven by the keyboard with xdotool (a real X server: ctest runs the render
// tests under xvfb-run): a global shortcut works while a text field has the focus; dragging the
// border between two panels moves the split, and the settings keep it and the window's size. (Each rule
// of the key routing has a unit test in tests/gui_unit/test_key_rules.cpp; this checks that
// the window applies them to real key events.) And Ctrl+C copies a hovered cell's numbers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fmalens {
namespace {

using namespace std::chrono_literals;

// xdotool with its output discarded; true when it succeeded.
bool xdotool(const std::string& args) { return std::system(("xdotool " + args + " > /dev/null 2>&1").c_str()) == 0; }

// Holds `keys` for 0.3 s (ImGui 1.86 misses a press and release within one frame).
void hold(const std::string& keys) {
  xdotool("keydown " + keys);
  std::this_thread::sleep_for(300ms);
  xdotool("keyup " + keys);
}

// The window on the bundled text model (at 1280x800 unless `size` is ""), once it has shown its
// first run; -1 when it did not appear. `config_home`: settings read and written there (else
// --no-settings).
pid_t start_window(const std::string& config_home = "", const std::string& size = "1280x800") {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<const char*> args{FMALENS_BINARY};
    if (config_home.empty()) args.push_back("--no-settings");
    else ::setenv("XDG_CONFIG_HOME", config_home.c_str(), 1);
    if (!size.empty()) {
      args.push_back("--size");
      args.push_back(size.c_str());
    }
    args.push_back(nullptr);
    ::execv(FMALENS_BINARY, const_cast<char* const*>(args.data()));
    ::_exit(127);
  }
  if (pid < 0) return -1;
  bool found = false;
  for (int tries = 0; tries < 60 && !found; ++tries) {
    found = xdotool("search --name 'FMA Lens' windowfocus");
    if (!found) std::this_thread::sleep_for(500ms);
  }
  if (!found) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  std::this_thread::sleep_for(3s);
  return pid;
}

// What a command prints on stdout.
std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* f = ::popen(command.c_str(), "r")) {
    char buf[512];
    size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, got);
    ::pclose(f);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Ctrl+Q, then waits for the process (true when it exited on its own within 15 s).
bool quit_window(pid_t pid) {
  hold("ctrl+q");
  for (int k = 0; k < 150; ++k) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(100ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

#define REQUIRE_TOOL(tool)                                                                   \
  if (std::system("command -v " tool " > /dev/null 2>&1") != 0) {                            \
    if (std::getenv("CI")) FAIL() << tool " is missing (tools/setup.sh installs it)";        \
    GTEST_SKIP() << tool " is missing";                                                      \
  }

// Ctrl+C over a matrix cell puts the tooltip's numbers on the clipboard.
TEST(WindowKeys, CtrlCCopiesTheHoveredMatrixCell) {
  REQUIRE_TOOL("xdotool");
  REQUIRE_TOOL("xclip");
  const pid_t pid = start_window();
  ASSERT_GT(pid, 0) << "no window named FMA Lens appeared";
  xdotool("mousemove --sync 560 400");  // inside the attention matrix of the default layout
  std::this_thread::sleep_for(800ms);
  hold("ctrl+c");
  std::this_thread::sleep_for(500ms);
  const std::string clipboard = output_of("xclip -o -selection clipboard 2>/dev/null");
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(clipboard.rfind("query ", 0), 0u) << clipboard;
  EXPECT_NE(clipboard.find("\nweight "), std::string::npos) << clipboard;
  EXPECT_NE(clipboard.find("fine mass "), std::string::npos) << clipboard;
}

TEST(WindowKeys, CtrlQQuitsWhileTheTextFieldHasTheFocus) {
  REQUIRE_TOOL("xdotool");
  const pid_t pid = start_window();
  ASSERT_GT(pid, 0) << "no window named FMA Lens appeared";
  auto exited = [&](std::chrono::seconds within, int* status) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid, status, WNOHANG) == pid) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  // Into the sidebar's text box (its middle at 1280x800 with the default layout), and type.
  xdotool("mousemove --sync 150 230 click 1");
  std::this_thread::sleep_for(400ms);
  hold("x");
  std::this_thread::sleep_for(300ms);
  hold("ctrl+q");
  int status = 0;
  const bool quit = exited(15s, &status);
  if (!quit) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(quit) << "Ctrl+Q did nothing while the text field had the focus";
  if (quit) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

// The border between the matrix and the level breakdown, dragged 100 px right: the panels follow
// and the settings written at Ctrl+Q hold the new split; the next start without --size opens
// at the size the window had.
TEST(WindowLayout, DraggingABorderMovesTheSplitAndTheSettingsKeepIt) {
  REQUIRE_TOOL("xdotool");
  const std::string home = (std::filesystem::temp_directory_path() / ("fmalens_layout_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(home);
  std::filesystem::create_directories(home + "/fmalens");
  // A sidebar wider than the window allows is held at 35 % of it (448 px) whatever the font,
  // so the border lies at 448 + 0.5 * 832 = 864.
  std::ofstream(home + "/fmalens/settings.json") << R"({"layout": {"text": {"sidebar_em": 60, "column": 0.5}}})";
  pid_t pid = start_window(home);
  ASSERT_GT(pid, 0) << "no window named FMA Lens appeared";
  xdotool("mousemove --sync 864 200");  // the level breakdown's left border, halfway down
  std::this_thread::sleep_for(300ms);
  xdotool("mousedown 1");
  std::this_thread::sleep_for(300ms);
  for (int x : {880, 900, 930, 964}) {
    xdotool("mousemove --sync " + std::to_string(x) + " 200");
    std::this_thread::sleep_for(150ms);
  }
  std::this_thread::sleep_for(300ms);
  xdotool("mouseup 1");
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(quit_window(pid));
  const std::string settings = read_file(home + "/fmalens/settings.json");
  const size_t at = settings.find("\"column\": 0.62");  // (964 - 448) / 832 = 0.620
  EXPECT_NE(at, std::string::npos) << settings;
  EXPECT_NE(settings.find("\"width\": 1280"), std::string::npos) << settings;

  // Reopened without --size: the saved size, not the default.
  std::ofstream(home + "/fmalens/settings.json") << R"({"window": {"width": 1000, "height": 700}})";
  pid = start_window(home, "");
  ASSERT_GT(pid, 0);
  const std::string geometry = output_of("xdotool search --name 'FMA Lens' getwindowgeometry 2>/dev/null");
  EXPECT_TRUE(quit_window(pid));
  EXPECT_NE(geometry.find("1000x700"), std::string::npos) << geometry;
  std::filesystem::remove_all(home);
}

}  // namespace
}  // namespace fmalens
