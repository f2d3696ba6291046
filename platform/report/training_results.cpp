#include "report/training_results.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include <cestvp/sat_abi.h>

#include "config/units.h"
#include "config/user_error.h"
#include "data/npy.h"
#include "report/run_output.h"

namespace cestvp {

namespace model = fw::model;
namespace fs = std::filesystem;

// ------------------------------------------------------------------------------ reading

std::string TrainingResult::status() const {
  if (!started()) return "not started";
  switch (header.status) {
    case 0: return "running";
    case 1: return "finished";
    case 2: return "failed";
    default: return "unknown status " + std::to_string(header.status);
  }
}

model::ResultHeader read_result_header(const TrainingImage& img, const MemRead& read) {
  model::ResultHeader r;
  read(img.header.result, &r, sizeof r);
  r.message[sizeof r.message - 1] = '\0';
  return r;
}

TrainingResult read_training_result(const TrainingImage& img, const MemRead& read) {
  TrainingResult result;
  result.header = read_result_header(img, read);
  if (!result.started()) return result;
  // The arrays are where the loader put them, at most as many records as it made room for.
  result.iterations.resize(std::min(result.header.iterations_done, img.header.iterations));
  result.evals.resize(std::min(result.header.evals_done, eval_capacity(img)));
  read(iteration_records_addr(img), result.iterations.data(), result.iterations.size() * sizeof(model::IterationRecord));
  read(eval_records_addr(img), result.evals.data(), result.evals.size() * sizeof(model::EvalRecord));
  if (result.header.profile_written) {
    result.profile.resize(std::size_t{img.header.layer_count + 1} * model::kPassCount);
    read(profile_addr(img), result.profile.data(), result.profile.size() * sizeof(model::ProfileRecord));
  }
  return result;
}

std::vector<float> read_master(const TrainingImage& img, std::size_t param, const MemRead& read) {
  const model::Param& p = img.params.at(param);
  std::vector<float> values(p.count);
  read(p.master, values.data(), values.size() * 4);
  return values;
}

std::vector<std::uint8_t> decode_mask(const model::Param& p, std::uint32_t n, std::uint32_t m, bool backward,
                                      const std::uint32_t* index_words) {
  const fw::NmLine line = backward ? model::bwd_line(p, n, m) : model::fwd_line(p, n, m);
  const std::uint64_t lines = backward ? model::bwd_lines(p) : model::fwd_lines(p);
  const std::uint32_t bits = line.index_bits(), words = line.index_words(), entries = line.entries();
  std::vector<std::uint8_t> mask(std::uint64_t{p.cout} * p.taps * p.cin, 0);
  for (std::uint64_t r = 0; r < lines; ++r) {
    const std::uint32_t* stream = index_words + r * words;
    for (std::uint32_t e = 0; e < entries; ++e) {
      const std::uint32_t position = line.position(e, fw::nm_index(stream, e, bits));
      if (position >= line.length) continue;
      std::uint64_t co, tap, ci;
      if (backward) co = position, tap = r / p.cin, ci = r % p.cin;
      else co = r / p.taps, tap = r % p.taps, ci = position;
      mask[(co * p.taps + tap) * p.cin + ci] = 1;
    }
  }
  return mask;
}

ParamSnapshot read_snapshot(const TrainingImage& img, std::size_t snapshot, std::size_t param, const MemRead& read) {
  const model::Header& h = img.header;
  std::uint64_t addr = h.snapshots + snapshot * h.snapshot_bytes;
  for (std::size_t i = 0; i < param; ++i) addr += model::param_snapshot_bytes(img.params[i], h.n, h.m);
  const model::Param& p = img.params.at(param);
  ParamSnapshot s;
  s.master.resize(p.count);
  read(addr, s.master.data(), s.master.size() * 4);
  addr += std::uint64_t{p.count} * 4;
  std::vector<std::uint32_t> words;
  const auto form = [&](bool backward, std::vector<std::uint8_t>& mask) {
    const fw::NmLine line = backward ? model::bwd_line(p, h.n, h.m) : model::fwd_line(p, h.n, h.m);
    const std::uint64_t lines = backward ? model::bwd_lines(p) : model::fwd_lines(p);
    addr += model::values_bytes(lines, line);
    const std::uint64_t index_bytes = model::index_bytes(lines, line);
    words.resize(index_bytes / 4);
    read(addr, words.data(), index_bytes);
    addr += index_bytes;
    mask = decode_mask(p, h.n, h.m, backward, words.data());
  };
  if (p.fwd_values) form(false, s.fwd_mask);
  if (p.bwd_values) form(true, s.bwd_mask);
  // Nested: Mb = nm_mask_cols(W * Mf) * Mf. W~^T keeps N entries per group of W * Mf; where a
  // group has fewer than N weights inside Mf, the rest are zeros outside it.
  if (h.bwd_mask == static_cast<std::uint32_t>(model::BwdMask::nested) && !s.fwd_mask.empty())
    for (std::size_t k = 0; k < s.bwd_mask.size(); ++k) s.bwd_mask[k] &= s.fwd_mask[k];
  return s;
}

// --------------------------------------------------------------------------------- export

namespace {

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string wall(double seconds) {
  char text[48];
  if (seconds < 60) std::snprintf(text, sizeof text, "%.1f s", seconds);
  else std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds / 60), static_cast<int>(seconds) % 60);
  return text;
}

