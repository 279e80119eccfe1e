// Helpers for tests that write hand-made files: a fresh folder per test (removed with
// everything in it), whole-file reads and writes, and a check of refusal messages.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fmalens/config.h"

namespace fmalens::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fmalens_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "cannot create a temporary folder";
    dir_ = tmpl;
  }
  ~TempDir() {
    ::chmod(dir_.c_str(), 0755);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& str() const { return dir_; }
  std::string path(const std::string& name) const { return (std::filesystem::path(dir_) / name).string(); }

 private:
  std::string dir_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `f`, which must throw an Error whose message is one line that starts with `prefix`
// (e.g. "<file>: ") and contains `rule`.
template <typename F>
void expect_error(F&& f, const std::string& prefix, const std::string& rule) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one that says: " << rule;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(prefix, 0), 0u) << msg;
    EXPECT_NE(msg.find(rule), std::string::npos) << "message: " << msg << "\nexpected: " << rule;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace fmalens::test
