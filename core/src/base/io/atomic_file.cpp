// Atomic file replacement: write a temporary next to the target, fsync, rename over it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fmalens/quote.h"
#include "fmalens/atomic_file.h"

namespace fmalens {
namespace {

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error("cannot write " + shown_path(path) + ": " + why);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  if (path.empty()) throw Error("cannot write an empty path");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(path, "it is a directory");
  const std::string dir = parent_dir(path);
  if (::stat(dir.c_str(), &st) != 0) fail(path, "folder " + shown_path(dir) + " does not exist");
  if (!S_ISDIR(st.st_mode)) fail(path, shown_path(dir) + " is not a folder");

  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, std::strerror(errno));
  auto cleanup = [&](const std::string& why) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, why);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      cleanup(std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
  if (::fchmod(fd, 0644) != 0) cleanup(std::strerror(errno));
  if (::fsync(fd) != 0) cleanup(std::strerror(errno));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(path, std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    fail(path, why);
  }
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace fmalens
