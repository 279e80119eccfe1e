// The live window driven by the keyboard with xdotool (a real X server: ctest runs the render
// tests under xvfb-run): a global shortcut works while a text field has the focus. (Each rule
// of the key routing has a unit test in tests/gui_unit/test_key_rules.cpp; this checks that
// the window applies them to real key events.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace fmalens {
namespace {

using namespace std::chrono_literals;

bool have_xdotool() { return std::system("command -v xdotool > /dev/null 2>&1") == 0; }

// xdotool with its output discarded; true when it succeeded.
bool xdotool(const std::string& args) { return std::system(("xdotool " + args + " > /dev/null 2>&1").c_str()) == 0; }

// Holds `keys` for 0.3 s (ImGui 1.86 misses a press and release within one frame).
void hold(const std::string& keys) {
  xdotool("keydown " + keys);
  std::this_thread::sleep_for(300ms);
  xdotool("keyup " + keys);
}

TEST(WindowKeys, CtrlQQuitsWhileTheTextFieldHasTheFocus) {
  if (!have_xdotool()) {
    if (std::getenv("CI")) FAIL() << "xdotool is missing (tools/setup.sh installs it)";
    GTEST_SKIP() << "xdotool is missing";
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(FMALENS_BINARY, FMALENS_BINARY, "--no-settings", "--size", "1280x800", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  auto exited = [&](std::chrono::seconds within, int* status) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid, status, WNOHANG) == pid) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  // The window, mapped and showing its first run.
  bool found = false;
  for (int tries = 0; tries < 60 && !found; ++tries) {
    found = xdotool("search --name 'FMA Lens' windowfocus");
    if (!found) std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(found) << "no window named FMA Lens appeared";
  std::this_thread::sleep_for(3s);
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
