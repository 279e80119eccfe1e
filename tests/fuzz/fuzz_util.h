// Shared by the fuzz targets. The loaders take paths, so each input is written to a file in a
// per-process scratch folder (under /dev/shm when it exists: no disk traffic), removed at exit.
// A refusal must be an fmalens::Error with a one-line message that names the file; anything
// else (another exception, a crash, a sanitizer report, a broken invariant) is a finding.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "fmalens/config.h"

namespace fmalens::fuzz {

class Scratch {
 public:
  static Scratch& get() {
    static Scratch s;
    return s;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  // Writes `size` bytes to `name` in the scratch folder (replacing it) and returns its path.
  std::string write(const std::string& name, const uint8_t* data, size_t size) const {
    const std::string p = path(name);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("cannot write the scratch file " + p);
    size_t done = 0;
    while (done < size) {
      const ssize_t w = ::write(fd, data + done, size - done);
      if (w <= 0) die("cannot write the scratch file " + p);
      done += static_cast<size_t>(w);
    }
    ::close(fd);
    return p;
  }

 private:
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    std::string tmpl = base + "/fmalens_fuzz_XXXXXX";
    if (!::mkdtemp(tmpl.data())) die("cannot create a scratch folder in " + base);
    dir_ = tmpl;
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  [[noreturn]] static void die(const std::string& why) {
    std::fprintf(stderr, "fuzz: %s\n", why.c_str());
    std::abort();
  }
  std::string dir_;
};

// A finding that is not a crash: print it and abort, so that libFuzzer keeps the input.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FINDING: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) finding(what);
}

// The message of a refusal: one line that starts with "<path>: " (or, for errors that are not
// about one file, at least one non-empty line).
inline void check_message(const Error& e, const std::string& path = "") {
  const std::string msg = e.what();
  check(!msg.empty(), "empty error message");
  check(msg.find('\n') == std::string::npos, "error message on more than one line: " + msg);
  if (!path.empty())
    check(msg.rfind(path + ": ", 0) == 0 || msg.rfind("cannot write " + path, 0) == 0,
          "error message does not start with the file name: " + msg);
}

}  // namespace fmalens::fuzz
