// The model descriptor: the binary contract between the loader (platform side, which writes it
// into DDR with the weights, the dataset and an empty result area) and the training runtime in
// firmware (which reads it through the HAL). Fixed-size little-endian structs; offsets and DDR
// addresses, never pointers; a magic and a version so that a firmware built against another
// layout refuses it with a message instead of misreading it. SystemC-free.
//
//   DDR image at boot_info.ddr.base + kModelOffset:
//     Header | Tensor[tensor_count] | Param[param_count] | Layer[layer_count]
//   everything else (tensors, dataset, result area) at the addresses those name.
#pragma once
#include <cstdint>

#include <cestvp/layer_catalogue.h>
#include <cestvp/sat_abi.h>

namespace cestvp::fw::model {

inline constexpr std::uint32_t kMagic = 0x4D505643u;  // "CVPM" little-endian
inline constexpr std::uint16_t kVersionMajor = 2;     // a layout change the firmware cannot read (2: the firmware draws the sample order)
inline constexpr std::uint16_t kVersionMinor = 0;     // an addition older firmware may ignore (1.1: batchnorm, add; 1.2: transformer layers; 1.3: attention on STCE; 1.4: profile)
inline constexpr std::uint64_t kModelOffset = 0;      // from the start of DDR
inline constexpr std::uint32_t kNone = 0xFFFFFFFFu;   // no tensor / param
// Entries a descriptor may have per table (tensors, params, layers): the firmware keeps the
// tables in host memory, which must stay small whatever the size of DDR.
inline constexpr std::uint32_t kMaxTableEntries = 1u << 16;

// Training scheme (docs/training.md, nm-training-spec.md sections 3-5).
enum class Scheme : std::uint32_t { dense = 0, srste = 1, sdgp = 2, bdwp = 3 };
// BDWP's backward mask: from the dense W (spec default), or from W~ (Bi-Mask style).
enum class BwdMask : std::uint32_t { independent = 0, nested = 1 };
// Learning-rate schedule over the iterations.
enum class LrSchedule : std::uint32_t { constant = 0, cosine = 1, step = 2 };

enum class DType : std::uint32_t { fp16 = 0, fp32 = 1 };

// An activation (or input) tensor and its gradient, NHWC; a flattened tensor is [N][1][1][C].
struct Tensor {
  std::uint64_t addr = 0;       // values (dtype)
  std::uint64_t grad_addr = 0;  // gradient, same shape and dtype; 0 if none is needed
  std::uint32_t n = 0, h = 0, w = 0, c = 0;
  std::uint32_t dtype = static_cast<std::uint32_t>(DType::fp16);
  std::uint32_t reserved = 0;
  std::uint64_t elements() const { return std::uint64_t{n} * h * w * c; }
};
static_assert(sizeof(Tensor) == 40);

// A trainable parameter: FP32 master values and momentum, the FP16 gradient and copy the
// engines use, and for a sparse weight the N:M compressed forms OSRE writes (forward W~ along
// the input channels, backward W~^T along the output channels), addresses 0 when unused.
// Weights are [rows = Cout][cols = KH*KW*Cin] (OHWI); OSRE forward sees them as
// [Cout*KH*KW][Cin], backward as [Cout][KH*KW*Cin] (docs/engines.md line orders).
struct Param {
  std::uint64_t master = 0, momentum = 0, grad = 0, fp16 = 0;
  std::uint64_t fwd_values = 0, fwd_indices = 0, bwd_values = 0, bwd_indices = 0;
  std::uint32_t count = 0;              // elements
  std::uint32_t cout = 0, taps = 0, cin = 0;  // weight shape (taps = KH*KW); a vector: count, 1, 1
  std::uint32_t decay = 1;              // weight decay applies (not to biases and norm parameters)
  std::uint32_t reserved = 0;
};
static_assert(sizeof(Param) == 88);

// The compressed lines of a sparse weight (docs/engines.md): forward W~, one line of Cin per
// (cout, tap); backward W~^T, one line of Cout per (tap, cin).
constexpr NmLine fwd_line(const Param& p, std::uint32_t n, std::uint32_t m) { return {p.cin, p.cin, n, m}; }
constexpr NmLine bwd_line(const Param& p, std::uint32_t n, std::uint32_t m) { return {p.cout, p.cout, n, m}; }
constexpr std::uint64_t fwd_lines(const Param& p) { return std::uint64_t{p.cout} * p.taps; }
constexpr std::uint64_t bwd_lines(const Param& p) { return std::uint64_t{p.taps} * p.cin; }
constexpr std::uint64_t values_bytes(std::uint64_t lines, NmLine line) { return lines * line.entries() * 2; }
constexpr std::uint64_t index_bytes(std::uint64_t lines, NmLine line) { return lines * line.index_words() * 4; }
// Bytes of one param in a snapshot (see Header::snapshots).
constexpr std::uint64_t param_snapshot_bytes(const Param& p, std::uint32_t n, std::uint32_t m) {
  std::uint64_t bytes = std::uint64_t{p.count} * 4;
  if (p.fwd_values) bytes += values_bytes(fwd_lines(p), fwd_line(p, n, m)) + index_bytes(fwd_lines(p), fwd_line(p, n, m));
  if (p.bwd_values) bytes += values_bytes(bwd_lines(p), bwd_line(p, n, m)) + index_bytes(bwd_lines(p), bwd_line(p, n, m));
  return bytes;
}

// LayerKind, and what each kind is: layer_catalogue.h.

inline constexpr std::uint32_t kLayerSparse = 1u << 0;  // the scheme applies (else kept dense)

struct Layer {
  std::uint32_t kind = 0;
  std::uint32_t flags = 0;
  std::uint32_t in = kNone, in2 = kNone, out = kNone;  // tensor indices (in2: second operand)
  std::uint32_t weight = kNone, bias = kNone;          // param indices
  std::uint32_t a = 0, b = 0, c = 0, d = 0;            // kind-specific, see LayerKind
  std::uint32_t reserved = 0;
};
static_assert(sizeof(Layer) == 48);

// Where the firmware writes what it measured. The platform reads it after the run (and while
// it runs, for progress); a record is complete when `iterations_done` / `evals_done` count it.
struct IterationRecord {
  std::uint32_t iteration = 0;
  float loss = 0;           // mean softmax cross-entropy of the batch
  float accuracy = 0;       // of the batch, 0..1
  float lr = 0;
  std::uint64_t end_ps = 0; // simulated time when the iteration finished
};
static_assert(sizeof(IterationRecord) == 24);

struct EvalRecord {
  std::uint32_t iteration = 0;  // after this many iterations
  std::uint32_t samples = 0;
  float loss = 0, accuracy = 0;
  std::uint64_t end_ps = 0;
};
static_assert(sizeof(EvalRecord) == 24);

// Simulated time spent per activity, picoseconds (the report separates accelerator and host).
struct TimeBreakdown {
  std::uint64_t stce_ps = 0, osre_ps = 0, wuve_ps = 0;  // waiting for an engine
  std::uint64_t dma_ps = 0;                             // waiting for a DMA not hidden by compute
  std::uint64_t host_ps = 0;                            // host layers and data preparation
};

// What the firmware measured per (layer, pass), summed over the run: the per-layer report.
// The firmware attributes everything between two phase changes to the phase it left, so the
// records of a run add up to the simulated time from the runtime's start to its end.
enum class Pass : std::uint32_t {
  forward = 0,          // FF of a training iteration (for the input row: loading the batch)
  backward_data = 1,    // BP: the data gradient (and SDGP's pruning of dY)
  backward_weight = 2,  // WU: the weight gradient, dense
  update = 3,           // WUVE, and the host's SR-STE decay fold
  masks = 4,            // OSRE regenerating W~ and W~^T (and SR-STE's expansion)
  evaluate = 5,         // FF of an evaluation (for the input row: loading the batch)
  other = 6,            // the runtime row only: set-up, snapshots, result records
};
inline constexpr std::uint32_t kPassCount = 7;
// The names the report and the timeline use.
constexpr const char* pass_name(Pass pass) {
  constexpr const char* names[kPassCount] = {"FF", "BP", "WU", "WUVE", "OSRE", "EVAL", "other"};
  return static_cast<std::uint32_t>(pass) < kPassCount ? names[static_cast<std::uint32_t>(pass)] : "?";
}

// Deltas of one SAT engine's counter registers (docs/engines.md "Counters").
struct EngineCounters {
  std::uint64_t jobs = 0, busy_cycles = 0, stall_cycles = 0, ops = 0, ops_skipped = 0;
  std::uint64_t sram_read = 0, sram_write = 0;
};
static_assert(sizeof(EngineCounters) == 56);

struct ProfileRecord {
  std::uint64_t entries = 0;     // times the phase was entered
  std::uint64_t time_ps = 0;     // simulated time spent in it
  std::uint64_t host_ps = 0;     // of which host work (the host_cost model)
  std::uint64_t dma_wait_ps = 0; // of which waiting for a DMA transfer not hidden by an engine
  std::uint64_t dma_bytes = 0;   // moved by the DMA
  std::uint64_t stce_slots = 0;  // MAC slots of the array the STCE jobs occupied (mapping)
  EngineCounters engine[3];      // STCE, OSRE, WUVE
};
static_assert(sizeof(ProfileRecord) == 216);

struct ResultHeader {
  std::uint32_t magic = 0;   // kMagic once the firmware started
  std::uint32_t status = 0;  // 0 running, 1 finished, 2 failed
  std::uint32_t iterations_done = 0, evals_done = 0;
  std::uint64_t iteration_records = 0, eval_records = 0;  // DDR addresses of the arrays
  std::uint32_t iteration_capacity = 0, eval_capacity = 0;
  TimeBreakdown time;
  char message[128] = {};    // why it failed
  // ProfileRecord[rows][kPassCount]: row l < layer_count is layer l, the last row the runtime
  // itself (batch loading, set-up, snapshots). Written when the run ends, failed or not.
  std::uint64_t profile = 0;
  std::uint32_t profile_rows = 0, profile_written = 0;  // written: 1 once the table is complete
};

struct Header {
  std::uint32_t magic = kMagic;
  std::uint16_t version_major = kVersionMajor, version_minor = kVersionMinor;
  std::uint32_t header_bytes = sizeof(Header);
  std::uint32_t tensor_count = 0, param_count = 0, layer_count = 0;
  std::uint64_t tensors = 0, params = 0, layers = 0;  // DDR addresses of the tables

