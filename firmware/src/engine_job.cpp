#include <cestvp/engine_job.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <vector>

#include <cestvp/check_harness.h>
#include <cestvp/dma_driver.h>
#include <cestvp/irq.h>
#include <cestvp/sat_reference.h>

#include "engine_operands.h"

namespace cestvp::fw {

const char* to_string(JobPass pass) {
  switch (pass) {
    case JobPass::ff: return "ff";
    case JobPass::bp: return "bp";
    case JobPass::wu: return "wu";
  }
  return "?";
}

namespace {

const char* const kBufferNames[3] = {"A", "B", "C"};

unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

class Placer {
 public:
  explicit Placer(EngineJobPlan& plan) : plan_(plan) {}
  // Places `bytes` in `buffer` after what is there; `what` names it for messages.
  std::uint32_t place(SramBuffer buffer, std::uint64_t bytes, const std::string& what) {
    const unsigned b = static_cast<unsigned>(buffer);
    const std::uint64_t offset = next_operand_offset(plan_.sram_bytes[b]);
    plan_.sram_bytes[b] = offset + bytes;
    if (!plan_.contents[b].empty()) plan_.contents[b] += ", ";
    plan_.contents[b] += what + " " + std::to_string(bytes) + " B";
    return sram_address(buffer, static_cast<std::uint32_t>(std::min<std::uint64_t>(offset, kSramOffsetMask)));
  }