std::string percent(float fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100.0 * fraction);
  return text;
}

std::string fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

void create_dir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw OutputError(dir.string(), "cannot create the directory: " + error.message());
}

std::vector<std::size_t> mask_shape(const ParamInfo& info, const model::Param& p) {
  if (info.torch_shape.size() == 4) return {p.cout, info.kernel, info.kernel, p.cin};
  return {p.cout, p.cin};
}

double ps_to_us(std::uint64_t ps) { return static_cast<double>(ps) * 1e-6; }

// A param's values as .npy in `dir`: PyTorch layout; batchnorm's running statistics as
// running_mean and running_var, as PyTorch's state_dict has them.
void write_param(const fs::path& dir, const ParamInfo& info, const model::Param& p, const std::vector<float>& values) {
  if (info.running) {
    const std::string stem = info.name.substr(0, info.name.rfind('.'));
    const std::size_t c = values.size() / 2;
    write_npy((dir / (stem + ".running_mean.npy")).string(), values.data(), {c});
    write_npy((dir / (stem + ".running_var.npy")).string(), values.data() + c, {c});
    return;
  }
  const std::vector<float> torch = to_torch_layout(info, p, values);
  write_npy((dir / (info.name + ".npy")).string(), torch.data(), info.torch_shape);
}

}  // namespace

