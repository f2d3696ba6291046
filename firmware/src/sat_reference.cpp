#include <cestvp/sat_reference.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace cestvp::fw {

// --- SRAM image -----------------------------------------------------------------------------

std::uint8_t* SramImage::at(std::uint32_t address, std::uint64_t bytes) {
  const std::uint32_t buffer = sram_buffer(address);
  if (buffer > 2) return nullptr;
  std::vector<std::uint8_t>& b = buffers_[buffer];
  const std::uint64_t end = std::uint64_t{sram_offset(address)} + bytes;
  if (end > b.size()) b.resize(end, 0);
  return b.data() + sram_offset(address);
}

float SramImage::f32(std::uint32_t address, std::uint64_t index) {
  float v;
  std::memcpy(&v, at(address, (index + 1) * 4) + index * 4, 4);
  return v;
}
void SramImage::set_f32(std::uint32_t address, std::uint64_t index, float value) {
  std::memcpy(at(address, (index + 1) * 4) + index * 4, &value, 4);
}
std::uint16_t SramImage::f16(std::uint32_t address, std::uint64_t index) {
  std::uint16_t v;
  std::memcpy(&v, at(address, (index + 1) * 2) + index * 2, 2);
  return v;
}
void SramImage::set_f16(std::uint32_t address, std::uint64_t index, std::uint16_t bits) {
  std::memcpy(at(address, (index + 1) * 2) + index * 2, &bits, 2);
}

// --- STCE -----------------------------------------------------------------------------------

