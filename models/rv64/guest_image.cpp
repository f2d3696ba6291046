#include "rv64/guest_image.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace cestvp {

std::string GuestImage::function_at(std::uint64_t addr) const {
  const auto starts_after = [](std::uint64_t a, const GuestSymbol& f) { return a < f.addr; };
  auto group_end = std::upper_bound(functions.begin(), functions.end(), addr, starts_after);
  // Walk back one start address at a time: within a group of aliases the loader's order picks
  // the name, and a symbol nested in a larger one (a local function symbol inside a hand-written
  // routine) must not hide the larger one past its own end. Linear only for an address in no
  // function, which only diagnostics ask about.
  while (group_end != functions.begin()) {
    const std::uint64_t start = std::prev(group_end)->addr;
    auto group = group_end;
    while (group != functions.begin() && std::prev(group)->addr == start) --group;
    for (auto f = group; f != group_end; ++f) {
      if (addr - f->addr < f->size) {
        char offset[24];
        std::snprintf(offset, sizeof offset, "+0x%" PRIx64, addr - f->addr);
        return f->name + offset;
      }
    }
    group_end = group;
  }
  return "";
}

std::optional<std::uint64_t> GuestImage::address_of(const std::string& demangled_prefix) const {
  for (const GuestSymbol& f : functions)
    if (f.name.compare(0, demangled_prefix.size(), demangled_prefix) == 0) return f.addr;
  return std::nullopt;
}

std::uint64_t GuestImage::lowest() const {
  std::optional<std::uint64_t> low;
  for (const GuestSegment& s : segments)
    if (s.mem_bytes != 0) low = std::min(low.value_or(s.addr), s.addr);
  return low.value_or(0);
}

std::uint64_t GuestImage::highest() const {
  std::uint64_t high = 0;
  for (const GuestSegment& s : segments)
    if (s.mem_bytes != 0) high = std::max(high, s.addr + s.mem_bytes);
  return high;
}

}  // namespace cestvp
