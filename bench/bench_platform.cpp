// Platform speed benchmark: boots the default platform once and measures, in wall time,
// (1) register transactions per second issued by firmware on the host CPU model and
// (2) DMA throughput in simulated bytes moved per wall second.
// Usage: bench_platform [--mmio N] [--dma-mib M] [--vcd FILE]   (figures: docs/performance.md)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <systemc>

#include <cestvp/dma_driver.h>
#include <cestvp/irq.h>
#include <cestvp/regs.h>

#include "config/config.h"
#include "vp.h"

using namespace cestvp;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int bench_firmware(fw::Hal& hal, const fw::BootInfo& boot, std::uint64_t mmio, std::uint64_t dma_mib) {
  // (1) Register round trips: a write and a read of SCRATCH per step, both 32-bit MMIO.
  const std::uint64_t scratch = boot.sat_regs.base + regs::sat::SCRATCH;
  std::uint64_t sim0 = hal.now_ps();
  auto t0 = std::chrono::steady_clock::now();
  std::uint32_t sink = 0;
  for (std::uint64_t i = 0; i < mmio / 2; ++i) {
    hal.write32(scratch, static_cast<std::uint32_t>(i));
    hal.read32(scratch, sink);
  }
  double wall = seconds_since(t0);
  std::printf("mmio: %llu register transactions in %.3f s wall = %.2f M transactions per wall second "
              "(%.3f ms simulated)\n",
              static_cast<unsigned long long>(mmio), wall, mmio / wall / 1e6, (hal.now_ps() - sim0) / 1e9);

  // (2) DMA: 1-D copies of 16 MiB within DDR, through the driver (interrupt-driven).
  fw::Irq irq(hal, boot.irqc.base);
  fw::DmaDriver dma(hal, irq, boot, fw::kNoTimeout);
  const std::uint32_t chunk = 16u << 20;
  sim0 = hal.now_ps();
  t0 = std::chrono::steady_clock::now();
  std::uint64_t moved = 0;
  for (std::uint64_t i = 0; i < dma_mib / 16; ++i) {
    const fw::DmaResult r = dma.copy({boot.ddr.base, boot.ddr.base + (64u << 20), chunk, 1, 0, 0});
    if (!r.ok) {
      std::printf("dma: failed: %s\n", r.describe().c_str());
      return 1;
    }
    moved += r.bytes;
  }
  wall = seconds_since(t0);
  const double sim_s = (hal.now_ps() - sim0) / 1e12;
  std::printf("dma:  %llu MiB DDR->DDR in %.3f s wall = %.1f MB simulated per wall second "
              "(%.3f ms simulated, %.2f GB/s simulated)\n",
              static_cast<unsigned long long>(moved >> 20), wall, moved / wall / 1e6, sim_s * 1e3,
              moved / sim_s / 1e9);
  return sink == static_cast<std::uint32_t>(mmio / 2 - 1) ? 0 : 1;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  std::uint64_t mmio = 4'000'000, dma_mib = 256;
  VpOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mmio")) mmio = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--dma-mib")) dma_mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--vcd")) options.vcd_path = argv[i + 1];
  }
  const PlatformConfig config = load_platform_config(CESTVP_DEFAULT_PLATFORM);
  VirtualPlatform vp(config, [&](fw::Hal& hal, const fw::BootInfo& boot) { return bench_firmware(hal, boot, mmio, dma_mib); },
                     options);
  const RunStats s = vp.run();
  std::printf("total: %.3f s wall, %llu bus transactions, %.2f M SAT cycles per wall second\n", s.wall_seconds,
              static_cast<unsigned long long>(s.bus_transactions), s.sat_cycles_per_wall_second() / 1e6);
  return s.firmware_exit_code;
}

int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
