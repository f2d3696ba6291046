# The firmware's sources, relative to firmware/: one list for the native library
# (firmware/CMakeLists.txt) and the cross-built RV64 ELF (firmware/rv64/CMakeLists.txt).
set(CESTVP_FIRMWARE_SOURCES
  src/mmio.cpp
  src/irq.cpp
  src/dma_driver.cpp
  src/sat_probe.cpp
  src/check_harness.cpp
  src/bringup.cpp
  src/sat_driver.cpp
  src/sat_reference.cpp
  src/engine_operands.cpp
  src/engine_selftest.cpp
  src/engine_job.cpp
  src/train_kernels.cpp
  src/host_layers.cpp
  src/portable_math.cpp
  src/descriptor.cpp
  src/train_runtime.cpp
  src/host_cost_probe.cpp
  src/program.cpp
)
