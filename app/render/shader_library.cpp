#include "render/shader_library.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fmalens/config.h"

namespace fmalens::render {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Shader compile(GLenum stage, const std::string& source, const std::string& file) {
  Shader shader(glCreateShader(stage));
  const char* text = source.c_str();
  glShaderSource(shader.get(), 1, &text, nullptr);
  glCompileShader(shader.get());
  GLint ok = 0;
  glGetShaderiv(shader.get(), GL_COMPILE_STATUS, &ok);
  if (!ok) {
    GLint len = 0;
    glGetShaderiv(shader.get(), GL_INFO_LOG_LENGTH, &len);
    std::string log(static_cast<size_t>(len > 0 ? len : 1), '\0');
    glGetShaderInfoLog(shader.get(), len, nullptr, log.data());
    throw EnvironmentError("shader " + file + " does not compile: " + log.substr(0, log.find('\0')));
  }
  return shader;
}

}  // namespace

std::string ShaderLibrary::default_disk_dir() {
  const char* dir = std::getenv("FMALENS_SHADER_DIR");
  return dir && *dir ? std::string(dir) : std::string();
}

ShaderLibrary::ShaderLibrary(std::string disk_dir) : disk_dir_(std::move(disk_dir)) {}

std::string ShaderLibrary::read_file(const std::string& file) const {
  if (!disk_dir_.empty()) {
    std::ifstream in(std::filesystem::path(disk_dir_) / file, std::ios::binary);
    if (!in) throw EnvironmentError("shader " + file + " not found in " + disk_dir_ + " (FMALENS_SHADER_DIR)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  for (const auto& [name, text] : embedded_shader_files())
    if (name == file) return text;
  throw EnvironmentError("shader " + file + " is not embedded in this build");
}

std::string ShaderLibrary::expand(const std::string& file, std::vector<std::string>* files, int depth) const {
  if (depth > 8) throw EnvironmentError("shader " + file + ": includes nest deeper than 8");
  for (const auto& f : *files)
    if (f == file) return "";  // included once per program
  files->push_back(file);
  std::istringstream in(read_file(file));
  std::string line, out;
  while (std::getline(in, line)) {
    const auto pos = line.find("#include \"");
    if (pos != std::string::npos && line.find_first_not_of(" \t") == pos) {
      const auto end = line.find('"', pos + 10);
      if (end == std::string::npos) throw EnvironmentError("shader " + file + ": malformed #include");
      out += expand(line.substr(pos + 10, end - pos - 10), files, depth + 1);
    } else {
      out += line + "\n";
    }
  }
  return out;
}

std::string ShaderLibrary::expanded_source(const std::string& file) const {
  std::vector<std::string> files;
  return expand(file, &files, 0);
}

Program ShaderLibrary::build(const std::string& vertex_file, const std::string& fragment_file,
                             std::vector<std::string>* files) const {
  files->clear();
  const std::string vs = expand(vertex_file, files, 0);
  std::vector<std::string> fs_files;
  const std::string fs = expand(fragment_file, &fs_files, 0);
  files->insert(files->end(), fs_files.begin(), fs_files.end());
  Shader v = compile(GL_VERTEX_SHADER, vs, vertex_file);
  Shader f = compile(GL_FRAGMENT_SHADER, fs, fragment_file);
  Program program(glCreateProgram());
  glAttachShader(program.get(), v.get());
  glAttachShader(program.get(), f.get());
  glLinkProgram(program.get());
  GLint ok = 0;
  glGetProgramiv(program.get(), GL_LINK_STATUS, &ok);
  if (!ok) {
    GLint len = 0;
    glGetProgramiv(program.get(), GL_INFO_LOG_LENGTH, &len);
    std::string log(static_cast<size_t>(len > 0 ? len : 1), '\0');
    glGetProgramInfoLog(program.get(), len, nullptr, log.data());
    throw EnvironmentError("shaders " + vertex_file + " + " + fragment_file + " do not link: " + log.substr(0, log.find('\0')));
  }
  glDetachShader(program.get(), v.get());
  glDetachShader(program.get(), f.get());
  return program;
}

GLuint ShaderLibrary::program(const std::string& vertex_file, const std::string& fragment_file) {
  const auto key = std::make_pair(vertex_file, fragment_file);
  auto it = programs_.find(key);
  if (it != programs_.end()) return it->second.program.get();
  Entry entry;
  entry.program = build(vertex_file, fragment_file, &entry.files);
  if (!disk_dir_.empty())
    for (const auto& f : entry.files) {
      std::error_code ec;
      mtimes_[f] = std::filesystem::last_write_time(std::filesystem::path(disk_dir_) / f, ec);
    }
  const GLuint name = entry.program.get();
  programs_.emplace(key, std::move(entry));
  return name;
}

bool ShaderLibrary::reload_if_changed() {
  if (disk_dir_.empty()) return false;
  const double t = now_s();
  if (t - last_check_ < 0.5) return false;
  last_check_ = t;
  std::vector<std::string> changed;
  for (auto& [file, mtime] : mtimes_) {
    std::error_code ec;
    const auto now = std::filesystem::last_write_time(std::filesystem::path(disk_dir_) / file, ec);
    if (!ec && now != mtime) {
      mtime = now;
      changed.push_back(file);
    }
  }
  if (changed.empty()) return false;
  bool rebuilt = false;
  for (auto& [key, entry] : programs_) {
    bool uses = false;
    for (const auto& f : entry.files)
      for (const auto& c : changed) uses = uses || f == c;
    if (!uses) continue;
    try {
      std::vector<std::string> files;
      entry.program = build(key.first, key.second, &files);
      entry.files = files;
      last_error_.clear();
      rebuilt = true;
    } catch (const EnvironmentError& e) {
      last_error_ = e.what();  // keep drawing with the previous program
    }
  }
  return rebuilt;
}

void set_uniform(GLuint p, const char* name, int value) { glUniform1i(glGetUniformLocation(p, name), value); }
void set_uniform(GLuint p, const char* name, float value) { glUniform1f(glGetUniformLocation(p, name), value); }
void set_uniform(GLuint p, const char* name, float x, float y) { glUniform2f(glGetUniformLocation(p, name), x, y); }
void set_uniform(GLuint p, const char* name, float x, float y, float z) {
  glUniform3f(glGetUniformLocation(p, name), x, y, z);
}
void set_uniform(GLuint p, const char* name, float x, float y, float z, float w) {
  glUniform4f(glGetUniformLocation(p, name), x, y, z, w);
}
void set_uniform_array(GLuint p, const char* name, const int* values, int count) {
  glUniform1iv(glGetUniformLocation(p, name), count, values);
}
void set_uniform_array(GLuint p, const char* name, const float* values, int count) {
  glUniform1fv(glGetUniformLocation(p, name), count, values);
}
void set_uniform_vec3_array(GLuint p, const char* name, const float* xyz, int count) {
  glUniform3fv(glGetUniformLocation(p, name), count, xyz);
}

}  // namespace fmalens::render
