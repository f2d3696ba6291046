// Files the training runs exchange with the outside world: NumPy .npy arrays (initial weights
// in, trained weights out) and CSV metrics. Both writers are atomic: they write PATH.tmp and
// rename it over PATH, so that a reader never sees half a file. Errors are UserErrors that
// name the file.
//
//   write_npy("w1.npy", weights.data(), {256, 784});          // '<f4', NumPy format 1.0
//   const NpyArray w = read_npy("w1.npy");                    // w.shape == {256, 784}
//   write_csv("metrics.csv", {"step", "loss"}, {{0, 2.3}, {1, 1.9}});
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "output_file.h"

namespace cestvp {

// Writes a C-order array in NPY format 1.0 (header padded to a multiple of 64 bytes, as
// NumPy writes it). `data` holds the product of `shape` elements; an empty shape is a scalar.
void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape);
// FP16 as raw IEEE binary16 bit patterns, written as '<f2'.
void write_npy_fp16(const std::string& path, const std::uint16_t* bits,
                    const std::vector<std::size_t>& shape);
void write_npy(const std::string& path, const std::int32_t* data,
               const std::vector<std::size_t>& shape);

struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<float> data;  // C order; '<f2' files are widened exactly
  std::string descr;        // the file's dtype: "<f4" or "<f2"
};

// Reads a '<f4' or '<f2' array in C order, NPY format 1.0 or 2.0, from a file of at most
// `limit` bytes (input_file.h).
NpyArray read_npy(const std::string& path, std::uint64_t limit = std::uint64_t{1} << 32);

// One CSV cell: a string (quoted when it needs to be) or a number (shortest text that reads
// back to the same value).
class CsvCell {
 public:
  CsvCell(std::string text);
  CsvCell(const char* text);
  CsvCell(double value);
  CsvCell(float value);
  CsvCell(int value);
  CsvCell(long value);
  CsvCell(long long value);
  CsvCell(unsigned value);
  CsvCell(unsigned long value);
  CsvCell(unsigned long long value);

  const std::string& text() const { return text_; }  // as written to the file

 private:
  std::string text_;
};

// A CSV file written row by row (RFC 4180 quoting, '\n' line ends), so that a run of 10^8
// iterations exports its metrics without holding them as text. Atomic: NAME.tmp until
// finish(). Every row has as many cells as the header, otherwise std::invalid_argument (a
// programming error). Write errors are OutputError (output_file.h).
class CsvWriter {
 public:
  CsvWriter(const std::string& path, const std::vector<std::string>& header);
  void row(const std::vector<CsvCell>& cells);
  void finish() { file_.commit(); }

 private:
  AtomicOutputFile file_;
  std::string path_;
  std::size_t columns_;
  std::uint64_t rows_ = 0;
  std::string line_;
};

// A header line and rows through CsvWriter, in one call.
void write_csv(const std::string& path, const std::vector<std::string>& header,
               const std::vector<std::vector<CsvCell>>& rows);

}  // namespace cestvp
