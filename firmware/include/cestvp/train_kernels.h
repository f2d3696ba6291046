// Training kernels (firmware layer 3, docs/firmware-guide.md): one layer pass on the SAT, with
// its tensors in DDR. A kernel splits the pass into tiles that fit the SAT SRAM buffers, moves
// operands in and results out with the DMA, and double-buffers: while STCE computes tile i the
// DMA brings tile i+1 into the other half of each buffer and takes tile i-1's output back, so a
// large layer runs at the speed of its slower side (compute or DDR traffic).
//
// Every layer is a convolution to the kernels: a linear layer is a 1x1 convolution on a 1x1
// image ([N][1][1][in] -> [N][1][1][out], weights [out][1][1][in]), which the engine computes
// exactly like the linear GEMMs of docs/engines.md.
//
// Precision contract (docs/training.md): activations and activation gradients in DDR are FP16;
// STCE sums in FP32 and writes FP16. A weight gradient is FP16 rounded once from the FP32 sum
// over the whole batch: when the batch does not fit one job, the partial sums accumulate in
// FP32 in SRAM C and the host rounds the total.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dma_driver.h"
#include "engine_selftest.h"
#include "model.h"
#include "sat_driver.h"
#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw {

struct ConvShape {
  std::uint32_t n = 0, h = 0, w = 0, cin = 0, cout = 0, kh = 1, kw = 1, stride = 1, pad = 0;
  std::uint32_t oh() const { return conv_out(h, kh, stride, pad); }
  std::uint32_t ow() const { return conv_out(w, kw, stride, pad); }
};

// A weight operand in DDR: dense FP16 [Cout][KH][KW][Cin], or N:M compressed as OSRE wrote it
// (forward W~ for conv_forward, backward W~^T for conv_backward_data).
struct WeightOperand {
  std::uint64_t dense = 0;
  std::uint64_t values = 0, indices = 0;
  std::uint32_t n = 0, m = 0;  // n == 0: dense
  bool sparse() const { return n != 0; }
};

// An output-gradient operand dY [N][OH][OW][Cout] in DDR: dense FP16, or compressed along Cout
// (SDGP: one line of Cout per (n, oh, ow), from prune_output_grad).
struct GradOperand {
  std::uint64_t dense = 0;
  std::uint64_t values = 0, indices = 0;
  std::uint32_t n = 0, m = 0;
  bool sparse() const { return n != 0; }
};

// A batch of FP16 matrices in DDR, item (outer, inner) at addr + outer * outer_stride +
// inner * inner_stride (bytes), its rows `row_stride` elements apart: so that a head's slice of
// a token tensor (q, k or v of [N][T][3D]) is a matrix without being copied first.
struct MatrixBatch {
  std::uint64_t addr = 0, outer_stride = 0, inner_stride = 0;
  std::uint32_t row_stride = 0;
};

// C = op(A) x op(B) for every item (outer, inner): A [rows][depth] (a_trans: stored
// [depth][rows]), B [depth][cols] (b_trans: stored [cols][depth]), C [rows][cols]; FP32 sums
// rounded once to FP16. The activation x activation products of attention.
struct GemmBatch {
  std::uint32_t outer = 1, inner = 1;
  std::uint32_t rows = 0, cols = 0, depth = 0;
  MatrixBatch a, b, c;
  bool a_trans = false, b_trans = false;
};

// Where the kernels' wall of simulated time went, accumulated across calls.
struct KernelTime {
  std::uint64_t stce_ps = 0, osre_ps = 0, wuve_ps = 0;  // firmware waiting for an engine
  std::uint64_t dma_ps = 0;   // firmware waiting for a DMA transfer (not hidden by compute)
  std::uint64_t host_ps = 0;  // host work charged by the kernels (FP32 -> FP16 of a split dW)
};

// What the kernels asked of the hardware, accumulated across calls (the per-layer profile).
struct KernelCounts {
  std::uint64_t jobs = 0;        // engine jobs started, all engines
  std::uint64_t dma_bytes = 0;   // moved by the DMA
  std::uint64_t stce_slots = 0;  // MAC slots of the array the STCE jobs occupy: folds x R x C x K_eff
};

struct KernelStatus {
  bool ok = true;
  std::string problem;  // which kernel, which tile, what the engine or DMA reported
};

// How a kernel cuts its pass into engine jobs (train_kernels.cpp).
namespace tiling {
struct Tile;
struct Placement;
}  // namespace tiling

// The hardware a kernel uses and the scratch it may take.
//
// SRAM: each buffer is used as two slots of half its size. A tile's operands go into one slot
// per buffer; the DMA fills the other slots for the next tile while the engine runs. An operand
// that every tile shares (weights that fit, a weight gradient accumulating over image chunks)
// stays in its slot and is moved once.
class Kernels {
 public:
  // dma and sat must wait on the same Irq. scratch: DDR the kernels may use (bytes): DMA
  // descriptors, the FP32 sum of a split weight gradient, a weight masked for a nested backward
  // mask; scratch_bytes(count) says how much for weights of at most `count` elements.
  Kernels(Hal& hal, const BootInfo& boot, DmaDriver& dma, SatDriver& sat, SatMode mode, std::uint64_t scratch,
          std::uint64_t scratch_bytes);
  static std::uint64_t scratch_bytes(std::uint64_t weight_count);

