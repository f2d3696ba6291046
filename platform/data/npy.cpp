#include "data/npy.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include <cestvp/fp16.h>

#include "config/input_file.h"
#include "config/user_error.h"
#include "report/run_output.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cpp copies little-endian data as it is in memory"
#endif

namespace cestvp {
namespace {

const std::string kMagic = "\x93NUMPY";
constexpr std::size_t kAlign = 64;           // NumPy's ARRAY_ALIGN
constexpr std::size_t kGrowthDigits = 21;    // NumPy's GROWTH_AXIS_MAX_DIGITS

// "()", "(5,)" or "(2, 3)", as Python writes a tuple.
std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

std::size_t element_count(const std::vector<std::size_t>& shape) {
  std::size_t count = 1;
  for (const std::size_t n : shape) count *= n;
  return count;
}

// The header exactly as numpy.save (NumPy 1.24) writes it for version 1.0: the dictionary,
// spare spaces for growing the first axis in place, padding so that the data starts at a
// multiple of 64 bytes (a whole 64 more when already aligned), and '\n'.
std::string npy_header(const std::string& descr, const std::vector<std::size_t>& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                     shape_text(shape) + ", }";
  if (!shape.empty()) dict.append(kGrowthDigits - std::to_string(shape[0]).size(), ' ');
  const std::size_t used = kMagic.size() + 2 + 2 + dict.size() + 1;
  const std::size_t padding = kAlign - used % kAlign;
  const std::size_t header_len = dict.size() + padding + 1;
  if (header_len > 0xffff) throw std::length_error("npy header too long for format 1.0");
  std::string header = kMagic;
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(header_len & 0xff);
  header += static_cast<char>(header_len >> 8);
  return header + dict + std::string(padding, ' ') + "\n";
}

void write_npy_bytes(const std::string& path, const std::string& descr, const void* data,
                     std::size_t item_size, const std::vector<std::size_t>& shape) {
  std::string bytes = npy_header(descr, shape);
  const char* begin = static_cast<const char*>(data);
  bytes.append(begin, element_count(shape) * item_size);
  write_text_atomically(path, bytes);
}

[[noreturn]] void npy_fail(const std::string& path, const std::string& problem,
                           const std::string& expected) {
  throw UserError(path + ": " + problem + "; expected " + expected);
}

// A reader of the one-line Python dictionary literal in an NPY header.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  NpyArray parse() {
    NpyArray array;
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        array.descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_order = true;
      } else if (key == "shape") {
        array.shape = tuple();
        have_shape = true;
      } else {
        bad("unknown key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) bad("text after the dictionary");
    if (!have_descr || !have_order || !have_shape) bad("a key is missing");
    if (fortran) npy_fail(path_, "fortran_order is True", "an array in C order");
    return array;
  }

 private:
  [[noreturn]] void bad(const std::string& problem) const {
    const std::string dict = text_.substr(0, text_.find_last_not_of(" \n") + 1);
    npy_fail(path_, "cannot read the header " + dict + " (" + problem + ")",
             "{'descr': ..., 'fortran_order': ..., 'shape': (...), }");
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) bad(std::string("no '") + c + "' at offset " + std::to_string(pos_));
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      bad("no string at offset " + std::to_string(pos_));
    }
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) bad("unterminated string");
    std::string value = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    bad("no True or False at offset " + std::to_string(pos_));
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> values;
    expect('(');
    while (!accept(')')) {
      skip_space();
      std::size_t value = 0;
      const char* begin = text_.data() + pos_;
      const auto [end, error] = std::from_chars(begin, text_.data() + text_.size(), value);
      if (error != std::errc()) bad("no dimension at offset " + std::to_string(pos_));
      pos_ += static_cast<std::size_t>(end - begin);
      values.push_back(value);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return values;
  }

  const std::string& path_;
  const std::string& text_;
  std::size_t pos_ = 0;
};

unsigned little_endian(const std::string& bytes, std::size_t offset, std::size_t count) {
  unsigned value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    value |= static_cast<unsigned>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape) {
  write_npy_bytes(path, "<f4", data, sizeof(float), shape);
}

void write_npy_fp16(const std::string& path, const std::uint16_t* bits,
                    const std::vector<std::size_t>& shape) {
  write_npy_bytes(path, "<f2", bits, sizeof(std::uint16_t), shape);
}

void write_npy(const std::string& path, const std::int32_t* data,
               const std::vector<std::size_t>& shape) {
  write_npy_bytes(path, "<i4", data, sizeof(std::int32_t), shape);
}