namespace {

constexpr std::int64_t kNoLine = -1;

float load_half(const std::uint8_t* base, std::uint64_t index) {
  std::uint16_t bits;
  std::memcpy(&bits, base + index * 2, 2);
  return half_to_float(bits);
}

// An STCE job seen as C[rows][cols] (+)= A[rows][K] x B[K][cols], with element accessors.
struct GemmView {
  StceShape shape;
  Sparse sparse = Sparse::none;
  std::uint32_t n = 0, m = 0;
  bool accumulate = false, out_fp16 = false;
  std::function<float(std::uint32_t r, std::uint32_t k)> a;  // dense A, 0 in padding
  std::function<float(std::uint32_t k, std::uint32_t c)> b;  // dense B
  // The compressed line holding segment s of row r (A) or column c (B); kNoLine: none (reads
  // as padding entries, value 0 and index 0).
  std::function<std::int64_t(std::uint32_t owner, std::uint32_t s)> line_of;
  const std::uint8_t* values = nullptr;    // of the compressed operand
  const std::uint32_t* indices = nullptr;  // of the compressed operand
  std::uint8_t* c = nullptr;
};

// Pointers to every operand, after the image has grown to hold them all (growing may move a
// buffer, so no pointer is taken before the last growth).
struct OperandPointers {
  const std::uint8_t *a, *b;
  const std::uint32_t *a_idx, *b_idx;
  std::uint8_t* c;
};
template <typename Job>
OperandPointers operands(const Job& j, const StceShape& s, SramImage& sram) {
  sram.at(j.a, s.a_bytes), sram.at(j.b, s.b_bytes), sram.at(j.c, s.c_bytes);
  if (s.a_idx_bytes) sram.at(j.a_idx, s.a_idx_bytes);
  if (s.b_idx_bytes) sram.at(j.b_idx, s.b_idx_bytes);
  const auto words = [&](std::uint32_t addr, std::uint64_t bytes) {
    return bytes ? reinterpret_cast<const std::uint32_t*>(sram.at(addr, bytes)) : nullptr;
  };
  return {sram.at(j.a, s.a_bytes), sram.at(j.b, s.b_bytes), words(j.a_idx, s.a_idx_bytes),
          words(j.b_idx, s.b_idx_bytes), sram.at(j.c, s.c_bytes)};
}

// The uMAC order: per C element the accumulator starts at 0 (or C), then adds, in K order (a
// compressed operand: its entries in stored order), each exact FP32 product with one rounding.
// Pad entries (the last N - min(N, len) of a short tail group) are skipped, as is a compressed
// line that does not exist (dY~ at a padding position or stride gap of CONV_BWD_DATA): they
// contribute nothing, not even 0 x a (docs/engines.md, "N:M compressed form").
void multiply(const GemmView& v, std::vector<double>* bound) {
  const StceShape& s = v.shape;
  const bool sparse = v.sparse != Sparse::none;
  const NmLine line{s.segment, s.segment, v.n, v.m};
  const std::uint32_t entries = sparse ? line.entries() : 0;
  const std::uint32_t words = sparse ? line.index_words() : 0;
  const std::uint32_t bits = sparse ? line.index_bits() : 0;
  const std::uint32_t groups = sparse ? line.groups_per_segment() : 0;
  const std::uint32_t tail = sparse ? s.segment - (groups - 1) * v.m : 0;  // length of the last group
  const std::uint32_t tail_kept = std::min(v.n, tail);
  const std::uint32_t segments = s.depth / s.segment;
  if (bound) bound->assign(std::uint64_t{s.rows} * s.cols, 0.0);
  for (std::uint32_t r = 0; r < s.rows; ++r) {
    for (std::uint32_t c = 0; c < s.cols; ++c) {
      const std::uint64_t at = std::uint64_t{r} * s.cols + c;
      float acc = 0.0f;
      if (v.accumulate) {
        if (v.out_fp16) acc = load_half(v.c, at);
        else std::memcpy(&acc, v.c + at * 4, 4);
      }
      double magnitude = std::fabs(static_cast<double>(acc));
      const auto add = [&](float x, float y) {
        const float product = x * y;
        acc = acc + product;
        magnitude += std::fabs(static_cast<double>(product));
      };
      if (!sparse) {
        for (std::uint32_t k = 0; k < s.depth; ++k) add(v.a(r, k), v.b(k, c));
      } else {
        const std::uint32_t owner = v.sparse == Sparse::a ? r : c;
        for (std::uint32_t seg = 0; seg < segments; ++seg) {
          const std::int64_t l = v.line_of(owner, seg);
          if (l == kNoLine) continue;
          const std::uint32_t* idx = v.indices + std::uint64_t(l) * words;
          for (std::uint32_t e = 0; e < entries; ++e) {
            if (e / v.n == groups - 1 && e % v.n >= tail_kept) continue;  // pad entry
            const std::uint32_t pos = line.position(e, nm_index(idx, e, bits));
            // An index past the end of a short last group names no element: no contribution.
            if (pos >= s.segment) continue;
            const float value = load_half(v.values, std::uint64_t(l) * entries + e);
            const std::uint32_t k = seg * s.segment + pos;
            add(value, v.sparse == Sparse::a ? v.b(k, c) : v.a(r, k));
          }
        }
      }
      if (v.out_fp16) {
        const std::uint16_t h = float_to_half(acc);
        std::memcpy(v.c + at * 2, &h, 2);
      } else {
        std::memcpy(v.c + at * 4, &acc, 4);
      }
      if (bound) (*bound)[at] = s.depth * std::ldexp(magnitude, -23);
    }
  }
}

}  // namespace

void reference_stce(const StceGemm& j, SramImage& sram, std::vector<double>* bound) {
  GemmView v;
  v.shape = stce_shape(j);
  if (!v.shape.valid()) return;
  const OperandPointers p = operands(j, v.shape, sram);
  const std::uint32_t rows = j.rows, cols = j.cols, depth = j.depth, segments = depth / v.shape.segment;
  v.sparse = j.sparse, v.n = j.n, v.m = j.m, v.accumulate = j.accumulate, v.out_fp16 = j.out_fp16, v.c = p.c;
  v.a = [&, rows, depth](std::uint32_t r, std::uint32_t k) {
    return load_half(p.a, j.a_trans ? std::uint64_t{k} * rows + r : std::uint64_t{r} * depth + k);
  };
  v.b = [&, cols, depth](std::uint32_t k, std::uint32_t c) {
    return load_half(p.b, j.b_trans ? std::uint64_t{c} * depth + k : std::uint64_t{k} * cols + c);
  };
  v.line_of = [segments](std::uint32_t owner, std::uint32_t s) { return std::int64_t{owner} * segments + s; };
  v.values = j.sparse == Sparse::a ? p.a : p.b;
  v.indices = j.sparse == Sparse::a ? p.a_idx : p.b_idx;
  multiply(v, bound);
}

