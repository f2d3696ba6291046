#include "config/user_error.h"

#include <cstdint>
#include <cstdio>

namespace cestvp {

std::string join(const std::vector<std::string>& words, const char* separator) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : separator) + word;
  return text;
}

namespace {

// The length of the valid UTF-8 sequence at the start of `text` (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), 0 if it does not start with one; its code point.
std::size_t utf8_sequence(std::string_view text, std::uint32_t& code_point) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, code_point = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, code_point = lead & 0x07;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = code_point << 6 | (byte(i) & 0x3F);
  }
  return length;
}

// Code points that print nothing or move text, outside C0 and DEL.
bool invisible(std::uint32_t c) {
  return (c >= 0x80 && c <= 0x9F) ||                   // C1 controls
         c == 0x200E || c == 0x200F ||                 // left-to-right, right-to-left marks
         (c >= 0x2028 && c <= 0x202E) ||               // line and paragraph separators, embeddings
         (c >= 0x2066 && c <= 0x2069);                 // isolates
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escape[16];  // "\\u" and up to 8 hex digits: the compiler cannot see that invisible() keeps it to 4
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t c = 0;
    const std::size_t length = utf8_sequence(text.substr(i), c);
    if (length == 0 || c < 0x20 || c == 0x7F) {  // one byte: a control character or not UTF-8
      const unsigned char b = static_cast<unsigned char>(text[i++]);
      switch (b) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
          std::snprintf(escape, sizeof escape, "\\x%02x", b);
          out += escape;
      }
      continue;
    }
    if (invisible(c)) {
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
      out += escape;
    } else {
      out.append(text, i, length);
    }
    i += length;
  }
  return out;
}

}  // namespace cestvp
