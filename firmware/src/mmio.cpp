#include <cestvp/mmio.h>

#include <cstdio>

namespace cestvp::fw {

std::uint32_t Mmio::read(std::uint32_t offset) {
  std::uint32_t value = 0;
  const BusStatus s = hal_.read32(base_ + offset, value);
  if (s != BusStatus::ok) {
    note(s, false, offset);
    return 0xFFFFFFFFu;
  }
  return value;
}

void Mmio::write(std::uint32_t offset, std::uint32_t value) {
  const BusStatus s = hal_.write32(base_ + offset, value);
  if (s != BusStatus::ok) note(s, true, offset);
}

void Mmio::note(BusStatus status, bool write, std::uint32_t offset) {
  if (faulted()) return;
  fault_status_ = status;
  fault_write_ = write;
  fault_addr_ = base_ + offset;
}

std::string Mmio::fault() const {
  if (!faulted()) return {};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s of 0x%016llx: %s", fault_write_ ? "write" : "read",
                static_cast<unsigned long long>(fault_addr_), to_string(fault_status_));
  return buf;
}

}  // namespace cestvp::fw
