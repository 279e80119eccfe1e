// Escaping of outside values for one-line messages (see fmalens/quote.h).
#include "fmalens/quote.h"

#include <cstdint>

#include "fmalens/config.h"

namespace fmalens {
namespace {


// Code points that must not appear raw in a one-line message: C0 and C1 controls, DEL, the
// Unicode line and paragraph separators, and the bidirectional embeddings, overrides and
// isolates (which can make a message read differently from what it says).
bool needs_escape(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

void append_hex(std::string& out, uint32_t v, int digits) {
  static const char* hex = "0123456789abcdef";
  for (int k = digits - 1; k >= 0; --k) out += hex[(v >> (4 * k)) & 15];
}

void append_escaped(std::string& out, uint32_t cp) {
  switch (cp) {
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\r': out += "\\r"; return;
    case '\\': out += "\\\\"; return;
    default: break;
  }
  if (cp < 0x100) {
    out += "\\x";
    append_hex(out, cp, 2);
  } else {
    out += "\\u{";
    append_hex(out, cp, 4);
    out += '}';
  }
}

// Escapes `s` into `out`; returns false when nothing needed an escape. Backslashes are escaped
// too (so that an escape in the output is never ambiguous), except in a message that was
// composed of escaped values already.
bool escape_into(std::string& out, std::string_view s, bool backslashes = true) {
  bool changed = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t len = utf8_sequence(s, i, &cp);
    if (len == 0) {  // a byte that is not part of valid UTF-8
      out += "\\x";
      append_hex(out, static_cast<unsigned char>(s[i]), 2);
      changed = true;
      ++i;
      continue;
    }
    if (needs_escape(cp) || (backslashes && cp == '\\')) {
      append_escaped(out, cp);
      changed = true;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return changed;
}

// The longest prefix of s of at most max_bytes that does not end inside a UTF-8 sequence.
std::string_view cut(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace

size_t utf8_sequence(std::string_view s, size_t i, uint32_t* code_point) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    *code_point = c;
    return 1;
  }
  if ((c & 0xe0) == 0xc0) {
    len = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *code_point = cp;
  return len;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t len = utf8_sequence(s, i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string escaped(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  escape_into(out, value);
  return out;
}

std::string quote(std::string_view value, size_t max_bytes) {
  const std::string_view head = cut(value, max_bytes);
  std::string out = "'";
  escape_into(out, head);
  if (head.size() < value.size()) return out + "...' (" + std::to_string(value.size()) + " bytes)";
  return out + "'";
}

std::string shown_path(std::string_view path) {
  std::string out;
  if (!path.empty() && !escape_into(out, path)) return out;
  return quote(path, 1024);
}

std::string error_line(const std::exception& e) {
  std::string_view message = e.what();
  if (!dynamic_cast<const Error*>(&e)) message = message.substr(0, message.find('\n'));
  std::string out;
  escape_into(out, message, false);
  return out;
}

}  // namespace fmalens
