#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "fmalens/quote.h"
#include "fmalens/text_window.h"

namespace fmalens {

TextWindow read_text_window(const std::string& path, int64_t context, int64_t start) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(shown_path(path) + ": not a regular file");
  TextWindow w;
  w.file_size = static_cast<int64_t>(st.st_size);
  if (w.file_size == 0) throw Error(shown_path(path) + ": the file is empty: there is no text to run");
  if (context < 1) throw Error(shown_path(path) + ": context must be positive");
  if (start < 0) start = std::max<int64_t>(0, w.file_size - context);
  if (start >= w.file_size)
    throw Error(shown_path(path) + ": window start " + std::to_string(start) + " is past the end of the file (" +
                std::to_string(w.file_size) + " bytes)");
  const int64_t len = std::min(context, w.file_size - start);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  if (fseeko(f.get(), static_cast<off_t>(start), SEEK_SET) != 0) throw Error(shown_path(path) + ": cannot seek");
  w.bytes.resize(static_cast<size_t>(len));
  if (std::fread(w.bytes.data(), 1, w.bytes.size(), f.get()) != w.bytes.size()) throw Error(shown_path(path) + ": read failed");
  w.offset = start;
  return w;
}

}  // namespace fmalens