void reference_stce(const StceConv& j, SramImage& sram, std::vector<double>* bound) {
  GemmView v;
  v.shape = stce_shape(j);
  if (!v.shape.valid()) return;
  const OperandPointers p = operands(j, v.shape, sram);
  v.sparse = j.sparse, v.n = j.n, v.m = j.m, v.accumulate = j.accumulate, v.out_fp16 = j.out_fp16, v.c = p.c;
  v.values = j.sparse == Sparse::a ? p.a : p.b;
  v.indices = j.sparse == Sparse::a ? p.a_idx : p.b_idx;
  const std::int64_t H = j.h, W = j.w, OH = j.oh(), OW = j.ow(), S = j.stride, P = j.pad;
  const std::uint32_t KW = j.kw, taps = j.kh * j.kw, cin = j.cin, cout = j.cout;
  // X[n][ih][iw][ci], 0 in the padding.
  const std::uint8_t* x = j.op == ConvOp::fwd ? p.a : p.b;
  const auto x_at = [=](std::int64_t n, std::int64_t ih, std::int64_t iw, std::uint32_t ci) {
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0.0f;
    return load_half(x, static_cast<std::uint64_t>(((n * H + ih) * W + iw) * cin + ci));
  };
  // The dY pixel (n·OH + oh)·OW + ow that input pixel (n, ih, iw) reads at tap, or kNoLine.
  const auto bwd_pixel = [=](std::uint32_t r, std::uint32_t tap) -> std::int64_t {
    const std::int64_t n = r / (H * W), ih = r / W % H, iw = r % W;
    const std::int64_t th = ih + P - tap / KW, tw = iw + P - tap % KW;
    if (th < 0 || tw < 0 || th % S != 0 || tw % S != 0 || th / S >= OH || tw / S >= OW) return kNoLine;
    return (n * OH + th / S) * OW + tw / S;
  };
  switch (j.op) {
    case ConvOp::fwd:  // rows (n, oh, ow), cols cout, K (kh, kw, cin)
      v.a = [=](std::uint32_t r, std::uint32_t k) {
        const std::int64_t n = r / (OH * OW), oh = r / OW % OH, ow = r % OW, tap = k / cin;
        return x_at(n, oh * S + tap / KW - P, ow * S + tap % KW - P, k % cin);
      };
      v.b = [&, taps, cin](std::uint32_t k, std::uint32_t c) { return load_half(p.b, std::uint64_t{c} * taps * cin + k); };
      v.line_of = [taps](std::uint32_t c, std::uint32_t s) { return std::int64_t{c} * taps + s; };
      break;
    case ConvOp::bwd_data:  // rows (n, ih, iw), cols cin, K (kh, kw, cout)
      v.a = [&, bwd_pixel, cout](std::uint32_t r, std::uint32_t k) {
        const std::int64_t pixel = bwd_pixel(r, k / cout);
        return pixel == kNoLine ? 0.0f : load_half(p.a, static_cast<std::uint64_t>(pixel) * cout + k % cout);
      };
      v.b = [&, taps, cin, cout](std::uint32_t k, std::uint32_t ci) {
        return load_half(p.b, (std::uint64_t{k % cout} * taps + k / cout) * cin + ci);
      };
      if (j.sparse == Sparse::a) v.line_of = bwd_pixel;
      else v.line_of = [cin](std::uint32_t ci, std::uint32_t tap) { return std::int64_t{tap} * cin + ci; };
      break;
    case ConvOp::bwd_weight:  // rows cout, cols (kh, kw, cin), K (n, oh, ow)
      v.a = [&, cout](std::uint32_t co, std::uint32_t k) { return load_half(p.a, std::uint64_t{k} * cout + co); };
      v.b = [=](std::uint32_t k, std::uint32_t c) {
        const std::int64_t n = k / (OH * OW), oh = k / OW % OH, ow = k % OW, tap = c / cin;
        return x_at(n, oh * S + tap / KW - P, ow * S + tap % KW - P, c % cin);
      };
      v.line_of = [](std::uint32_t, std::uint32_t) { return kNoLine; };
      break;
  }
  multiply(v, bound);
}

