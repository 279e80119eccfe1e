// Outside values (file names, option values, fields read from files) inside one-line messages.
// Every refusal that echoes such a value goes through these, so that no value can break a
// message over several lines, hide itself behind control bytes, or flood a terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace fmalens {

// `value` with control bytes (C0, DEL, C1), line and paragraph separators, bidirectional
// overrides, backslashes and invalid UTF-8 escaped (\n, \t, \r, \xNN, \u{NNNN}); valid UTF-8
// text otherwise as is. No quotes, nothing cut.
std::string escaped(std::string_view value);

// 'value', escaped; a value longer than `max_bytes` is cut at a character boundary and its
// length given: 'abc...' (1234 bytes).
std::string quote(std::string_view value, size_t max_bytes = 80);

// Length of the valid UTF-8 sequence at s[i] (1..4) and its code point, or 0 when the bytes
// there are not valid UTF-8 (overlong forms, surrogates and code points past U+10FFFF included).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t* code_point);

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

// A file name for the start of a message ("<path>: <rule>"): as is when it needs no escape
// (so that messages name files the way users typed them), else quoted with no cut below 1024 bytes.
std::string shown_path(std::string_view path);

// The one line a front end prints for an exception: the message of an fmalens::Error (one line
// by construction, its values quoted), or the first line of any other message (LibTorch appends
// backtraces); control bytes and invalid UTF-8 that slipped in are escaped as a guard.
std::string error_line(const std::exception& e);

}  // namespace fmalens