  // Training
  std::uint32_t scheme = 0, n = 2, m = 8, bwd_mask = 0;
  std::uint32_t batch = 0, iterations = 0, eval_interval = 0, eval_samples = 0;
  std::uint32_t seed = 0, lr_schedule = 0, lr_step = 0, reserved0 = 0;
  float lr = 0, momentum = 0, weight_decay = 0, sparse_decay = 0;  // sparse_decay: SR-STE lambda_W
  // lr_gamma: step schedule factor every lr_step iterations. loss_scale: the loss gradient is
  // multiplied by it (FP16 gradients would underflow) and WUVE divides it out (GRAD_SCALE).
  float lr_gamma = 0, loss_scale = 1;
  std::uint32_t sdgp_rescale = 1, snapshot_interval = 0;  // snapshot_interval 0: final only

  // Dataset: uint8 images [count][H][W][C] (NHWC), uint8 labels; normalised by the firmware
  // to (x / 255 - mean[c]) / std[c] in FP16.
  std::uint64_t train_images = 0, train_labels = 0, test_images = 0, test_labels = 0;
  std::uint32_t train_count = 0, test_count = 0;
  std::uint32_t image_h = 0, image_w = 0, image_c = 0, classes = 0;
  float mean[4] = {}, stdev[4] = {};
  // Sample order: the firmware draws each epoch's order when the epoch starts, epoch e being
  // fw::epoch_order(train_count, order_seed, e) (sample_order.h), cut to whole batches. Nothing
  // in DDR: its size would grow with the iterations (major version 2; 1.x read it from DDR).
  std::uint64_t order_seed = 0;
  std::uint32_t input_tensor = 0, logits_tensor = 0;  // tensor indices

  // Scratch DDR the runtime may use (host-layer state such as max-pool argmax, staging).
  std::uint64_t scratch = 0, scratch_bytes = 0;
  std::uint64_t result = 0, result_bytes = 0;  // ResultHeader then the record arrays
  // Snapshots: after iteration 0 (the initial state, before any update) and every
  // snapshot_interval iterations, and after the last, the firmware copies for each param in
  // order: master (count FP32), then, if the param has them, fwd values, fwd indices, bwd
  // values, bwd indices (param_snapshot_bytes each): the masks it will use next.
  std::uint64_t snapshots = 0, snapshot_bytes = 0;  // area, bytes of one snapshot
  std::uint32_t snapshot_capacity = 0, reserved3 = 0;
};

}  // namespace cestvp::fw::model