// --- OSRE -----------------------------------------------------------------------------------

bool nm_compress(const std::uint8_t* src, bool src_fp32, std::uint32_t rows, std::uint32_t cols, bool backward,
                 std::uint32_t n, std::uint32_t m, std::uint8_t* values, std::uint32_t* indices) {
  const std::uint32_t lines = backward ? cols : rows, length = backward ? rows : cols;
  const NmLine line{length, length, n, m};
  const std::uint32_t entries = line.entries(), words = line.index_words(), bits = line.index_bits();
  std::vector<float> key(m);
  std::vector<std::uint16_t> bits16(m);
  std::vector<bool> kept(m);
  bool nan = false;
  for (std::uint32_t l = 0; l < lines; ++l) {
    std::uint32_t* index_words = indices + std::uint64_t{l} * words;
    std::fill(index_words, index_words + words, 0u);
    std::uint8_t* out = values + std::uint64_t{l} * entries * 2;
    std::uint32_t e = 0;
    const auto put = [&](std::uint16_t value, std::uint32_t index) {
      std::memcpy(out + std::uint64_t{e} * 2, &value, 2);
      nm_set_index(index_words, e++, bits, index);
    };
    for (std::uint32_t g0 = 0; g0 < length; g0 += m) {
      const std::uint32_t len = std::min(m, length - g0);
      for (std::uint32_t j = 0; j < len; ++j) {
        const std::uint64_t i = backward ? std::uint64_t{g0 + j} * cols + l : std::uint64_t{l} * cols + g0 + j;
        float x;
        if (src_fp32) {
          std::memcpy(&x, src + i * 4, 4);
          bits16[j] = float_to_half(x);
        } else {
          std::memcpy(&bits16[j], src + i * 2, 2);
          x = half_to_float(bits16[j]);
        }
        nan = nan || std::isnan(x);
        key[j] = std::isnan(x) ? INFINITY : std::fabs(x);  // |NaN| ranks as +inf
        kept[j] = false;
      }
      // Top n: the largest remaining key each time, the lowest index among equals.
      for (std::uint32_t t = 0; t < std::min(n, len); ++t) {
        std::uint32_t best = len;
        for (std::uint32_t j = 0; j < len; ++j)
          if (!kept[j] && (best == len || key[j] > key[best])) best = j;
        kept[best] = true;
      }
      for (std::uint32_t j = 0; j < len; ++j)
        if (kept[j]) put(bits16[j], j);
      for (std::uint32_t pad = std::min(n, len); pad < n; ++pad) put(0, 0);  // short tail
    }
  }
  return !nan;
}

bool reference_osre(const OsreJob& j, SramImage& sram) {
  sram.at(j.src, j.src_bytes()), sram.at(j.values, j.values_bytes()), sram.at(j.indices, j.index_bytes());
  return nm_compress(sram.at(j.src, j.src_bytes()), j.src_fp32, j.rows, j.cols, j.backward, j.n, j.m,
                     sram.at(j.values, j.values_bytes()),
                     reinterpret_cast<std::uint32_t*>(sram.at(j.indices, j.index_bytes())));
}

// --- WUVE -----------------------------------------------------------------------------------

void reference_wuve(const WuveJob& j, SramImage& sram) {
  for (std::uint32_t i = 0; i < j.count; ++i) {
    float g = half_to_float(sram.f16(j.grad, i)) * j.grad_scale;
    float w = sram.f32(j.weight, i), v = sram.f32(j.velocity, i);
    g = g + j.weight_decay * w;
    v = j.momentum * v + g;
    w = w - j.lr * v;
    sram.set_f32(j.weight, i, w);
    sram.set_f32(j.velocity, i, v);
    if (j.write_fp16) sram.set_f16(j.out, i, float_to_half(w));
  }
}

}  // namespace cestvp::fw
