// The checks of read_descriptor, in the order they run:
//   header     magic and major version; at most kMaxTableEntries entries per table, each table
//              inside DDR; scheme, learning-rate schedule and backward mask known; batch and
//              iterations not 0; 1 <= N <= M <= 32.
//   tensors    FP16, N = batch, H, W and C not 0; values and gradient inside DDR.
//   params     count = Cout x taps x Cin, not 0; the master and every other buffer given inside
//              DDR; a compressed form has values and indices, its lines at most 2^24 long.
//   layers     kind known; every tensor and param index in range; every tensor's shape what
//              the kind makes of its input (a conv2d's output from its kernel, stride and
//              padding, an attention's probabilities [N][heads][T][T], ...) and every param's
//              count what the kind reads of it; the params a layer trains have a momentum and a
//              gradient; a sparse layer under SR-STE or BDWP has its weight's compressed forms;
//              a view (flatten, tokens) shares its input's bytes, and one layer in all reads it.
//   data       the input tensor holds the images (1 to 4 channels: the header has 4 means and
//              standard deviations), the logits 1 to 256 classes (labels are bytes); at least
//              one batch of training samples (an epoch's order is cut to whole batches); images,
//              labels and scratch inside DDR. Every order_seed is valid.
//   results    the result area inside DDR holds the records of every iteration, at least one
//              evaluation, and the profile table if it has one.
//   snapshots  the snapshot area inside DDR holds snapshot_capacity snapshots of at least what
//              one copies, and each param's part of a snapshot fits one DMA transfer.
// Sizes are computed without wrapping: a product that does not fit 64 bits fits nowhere. What
// only the data can tell (a sample index, a label) the runtime checks where it reads it.
#include <cestvp/descriptor.h>

#include <cstdio>
#include <utility>

