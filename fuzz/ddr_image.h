// DDR contents for the descriptor harnesses: areas of bytes over zeros, read through the fw::Hal
// the firmware's descriptor reader takes (it only reads; writes fail).
//
// As fuzz input an image is a list of chunks, each a little-endian u32 offset from the DDR base,
// a u16 length and that many bytes, laid over zeros in order; a chunk cut short by the end of the
// input keeps what it has. A few hundred bytes so describe the areas a descriptor reader looks at
// (header, tables, result header) however far apart the loader put them in a 64 GiB DDR.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fuzz {

struct Chunk {
  std::uint64_t addr = 0;
  std::vector<std::uint8_t> bytes;
};

class DdrImage final : public fw::Hal {
 public:
  DdrImage(const fw::Region& ddr, std::vector<Chunk> chunks) : ddr_(ddr), chunks_(std::move(chunks)) {}

  static std::vector<Chunk> decode(const fw::Region& ddr, const std::uint8_t* data, std::size_t size) {
    std::vector<Chunk> chunks;
    for (std::size_t at = 0; at + kChunkHeader <= size;) {
      std::uint32_t offset;
      std::uint16_t length;
      std::memcpy(&offset, data + at, 4);
      std::memcpy(&length, data + at + 4, 2);
      at += kChunkHeader;
      const std::size_t n = std::min<std::size_t>(length, size - at);
      chunks.push_back({ddr.base + offset, std::vector<std::uint8_t>(data + at, data + at + n)});
      at += n;
    }
    return chunks;
  }

  // The fuzz input for areas at offsets below 4 GiB, each cut into chunks of at most 64 KiB.
  static std::vector<std::uint8_t> encode(const fw::Region& ddr, const std::vector<Chunk>& areas) {
    std::vector<std::uint8_t> out;
    for (const Chunk& area : areas)
      for (std::size_t done = 0; done < area.bytes.size();) {
        const auto offset = static_cast<std::uint32_t>(area.addr - ddr.base + done);
        const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(area.bytes.size() - done, UINT16_MAX));
        out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(&offset), reinterpret_cast<const std::uint8_t*>(&offset) + 4);
        out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(&length), reinterpret_cast<const std::uint8_t*>(&length) + 2);
        out.insert(out.end(), area.bytes.begin() + done, area.bytes.begin() + done + length);
        done += length;
      }
    return out;
  }

  fw::BusStatus read_block(std::uint64_t addr, void* dst, std::size_t bytes) override {
    if (addr < ddr_.base || addr - ddr_.base > ddr_.size || bytes > ddr_.size - (addr - ddr_.base))
      return fw::BusStatus::address_error;
    if (bytes == 0) return fw::BusStatus::ok;  // dst may be null
    auto* out = static_cast<std::uint8_t*>(dst);
    std::memset(out, 0, bytes);
    for (const Chunk& c : chunks_) {
      const std::uint64_t from = std::max(addr, c.addr), to = std::min(addr + bytes, c.addr + c.bytes.size());
      if (from < to) std::memcpy(out + (from - addr), c.bytes.data() + (from - c.addr), to - from);
    }
    return fw::BusStatus::ok;
  }
  fw::BusStatus read32(std::uint64_t addr, std::uint32_t& value) override { return read_block(addr, &value, 4); }
  fw::BusStatus write32(std::uint64_t, std::uint32_t) override { return fw::BusStatus::command_error; }
  fw::BusStatus write_block(std::uint64_t, const void*, std::size_t) override { return fw::BusStatus::command_error; }
  bool wait_for_interrupt(std::uint64_t) override { return false; }
  std::uint64_t now_ps() override { return 0; }
  void charge_host_time(std::uint64_t) override {}
  void log(fw::LogLevel, const char*) override {}

 private:
  static constexpr std::size_t kChunkHeader = 6;  // u32 offset, u16 length

  fw::Region ddr_;
  std::vector<Chunk> chunks_;
};

}  // namespace cestvp::fuzz
