#include <cestvp/train_kernels.h>

#include <algorithm>
#include <cassert>
#include <cstdarg>
#include <cstdio>
#include <initializer_list>
#include <numeric>

#include <cestvp/regs.h>
#include <cestvp/sat_reference.h>

namespace cestvp::fw {

namespace tiling {

// Bytes moved between DDR and an SRAM slot: `rows` rows of `length` bytes, `stride` apart in
// DDR, packed one after the other in the slot from `offset`.
struct Block {
  std::uint64_t ddr = 0, offset = 0, length = 0, rows = 1, stride = 0;
};

// What one tile keeps in one SRAM buffer. Tiles whose operands have the same non-zero id hold
// the same bytes there, so a tile finds the operand where an earlier tile left it: weights that
// fit are moved once, and a weight gradient accumulates in place over image chunks.
struct Operand {
  std::uint64_t id = 0;
  std::vector<Block> in;   // DDR -> SRAM before the job
  std::vector<Block> out;  // SRAM -> DDR after the last job of its id
};

struct Tile {
  Operand buffer[3];  // A, B, C
  SatEngine engine = SatEngine::stce;
  // The engine's job, its SRAM addresses relative to the tile's slots. STCE runs `conv`,
  // or `gemm` when gemm.rows != 0.
  StceConv conv;
  StceGemm gemm;
  OsreJob osre;
  WuveJob wuve;
  std::string what;  // "images 0-2 of 7, Cout 0-19 of 40", for problems
};

// The slot a tile's operand occupies in each buffer, and whether the DMA has to move it.
struct Placement {
  unsigned slot[3] = {};
  bool load[3] = {}, store[3] = {};
};

}  // namespace tiling

using tiling::Block;
using tiling::Operand;
using tiling::Placement;
using tiling::Tile;

namespace {

constexpr std::uint64_t kAlign = 64;  // operands start on 64-byte boundaries in SRAM
constexpr std::uint64_t kMaxConvDim = 65535;     // batch and channel fields of an STCE job
constexpr std::uint64_t kMaxLineDim = 1u << 24;  // OSRE ROWS and COLS
constexpr std::uint64_t kMaxWuveCount = 1u << 28;
// A DMA chain carries one tile's results out and the next tile's operands in: at most two
// blocks (values and indices) per buffer and direction.
constexpr std::size_t kMaxDescriptors = 12;
constexpr std::uint64_t kDescriptorBytes = kMaxDescriptors * regs::dma_desc::SIZE;

constexpr std::uint32_t kA = sram_address(SramBuffer::a, 0);
constexpr std::uint32_t kB = sram_address(SramBuffer::b, 0);
constexpr std::uint32_t kC = sram_address(SramBuffer::c, 0);

std::uint64_t align_up(std::uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
unsigned long long ull(std::uint64_t v) { return v; }
std::uint32_t u32(std::uint64_t v) { return static_cast<std::uint32_t>(v); }

KernelStatus failed(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
KernelStatus failed(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return {false, buf};
}

// How many units of `unit` bytes fit in `capacity` after `fixed` bytes.
std::uint64_t fit(std::uint64_t capacity, std::uint64_t unit, std::uint64_t fixed = 0) {
  return capacity < fixed ? 0 : (capacity - fixed) / unit;
}

// A dimension of `total` cut into the fewest chunks of at most `most`, of nearly equal size (a
// small last tile would leave the engine idle while the DMA works).
//
// `align`: how many of the dimension fill one fold of the STCE array (its rows or columns).
// The array computes a partial fold in the time of a full one, so when `most` allows at least
// one fold, every chunk but the last is a whole number of folds and the chunks together take
// the folds of one job: 512 channels on 32 columns cut 171 + 171 + 170 take 3 x 6 = 18 folds
// (+12.5 %), cut 192 + 192 + 128 the 16 of one job.
struct Chunks {
  std::uint32_t total, count, step;
  Chunks(std::uint32_t total_, std::uint64_t most, std::uint64_t align = 1)
      : total(total_), count(u32((total_ + most - 1) / most)), step((total_ + count - 1) / count) {
    if (count == 1 || align <= 1 || most < align) return;
    const std::uint64_t folds = most / align * align;
    count = u32((total + folds - 1) / folds);
    step = u32(((total + count - 1) / count + align - 1) / align * align);
    assert(step <= folds && std::uint64_t{count - 1} * step < total);
  }
  std::uint32_t first(std::uint32_t i) const { return i * step; }
  std::uint32_t size(std::uint32_t i) const { return std::min(step, total - i * step); }
  std::string describe(const char* name, std::uint32_t i) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %u-%u of %u", name, first(i), first(i) + size(i) - 1, total);
    return buf;
  }
};

// The images whose output rows (`rows_per_image` each) fill whole folds of `array_rows` rows:
// the `align` of an image chunk when the images are the job's ROWS.
std::uint64_t images_per_fold(std::uint64_t rows_per_image, std::uint32_t array_rows) {
  return array_rows == 0 ? 1 : array_rows / std::gcd(rows_per_image, std::uint64_t{array_rows});
}

// Visits every (image chunk, channel chunk), in the order that moves fewer bytes: with the
// channel chunks outside, the per-image operand is moved once per channel chunk; with the image
// chunks outside, the per-channel operand once per image chunk. A dimension of one chunk is
// moved once either way.
template <class Fn>
void for_each_tile(const Chunks& images, const Chunks& channels, std::uint64_t image_bytes, std::uint64_t channel_bytes,
                   Fn visit) {
  const std::uint64_t channels_outside = (images.count > 1 ? channels.count : 1) * image_bytes + channel_bytes;
  const std::uint64_t images_outside = (channels.count > 1 ? images.count : 1) * channel_bytes + image_bytes;
  if (channels_outside <= images_outside) {
    for (std::uint32_t c = 0; c < channels.count; ++c)
      for (std::uint32_t i = 0; i < images.count; ++i) visit(i, c);
  } else {
    for (std::uint32_t i = 0; i < images.count; ++i)
      for (std::uint32_t c = 0; c < channels.count; ++c) visit(i, c);
  }
}

// `count` rows of `length` bytes, `stride` apart in DDR; one row when they are contiguous (a
// 2-D transfer moves at most a row per burst).
Block rows(std::uint64_t ddr, std::uint64_t offset, std::uint64_t length, std::uint64_t count, std::uint64_t stride) {
  if (count == 1 || stride == length) return {ddr, offset, length * count, 1, 0};
  return {ddr, offset, length, count, stride};
}
Block bytes(std::uint64_t ddr, std::uint64_t offset, std::uint64_t length) { return {ddr, offset, length, 1, 0}; }

// Bytes of one compressed line of `length` elements (docs/engines.md); zero for a dense
// operand (n = 0).
struct LineBytes {
  std::uint64_t values = 0, indices = 0;
  LineBytes(std::uint32_t length, std::uint32_t n, std::uint32_t m) {
    if (n == 0) return;
    const NmLine line{length, length, n, m};
    values = std::uint64_t{line.entries()} * 2, indices = std::uint64_t{line.index_words()} * 4;
  }
  std::uint64_t both() const { return values + indices; }
};

// Compressed lines of an operand at (values, indices) in DDR: `runs` runs of `count` lines
// from line `first`, the runs `stride` lines apart. In the slot the values come first, the
// indices after them. Returns the indices' offset.
std::uint64_t add_lines(std::vector<Block>& blocks, std::uint64_t values, std::uint64_t indices, const LineBytes& line,
                        std::uint64_t first, std::uint64_t count, std::uint64_t runs = 1, std::uint64_t stride = 0) {
  const std::uint64_t index_offset = align_up(runs * count * line.values);
  blocks.push_back(rows(values + first * line.values, 0, count * line.values, runs, stride * line.values));
  blocks.push_back(
      rows(indices + first * line.indices, index_offset, count * line.indices, runs, stride * line.indices));
  return index_offset;
}

StceConv conv_job(ConvOp op, const ConvShape& s, std::uint32_t batch, std::uint32_t cin, std::uint32_t cout) {
  StceConv j;
  j.op = op;
  j.batch = batch, j.h = s.h, j.w = s.w, j.cin = cin, j.cout = cout;
  j.kh = s.kh, j.kw = s.kw, j.stride = s.stride, j.pad = s.pad;
  j.a = kA, j.b = kB, j.c = kC;
  j.out_fp16 = true;
  return j;
}

KernelStatus shape_problem(const char* kernel, const ConvShape& s) {
  for (std::uint32_t v : {s.n, s.h, s.w, s.cin, s.cout, s.kh, s.kw, s.stride})
    if (v == 0) return failed("%s: a dimension of the shape is 0", kernel);
  if (s.oh() == 0 || s.ow() == 0)
    return failed("%s: a %ux%u kernel with padding %u does not fit a %ux%u image", kernel, s.kh, s.kw, s.pad, s.h, s.w);
  return {};
}

KernelStatus nm_problem(const char* kernel, std::uint32_t n, std::uint32_t m) {
  if (n == 0 || n > m || m > 32)
    return failed("%s: N:M %u:%u is not a valid sparsity (0 < N <= M <= 32)", kernel, n, m);
  return {};
}

// The slot of each tile's operands and the transfers they need: an operand whose id the
// previous tile held in a slot stays there; any other goes to the slot the running tile does
// not use, so that the DMA can fill it meanwhile. Results leave after the last tile of their id.
std::vector<Placement> place(const std::vector<Tile>& tiles) {
  std::vector<Placement> at(tiles.size());
  for (unsigned b = 0; b < 3; ++b) {
    std::uint64_t held[2] = {0, 0};  // the id each slot holds
    unsigned last = 1;               // so that the first tile takes slot 0
    for (std::size_t i = 0; i < tiles.size(); ++i) {
      const std::uint64_t id = tiles[i].buffer[b].id;
      const unsigned slot = id != 0 && held[last] == id ? last : 1 - last;
      at[i].slot[b] = slot;
      at[i].load[b] = id == 0 || held[slot] != id;
      held[slot] = id;
      const bool final = i + 1 == tiles.size() || id == 0 || tiles[i + 1].buffer[b].id != id;
      at[i].store[b] = final && !tiles[i].buffer[b].out.empty();
      last = slot;
    }
  }
  return at;
}

}  // namespace

Kernels::Kernels(Hal& hal, const BootInfo& boot, DmaDriver& dma, SatDriver& sat, SatMode mode, std::uint64_t scratch,
                 std::uint64_t scratch_bytes)
    : hal_(hal), boot_(boot), dma_(dma), sat_(sat), mode_(mode), scratch_(scratch), scratch_bytes_(scratch_bytes) {
  const Region* sram[3] = {&boot.sat_sram_a, &boot.sat_sram_b, &boot.sat_sram_c};
  for (unsigned b = 0; b < 3; ++b) slot_bytes_[b] = sram[b]->size / 2 / kAlign * kAlign;
  Mmio regs(hal, boot.sat_regs.base);
  const regs::sat::Array array{regs.read(regs::sat::ARRAY)};
  array_rows_ = array.rows();
  array_cols_ = array.cols();
}

std::uint64_t Kernels::scratch_bytes(std::uint64_t weight_count) {
  return kAlign + kDescriptorBytes + weight_count * 4;
}

std::uint64_t Kernels::descriptors() const { return align_up(scratch_); }
std::uint64_t Kernels::work() const { return descriptors() + kDescriptorBytes; }
std::uint64_t Kernels::work_bytes() const {
  const std::uint64_t end = scratch_ + scratch_bytes_;
  return end > work() ? end - work() : 0;
}

// --- Convolutions -------------------------------------------------------------------------

KernelStatus Kernels::conv_forward(const ConvShape& s, std::uint64_t x, const WeightOperand& w, std::uint64_t y) {
  const char* kernel = "conv_forward";
  if (KernelStatus st = shape_problem(kernel, s); !st.ok) return st;
  if (w.sparse())
    if (KernelStatus st = nm_problem(kernel, w.n, w.m); !st.ok) return st;
  const std::uint64_t taps = std::uint64_t{s.kh} * s.kw, pixels = std::uint64_t{s.oh()} * s.ow();
  const std::uint64_t image = std::uint64_t{s.h} * s.w * s.cin * 2;
  const LineBytes line(s.cin, w.n, w.m);
  const std::uint64_t weight = w.sparse() ? taps * line.both() : taps * s.cin * 2;  // per output channel
  const std::uint64_t couts =
      std::min(fit(slot_bytes_[1], weight, w.sparse() ? kAlign : 0), fit(slot_bytes_[2], pixels * 2));
  if (couts == 0)
    return failed(
        "%s: one output channel needs %llu B of SRAM B (its weights) and %llu B of SRAM C (one image's "
        "outputs), half of the buffers is %llu and %llu B",
        kernel, ull(weight), ull(pixels * 2), ull(slot_bytes_[1]), ull(slot_bytes_[2]));
  // ROWS = images x OH x OW, COLS = Cout (docs/engines.md).
  const Chunks channels(s.cout, std::min(couts, kMaxConvDim), array_cols_);
  const std::uint64_t images = std::min(fit(slot_bytes_[0], image), fit(slot_bytes_[2], pixels * channels.step * 2));
  if (images == 0)
    return failed("%s: one image of %ux%ux%u needs %llu B of SRAM A, half of the buffer is %llu B", kernel, s.h, s.w,
                  s.cin, ull(image), ull(slot_bytes_[0]));
  const Chunks batch(s.n, std::min(images, kMaxConvDim), images_per_fold(pixels, array_rows_));

  std::vector<Tile> tiles;
  for_each_tile(batch, channels, image * s.n, weight * s.cout, [&](std::uint32_t i, std::uint32_t c) {
    const std::uint64_t n0 = batch.first(i), nb = batch.size(i), c0 = channels.first(c), cc = channels.size(c);
    Tile& t = tiles.emplace_back();
    t.what = batch.describe("images", i) + ", " + channels.describe("Cout", c);
    t.conv = conv_job(ConvOp::fwd, s, u32(nb), s.cin, u32(cc));
    t.buffer[0] = {1 + i, {bytes(x + n0 * image, 0, nb * image)}, {}};
    Operand& b = t.buffer[1];
    b.id = 1 + c;
    if (w.sparse()) {
      t.conv.b_idx = kB + u32(add_lines(b.in, w.values, w.indices, line, c0 * taps, cc * taps));
      t.conv.sparse = Sparse::b, t.conv.n = w.n, t.conv.m = w.m;
    } else {
      b.in = {bytes(w.dense + c0 * weight, 0, cc * weight)};
    }
    t.buffer[2].out = {rows(y + (n0 * pixels * s.cout + c0) * 2, 0, cc * 2, nb * pixels, s.cout * 2)};
  });
  return run(kernel, tiles);
}

KernelStatus Kernels::conv_backward_data(const ConvShape& s, const GradOperand& dy, const WeightOperand& w,
                                         std::uint64_t dx) {
  const char* kernel = "conv_backward_data";
  if (KernelStatus st = shape_problem(kernel, s); !st.ok) return st;
  if (dy.sparse() && w.sparse())
    return failed("%s: dY and W are both compressed; STCE takes at most one compressed operand", kernel);
  const std::uint32_t n = dy.sparse() ? dy.n : w.n, m = dy.sparse() ? dy.m : w.m;
  if (dy.sparse() || w.sparse())
    if (KernelStatus st = nm_problem(kernel, n, m); !st.ok) return st;
  const std::uint64_t taps = std::uint64_t{s.kh} * s.kw, pixels = std::uint64_t{s.oh()} * s.ow();
  const std::uint64_t positions = std::uint64_t{s.h} * s.w;
  const LineBytes line(s.cout, n, m);  // dY~ and W~^T both group along Cout
  const std::uint64_t grad = dy.sparse() ? pixels * line.both() : pixels * s.cout * 2;  // per image
  const std::uint64_t weight = w.sparse() ? taps * line.both() : taps * s.cout * 2;     // per input channel
  const std::uint64_t cins =
      std::min(fit(slot_bytes_[1], weight, w.sparse() ? kAlign : 0), fit(slot_bytes_[2], positions * 2));
  if (cins == 0)
    return failed(
        "%s: one input channel needs %llu B of SRAM B (its weights) and %llu B of SRAM C (one image's "
        "gradient), half of the buffers is %llu and %llu B",
        kernel, ull(weight), ull(positions * 2), ull(slot_bytes_[1]), ull(slot_bytes_[2]));
  // ROWS = images x H x W, COLS = Cin.
  const Chunks channels(s.cin, std::min(cins, kMaxConvDim), array_cols_);
  const std::uint64_t images =
      std::min(fit(slot_bytes_[0], grad, dy.sparse() ? kAlign : 0), fit(slot_bytes_[2], positions * channels.step * 2));
  if (images == 0)
    return failed(
        "%s: the output gradient of one image (%ux%ux%u) needs %llu B of SRAM A, half of the buffer is %llu B", kernel,
        s.oh(), s.ow(), s.cout, ull(grad), ull(slot_bytes_[0]));
  const Chunks batch(s.n, std::min(images, kMaxConvDim), images_per_fold(positions, array_rows_));

  std::vector<Tile> tiles;
  for_each_tile(batch, channels, grad * s.n, weight * s.cin, [&](std::uint32_t i, std::uint32_t c) {
    const std::uint64_t n0 = batch.first(i), nb = batch.size(i), c0 = channels.first(c), cc = channels.size(c);
    Tile& t = tiles.emplace_back();
    t.what = batch.describe("images", i) + ", " + channels.describe("Cin", c);
    t.conv = conv_job(ConvOp::bwd_data, s, u32(nb), u32(cc), s.cout);
    t.conv.n = n, t.conv.m = m;
    Operand& a = t.buffer[0];
    a.id = 1 + i;
    if (dy.sparse()) {
      t.conv.a_idx = kA + u32(add_lines(a.in, dy.values, dy.indices, line, n0 * pixels, nb * pixels));
      t.conv.sparse = Sparse::a;
    } else {
      a.in = {bytes(dy.dense + n0 * grad, 0, nb * grad)};
    }
    Operand& b = t.buffer[1];
    b.id = 1 + c;
    if (w.sparse()) {  // lines [KH][KW][Cin]: the channel range is one run per tap
      t.conv.b_idx = kB + u32(add_lines(b.in, w.values, w.indices, line, c0, cc, taps, s.cin));
      t.conv.sparse = Sparse::b;
    } else {
      b.in = {rows(w.dense + c0 * 2, 0, cc * 2, s.cout * taps, std::uint64_t{s.cin} * 2)};
    }
    t.buffer[2].out = {rows(dx + (n0 * positions * s.cin + c0) * 2, 0, cc * 2, nb * positions, s.cin * 2)};
  });
  return run(kernel, tiles);
}

// K = N*OH*OW. When the whole batch fits one job per Cout chunk, the engine rounds dW to FP16
// itself. Otherwise the images are cut into chunks whose products accumulate in FP32 in SRAM C
// (ACCUMULATE continues the sum in K order, so the result is the unsplit job's bit for bit),
// the sum goes to the DDR scratch, and the host rounds it once.
KernelStatus Kernels::conv_backward_weight(const ConvShape& s, std::uint64_t dy, std::uint64_t x, std::uint64_t dw) {
  const char* kernel = "conv_backward_weight";
  if (KernelStatus st = shape_problem(kernel, s); !st.ok) return st;
  const std::uint64_t taps = std::uint64_t{s.kh} * s.kw, pixels = std::uint64_t{s.oh()} * s.ow();
  const std::uint64_t image = std::uint64_t{s.h} * s.w * s.cin * 2, weights = taps * s.cin;  // per output channel
  const std::uint64_t whole = std::min(fit(slot_bytes_[0], s.n * pixels * 2), fit(slot_bytes_[2], weights * 2));
  const bool split = s.n > kMaxConvDim || s.n * image > slot_bytes_[1] || whole == 0;
  const std::uint64_t couts = split ? fit(slot_bytes_[2], weights * 4) : whole;
  if (couts == 0)
    return failed(
        "%s: the FP32 weight gradient of one output channel needs %llu B of SRAM C, half of the buffer is "
        "%llu B",
        kernel, ull(weights * 4), ull(slot_bytes_[2]));
  // ROWS = Cout, COLS = taps x Cin; the images are the reduction, which has no folds.
  const Chunks channels(s.cout, std::min(couts, kMaxConvDim), array_rows_);
  const std::uint64_t images = std::min(fit(slot_bytes_[1], image), fit(slot_bytes_[0], pixels * channels.step * 2));
  if (images == 0)
    return failed(
        "%s: one image needs %llu B of SRAM B (%ux%ux%u) and %llu B of SRAM A (its output gradient), half "
        "of the buffers is %llu and %llu B",
        kernel, ull(image), s.h, s.w, s.cin, ull(pixels * channels.step * 2), ull(slot_bytes_[1]), ull(slot_bytes_[0]));
  const Chunks batch(s.n, std::min(images, kMaxConvDim));
  const std::uint64_t sum_bytes = s.cout * weights * 4;
  if (split && work_bytes() < sum_bytes)
    return failed(
        "%s: the FP32 weight gradient (%llu B) does not fit the kernels' DDR scratch (%llu B after the DMA "
        "descriptors)",
        kernel, ull(sum_bytes), ull(work_bytes()));

  std::vector<Tile> tiles;
  for (std::uint32_t c = 0; c < channels.count; ++c) {
    for (std::uint32_t i = 0; i < batch.count; ++i) {
      const std::uint64_t n0 = batch.first(i), nb = batch.size(i), c0 = channels.first(c), cc = channels.size(c);
      Tile& t = tiles.emplace_back();
      t.what = batch.describe("images", i) + ", " + channels.describe("Cout", c);
      t.conv = conv_job(ConvOp::bwd_weight, s, u32(nb), s.cin, u32(cc));
      t.conv.accumulate = i > 0;
      t.conv.out_fp16 = !split;
      t.buffer[0].in = {rows(dy + (n0 * pixels * s.cout + c0) * 2, 0, cc * 2, nb * pixels, s.cout * 2)};
      t.buffer[1] = {1 + i, {bytes(x + n0 * image, 0, nb * image)}, {}};
      Operand& sum = t.buffer[2];
      sum.id = split ? 1 + c : 0;
      sum.out = {split ? bytes(work() + c0 * weights * 4, 0, cc * weights * 4)
                       : bytes(dw + c0 * weights * 2, 0, cc * weights * 2)};
    }
  }
  if (KernelStatus st = run(kernel, tiles); !st.ok || !split) return st;
  if (std::string p = fp32_to_fp16(work(), dw, s.cout * weights); !p.empty())
    return failed("%s: %s", kernel, p.c_str());
  return {};
}

// --- Batched GEMM ---------------------------------------------------------------------------

// One tile per item and chunk of rows. An item's B stays in its slot for all its row chunks.
KernelStatus Kernels::gemm_batch(const GemmBatch& g) {
  const char* kernel = "gemm_batch";
  for (std::uint32_t v : {g.outer, g.inner, g.rows, g.cols, g.depth})
    if (v == 0) return failed("%s: a dimension of the batch is 0", kernel);
  const std::uint64_t b_bytes = std::uint64_t{g.depth} * g.cols * 2;
  const std::uint64_t most_rows = std::min(fit(slot_bytes_[0], std::uint64_t{g.depth} * 2), fit(slot_bytes_[2], std::uint64_t{g.cols} * 2));
  if (b_bytes > slot_bytes_[1] || most_rows == 0)
    return failed(
        "%s: one item needs %llu B of SRAM B (its %ux%u B) and %llu B of SRAM A and C for one row, half of the "
        "buffers is %llu, %llu and %llu B",
        kernel, ull(b_bytes), g.depth, g.cols, ull(std::uint64_t{g.depth} * 2 + std::uint64_t{g.cols} * 2),
        ull(slot_bytes_[1]), ull(slot_bytes_[0]), ull(slot_bytes_[2]));
  const Chunks chunks(g.rows, most_rows, array_rows_);
  const auto at = [](const MatrixBatch& m, std::uint64_t o, std::uint64_t i) {
    return m.addr + o * m.outer_stride + i * m.inner_stride;
  };
  // `count` rows of `length` elements from row `first` of a matrix.
  const auto matrix_rows = [](std::uint64_t base, std::uint32_t row_stride, std::uint64_t first, std::uint64_t count,
                              std::uint64_t length) {
    return rows(base + first * row_stride * 2, 0, length * 2, count, std::uint64_t{row_stride} * 2);
  };
  std::vector<Tile> tiles;
  tiles.reserve(std::size_t{g.outer} * g.inner * chunks.count);
  for (std::uint32_t o = 0; o < g.outer; ++o)
    for (std::uint32_t i = 0; i < g.inner; ++i)
      for (std::uint32_t r = 0; r < chunks.count; ++r) {
        const std::uint64_t r0 = chunks.first(r), rc = chunks.size(r);
        Tile& t = tiles.emplace_back();
        t.what = "item " + std::to_string(o) + "." + std::to_string(i) + ", " + chunks.describe("rows", r);
        StceGemm& j = t.gemm;
        j.rows = u32(rc), j.cols = g.cols, j.depth = g.depth;
        j.a = kA, j.b = kB, j.c = kC;
        j.a_trans = g.a_trans, j.b_trans = g.b_trans;
        j.out_fp16 = true;
        const std::uint64_t a = at(g.a, o, i), b = at(g.b, o, i);
        // A column block of a transposed A is every stored row's slice [r0, r0 + rc).
        t.buffer[0].in = {g.a_trans ? rows(a + r0 * 2, 0, rc * 2, g.depth, std::uint64_t{g.a.row_stride} * 2)
                                    : matrix_rows(a, g.a.row_stride, r0, rc, g.depth)};
        const std::uint64_t item = std::uint64_t{o} * g.inner + i;
        t.buffer[1] = {1 + item, {g.b_trans ? matrix_rows(b, g.b.row_stride, 0, g.cols, g.depth)
                                            : matrix_rows(b, g.b.row_stride, 0, g.depth, g.cols)}, {}};
        t.buffer[2].out = {matrix_rows(at(g.c, o, i), g.c.row_stride, r0, rc, g.cols)};
      }
  return run(kernel, tiles);
}

// --- Weight update and N:M selection --------------------------------------------------------

KernelStatus Kernels::update(const model::Param& p, float lr, float momentum, float weight_decay, float grad_scale) {
  const char* kernel = "update";
  if (p.count == 0) return {};
  const bool copy = p.fp16 != 0;
  // A holds the FP16 gradients and the FP16 copy, B the FP32 master, C the FP32 momentum.
  const std::uint64_t most = std::min({fit(slot_bytes_[0], copy ? 4 : 2, copy ? kAlign : 0), fit(slot_bytes_[1], 4),
                                       fit(slot_bytes_[2], 4), kMaxWuveCount});
  if (most == 0) return failed("%s: the SAT SRAM buffers are too small for one element", kernel);
  const Chunks chunks(p.count, most);
  std::vector<Tile> tiles;
  for (std::uint32_t i = 0; i < chunks.count; ++i) {
    const std::uint64_t e0 = chunks.first(i), count = chunks.size(i), out = align_up(count * 2);
    Tile& t = tiles.emplace_back();
    t.what = chunks.describe("elements", i);
    t.engine = SatEngine::wuve;
    WuveJob& j = t.wuve;
    j.lr = lr, j.momentum = momentum, j.weight_decay = p.decay ? weight_decay : 0.0f, j.grad_scale = grad_scale;
    j.count = u32(count);
    j.grad = kA, j.out = kA + u32(out), j.weight = kB, j.velocity = kC;
    j.write_fp16 = copy;
    t.buffer[0].in = {bytes(p.grad + e0 * 2, 0, count * 2)};
    if (copy) t.buffer[0].out = {bytes(p.fp16 + e0 * 2, out, count * 2)};
    t.buffer[1].in = t.buffer[1].out = {bytes(p.master + e0 * 4, 0, count * 4)};
    t.buffer[2].in = t.buffer[2].out = {bytes(p.momentum + e0 * 4, 0, count * 4)};
  }
  return run(kernel, tiles);
}

// OSRE on a [rows][cols] source, its lines (rows forward, columns backward) cut into chunks. A
// chunk of rows is contiguous; a chunk of columns is gathered by a 2-D transfer. The compressed
// lines of a chunk are contiguous either way.
KernelStatus Kernels::select(const char* kernel, const NmSource& src, bool backward, std::uint64_t values,
                             std::uint64_t indices, std::vector<Tile>& tiles) const {
  const std::uint32_t lines = backward ? src.cols : src.rows, length = backward ? src.rows : src.cols;
  const LineBytes line(length, src.n, src.m);
  const std::uint64_t source = std::uint64_t{length} * src.element;  // bytes of one line's source
  const std::uint64_t most =
      std::min({fit(slot_bytes_[0], source), fit(slot_bytes_[1], line.both(), kAlign), kMaxLineDim});
  const char* name = backward ? "column" : "row";
  if (most == 0)
    return failed(
        "%s: one %s of %u elements needs %llu B of SRAM A and %llu B of SRAM B compressed, half of the "
        "buffers is %llu and %llu B",
        kernel, name, length, ull(source), ull(line.both()), ull(slot_bytes_[0]), ull(slot_bytes_[1]));
  const Chunks chunks(lines, most);
  for (std::uint32_t i = 0; i < chunks.count; ++i) {
    const std::uint64_t l0 = chunks.first(i), count = chunks.size(i);
    Tile& t = tiles.emplace_back();
    t.what = chunks.describe(backward ? "columns" : "rows", i);
    t.engine = SatEngine::osre;
    const Block in = backward ? rows(src.addr + l0 * src.element, 0, count * src.element, src.rows,
                                     std::uint64_t{src.cols} * src.element)
                              : bytes(src.addr + l0 * source, 0, count * source);
    t.buffer[0] = {chunks.count == 1 ? src.whole_id() : 0, {in}, {}};
    OsreJob& j = t.osre;
    j.backward = backward, j.src_fp32 = src.element == 4, j.n = src.n, j.m = src.m;
    j.rows = backward ? src.rows : u32(count), j.cols = backward ? u32(count) : src.cols;
    j.src = kA, j.values = kB;
    j.indices = kB + u32(add_lines(t.buffer[1].out, values, indices, line, l0, count));
  }
  return {};
}

KernelStatus Kernels::generate_masks(const model::Param& p, std::uint32_t n, std::uint32_t m, bool forward,
                                     bool backward, bool nested) {
  const char* kernel = "generate_masks";
  if (KernelStatus st = nm_problem(kernel, n, m); !st.ok) return st;
  forward = forward && p.fwd_values != 0 && p.fwd_indices != 0;
  backward = backward && p.bwd_values != 0 && p.bwd_indices != 0;
  if (std::uint64_t{p.cout} * p.taps * p.cin != p.count || p.count == 0)
    return failed("%s: a param of %u elements is not Cout %u x taps %u x Cin %u", kernel, p.count, p.cout, p.taps,
                  p.cin);
  std::vector<Tile> tiles;
  if (forward)
    if (KernelStatus st =
            select(kernel, {p.master, p.cout * p.taps, p.cin, 4, n, m}, false, p.fwd_values, p.fwd_indices, tiles);
        !st.ok)
      return st;
  NmSource source{p.master, p.cout, p.taps * p.cin, 4, n, m};
  if (backward && nested) {
    // W (.) Mf needs Mf in DDR: the forward pass finishes first, then the host masks a copy.
    if (p.fwd_indices == 0)
      return failed("%s: a nested backward mask needs the forward mask, and the param has none", kernel);
    if (KernelStatus st = run(kernel, tiles); !st.ok) return st;
    tiles.clear();
    if (work_bytes() < std::uint64_t{p.count} * 4)
      return failed("%s: the masked weights (%llu B) do not fit the kernels' DDR scratch (%llu B)", kernel,
                    ull(std::uint64_t{p.count} * 4), ull(work_bytes()));
    if (std::string problem = mask_forward_pruned(p, n, m, work()); !problem.empty())
      return failed("%s: %s", kernel, problem.c_str());
    source.addr = work();
  }
  if (backward)
    if (KernelStatus st = select(kernel, source, true, p.bwd_values, p.bwd_indices, tiles); !st.ok) return st;
  return run(kernel, tiles);
}

KernelStatus Kernels::prune_output_grad(const ConvShape& s, std::uint64_t dy, std::uint32_t n, std::uint32_t m,
                                        std::uint64_t values, std::uint64_t indices) {
  const char* kernel = "prune_output_grad";
  if (KernelStatus st = shape_problem(kernel, s); !st.ok) return st;
  if (KernelStatus st = nm_problem(kernel, n, m); !st.ok) return st;
  const std::uint64_t rows = std::uint64_t{s.n} * s.oh() * s.ow();
  if (rows > UINT32_MAX) return failed("%s: %llu output positions are more than OSRE can be given", kernel, ull(rows));
  std::vector<Tile> tiles;
  if (KernelStatus st = select(kernel, {dy, u32(rows), s.cout, 2, n, m}, false, values, indices, tiles); !st.ok)
    return st;
  return run(kernel, tiles);
}

// --- Host work ------------------------------------------------------------------------------

// The kernels' host loops (rounding a split FP32 weight gradient to FP16, zeroing the pruned
// weights of a nested backward mask) cost one elementwise operation per element.
void Kernels::charge_host(std::uint64_t elements) {
  hal_.charge_host_time(static_cast<std::uint64_t>(static_cast<double>(elements) * boot_.host_cost.elementwise *
                                                   static_cast<double>(boot_.host_cycle_ps)));
}

std::string Kernels::fp32_to_fp16(std::uint64_t src, std::uint64_t dst, std::uint64_t count) {
  const std::uint64_t start = hal_.now_ps();
  if (mode_ != SatMode::timing) {
    const CostedHostWork costed(hal_);
    std::vector<float> sum(count);
    if (hal_.read_block(src, sum.data(), count * 4) != BusStatus::ok)
      return "reading the FP32 weight gradient from the DDR scratch failed (see the bus error above)";
    std::vector<std::uint16_t> half(count);
    std::transform(sum.begin(), sum.end(), half.begin(), float_to_half);
    if (hal_.write_block(dst, half.data(), count * 2) != BusStatus::ok)
      return "writing the FP16 weight gradient failed (see the bus error above)";
  }
  charge_host(count);
  time_.host_ps += hal_.now_ps() - start;
  return {};
}

// W (.) Mf: the FP32 master with the elements that the forward selection (p.fwd_indices, lines
// of Cin per (cout, tap)) dropped set to zero, written to dst.
std::string Kernels::mask_forward_pruned(const model::Param& p, std::uint32_t n, std::uint32_t m, std::uint64_t dst) {
  const std::uint64_t start = hal_.now_ps();
  if (mode_ != SatMode::timing) {
    const CostedHostWork costed(hal_);
    const NmLine line = model::fwd_line(p, n, m);
    const std::uint64_t lines = model::fwd_lines(p);
    std::vector<float> master(p.count), masked(p.count, 0.0f);
    std::vector<std::uint32_t> indices(lines * line.index_words());
    if (hal_.read_block(p.master, master.data(), master.size() * 4) != BusStatus::ok ||
        hal_.read_block(p.fwd_indices, indices.data(), indices.size() * 4) != BusStatus::ok)
      return "reading the master weights or the forward indices failed (see the bus error above)";
    for (std::uint64_t l = 0; l < lines; ++l) {
      const std::uint32_t* words = indices.data() + l * line.index_words();
      for (std::uint32_t e = 0; e < line.entries(); ++e) {
        const std::uint32_t group = e / n, length = std::min(m, p.cin - group * m);
        const std::uint32_t j = nm_index(words, e, line.index_bits());
        if (e % n >= std::min(n, length) || j >= length) continue;  // a pad entry, or a malformed index
        const std::uint64_t at = l * p.cin + line.position(e, j);
        masked[at] = master[at];
      }
    }
    if (hal_.write_block(dst, masked.data(), masked.size() * 4) != BusStatus::ok)
      return "writing the masked weights to the DDR scratch failed (see the bus error above)";
  }
  charge_host(p.count);
  time_.host_ps += hal_.now_ps() - start;
  return {};
}

// --- The double-buffered pipeline -----------------------------------------------------------

// Tile i runs on the engine while one DMA transfer (a chain when several) takes tile i-1's
// results out and brings tile i+1's operands in; the firmware then waits for both. The first
// tile's operands and the last tile's results move while nothing else runs.
KernelStatus Kernels::run(const char* kernel, const std::vector<Tile>& tiles) {
  if (tiles.empty()) return {};
  const std::vector<Placement> at = place(tiles);
  const std::size_t count = tiles.size();
  const auto problem = [&](std::size_t i, const char* doing, const std::string& what) {
    return failed("%s: tile %zu of %zu (%s): %s: %s", kernel, i + 1, count, tiles[i].what.c_str(), doing, what.c_str());
  };
  std::vector<DmaCopy> copies;
  add_copies(copies, tiles[0], at[0], true);
  if (const std::string p = transfer(copies); !p.empty()) return problem(0, "DMA of its operands", p);
  for (std::size_t i = 0; i < count; ++i) {
    start_job(tiles[i], at[i]);
    copies.clear();
    if (i > 0) add_copies(copies, tiles[i - 1], at[i - 1], false);
    if (i + 1 < count) add_copies(copies, tiles[i + 1], at[i + 1], true);
    const std::string started = start_copies(copies);
    const SatJobResult job = wait_job(tiles[i].engine);
    const std::string moved = started.empty() && !copies.empty() ? wait_copies() : started;
    if (!job.ok) return problem(i, to_string(tiles[i].engine), job.describe());
    if (!moved.empty())
      return problem(i, "DMA while it ran (the previous tile's results, the next tile's operands)", moved);
  }
  copies.clear();
  add_copies(copies, tiles.back(), at.back(), false);
  if (const std::string p = transfer(copies); !p.empty()) return problem(count - 1, "DMA of its results", p);
  return {};
}

void Kernels::start_job(const Tile& t, const Placement& at) {
  ++counts_.jobs;
  const auto relocate = [&](std::initializer_list<std::uint32_t*> addresses) {
    for (std::uint32_t* a : addresses) {
      const std::uint32_t b = sram_buffer(*a);
      *a = sram_address(static_cast<SramBuffer>(b), u32(at.slot[b] * slot_bytes_[b] + sram_offset(*a)));
    }
  };
  switch (t.engine) {
    case SatEngine::stce: {
      if (t.gemm.rows != 0) {
        StceGemm j = t.gemm;
        relocate({&j.a, &j.b, &j.c});
        count_slots(stce_shape(j));
        sat_.stce.start(j);
        break;
      }
      StceConv j = t.conv;
      relocate({&j.a, &j.a_idx, &j.b, &j.b_idx, &j.c});
      count_slots(stce_shape(j));
      sat_.stce.start(j);
      break;
    }
    case SatEngine::osre: {
      OsreJob j = t.osre;
      relocate({&j.src, &j.values, &j.indices});
      sat_.osre.start(j);
      break;
    }
    case SatEngine::wuve: {
      WuveJob j = t.wuve;
      relocate({&j.grad, &j.weight, &j.velocity, &j.out});
      sat_.wuve.start(j);
      break;
    }
  }
}

// docs/engines.md "Timing": ceil(ROWS / R) x ceil(COLS / C) folds of K_eff cycles on R x C uMACs.
void Kernels::count_slots(const StceShape& s) {
  if (!s.valid() || array_rows_ == 0 || array_cols_ == 0) return;  // the engine rejects the job
  const std::uint64_t k_eff = s.macs / (std::uint64_t{s.rows} * s.cols);
  const std::uint64_t rows = (s.rows + array_rows_ - 1) / array_rows_ * array_rows_;
  const std::uint64_t cols = (s.cols + array_cols_ - 1) / array_cols_ * array_cols_;
  counts_.stce_slots += rows * cols * k_eff;
}

SatJobResult Kernels::wait_job(SatEngine engine) {
  const std::uint64_t start = hal_.now_ps();
  SatJobResult r = sat_.engine(engine).wait();
  std::uint64_t* waited[3] = {&time_.stce_ps, &time_.osre_ps, &time_.wuve_ps};
  *waited[static_cast<unsigned>(engine)] += hal_.now_ps() - start;
  return r;
}

void Kernels::add_copies(std::vector<DmaCopy>& copies, const Tile& t, const Placement& at, bool in) const {
  const Region* sram[3] = {&boot_.sat_sram_a, &boot_.sat_sram_b, &boot_.sat_sram_c};
  for (unsigned b = 0; b < 3; ++b) {
    if (!(in ? at.load[b] : at.store[b])) continue;
    const std::uint64_t slot = sram[b]->base + at.slot[b] * slot_bytes_[b];
    for (const Block& k : in ? t.buffer[b].in : t.buffer[b].out) {
      assert(k.offset + k.rows * k.length <= slot_bytes_[b] && "the tiling overfilled a slot");
      const std::uint64_t near = slot + k.offset;
      DmaCopy c;
      c.src = in ? k.ddr : near, c.dst = in ? near : k.ddr;
      c.length = u32(k.length), c.rows = u32(k.rows);
      c.src_stride = u32(in ? k.stride : k.length), c.dst_stride = u32(in ? k.length : k.stride);
      copies.push_back(c);
    }
  }
}

std::string Kernels::start_copies(const std::vector<DmaCopy>& copies) {
  if (copies.empty()) return {};
  if (copies.size() == 1) {
    dma_.start(copies[0]);
    return {};
  }
  assert(copies.size() <= kMaxDescriptors);
  if (work() > scratch_ + scratch_bytes_)
    return "the kernels' DDR scratch (" + std::to_string(scratch_bytes_) + " B) cannot hold the DMA descriptors";
  std::uint8_t chain[kDescriptorBytes];
  const std::uint64_t first = descriptors();
  for (std::size_t i = 0; i < copies.size(); ++i) {
    const std::uint64_t next = i + 1 < copies.size() ? first + (i + 1) * regs::dma_desc::SIZE : 0;
    DmaDriver::encode(copies[i], next, chain + i * regs::dma_desc::SIZE);
  }
  if (hal_.write_block(first, chain, copies.size() * regs::dma_desc::SIZE) != BusStatus::ok)
    return "writing the DMA descriptors to the DDR scratch failed (see the bus error above)";
  dma_.start_chain(first);
  return {};
}

std::string Kernels::wait_copies() {
  const std::uint64_t start = hal_.now_ps();
  const DmaResult r = dma_.wait();
  time_.dma_ps += hal_.now_ps() - start;
  counts_.dma_bytes += r.bytes;
  return r.ok ? std::string() : r.describe();
}

std::string Kernels::transfer(const std::vector<DmaCopy>& copies) {
  const std::string started = start_copies(copies);
  return started.empty() && !copies.empty() ? wait_copies() : started;
}

}  // namespace cestvp::fw