namespace cestvp::fw::model {

namespace {

// A check that failed; read_descriptor returns its message.
struct Problem {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw Problem{std::move(message)}; }

constexpr std::uint64_t kTooLarge = UINT64_MAX;  // a product that does not fit 64 bits

std::uint64_t times(std::uint64_t a, std::uint64_t b) { return a != 0 && b > kTooLarge / a ? kTooLarge : a * b; }
std::uint64_t times(std::uint64_t a, std::uint64_t b, std::uint64_t c) { return times(times(a, b), c); }

// [addr, addr + bytes) inside [base, base + size).
bool within(std::uint64_t base, std::uint64_t size, std::uint64_t addr, std::uint64_t bytes) {
  return addr >= base && addr - base <= size && bytes <= size - (addr - base);
}

// OSRE's longest line (ROWS, COLS; docs/engines.md); it also keeps NmLine's 32-bit arithmetic
// from wrapping.
constexpr std::uint32_t kMaxNmLine = 1u << 24;
constexpr std::uint32_t kMaxM = 32;  // NM_SUPPORT has one bit per M = 2^k
// The STCE's job fields (yaml/regmap.yaml): KH, KW, STRIDE and PAD have 8 bits, H and W 16.
constexpr std::uint32_t kMaxKernelField = 255, kMaxConvSize = 65535;
constexpr std::uint32_t kMaxChannels = 4;  // Header::mean and stdev
constexpr std::uint32_t kMaxClasses = 256;  // labels are bytes

std::string str(std::uint64_t v) { return std::to_string(v); }

std::string hex(std::uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

std::string dims(std::uint64_t h, std::uint64_t w, std::uint64_t c) { return str(h) + "x" + str(w) + "x" + str(c); }
std::string dims(const Tensor& t) { return "[" + str(t.n) + "][" + str(t.h) + "][" + str(t.w) + "][" + str(t.c) + "]"; }

class Reader {
 public:
  Reader(Hal& hal, const Region& ddr, Descriptor& d) : hal_(hal), ddr_(ddr), d_(d), h_(d.header) {}

  void read(std::uint64_t addr) {
    fetch("the model descriptor header", addr, &h_, 1);
    if (h_.magic != kMagic) fail("no model descriptor at DDR " + hex(addr) + " (magic)");
    if (h_.version_major != kVersionMajor)
      fail("model descriptor version " + str(h_.version_major) + "." + str(h_.version_minor) + ", this firmware reads " +
           str(kVersionMajor) + ".x");
    table("tensor", h_.tensors, h_.tensor_count, d_.tensors);
    table("param", h_.params, h_.param_count, d_.params);
    table("layer", h_.layers, h_.layer_count, d_.layers);
    check_training();
    for (std::uint32_t t = 0; t < d_.tensors.size(); ++t) check_tensor(t);
    for (std::uint32_t p = 0; p < d_.params.size(); ++p) check_param(p);
    for (std::uint32_t l = 0; l < d_.layers.size(); ++l) check_layer(l);
    count_consumers();
    check_data();
    check_results();
    check_snapshots();
  }

 private:
  void area(const std::string& what, std::uint64_t addr, std::uint64_t bytes) const {
    if (!within(ddr_.base, ddr_.size, addr, bytes))
      fail(what + " at DDR " + hex(addr) + " (" + (bytes == kTooLarge ? "more than 2^64" : str(bytes)) +
           " B) is not inside DDR (" + hex(ddr_.base) + ", " + str(ddr_.size) + " B)");
  }

  template <typename T>
  void fetch(const std::string& what, std::uint64_t addr, T* dst, std::size_t count) {
    area(what, addr, count * sizeof(T));
    const BusStatus s = hal_.read_block(addr, dst, count * sizeof(T));
    if (s != BusStatus::ok) fail("reading " + what + " at DDR " + hex(addr) + ": " + to_string(s));
  }

  template <typename T>
  void table(const std::string& name, std::uint64_t addr, std::uint32_t count, std::vector<T>& out) {
    if (count > kMaxTableEntries)
      fail("the model descriptor has " + str(count) + " " + name + "s; this firmware reads at most " +
           str(kMaxTableEntries));
    out.resize(count);
    if (count) fetch("the " + name + " table", addr, out.data(), count);
  }

  void check_training() const {
    if (h_.scheme > static_cast<std::uint32_t>(Scheme::bdwp)) fail("unknown scheme " + str(h_.scheme));
    if (h_.lr_schedule > static_cast<std::uint32_t>(LrSchedule::step))
      fail("unknown learning-rate schedule " + str(h_.lr_schedule));
    if (h_.bwd_mask > static_cast<std::uint32_t>(BwdMask::nested)) fail("unknown BDWP backward mask " + str(h_.bwd_mask));
    if (h_.batch == 0 || h_.iterations == 0) fail("the descriptor asks for no training (batch or iterations 0)");
    if (h_.n == 0 || h_.n > h_.m || h_.m > kMaxM)
      fail("N:M " + str(h_.n) + ":" + str(h_.m) + " is not 1 <= N <= M <= " + str(kMaxM));
  }

  void check_tensor(std::uint32_t i) const {
    const Tensor& t = d_.tensors[i];
    const std::string name = "descriptor tensor " + str(i);
    if (t.dtype != static_cast<std::uint32_t>(DType::fp16)) fail(name + ": dtype " + str(t.dtype) + ", not FP16");
    if (t.n != h_.batch || t.h == 0 || t.w == 0 || t.c == 0)
      fail(name + ": shape " + dims(t) + ", expected [batch = " + str(h_.batch) + "][H][W][C], none 0");
    const std::uint64_t bytes = times(times(t.n, t.h, t.w), t.c, 2);
    area(name + " values", t.addr, bytes);
    if (t.grad_addr) area(name + " gradient", t.grad_addr, bytes);
  }

  void check_param(std::uint32_t i) const {
    const Param& p = d_.params[i];
    const std::string name = "descriptor param " + str(i);
    if (p.count == 0 || p.count != times(p.cout, p.taps, p.cin))
      fail(name + ": count " + str(p.count) + ", expected Cout x taps x Cin = " + dims(p.cout, p.taps, p.cin) +
           ", not 0");
    if (!p.master) fail(name + ": no master values");
    area(name + " master", p.master, times(p.count, 4));
    if (p.momentum) area(name + " momentum", p.momentum, times(p.count, 4));
    if (p.grad) area(name + " gradient", p.grad, times(p.count, 2));
    if (p.fp16) area(name + " FP16 copy", p.fp16, times(p.count, 2));
    form(name + " forward", p.fwd_values, p.fwd_indices, p.cin, fwd_lines(p), fwd_line(p, h_.n, h_.m));
    form(name + " backward", p.bwd_values, p.bwd_indices, p.cout, bwd_lines(p), bwd_line(p, h_.n, h_.m));
  }

  // A compressed form: none, or values and indices of `lines` lines.
  void form(const std::string& name, std::uint64_t values, std::uint64_t indices, std::uint32_t length,
            std::uint64_t lines, NmLine line) const {
    if (!values && !indices) return;
    if (!values || !indices) fail(name + " compressed form: values or indices missing");
    if (length > kMaxNmLine) fail(name + " compressed form: lines of " + str(length) + ", at most " + str(kMaxNmLine));
    area(name + " compressed values", values, values_bytes(lines, line));
    area(name + " compressed indices", indices, index_bytes(lines, line));
  }

  const Tensor& tensor(std::uint32_t index, const std::string& owner, const char* role) const {
    if (index >= d_.tensors.size())
      fail(owner + ": " + role + " tensor " + (index == kNone ? "none" : str(index)) + ", expected one of the " +
           str(d_.tensors.size()) + " tensors");
    return d_.tensors[index];
  }

  // A param of `owner`; one it trains has a momentum and a gradient.
  const Param& param(std::uint32_t index, const std::string& owner, const char* role, bool trained) const {
    if (index >= d_.params.size())
      fail(owner + ": " + role + " param " + (index == kNone ? "none" : str(index)) + ", expected one of the " +
           str(d_.params.size()) + " params");
    const Param& p = d_.params[index];
    if (trained && (!p.momentum || !p.grad)) fail(owner + ": " + role + " param " + str(index) + " has no momentum or gradient");
    return p;
  }

  // `owner` reads `count` values of p.
  void values(const Param& p, const std::string& owner, const char* role, std::uint64_t count) const {
    if (p.count != count) fail(owner + ": " + role + " param has " + str(p.count) + " values, expected " + str(count));
  }

  void shape(const Tensor& t, const std::string& owner, const char* role, std::uint64_t h, std::uint64_t w,
             std::uint64_t c) const {
    if (t.h != h || t.w != w || t.c != c) fail(owner + ": " + role + " " + dims(t) + ", expected [N][" + str(h) + "][" + str(w) + "][" + str(c) + "]");
  }

  void check_layer(std::uint32_t i) const {
    const Layer& l = d_.layers[i];
    const auto kind = static_cast<LayerKind>(l.kind);
    if (!known(kind)) fail("descriptor layer " + str(i) + ": unknown kind " + str(l.kind));
    const LayerType& type = layer_type(kind);
    const std::string name = "descriptor layer " + str(i) + " (" + type.name + ")";
    const Tensor& in = tensor(l.in, name, "input");
    if (type.params == LayerParams::none && (l.weight != kNone || l.bias != kNone))
      fail(name + ": has params, which its kind does not train");
    if (!type.second_input && l.in2 != kNone) fail(name + ": has a second input, which only add reads");
    if (!type.output) return shape(in, name, "input (the logits)", 1, 1, h_.classes);
    const Tensor& out = tensor(l.out, name, "output");
    switch (kind) {
      case LayerKind::conv2d:
      case LayerKind::linear: return check_matmul(l, name, in, out);
      case LayerKind::batchnorm:
        values(param(l.a, name, "running statistics", false), name, "running statistics", times(in.c, 2));
        [[fallthrough]];
      case LayerKind::layernorm:
        values(param(l.weight, name, "gamma", true), name, "gamma", in.c);
        values(param(l.bias, name, "beta", true), name, "beta", in.c);
        return shape(out, name, "output", in.h, in.w, in.c);
      case LayerKind::relu:
      case LayerKind::gelu: return shape(out, name, "output", in.h, in.w, in.c);
      case LayerKind::add:
        shape(tensor(l.in2, name, "second input"), name, "second input", in.h, in.w, in.c);
        return shape(out, name, "output", in.h, in.w, in.c);
      case LayerKind::maxpool:
      case LayerKind::avgpool: {
        const std::uint32_t oh = conv_out(in.h, l.a, l.c, 0), ow = conv_out(in.w, l.a, l.c, 0);
        if (l.a == 0 || oh == 0 || ow == 0)
          fail(name + ": window " + str(l.a) + ", stride " + str(l.c) + " does not fit its input " + dims(in));
        return shape(out, name, "output", oh, ow, in.c);
      }
      case LayerKind::flatten: return check_view(name, in, out, 1, 1, times(in.h, in.w, in.c));
      case LayerKind::tokens: return check_view(name, in, out, 1, times(in.h, in.w), in.c);
      case LayerKind::embed:
        token_sequence(name, in);
        values(param(l.weight, name, "position embeddings", true), name, "position embeddings",
               times(in.w + std::uint64_t{1}, in.c));
        values(param(l.bias, name, "class token", true), name, "class token", in.c);
        return shape(out, name, "output", 1, in.w + std::uint64_t{1}, in.c);
      case LayerKind::cls_token: token_sequence(name, in); return shape(out, name, "output", 1, 1, in.c);
      case LayerKind::attention: {
        token_sequence(name, in);
        const std::uint64_t heads = l.a;
        if (heads == 0 || in.c % (3 * heads) != 0)
          fail(name + ": " + str(heads) + " heads do not divide q, k and v of its " + str(in.c) + " input features");
        const Tensor& probs = tensor(l.b, name, "probabilities");
        shape(probs, name, "probabilities", heads, in.w, in.w);
        if (!probs.grad_addr) fail(name + ": its probabilities tensor has no gradient");
        return shape(out, name, "output", 1, in.w, in.c / 3);
      }
      case LayerKind::softmax_ce: break;
    }
  }

  // conv2d, and linear as a 1x1 convolution (on a flattened input, or per token).
  void check_matmul(const Layer& l, const std::string& name, const Tensor& in, const Tensor& out) const {
    std::uint32_t kh = 1, kw = 1, stride = 1, pad = 0;
    if (static_cast<LayerKind>(l.kind) == LayerKind::conv2d) {
      kh = l.a, kw = l.b, stride = l.c, pad = l.d;
      if (kh == 0 || kw == 0 || stride == 0 || kh > kMaxKernelField || kw > kMaxKernelField ||
          stride > kMaxKernelField || pad > kMaxKernelField || in.h > kMaxConvSize || in.w > kMaxConvSize)
        fail(name + ": kernel " + str(kh) + "x" + str(kw) + ", stride " + str(stride) + ", padding " + str(pad) +
             " on a " + str(in.h) + "x" + str(in.w) + " input, expected what an STCE job holds (kernel 1 to " +
             str(kMaxKernelField) + ", input 1 to " + str(kMaxConvSize) + ")");
    }
    const std::uint32_t oh = conv_out(in.h, kh, stride, pad), ow = conv_out(in.w, kw, stride, pad);
    if (oh == 0 || ow == 0) fail(name + ": its kernel is larger than its padded input " + dims(in));
    const Param& w = param(l.weight, name, "weight", true);
    if (w.cin != in.c || w.taps != kh * kw)
      fail(name + ": weight Cout x taps x Cin " + dims(w.cout, w.taps, w.cin) + ", expected taps " + str(kh * kw) +
           " and Cin " + str(in.c));
    if (!w.fp16) fail(name + ": its weight has no FP16 copy for the engines");
    shape(out, name, "output", oh, ow, w.cout);
    if (l.bias != kNone) values(param(l.bias, name, "bias", true), name, "bias", w.cout);
    const auto scheme = static_cast<Scheme>(h_.scheme);
    if (!(l.flags & kLayerSparse) || (scheme != Scheme::srste && scheme != Scheme::bdwp)) return;
    if (!w.fwd_values || (scheme == Scheme::bdwp && !w.bwd_values))
      fail(name + ": a sparse layer under " + (scheme == Scheme::bdwp ? "BDWP" : "SR-STE") +
           " without its weight's compressed forms");
  }

  void token_sequence(const std::string& name, const Tensor& in) const {
    if (in.h != 1) fail(name + ": input " + dims(in) + ", expected a token sequence [N][1][T][D]");
  }

  void check_view(const std::string& name, const Tensor& in, const Tensor& out, std::uint64_t h, std::uint64_t w,
                  std::uint64_t c) const {
    shape(out, name, "output", h, w, c);
    if (out.addr != in.addr || out.grad_addr != in.grad_addr)
      fail(name + ": its output is not a view of its input (the same values and gradient)");
  }

  // A view's output shares its input's bytes, so both name one gradient: its readers count as
  // readers of the view's input.
  void count_consumers() {
    const std::uint32_t count = static_cast<std::uint32_t>(d_.tensors.size());
    std::vector<std::uint32_t> alias(count);
    for (std::uint32_t t = 0; t < count; ++t) alias[t] = t;
    d_.consumers.assign(count, 0);
    const auto is_view = [](const Layer& l) { return layer_type(static_cast<LayerKind>(l.kind)).view; };
    for (const Layer& l : d_.layers) {
      if (is_view(l)) {
        alias[l.out] = alias[l.in];
        continue;
      }
      for (std::uint32_t t : {l.in, l.in2})
        if (t != kNone) ++d_.consumers[alias[t]];
    }
    for (std::uint32_t i = 0; i < d_.layers.size(); ++i)
      if (is_view(d_.layers[i]) && d_.consumers[alias[d_.layers[i].in]] > 1)
        fail("layer " + str(i) + " reshapes a tensor other layers also read");
    for (std::uint32_t t = 0; t < count; ++t) d_.consumers[t] = d_.consumers[alias[t]];
  }

  void check_data() const {
    if (h_.image_c == 0 || h_.image_c > kMaxChannels)
      fail("images of " + str(h_.image_c) + " channels, expected 1 to " + str(kMaxChannels));
    shape(tensor(h_.input_tensor, "the descriptor", "input"), "the descriptor", "input tensor", h_.image_h, h_.image_w,
          h_.image_c);
    if (h_.classes == 0 || h_.classes > kMaxClasses) fail(str(h_.classes) + " classes, expected 1 to " + str(kMaxClasses));
    if (h_.train_count < h_.batch)
      fail("the descriptor has " + str(h_.train_count) + " training samples, fewer than one batch of " + str(h_.batch));
    const std::uint64_t pixels = times(h_.image_h, h_.image_w, h_.image_c);
    area("the training images", h_.train_images, times(h_.train_count, pixels));
    area("the training labels", h_.train_labels, h_.train_count);
    if (h_.test_count) {
      area("the test images", h_.test_images, times(h_.test_count, pixels));
      area("the test labels", h_.test_labels, h_.test_count);
    }
    area("the scratch area", h_.scratch, h_.scratch_bytes);
  }

  void check_results() {
    area("the result area", h_.result, h_.result_bytes);
    if (h_.result_bytes < sizeof(ResultHeader)) fail("the result area has no room for its header");
    fetch("the result header", h_.result, &d_.result, 1);
    const ResultHeader& r = d_.result;
    const auto holds = [&](std::uint64_t addr, std::uint64_t bytes) { return within(h_.result, h_.result_bytes, addr, bytes); };
    if (r.iteration_capacity < h_.iterations || r.eval_capacity == 0 ||
        !holds(r.iteration_records, times(r.iteration_capacity, sizeof(IterationRecord))) ||
        !holds(r.eval_records, times(r.eval_capacity, sizeof(EvalRecord))))
      fail("the descriptor's result area does not hold the records of its iterations and evaluations");
    if (r.profile && r.profile_rows == h_.layer_count + 1 &&
        !holds(r.profile, times(r.profile_rows, kPassCount, sizeof(ProfileRecord))))
      fail("the descriptor's result area does not hold its profile table");
  }

  void check_snapshots() const {
    if (!h_.snapshots) return;
    std::uint64_t one = 0;  // bytes of one snapshot; each param's part is below 2^32
    for (std::uint32_t i = 0; i < d_.params.size(); ++i) {
      const std::uint64_t bytes = param_snapshot_bytes(d_.params[i], h_.n, h_.m);
      if (bytes > UINT32_MAX)
        fail("descriptor param " + str(i) + ": " + str(bytes) + " B per snapshot, more than one DMA transfer moves");
      one += bytes;
    }
    if (h_.snapshot_bytes < one)
      fail("snapshots of " + str(h_.snapshot_bytes) + " B, but one copies " + str(one) + " B");
    area("the snapshot area", h_.snapshots, times(h_.snapshot_bytes, h_.snapshot_capacity));
  }

  Hal& hal_;
  const Region& ddr_;
  Descriptor& d_;
  Header& h_;
};

}  // namespace

std::string read_descriptor(Hal& hal, std::uint64_t addr, const Region& ddr, Descriptor& out) {
  try {
    Reader(hal, ddr, out).read(addr);
    return "";
  } catch (const Problem& p) {
    return p.message;
  }
}

}  // namespace cestvp::fw::model