  // Y = conv(X, W): x [N][H][W][Cin], y [N][OH][OW][Cout], FP16.
  KernelStatus conv_forward(const ConvShape& s, std::uint64_t x, const WeightOperand& w, std::uint64_t y);
  // dX = conv_input_grad(dY, W): dx [N][H][W][Cin] FP16. At most one of dy and w is sparse.
  KernelStatus conv_backward_data(const ConvShape& s, const GradOperand& dy, const WeightOperand& w,
                                  std::uint64_t dx);
  // dW = conv_weight_grad(dY, X): dw FP16 [Cout][KH][KW][Cin].
  KernelStatus conv_backward_weight(const ConvShape& s, std::uint64_t dy, std::uint64_t x, std::uint64_t dw);

  // Every item of g, one STCE GEMM job each (rows cut into chunks when A and C do not fit).
  KernelStatus gemm_batch(const GemmBatch& g);

  // Momentum SGD on a param (WUVE): master and momentum updated in place in DDR from its FP16
  // gradient; writes the FP16 copy (p.fp16) when it has one. weight_decay applies only to a
  // param with p.decay set.
  KernelStatus update(const model::Param& p, float lr, float momentum, float weight_decay, float grad_scale);
  // OSRE on a weight's FP32 master: forward W~ (groups along Cin) into p.fwd_*, backward W~^T
  // (groups along Cout) into p.bwd_*, each when requested and the param has that address.
  // nested: W~^T is taken from W (.) Mf instead of W (BDWP's bwd_mask = nested); Mf is read
  // from p.fwd_indices, so forward must be requested too or p.fwd_* be current.
  KernelStatus generate_masks(const model::Param& p, std::uint32_t n, std::uint32_t m, bool forward, bool backward,
                              bool nested);
  // OSRE forward on dY viewed [N*OH*OW][Cout] (FP16): dY~ values and indices, SDGP's pruning.
  KernelStatus prune_output_grad(const ConvShape& s, std::uint64_t dy, std::uint32_t n, std::uint32_t m,
                                 std::uint64_t values, std::uint64_t indices);

  const KernelTime& time() const { return time_; }
  const KernelCounts& counts() const { return counts_; }

 private:
  // A dense [rows][cols] source of OSRE in DDR (element: 2 for FP16, 4 for FP32).
  struct NmSource {
    std::uint64_t addr;
    std::uint32_t rows, cols, element, n, m;
    std::uint64_t whole_id() const { return addr + 1; }  // the tile that loads all of it
  };
  // Appends the OSRE tiles of src, forward (lines are rows) or backward (lines are columns).
  KernelStatus select(const char* kernel, const NmSource& src, bool backward, std::uint64_t values,
                      std::uint64_t indices, std::vector<tiling::Tile>& tiles) const;

  // Runs the tiles in order, double-buffered; `kernel` names the caller in problems.
  KernelStatus run(const char* kernel, const std::vector<tiling::Tile>& tiles);
  void start_job(const tiling::Tile& tile, const tiling::Placement& at);
  SatJobResult wait_job(SatEngine engine);
  void count_slots(const StceShape& shape);
  // Appends the DMA copies that bring a tile's operands in (or take its results out).
  void add_copies(std::vector<DmaCopy>& copies, const tiling::Tile& tile, const tiling::Placement& at, bool in) const;
  // Starts the copies (one transfer, or a chain of descriptors): "" or the problem.
  std::string start_copies(const std::vector<DmaCopy>& copies);
  std::string wait_copies();
  std::string transfer(const std::vector<DmaCopy>& copies);  // start and wait

  // Host work, "" or the problem.
  std::string fp32_to_fp16(std::uint64_t src, std::uint64_t dst, std::uint64_t count);
  std::string mask_forward_pruned(const model::Param& p, std::uint32_t n, std::uint32_t m, std::uint64_t dst);
  void charge_host(std::uint64_t elements);

  // DDR scratch: the DMA descriptors, then the work area.
  std::uint64_t descriptors() const;
  std::uint64_t work() const;
  std::uint64_t work_bytes() const;

  Hal& hal_;
  const BootInfo& boot_;
  DmaDriver& dma_;
  SatDriver& sat_;
  SatMode mode_;
  std::uint64_t scratch_, scratch_bytes_;
  std::uint64_t slot_bytes_[3];  // half of each SRAM buffer, aligned
  std::uint32_t array_rows_, array_cols_;  // of the STCE uMAC array (the SAT's ARRAY register)
  KernelTime time_;
  KernelCounts counts_;
};

}  // namespace cestvp::fw