NpyArray read_npy(const std::string& path, std::uint64_t limit) {
  const std::string bytes = InputFile(path, "a .npy file", limit).read_text();
  if (bytes.compare(0, kMagic.size(), kMagic) != 0 || bytes.size() < kMagic.size() + 2) {
    npy_fail(path, "not an NPY file (it does not start with \\x93NUMPY)", "a NumPy .npy file");
  }
  const unsigned major = static_cast<unsigned char>(bytes[6]);
  const unsigned minor = static_cast<unsigned char>(bytes[7]);
  if ((major != 1 && major != 2) || minor != 0) {
    npy_fail(path, "NPY format version " + std::to_string(major) + "." + std::to_string(minor) +
                       " is not supported", "version 1.0 or 2.0");
  }
  const std::size_t len_size = major == 1 ? 2 : 4;
  const std::size_t header_start = kMagic.size() + 2 + len_size;
  if (bytes.size() < header_start) {
    npy_fail(path, "truncated header", "at least " + std::to_string(header_start) + " bytes");
  }
  const std::size_t header_len = little_endian(bytes, 8, len_size);
  const std::size_t data_start = header_start + header_len;
  if (bytes.size() < data_start) {
    npy_fail(path, "truncated header of " + std::to_string(bytes.size() - header_start) +
                       " bytes", std::to_string(header_len) + " bytes as its length field says");
  }
  NpyArray array = HeaderParser(path, bytes.substr(header_start, header_len)).parse();

  std::size_t item_size = 0;
  if (array.descr == "<f4") item_size = 4;
  if (array.descr == "<f2") item_size = 2;
  if (item_size == 0) {
    npy_fail(path, "unsupported dtype '" + array.descr + "'", "'<f4' (float32) or '<f2' (float16)");
  }
  std::size_t count = 1;
  bool overflow = false;
  for (const std::size_t n : array.shape) overflow |= __builtin_mul_overflow(count, n, &count);
  std::size_t expected = 0;
  overflow |= __builtin_mul_overflow(count, item_size, &expected);
  const std::size_t found = bytes.size() - data_start;
  if (overflow || expected != found) {
    const std::string what = found < expected || overflow ? "truncated data" : "extra data";
    npy_fail(path, what + ": " + std::to_string(found) + " bytes",
             (overflow ? std::string("more") : std::to_string(expected)) + " bytes for shape " +
                 shape_text(array.shape) + " of '" + array.descr + "'");
  }

  array.data.resize(count);
  const char* data = bytes.data() + data_start;
  if (item_size == 4) {
    if (expected > 0) std::memcpy(array.data.data(), data, expected);  // an empty vector's data() may be null
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      std::uint16_t bits;
      std::memcpy(&bits, data + 2 * i, 2);
      array.data[i] = fw::half_to_float(bits);
    }
  }
  return array;
}

// CSV ------------------------------------------------------------------------------------------

namespace {

template <typename T>
std::string number_text(T value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// RFC 4180: quoted when it holds a comma, quote or line break, or starts or ends with a space.
std::string quote(const std::string& text) {
  const bool needs = text.find_first_of(",\"\r\n") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!needs) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

CsvCell::CsvCell(std::string text) : text_(quote(text)) {}
CsvCell::CsvCell(const char* text) : text_(quote(text)) {}
CsvCell::CsvCell(double value) : text_(number_text(value)) {}
CsvCell::CsvCell(float value) : text_(number_text(value)) {}
CsvCell::CsvCell(int value) : text_(number_text(value)) {}
CsvCell::CsvCell(long value) : text_(number_text(value)) {}
CsvCell::CsvCell(long long value) : text_(number_text(value)) {}
CsvCell::CsvCell(unsigned value) : text_(number_text(value)) {}
CsvCell::CsvCell(unsigned long value) : text_(number_text(value)) {}
CsvCell::CsvCell(unsigned long long value) : text_(number_text(value)) {}

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& header)
    : file_(path), path_(path), columns_(header.size()) {
  for (std::size_t i = 0; i < header.size(); ++i) line_ += (i ? "," : "") + quote(header[i]);
  line_ += '\n';
  file_.write(line_);
}

void CsvWriter::row(const std::vector<CsvCell>& cells) {
  if (cells.size() != columns_)
    throw std::invalid_argument(path_ + ": row " + std::to_string(rows_) + " has " + std::to_string(cells.size()) +
                                " cells, header has " + std::to_string(columns_));
  line_.clear();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) line_ += ',';
    line_ += cells[i].text();
  }
  line_ += '\n';
  file_.write(line_);
  ++rows_;
}

void write_csv(const std::string& path, const std::vector<std::string>& header,
               const std::vector<std::vector<CsvCell>>& rows) {
  CsvWriter csv(path, header);
  for (const std::vector<CsvCell>& r : rows) csv.row(r);
  csv.finish();
}

}  // namespace cestvp