void write_npy_u8(const std::string& path, const std::uint8_t* data, const std::vector<std::size_t>& shape) {
  std::string dims;
  std::size_t count = 1;
  for (const std::size_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (a, b); a 1-D shape keeps "(a,)"
  else if (shape.size() == 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + header.size() + 1;  // magic, version, length, header, '\n'
  header.append(align_up(unpadded, 64) - unpadded, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(data), count);
  write_text_atomically(path, bytes);
}

std::string progress_line(const TrainingImage& img, std::uint32_t done, const model::IterationRecord& last,
                          const model::EvalRecord* latest_eval, double wall_seconds, double eta_seconds,
                          bool computed) {
  const std::string total = std::to_string(img.header.iterations);
  std::string count = std::to_string(done);
  count.insert(0, total.size() > count.size() ? total.size() - count.size() : 0, ' ');
  const std::string figures =
      !computed ? "  (timing mode: no loss or accuracy)"
                : "  loss " + fixed(last.loss, 4) + "  batch acc " + percent(last.accuracy) + "  test acc " +
                      (latest_eval ? percent(latest_eval->accuracy) + " (at " + std::to_string(latest_eval->iteration) + ")"
                                   : std::string("-"));
  return "train: iteration " + count + "/" + total + figures + "  sim " +
         duration(static_cast<double>(last.end_ps) * 1e-12) + "  wall " + wall(wall_seconds) + "  ETA " +
         wall(eta_seconds);
}

namespace {

void write_records(const TrainingResult& result, const fs::path& dir) {
  CsvWriter metrics((dir / "metrics.csv").string(), {"iteration", "loss", "accuracy", "lr", "sim_time_us"});
  for (const model::IterationRecord& r : result.iterations)
    metrics.row({r.iteration, r.loss, r.accuracy, r.lr, ps_to_us(r.end_ps)});
  metrics.finish();
  CsvWriter evals((dir / "eval.csv").string(), {"iteration", "samples", "loss", "accuracy", "sim_time_us"});
  for (const model::EvalRecord& r : result.evals) evals.row({r.iteration, r.samples, r.loss, r.accuracy, ps_to_us(r.end_ps)});
  evals.finish();
}

// snapshots/iter_<t>/: every param of snapshot k, and the masks of its compressed forms.
void write_snapshot(const TrainingImage& img, std::size_t k, const MemRead& read, const fs::path& sub) {
  create_dir(sub);
  for (std::size_t i = 0; i < img.params.size(); ++i) {
    const ParamInfo& pi = img.param_info[i];
    const model::Param& p = img.params[i];
    const ParamSnapshot s = read_snapshot(img, k, i, read);
    write_param(sub, pi, p, s.master);
    const std::string stem = pi.name.substr(0, pi.name.rfind('.'));
    if (!s.fwd_mask.empty())
      write_npy_u8((sub / (stem + ".fwd_mask.npy")).string(), s.fwd_mask.data(), mask_shape(pi, p));
    if (!s.bwd_mask.empty())
      write_npy_u8((sub / (stem + ".bwd_mask.npy")).string(), s.bwd_mask.data(), mask_shape(pi, p));
  }
}

// weights/ and the snapshots written so far; returns how many snapshots.
std::size_t write_params(const TrainingImage& img, const TrainingResult& result, const MemRead& read,
                         const fs::path& dir) {
  create_dir(dir / "weights");
  for (std::size_t i = 0; i < img.params.size(); ++i)
    write_param(dir / "weights", img.param_info[i], img.params[i], read_master(img, i, read));
  const bool finished = result.header.status == 1;
  std::size_t snapshots = 0;
  for (std::size_t k = 0; k < img.snapshot_iterations.size() && k < img.header.snapshot_capacity; ++k) {
    const std::uint32_t t = img.snapshot_iterations[k];
    if (!finished && t >= result.header.iterations_done) break;  // not written (yet)
    write_snapshot(img, k, read, dir / "snapshots" / ("iter_" + std::to_string(t)));
    ++snapshots;
  }
  return snapshots;
}

std::string nm_text(const model::Header& h) { return std::to_string(h.n) + ":" + std::to_string(h.m); }

std::string training_json(const TrainingImage& img, const TrainingResult& result, const TrainingRunInfo& info,
                          std::size_t snapshots) {
  const model::Header& h = img.header;
  const model::TimeBreakdown& t = result.header.time;
  const model::EvalRecord* final_eval = result.evals.empty() ? nullptr : &result.evals.back();
  const model::IterationRecord* last = result.iterations.empty() ? nullptr : &result.iterations.back();
  std::ostringstream json;
  json << "{\n"
       << "  \"workload\": " << json_string(info.workload) << ",\n"
       << "  \"mode\": " << json_string(info.mode) << ",\n"
       << "  \"scheme\": " << json_string(to_string(static_cast<model::Scheme>(h.scheme))) << ",\n"
       << "  \"nm\": " << json_string(nm_text(h)) << ",\n"
       << "  \"status\": " << json_string(result.status()) << ",\n"
       << "  \"message\": " << json_string(result.header.message) << ",\n"
       << "  \"batch\": " << h.batch << ",\n"
       << "  \"iterations\": " << h.iterations << ",\n"
       << "  \"iterations_done\": " << result.iterations.size() << ",\n"
       << "  \"evals_done\": " << result.evals.size() << ",\n"
       << "  \"train_samples\": " << h.train_count << ",\n"
       << "  \"test_samples\": " << h.test_count << ",\n"
       << "  \"final_eval\": ";
  if (final_eval)
    json << "{\"iteration\": " << final_eval->iteration << ", \"samples\": " << final_eval->samples
         << ", \"loss\": " << json_number(final_eval->loss) << ", \"accuracy\": " << json_number(final_eval->accuracy)
         << "},\n";
  else json << "null,\n";
  json << "  \"last_batch\": ";
  if (last)
    json << "{\"iteration\": " << last->iteration << ", \"loss\": " << json_number(last->loss)
         << ", \"accuracy\": " << json_number(last->accuracy) << "},\n";
  else json << "null,\n";
  json << "  \"simulated_time_us\": " << json_number(info.simulated_seconds * 1e6) << ",\n"
       << "  \"time_us\": {\"stce\": " << json_number(ps_to_us(t.stce_ps)) << ", \"osre\": "
       << json_number(ps_to_us(t.osre_ps)) << ", \"wuve\": " << json_number(ps_to_us(t.wuve_ps))
       << ", \"dma\": " << json_number(ps_to_us(t.dma_ps)) << ", \"host\": " << json_number(ps_to_us(t.host_ps)) << "},\n"
       << "  \"wall_seconds\": " << json_number(info.wall_seconds) << ",\n"
       << "  \"load_seconds\": " << json_number(info.load_seconds) << ",\n"
       << "  \"snapshots\": " << snapshots << "\n"
       << "}\n";
  return json.str();
}

// The summary block for the console; `data`: weights and snapshots were exported.
std::string training_summary(const TrainingImage& img, const TrainingResult& result, const TrainingRunInfo& info,
                             bool data, std::size_t snapshots) {
  const model::Header& h = img.header;
  const model::TimeBreakdown& t = result.header.time;
  const model::EvalRecord* final_eval = result.evals.empty() ? nullptr : &result.evals.back();
  const model::IterationRecord* last = result.iterations.empty() ? nullptr : &result.iterations.back();
  std::ostringstream s;
  s << "\ntraining: " << result.status() << ", " << result.iterations.size() << " of " << h.iterations
    << " iterations (batch " << h.batch << ", " << to_string(static_cast<model::Scheme>(h.scheme)) << " " << nm_text(h)
    << ", " << info.mode << ")\n";
  if (result.header.status == 2) s << "  firmware error      " << result.header.message << "\n";
  if (final_eval)
    s << "  final test          accuracy " << percent(final_eval->accuracy) << ", loss " << fixed(final_eval->loss, 4)
      << " (" << final_eval->samples << " samples, after iteration " << final_eval->iteration << ")\n";
  if (last)
    s << "  last batch          accuracy " << percent(last->accuracy) << ", loss " << fixed(last->loss, 4) << "\n";
  s << "  simulated time      " << duration(info.simulated_seconds) << ": STCE " << duration(t.stce_ps * 1e-12)
    << ", OSRE " << duration(t.osre_ps * 1e-12) << ", WUVE " << duration(t.wuve_ps * 1e-12) << ", DMA "
    << duration(t.dma_ps * 1e-12) << ", host " << duration(t.host_ps * 1e-12) << "\n"
    << "  wall time           " << wall(info.wall_seconds) << " (loading " << wall(info.load_seconds) << ")\n"
    << "  exported            metrics.csv, eval.csv, training.json";
  if (data) s << ", weights/ (" << img.params.size() << " arrays), snapshots/ (" << snapshots << ")";
  s << "\n";
  return s.str();
}

}  // namespace

std::string export_training(const TrainingImage& img, const TrainingResult& result, const MemRead& read,
                            const fs::path& dir, const TrainingRunInfo& info) {
  write_records(result, dir);
  // Weights and snapshots carry data only when the engines computed some.
  const bool data = info.mode != "timing" && result.started();
  const std::size_t snapshots = data ? write_params(img, result, read, dir) : 0;
  write_text_atomically(dir / "training.json", training_json(img, result, info, snapshots));
  return training_summary(img, result, info, data, snapshots);
}

}  // namespace cestvp
