// Static description of a register block, as generated from yaml/regmap.yaml by regmap-gen.
// The model's RegisterBank is built from it; behaviour is attached by the model.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cestvp {

enum class Access : std::uint8_t {
  RW,   // read/write
  RO,   // read-only: writes answer TLM_COMMAND_ERROR_RESPONSE
  WO,   // write-only: reads answer TLM_COMMAND_ERROR_RESPONSE
  W1C,  // readable; writing 1 to a bit clears it
};

const char* to_string(Access access);

struct RegSpec {
  const char* name;
  std::uint32_t offset;  // bytes from the block base; 4-byte aligned
  Access access;
  std::uint32_t reset;
  const char* description;
};

struct BlockSpec {
  const char* name;
  const RegSpec* regs;  // in map order (ascending offsets)
  std::size_t count;
};

}  // namespace cestvp
