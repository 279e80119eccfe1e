// GLSL programs built from the files in shaders/. Release builds read the copies embedded at
// build time (CMake turns shaders/*.glsl into string literals), so the binary needs no files
// beside it. In development, FMALENS_SHADER_DIR=<source>/shaders makes the library read the
// files from disk and rebuild a program when one of its files changes (hot reload).
//
// Files may `#include "other.glsl"` (expanded textually, once per program), which is how the
// colormaps and the band-layout arithmetic are shared by every shader.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "render/gl_objects.h"

namespace fmalens::render {

// The shader files compiled into the binary: (file name, text).
const std::vector<std::pair<std::string, std::string>>& embedded_shader_files();

class ShaderLibrary {
 public:
  // `disk_dir` empty: the embedded copies. Default: $FMALENS_SHADER_DIR when it is set.
  explicit ShaderLibrary(std::string disk_dir = default_disk_dir());
  static std::string default_disk_dir();

  // The program linked from two files of shaders/, built on first use. Throws fmalens::Error
  // with the compiler's log when the first build fails.
  GLuint program(const std::string& vertex_file, const std::string& fragment_file);

  // Rebuilds programs whose files changed on disk (checked at most every half second). A
  // failed rebuild keeps the previous program and leaves its log in last_error().
  // Returns true when a program was rebuilt (views then redraw).
  bool reload_if_changed();
  const std::string& last_error() const { return last_error_; }
  bool hot_reload() const { return !disk_dir_.empty(); }

  // The text of a file with its includes expanded.
  std::string expanded_source(const std::string& file) const;

 private:
  struct Entry {
    Program program;
    std::vector<std::string> files;  // every file it was built from (includes too)
  };
  std::string read_file(const std::string& file) const;
  std::string expand(const std::string& file, std::vector<std::string>* files, int depth) const;
  Program build(const std::string& vertex_file, const std::string& fragment_file, std::vector<std::string>* files) const;

  std::string disk_dir_;
  std::map<std::pair<std::string, std::string>, Entry> programs_;
  std::map<std::string, std::filesystem::file_time_type> mtimes_;
  double last_check_ = 0;
  std::string last_error_;
};

// Uniform setters that look the location up by name (the programs are small; a missing
// uniform, e.g. one the compiler optimised away, is ignored like GL does for location -1).
void set_uniform(GLuint program, const char* name, int value);
void set_uniform(GLuint program, const char* name, float value);
void set_uniform(GLuint program, const char* name, float x, float y);
void set_uniform(GLuint program, const char* name, float x, float y, float z);
void set_uniform(GLuint program, const char* name, float x, float y, float z, float w);
void set_uniform_array(GLuint program, const char* name, const int* values, int count);
void set_uniform_array(GLuint program, const char* name, const float* values, int count);
void set_uniform_vec3_array(GLuint program, const char* name, const float* xyz, int count);

}  // namespace fmalens::render
