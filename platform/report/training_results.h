// Training workloads (program: train), the way out: reading what the firmware measured and
// left in DDR (result records, masters, snapshots with their masks) through a MemRead, and
// exporting it into the run directory (metrics.csv, eval.csv, training.json, weights/,
// snapshots/). The image it reads is loader/training_image.h's. SystemC-free.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <cestvp/model.h>

#include "loader/training_image.h"

namespace cestvp {

// What the firmware wrote into the result area (training_image.h: where its parts are).
struct TrainingResult {
  fw::model::ResultHeader header;
  std::vector<fw::model::IterationRecord> iterations;  // the first iterations_done
  std::vector<fw::model::EvalRecord> evals;            // the first evals_done
  // [layer_count + 1][kPassCount] (model::ProfileRecord), empty until the firmware wrote it.
  std::vector<fw::model::ProfileRecord> profile;
  bool started() const { return header.magic == fw::model::kMagic; }
  std::string status() const;  // "not started", "running", "finished", "failed"
};
fw::model::ResultHeader read_result_header(const TrainingImage& image, const MemRead& read);
TrainingResult read_training_result(const TrainingImage& image, const MemRead& read);

// A param's current FP32 master values (hardware layout).
std::vector<float> read_master(const TrainingImage& image, std::size_t param, const MemRead& read);

// One param of snapshot k: the master and, if the param has them, the masks decoded from the
// compressed forms, uint8 0/1 in OHWI ([Cout][KH][KW][Cin]; linear [out][in]). With a nested
// backward mask (bdwp_bwd_mask: nested) the backward mask is the decoded one times the forward
// mask, Mb = nm_mask_cols(W * Mf) * Mf: W~^T keeps N entries per group, and in a group with
// fewer than N weights inside Mf the others are zeros outside it.
struct ParamSnapshot {
  std::vector<float> master;
  std::vector<std::uint8_t> fwd_mask, bwd_mask;  // empty when the param has no such form
};
ParamSnapshot read_snapshot(const TrainingImage& image, std::size_t snapshot, std::size_t param, const MemRead& read);

// The mask of a compressed weight: forward lines (cout, tap) along Cin, backward lines
// (tap, cin) along Cout, each line's indices starting at a fresh 32-bit word
// (model::index_bytes); an entry whose position falls outside the line is ignored.
std::vector<std::uint8_t> decode_mask(const fw::model::Param& p, std::uint32_t n, std::uint32_t m, bool backward,
                                      const std::uint32_t* index_words);

// One progress line: iteration done/N, batch loss and accuracy, the latest test accuracy,
// simulated time, wall time and the estimated wall time left. A timing run computes no loss
// or accuracy (`computed` false): the line says so instead of showing zeros.
std::string progress_line(const TrainingImage& image, std::uint32_t done, const fw::model::IterationRecord& last,
                          const fw::model::EvalRecord* latest_eval, double wall_seconds, double eta_seconds,
                          bool computed);

struct TrainingRunInfo {
  std::string workload;  // name
  std::string mode;      // functional, bit-accurate, timing
  double load_seconds = 0, wall_seconds = 0;
  double simulated_seconds = 0;  // the whole run
};

// Writes into `dir`: metrics.csv, eval.csv, training.json and, unless the mode is timing (no
// data is computed there), weights/<name>.npy (final FP32 masters, PyTorch layout) and
// snapshots/iter_<t>/<name>.npy with .fwd_mask.npy / .bwd_mask.npy for sparse weights.
// Returns the summary block for the console.
std::string export_training(const TrainingImage& image, const TrainingResult& result, const MemRead& read,
                            const std::filesystem::path& dir, const TrainingRunInfo& info);

// Writes a uint8 array as NumPy '|u1' (format 1.0), atomically (PATH.tmp, then rename).
void write_npy_u8(const std::string& path, const std::uint8_t* data, const std::vector<std::size_t>& shape);

}  // namespace cestvp
