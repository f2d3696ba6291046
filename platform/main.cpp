// satvp: the CEST-VP command line. This file only registers the subcommands and turns errors
// into exit codes; each subcommand's flow reads top to bottom in its own file under cli/:
// `satvp run` (cli/cmd_run.cpp: configuration, workload, host CPU, then the platform of vp.cpp,
// run, report), `satvp job` (cli/cmd_job.cpp: one engine job through the firmware's driver),
// `satvp compare` and `satvp sweep` (cli/cmd_compare.cpp, cli/cmd_sweep.cpp: child `satvp run`s;
// exit 1 when any failed), `satvp host-costs` (cli/cmd_host_costs.cpp: the firmware's host work
// per element on a host core), `satvp import` (cli/cmd_import.cpp: an ONNX model to a workload,
// with import/). Exit codes: ExitCode in cli/cmd_run.h (docs/reliability.md).
// The other folders: config/ (platform YAML, units, YAML reading, user errors), data/
// (datasets), loader/ (workloads, the DDR image, the firmware ELF), report/ (run directory,
// reports). docs/architecture.md maps the code.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <systemc>

#include "cli/cli.h"
#include "cli/cmd_compare.h"
#include "cli/cmd_host_costs.h"
#include "cli/cmd_import.h"
#include "cli/cmd_job.h"
#include "cli/cmd_run.h"
#include "cli/cmd_sweep.h"
#include "config/user_error.h"
#include "output_file.h"

using namespace cestvp;

int sc_main(int argc, char* argv[]) {
  CLI::App app{"CEST-VP: virtual platform of the SAT N:M sparse training accelerator"};
  app.require_subcommand(1);
  RunArgs args;
  CLI::App* run_cmd = app.add_subcommand("run", "Boot the platform and run a workload's firmware");
  add_run_options(*run_cmd, args);
  JobArgs job_args;
  CLI::App* job_cmd = app.add_subcommand(
      "job",
      "Run one engine job through the firmware's driver on the platform and print its cycles, stall cycles, "
      "utilisation, operations executed and skipped, SRAM bytes and simulated time. Operands are placed by the "
      "firmware: STCE A, B, C in SRAM A, B, C; OSRE source in A, values and indices in B; WUVE gradients and FP16 "
      "copy in A, weights in B, velocity in C. Exit 2 if the job does not fit the SRAM");
  add_job_options(*job_cmd, job_args);
  CompareArgs compare_args;
  CLI::App* compare_cmd = app.add_subcommand(
      "compare",
      "Run a training workload once per N:M scheme (in parallel, each a satvp run in DIR/<scheme>) and tabulate "
      "the time per iteration and the speed-up over dense on three bases (whole iteration, accelerator, STCE), with "
      "the paper's figures for its workloads, MACs, GOPS, STCE utilisation and host share; writes compare.csv, "
      "compare.json and compare.png");
  add_compare_options(*compare_cmd, compare_args);
  SweepArgs sweep_args;
  CLI::App* sweep_cmd = app.add_subcommand(
      "sweep",
      "Run a training workload for every combination of workload keys (--param) and platform keys "
      "(--platform-param), in parallel, and collect the reports into sweep.csv; or write the runs for Slurm or GNU "
      "parallel (--emit) and collect them later (--collect)");
  add_sweep_options(*sweep_cmd, sweep_args);
  HostCostsArgs host_costs_args;
  CLI::App* host_costs_cmd = app.add_subcommand(
      "host-costs",
      "Measure the firmware's host work (batch norm, ReLU, pooling, softmax, ...) per element on a host core, the "
      "RV64 core by default, by running the firmware's host layers at two sizes; print it beside the platform's "
      "host_cost table and write a host_cost: section of the measured figures");
  add_host_costs_options(*host_costs_cmd, host_costs_args);
  ImportArgs import_args;
  CLI::App* import_cmd = app.add_subcommand(
      "import",
      "Turn an ONNX model (Conv, Gemm/MatMul, BatchNorm, ReLU, pooling, residual Add, LayerNorm, GELU, attention) into "
      "a training workload YAML and its initial weights (.npy), for satvp run, compare and sweep; exit 2 naming the "
      "node, its operator and the reason when the SAT cannot train the model (docs/import.md)");
  add_import_options(*import_cmd, import_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help is a "parse error" that succeeds
  } catch (const CLI::ParseError& e) {
    std::cerr << "satvp: error: " << printable(parse_error_message(app, e)) << "\n";
    return kExitBadInput;
  }

  try {
    if (job_cmd->parsed()) return run_job(job_args, *job_cmd);
    if (compare_cmd->parsed()) return run_compare(compare_args);
    if (sweep_cmd->parsed()) return run_sweep(sweep_args, *sweep_cmd);
    if (host_costs_cmd->parsed()) return run_host_costs(host_costs_args);
    if (import_cmd->parsed()) return run_import(import_args);
    return run_workload(args);
  } catch (const UserError& e) {
    std::cerr << "satvp: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const OutputError& e) {
    std::cerr << "satvp: output error: " << printable(e.what()) << "\n";
    return kExitSimulatorError;
  } catch (const std::exception& e) {
    std::cerr << "satvp: simulator error: " << printable(e.what()) << "\n";
    return kExitSimulatorError;
  }
}

// libsystemc prints its banner before sc_main unless told not to; our summary says what ran.
int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  // Past a file size limit (ulimit -f) a write should fail like on a full disk, with EFBIG,
  // and be reported as such, not kill the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  // The firmware's host layers allocate tensor-sized buffers every layer; glibc would serve
  // each from a fresh mmap and return it on free, so every iteration paid page faults and
  // zeroing for the same megabytes. Keep them in the heap instead.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return sc_core::sc_elab_and_sim(argc, argv);
}