 private:
  EngineJobPlan& plan_;
};

std::string dims(std::initializer_list<std::uint64_t> ds) {
  std::string s;
  for (std::uint64_t d : ds) s += "[" + std::to_string(d) + "]";
  return s;
}

// STCE operands: A, then B (values and indices if compressed), then C.
template <class Job>
void place_stce(EngineJobPlan& plan, Job& job, const std::string& a, const std::string& b, const std::string& c) {
  const StceShape s = stce_shape(job);
  if (!s.valid()) {
    plan.problem = "the shape is outside what the engine accepts (a dimension 0 or too large, or no output pixel)";
    return;
  }
  Placer p(plan);
  job.a = p.place(SramBuffer::a, s.a_bytes, "A = " + a);
  if (job.sparse == Sparse::b) {
    job.b = p.place(SramBuffer::b, s.b_bytes, "B = " + b + " compressed values");
    job.b_idx = p.place(SramBuffer::b, s.b_idx_bytes, "B indices");
  } else {
    job.b = p.place(SramBuffer::b, s.b_bytes, "B = " + b);
  }
  job.c = p.place(SramBuffer::c, s.c_bytes, "C = " + c);
}

}  // namespace

EngineJobPlan plan_engine_job(const EngineJobSpec& spec) {
  EngineJobPlan plan;
  const bool sparse = spec.n != 0;
  switch (spec.engine) {
    case SatEngine::stce: {
      if (sparse && spec.pass == JobPass::wu) {
        plan.problem = "--nm is not allowed with --pass wu: a weight-gradient job has no compressed operand";
        return plan;
      }
      OsreJob& w = plan.osre;  // how OSRE would compress the dense weights into B's lines
      w.n = spec.n, w.m = spec.m;
      if (!spec.conv) {
        StceGemm& g = plan.gemm;
        g.rows = spec.rows, g.cols = spec.cols, g.depth = spec.depth;
        const std::uint32_t M = spec.rows, N = spec.cols, K = spec.depth;
        if (sparse) g.sparse = Sparse::b, g.n = spec.n, g.m = spec.m;
        switch (spec.pass) {
          case JobPass::ff:  // Y[M][N] = X[M][K] W[N][K]^T
            g.b_trans = !sparse;
            w.rows = N, w.cols = K;
            place_stce(plan, g, "X" + dims({M, K}), "W" + dims({N, K}), "Y" + dims({M, N}) + " FP32");
            break;
          case JobPass::bp:  // dX[M][N] = dY[M][K] W[K][N]
            w.backward = true, w.rows = K, w.cols = N;
            place_stce(plan, g, "dY" + dims({M, K}), "W" + dims({K, N}), "dX" + dims({M, N}) + " FP32");
            break;
          case JobPass::wu:  // dW[M][N] = dY[K][M]^T X[K][N]
            g.a_trans = true;
            place_stce(plan, g, "dY" + dims({K, M}), "X" + dims({K, N}), "dW" + dims({M, N}) + " FP32");
            break;
        }
      } else {
        StceConv& c = plan.conv;
        c.op = spec.pass == JobPass::ff ? ConvOp::fwd : spec.pass == JobPass::bp ? ConvOp::bwd_data : ConvOp::bwd_weight;
        c.batch = spec.batch, c.h = spec.h, c.w = spec.w, c.cin = spec.cin, c.cout = spec.cout;
        c.kh = c.kw = spec.kernel, c.stride = spec.stride, c.pad = spec.pad;
        if (sparse) c.sparse = Sparse::b, c.n = spec.n, c.m = spec.m;
        const std::uint64_t B = c.batch, H = c.h, W = c.w, OH = c.oh(), OW = c.ow(), K = c.kh;
        const std::string x = "X" + dims({B, H, W, c.cin}), y = dims({B, OH, OW, c.cout}),
                          wt = "W" + dims({c.cout, K, K, c.cin});
        switch (c.op) {
          case ConvOp::fwd:
            w.rows = c.cout * c.kh * c.kw, w.cols = c.cin;
            place_stce(plan, c, x, wt, "Y" + y + " FP32");
            break;
          case ConvOp::bwd_data:
            w.backward = true, w.rows = c.cout, w.cols = c.kh * c.kw * c.cin;
            place_stce(plan, c, "dY" + y, wt, "dX" + dims({B, H, W, c.cin}) + " FP32");
            break;
          case ConvOp::bwd_weight:
            place_stce(plan, c, "dY" + y, x, "dW" + dims({c.cout, K, K, c.cin}) + " FP32");
            break;
        }
      }
      if (sparse) {
        w.values = spec.conv ? plan.conv.b : plan.gemm.b;
        w.indices = spec.conv ? plan.conv.b_idx : plan.gemm.b_idx;
      }
      break;
    }
    case SatEngine::osre: {
      OsreJob& o = plan.osre;
      o.backward = spec.backward, o.src_fp32 = spec.src_fp32, o.n = spec.n, o.m = spec.m;
      o.rows = spec.rows, o.cols = spec.cols;
      if (o.rows == 0 || o.cols == 0 || o.m == 0) {
        plan.problem = "OSRE needs --rows, --cols and --nm";
        return plan;
      }
      Placer p(plan);
      o.src = p.place(SramBuffer::a, o.src_bytes(),
                      "source" + dims({o.rows, o.cols}) + (o.src_fp32 ? " FP32" : " FP16"));
      o.values = p.place(SramBuffer::b, o.values_bytes(), "values");
      o.indices = p.place(SramBuffer::b, o.index_bytes(), "indices");
      break;
    }
    case SatEngine::wuve: {
      WuveJob& w = plan.wuve;
      w.lr = 0.01f, w.momentum = 0.9f, w.weight_decay = 5e-4f, w.grad_scale = 1.0f, w.write_fp16 = true;
      w.count = spec.count;
      if (w.count == 0) {
        plan.problem = "WUVE needs --count";
        return plan;
      }
      const std::uint64_t n = w.count;
      Placer p(plan);
      w.grad = p.place(SramBuffer::a, n * 2, "gradients FP16");
      w.out = p.place(SramBuffer::a, n * 2, "weights FP16 copy");
      w.weight = p.place(SramBuffer::b, n * 4, "weights FP32");
      w.velocity = p.place(SramBuffer::c, n * 4, "velocity FP32");
      break;
    }
  }
  return plan;
}

std::string EngineJobPlan::describe() const {
  char buf[256];
  const auto nm = [](Sparse sparse, std::uint32_t n, std::uint32_t m) {
    return sparse == Sparse::none ? std::string("dense") : "B " + std::to_string(n) + ":" + std::to_string(m);
  };
  if (gemm.rows != 0) {
    std::snprintf(buf, sizeof buf, "STCE GEMM %ux%ux%u, %s%s%s", gemm.rows, gemm.cols, gemm.depth,
                  nm(gemm.sparse, gemm.n, gemm.m).c_str(), gemm.a_trans ? ", A transposed" : "",
                  gemm.b_trans ? ", B transposed" : "");
  } else if (conv.batch != 0) {
    std::snprintf(buf, sizeof buf, "STCE %s N%u %ux%u Cin %u Cout %u, %ux%u stride %u pad %u, %s", to_string(conv.op),
                  conv.batch, conv.h, conv.w, conv.cin, conv.cout, conv.kh, conv.kw, conv.stride, conv.pad,
                  nm(conv.sparse, conv.n, conv.m).c_str());
  } else if (wuve.count != 0) {
    std::snprintf(buf, sizeof buf, "WUVE SGD of %u elements, FP16 copy", wuve.count);
  } else {
    std::snprintf(buf, sizeof buf, "OSRE %ux%u %s %u:%u, %s source", osre.rows, osre.cols,
                  osre.backward ? "backward" : "forward", osre.n, osre.m, osre.src_fp32 ? "FP32" : "FP16");
  }
  return buf;
}

std::string sram_fit_problem(const EngineJobPlan& plan, const std::uint64_t sizes[3]) {
  for (unsigned b = 0; b < 3; ++b) {
    if (plan.sram_bytes[b] <= sizes[b]) continue;
    char buf[512];
    std::snprintf(buf, sizeof buf, "the job needs %llu B (%.1f KiB) of SRAM %s, which has %llu B (%.0f KiB); it holds %s",
                  ull(plan.sram_bytes[b]), plan.sram_bytes[b] / 1024.0, kBufferNames[b], ull(sizes[b]),
                  sizes[b] / 1024.0, plan.contents[b].c_str());
    return buf;
  }
  return {};
}

int run_engine_job(Hal& hal, const BootInfo& boot, const EngineJobSpec& spec, EngineJobReport& report) {
  report = EngineJobReport{};
  const SatProbe probe = probe_sat(hal, boot);
  if (!probe.ok) {
    report.problem = probe.problem;
    return 1;
  }
  report.sat = probe.info;
  EngineJobPlan plan = plan_engine_job(spec);
  const std::uint64_t sizes[3] = {probe.info.sram_a_bytes, probe.info.sram_b_bytes, probe.info.sram_c_bytes};
  if (plan.problem.empty()) plan.problem = sram_fit_problem(plan, sizes);
  if (!plan.problem.empty()) {
    report.problem = plan.problem;
    return 1;
  }
  Irq irq(hal, boot.irqc.base);
  DmaDriver dma(hal, irq, boot, spec.timeout_ns);
  SatDriver sat(hal, irq, boot, spec.timeout_ns);

  if (spec.mode != SatMode::timing) {
    // Random operands in a host image of the SRAM, then one DMA transfer per buffer.
    SramImage image;
    TensorRandom rng(spec.seed);
    std::uint64_t words = 0;
    const auto halves = [&](std::uint32_t addr, std::uint64_t bytes) {
      fill_half(image, addr, bytes / 2, rng);
      words += bytes / 4;
    };
    const auto floats = [&](std::uint32_t addr, std::uint64_t bytes) {
      fill_float(image, addr, bytes / 4, rng);
      words += bytes / 4;
    };
    switch (spec.engine) {
      case SatEngine::stce: {
        const bool conv = spec.conv;
        const StceShape s = conv ? stce_shape(plan.conv) : stce_shape(plan.gemm);
        halves(conv ? plan.conv.a : plan.gemm.a, s.a_bytes);
        if (spec.n == 0) {
          halves(conv ? plan.conv.b : plan.gemm.b, s.b_bytes);
        } else {  // dense random weights, compressed as OSRE would
          const OsreJob& w = plan.osre;
          std::vector<std::uint8_t> dense(w.src_bytes());
          for (std::uint64_t i = 0; i < dense.size(); i += 2) {
            const std::uint16_t h = float_to_half(rng.uniform());
            std::memcpy(&dense[i], &h, 2);
          }
          image.at(w.values, w.values_bytes()), image.at(w.indices, w.index_bytes());  // grown before the pointers
          nm_compress(dense.data(), false, w.rows, w.cols, w.backward, w.n, w.m, image.at(w.values, w.values_bytes()),
                      reinterpret_cast<std::uint32_t*>(image.at(w.indices, w.index_bytes())));
          words += dense.size() / 4;
        }
        break;
      }
      case SatEngine::osre:
        if (plan.osre.src_fp32) floats(plan.osre.src, plan.osre.src_bytes());
        else halves(plan.osre.src, plan.osre.src_bytes());
        break;
      case SatEngine::wuve:
        halves(plan.wuve.grad, std::uint64_t{plan.wuve.count} * 2);
        floats(plan.wuve.weight, std::uint64_t{plan.wuve.count} * 4);
        floats(plan.wuve.velocity, std::uint64_t{plan.wuve.count} * 4);
        break;
    }
    hal.charge_host_time(words * kHostCyclesPerWord * boot.host_cycle_ps);
    const std::uint64_t staging = boot.ddr.base + spec.ddr_scratch_offset;
    for (unsigned b = 0; b < 3; ++b) {
      const std::uint64_t bytes = plan.sram_bytes[b];
      if (bytes == 0) continue;
      const StagedUpload up =
          upload_to_sram(hal, dma, boot, staging, image, sram_address(static_cast<SramBuffer>(b), 0), bytes);
      if (!up.staging_written) {
        report.problem = "writing the DDR staging area failed";
        return 1;
      }
      if (!up.dma.ok) {
        report.problem = std::string("placing the operands in SRAM ") + kBufferNames[b] + ": DMA " + up.dma.describe();
        return 1;
      }
    }
  }

  SatEngineDriver& driver = sat.engine(spec.engine);
  const SatCounters before = driver.counters();
  switch (spec.engine) {
    case SatEngine::stce:
      if (spec.conv) sat.stce.start(plan.conv);
      else sat.stce.start(plan.gemm);
      break;
    case SatEngine::osre: sat.osre.start(plan.osre); break;
    case SatEngine::wuve: sat.wuve.start(plan.wuve); break;
  }
  report.result = driver.wait();
  report.counters = driver.counters() - before;
  if (!report.result.ok) {
    report.problem = std::string(to_string(spec.engine)) + ": " + report.result.describe();
    return 1;
  }
  return 0;
}


}  // namespace cestvp::fw
