// The SAT's job ABI (docs/engines.md): its engines, and per engine the job the firmware writes
// into the job registers, in the firmware's words: shapes, flags, SRAM addresses (sram_address()
// in sat_abi.h). The firmware's drivers program these; the models decode their registers into
// their own work items (models/sat/jobs.h), which take the shared parts from here. Layouts,
// allowed flags and the line order of compressed operands: docs/engines.md. SystemC-free.
#pragma once
#include <cstdint>

#include <cestvp/sat_abi.h>

namespace cestvp::fw {

enum class SatEngine : std::uint8_t { stce = 0, osre = 1, wuve = 2 };

constexpr const char* to_string(SatEngine engine) {
  switch (engine) {
    case SatEngine::stce: return "STCE";
    case SatEngine::osre: return "OSRE";
    case SatEngine::wuve: return "WUVE";
  }
  return "?";
}

// Limits the engines check (a job outside them ends in BAD_SHAPE).
inline constexpr std::uint32_t kSatMaxDim = 1u << 24;      // ROWS, COLS, DEPTH; a convolution's GEMM view
inline constexpr std::uint32_t kStceMaxConvDim = 65535;    // BATCH, H, W, CIN, COUT, KH, KW, STRIDE
inline constexpr std::uint32_t kStceMaxKernelField = 255;  // KH, KW, STRIDE, PAD are 8-bit register fields
inline constexpr std::uint32_t kWuveMaxCount = 1u << 28;

// --- STCE -------------------------------------------------------------------------------------

// The operations of STCE_OP.OP, in its codes.
enum class StceOp : std::uint32_t { gemm = 0, conv_fwd = 1, conv_bwd_data = 2, conv_bwd_weight = 3 };

// Which operand of an STCE job is N:M compressed along K (values at a/b, indices at a_idx/b_idx).
enum class Sparse : std::uint8_t { none, a, b };

// C[rows][cols] (+)= A x B over K = depth.
struct StceGemm {
  std::uint32_t rows = 0, cols = 0, depth = 0;
  std::uint32_t a = 0, b = 0, c = 0;
  std::uint32_t a_idx = 0, b_idx = 0;
  bool a_trans = false;  // A stored [K][rows]
  bool b_trans = false;  // B stored [cols][K]
  Sparse sparse = Sparse::none;
  std::uint32_t n = 0, m = 0;  // of the compressed operand
  std::uint32_t segment = 0;   // groups restart every `segment` elements of K; 0: K
  bool accumulate = false, out_fp16 = false;
};

enum class ConvOp : std::uint8_t { fwd, bwd_data, bwd_weight };

constexpr const char* to_string(ConvOp op) {
  switch (op) {
    case ConvOp::fwd: return "CONV_FWD";
    case ConvOp::bwd_data: return "CONV_BWD_DATA";
    case ConvOp::bwd_weight: return "CONV_BWD_WEIGHT";
  }
  return "?";
}

// The convolution an STCE operation other than GEMM is.
constexpr ConvOp conv_op(StceOp op) {
  return op == StceOp::conv_fwd ? ConvOp::fwd : op == StceOp::conv_bwd_data ? ConvOp::bwd_data : ConvOp::bwd_weight;
}

// A convolution's dimensions as the STCE's BATCH, IN_SIZE, CHANNELS and KERNEL registers hold
// them: NHWC activations, OHWI weights.
struct ConvDims {
  std::uint32_t batch = 0, h = 0, w = 0, cin = 0, cout = 0, kh = 0, kw = 0, stride = 1, pad = 0;

  constexpr std::uint32_t oh() const { return conv_out(h, kh, stride, pad); }
  constexpr std::uint32_t ow() const { return conv_out(w, kw, stride, pad); }
};

// FWD: Y = conv(X, W); BWD_DATA: dX from dY and W; BWD_WEIGHT: dW from dY and X. A/B/C as in the
// table of docs/engines.md.
struct StceConv : ConvDims {
  ConvOp op = ConvOp::fwd;
  std::uint32_t a = 0, b = 0, c = 0;
  std::uint32_t a_idx = 0, b_idx = 0;
  Sparse sparse = Sparse::none;
  std::uint32_t n = 0, m = 0;
  bool accumulate = false, out_fp16 = false;
};

// --- OSRE -------------------------------------------------------------------------------------

// Top-N of every group of M of a dense [rows][cols] source (FP16, or FP32 with src_fp32), along
// the columns of each row (forward) or the rows of each column (backward): what the job is,
// without where its operands are.
struct OsreGeometry {
  bool backward = false;
  bool src_fp32 = false;
  std::uint32_t n = 0, m = 0;
  std::uint32_t rows = 0, cols = 0;

  std::uint32_t lines() const { return backward ? cols : rows; }
  NmLine line() const {
    const std::uint32_t length = backward ? rows : cols;
    return {length, length, n, m};
  }
  std::uint64_t src_bytes() const { return std::uint64_t{rows} * cols * (src_fp32 ? 4 : 2); }
  std::uint64_t values_bytes() const { return std::uint64_t{lines()} * line().entries() * 2; }
  std::uint64_t index_bytes() const { return std::uint64_t{lines()} * line().index_words() * 4; }
};

struct OsreJob : OsreGeometry {
  std::uint32_t src = 0, values = 0, indices = 0;
};

// --- WUVE -------------------------------------------------------------------------------------

// Momentum SGD on `count` elements: FP16 gradients, FP32 weights and velocity updated in place,
// optionally an FP16 copy of the new weights. The step, without where its operands are.
struct WuveStep {
  float lr = 0, momentum = 0, weight_decay = 0, grad_scale = 1;
  std::uint32_t count = 0;
  bool write_fp16 = false;
};

struct WuveJob : WuveStep {
  std::uint32_t grad = 0, weight = 0, velocity = 0, out = 0;
};

}  // namespace cestvp::fw
