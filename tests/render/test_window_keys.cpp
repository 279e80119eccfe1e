// The live window driven by the keyboard with xdotool (a real X server: ctest runs the render
// tests under xvfb-run): a global shortcut works while a text field has the focus. (Each rule
// of the key routing has a unit test in tests/gui_unit/test_key_rules.cpp; this checks that
// the window applies them to real key events.) And Ctrl+C copies a hovered cell's numbers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

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

// The window on the bundled text model at 1280x800, once it has shown its first run; -1 when
// it did not appear.
pid_t start_window() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(FMALENS_BINARY, FMALENS_BINARY, "--no-settings", "--size", "1280x800", static_cast<char*>(nullptr));
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
  std::string clipboard;
  if (FILE* f = ::popen("xclip -o -selection clipboard 2>/dev/null", "r")) {
    char buf[512];
    size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) clipboard.append(buf, got);
    ::pclose(f);
  }
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

}  // namespace
}  // namespace fmalens
