// Turns the job registers of an engine into a checked job (docs/engines.md): every operand
// inside one SRAM buffer and aligned, outputs not overlapping inputs, N:M and shapes legal.
// A bad job yields its error cause and no job: the engine then writes nothing.
#pragma once
#include <cstdint>

#include "reg.h"
#include "sat/jobs.h"

namespace cestvp::sat {

// The same codes as <E>_ERROR.CAUSE of every engine (static_asserts in decode.cpp).
enum class JobError : std::uint32_t {
  none = 0,
  start_while_busy = 1,
  out_of_sram = 2,
  overlap = 3,
  bad_nm = 4,
  m_unsupported = 5,
  bad_shape = 6,
  bad_op = 7,
  misaligned = 8,
  nan_input = 9,
};

struct SramBuffers {
  std::uint8_t* data[3] = {};
  std::uint64_t size[3] = {};
};

// What the decoders need besides the registers.
struct DecodeContext {
  const RegisterBank& regs;
  const SramBuffers& sram;
  std::uint32_t m_mask;  // NM_SUPPORT: bit k means M = 2^k
};

template <typename Job>
struct Decoded {
  Job job;
  JobError error = JobError::none;
  bool ok() const { return error == JobError::none; }
};

Decoded<StceWork> decode_stce(const DecodeContext& context);
Decoded<OsreWork> decode_osre(const DecodeContext& context);
Decoded<WuveWork> decode_wuve(const DecodeContext& context);

}  // namespace cestvp::sat
