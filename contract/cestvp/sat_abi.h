// The SAT's data contract shared by firmware and models (docs/engines.md): SRAM addresses in
// job registers, and the layout of N:M compressed operands. SystemC-free.
#pragma once
#include <cstdint>

namespace cestvp::fw {

enum class SramBuffer : std::uint32_t { a = 0, b = 1, c = 2 };

inline constexpr std::uint32_t kSramBufferShift = 28;
inline constexpr std::uint32_t kSramOffsetMask = (1u << kSramBufferShift) - 1;

constexpr std::uint32_t sram_address(SramBuffer buffer, std::uint32_t offset) {
  return (static_cast<std::uint32_t>(buffer) << kSramBufferShift) | (offset & kSramOffsetMask);
}
constexpr std::uint32_t sram_buffer(std::uint32_t address) { return address >> kSramBufferShift; }
constexpr std::uint32_t sram_offset(std::uint32_t address) { return address & kSramOffsetMask; }

// One compressed line: `length` elements along the grouped dimension, groups of m restarting
// every `segment` elements (length is a multiple of segment), n kept per group.
struct NmLine {
  std::uint32_t length;
  std::uint32_t segment;
  std::uint32_t n;
  std::uint32_t m;

  constexpr std::uint32_t groups_per_segment() const { return (segment + m - 1) / m; }
  constexpr std::uint32_t groups() const { return length / segment * groups_per_segment(); }
  constexpr std::uint32_t entries() const { return groups() * n; }  // values per line
  constexpr std::uint32_t index_bits() const {
    std::uint32_t b = 1;
    while ((1u << b) < m) ++b;
    return b;
  }
  constexpr std::uint32_t index_words() const { return (entries() * index_bits() + 31) / 32; }
  // K position of entry e whose in-group index is j.
  constexpr std::uint32_t position(std::uint32_t entry, std::uint32_t j) const {
    const std::uint32_t group = entry / n;
    return group / groups_per_segment() * segment + group % groups_per_segment() * m + j;
  }
};

// Index stream of one line: entry e's index occupies bits [e*b, e*b + b) LSB first.
inline std::uint32_t nm_index(const std::uint32_t* words, std::uint32_t entry, std::uint32_t bits) {
  const std::uint64_t bit = std::uint64_t{entry} * bits;
  const std::uint64_t pair = words[bit / 32] | (bit % 32 + bits > 32 ? std::uint64_t{words[bit / 32 + 1]} << 32 : 0);
  return static_cast<std::uint32_t>(pair >> (bit % 32)) & ((1u << bits) - 1);
}
inline void nm_set_index(std::uint32_t* words, std::uint32_t entry, std::uint32_t bits, std::uint32_t index) {
  const std::uint64_t bit = std::uint64_t{entry} * bits;
  for (std::uint32_t i = 0; i < bits; ++i) {
    const std::uint64_t b = bit + i;
    const std::uint32_t mask = 1u << (b % 32);
    words[b / 32] = (index >> i) & 1u ? words[b / 32] | mask : words[b / 32] & ~mask;
  }
}

// Convolution output size; 0 when the kernel does not fit.
constexpr std::uint32_t conv_out(std::uint32_t in, std::uint32_t kernel, std::uint32_t stride, std::uint32_t pad) {
  return in + 2 * pad < kernel || stride == 0 ? 0 : (in + 2 * pad - kernel) / stride + 1;
}

}  // namespace cestvp::fw
