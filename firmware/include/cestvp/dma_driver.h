// DMA driver: 1-D, 2-D strided and chained copies; each call programs the engine, starts it,
// sleeps until its interrupt and returns what the engine reported.
#pragma once
#include <cstdint>
#include <string>

#include "boot_info.h"
#include "hal.h"
#include "irq.h"
#include "mmio.h"

namespace cestvp::fw {

struct DmaCopy {
  std::uint64_t src = 0;
  std::uint64_t dst = 0;
  std::uint32_t length = 0;  // bytes per row
  std::uint32_t rows = 1;
  std::uint32_t src_stride = 0;
  std::uint32_t dst_stride = 0;
};

struct DmaResult {
  bool ok = false;
  std::uint32_t error_code = 0;  // regs::dma::ErrorCodeCause
  std::uint64_t error_addr = 0;
  std::uint64_t bytes = 0;       // bytes the engine wrote
  std::uint32_t descriptors = 0;
  std::string problem;           // driver-level failure (timeout, bus error), empty if none
  std::string describe() const;  // one line for logs
};

class DmaDriver {
 public:
  DmaDriver(Hal& hal, Irq& irq, const BootInfo& boot, std::uint64_t timeout_ns);

  DmaResult copy(const DmaCopy& copy);
  // Runs the chain whose first descriptor is at desc_addr (written beforehand, see encode).
  DmaResult run_chain(std::uint64_t desc_addr);

  // Fills a descriptor of regs::dma_desc::SIZE bytes.
  static void encode(const DmaCopy& copy, std::uint64_t next, std::uint8_t* out);
  static const char* cause_name(std::uint32_t code);

 private:
  DmaResult start_and_wait(std::uint32_t mode);

  Mmio io_;
  Irq& irq_;
  unsigned line_;
  std::uint64_t timeout_ns_;
};

}  // namespace cestvp::fw
