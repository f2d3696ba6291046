// Register access to one block through the HAL. A failed access does not stop the caller on
// the spot: it is remembered (first failure kept) so that a driver can program a sequence of
// registers and check once, and it reads as all-ones as on most real buses.
#pragma once
#include <cstdint>
#include <string>

#include <cestvp/hal.h>

namespace cestvp::fw {

class Mmio {
 public:
  Mmio(Hal& hal, std::uint64_t base) : hal_(hal), base_(base) {}

  std::uint32_t read(std::uint32_t offset);
  void write(std::uint32_t offset, std::uint32_t value);

  bool faulted() const { return fault_status_ != BusStatus::ok; }
  // "read of 0x...: ADDRESS_ERROR", or empty.
  std::string fault() const;
  void clear_fault() { fault_status_ = BusStatus::ok; }

  Hal& hal() { return hal_; }
  std::uint64_t base() const { return base_; }

 private:
  void note(BusStatus status, bool write, std::uint32_t offset);

  Hal& hal_;
  std::uint64_t base_;
  BusStatus fault_status_ = BusStatus::ok;
  bool fault_write_ = false;
  std::uint64_t fault_addr_ = 0;
};

}  // namespace cestvp::fw
