// Reading the model descriptor (model.h) out of DDR, and checking it before anything trusts it.
// The descriptor comes from memory, so every count, index, shape and address in it is checked
// against what the training runtime later derives from it: host buffers are sized from its
// shapes and its tables are indexed with its numbers, so an unchecked value is an out-of-bounds
// access or a giant allocation in the firmware, not just a wrong result. SystemC-free; memory is
// reached through the HAL only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model.h"
#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw::model {

struct Descriptor {
  Header header;
  std::vector<Tensor> tensors;
  std::vector<Param> params;
  std::vector<Layer> layers;
  ResultHeader result;  // as the loader left it: where the record arrays are, and their capacities
  // Per tensor: the layers whose backward pass contributes to its gradient (a view's input and
  // output, flatten or tokens, are one tensor and share the count).
  std::vector<std::uint32_t> consumers;
};

// Reads the descriptor whose Header is at `addr`, in the DDR region `ddr`. Returns "" when every
// check passed, else the first problem found ("descriptor tensor 3: ..."), for the run's failure
// message. The checks are listed at the top of descriptor.cpp.
std::string read_descriptor(Hal& hal, std::uint64_t addr, const Region& ddr, Descriptor& out);

}  // namespace cestvp::fw::model
