// Interrupt-driven waiting (NVDLA's engine_isr pattern): when the CPU's line rises, the handler
// reads the controller's PENDING bits, acknowledges them all and records them as events; a
// driver waits for its own line's event and leaves the others for their owners.
#pragma once
#include <cstdint>

#include "mmio.h"
#include <cestvp/hal.h>

namespace cestvp::fw {

class Irq {
 public:
  Irq(Hal& hal, std::uint64_t irqc_base) : hal_(hal), io_(hal, irqc_base) {}

  void enable(unsigned line);
  // Waits until `line` has interrupted since its last wait; false on timeout or bus error.
  bool wait(unsigned line, std::uint64_t timeout_ns);

  Mmio& io() { return io_; }

 private:
  void service();

  Hal& hal_;
  Mmio io_;
  std::uint32_t events_ = 0;
};

}  // namespace cestvp::fw
