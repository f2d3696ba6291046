// Golden N:M selection and compression, written from nm-training-spec.md section 2 and
// docs/engines.md ("N:M compressed form", "OSRE"), independently of models/sat/osre.cpp: a
// stable sort per group gives a mask, and the compressed form is built from the mask.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <Imath/half.h>

#include <cestvp/sat_abi.h>

namespace cestvp::golden {

// The spec's nm_mask: in each group of m (the last may be short), order the indices by
// (-|v|, index), a stable sort on descending magnitude, and keep the first min(n, len).
// |NaN| ranks as +inf. v holds values exactly as the sorter sees them (FP16 or FP32).
inline std::vector<bool> nm_mask(const std::vector<float>& v, unsigned n, unsigned m) {
  auto magnitude = [](float x) { return std::isnan(x) ? std::numeric_limits<float>::infinity() : std::fabs(x); };
  std::vector<bool> mask(v.size(), false);
  for (std::size_t lo = 0; lo < v.size(); lo += m) {
    const std::size_t hi = std::min(lo + m, v.size());
    std::vector<std::size_t> order(hi - lo);
    std::iota(order.begin(), order.end(), lo);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return magnitude(v[a]) > magnitude(v[b]); });
    for (std::size_t k = 0; k < std::min<std::size_t>(n, order.size()); ++k) mask[order[k]] = true;
  }
  return mask;
}

struct NmCompressed {
  std::vector<std::uint16_t> values;    // FP16 bit patterns, line after line
  std::vector<std::uint32_t> indices;   // each line's packed stream, zero-padded to a word
};

// Compresses a dense row-major [rows][cols] matrix along each row (forward) or each column
// (backward), segment = line length: per group the kept elements in ascending index order,
// then pad entries (value 0, index 0) up to n.
inline NmCompressed nm_compress(const std::vector<float>& dense, unsigned rows, unsigned cols,
                                bool backward, unsigned n, unsigned m) {
  const unsigned lines = backward ? cols : rows, length = backward ? rows : cols;
  const fw::NmLine layout{length, length, n, m};
  NmCompressed out;
  out.indices.assign(std::size_t{lines} * layout.index_words(), 0);
  for (unsigned l = 0; l < lines; ++l) {
    std::vector<float> line(length);
    for (unsigned i = 0; i < length; ++i)
      line[i] = dense[backward ? std::size_t{i} * cols + l : std::size_t{l} * cols + i];
    const std::vector<bool> mask = nm_mask(line, n, m);
    std::uint32_t* words = out.indices.data() + std::size_t{l} * layout.index_words();
    std::uint32_t entry = 0;
    for (unsigned lo = 0; lo < length; lo += m) {
      const std::uint32_t first = entry;
      for (unsigned i = lo; i < std::min(lo + m, length); ++i) {
        if (!mask[i]) continue;
        out.values.push_back(Imath::half(line[i]).bits());
        fw::nm_set_index(words, entry++, layout.index_bits(), i - lo);
      }
      for (; entry < first + n; ++entry) out.values.push_back(0);  // index 0: already zero
    }
  }
  return out;
}

}  // namespace cestvp::golden
