#!/usr/bin/env bash
# Installs every Debian 12 package CEST-VP needs to build, test, trace and document itself.
# This is the only place packages are listed. Idempotent: re-running installs nothing new.
# Usage (as root, or with sudo available): scripts/install-deps.sh
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  # libraries
  libsystemc-dev        # SystemC 2.3.4 + TLM-2.0 (built for C++17)
  libyaml-cpp-dev       # platform, workload and register-map YAML
  libboost-dev          # Boost.Asio: the RV64 core's GDB server
  libcli11-dev          # satvp command line
  nlohmann-json3-dev    # JSON reader: compare and sweep read report.json and plan.json
  libimath-dev          # IEEE half (FP16) for the engines
  libopenblas-dev       # SGEMM for the STCE functional mode and its benchmark
  zlib1g-dev            # gzip-compressed IDX dataset files
  libjpeg62-turbo-dev   # JPEG images of image_folder datasets (Tiny ImageNet)
  libpng-dev            # PNG images of image_folder datasets
  libunicorn-dev        # CPU emulation of the RV64 host core (host.cpu: rv64)
  libonnx-dev libprotobuf-dev  # satvp import: reading ONNX models (ModelProto, shape inference)
  # the firmware ELF for the RV64 core: Debian's riscv64 cross toolchain with glibc and libstdc++
  g++-riscv64-linux-gnu libstdc++-12-dev-riscv64-cross libc6-dev-riscv64-cross binutils-riscv64-linux-gnu
  gdb-multiarch         # debugging the firmware ELF on the RV64 core (satvp run --gdb); its test drives it
  # data
  dataset-fashion-mnist # Fashion-MNIST IDX files for training on the platform
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev
  time                  # /usr/bin/time: bench/timing.sh and the commands of docs/performance.md
  valgrind              # scripts/memcheck.sh (the asan preset needs nothing more: gcc ships libasan/libubsan)
  clang                 # fuzz preset: the libFuzzer harnesses (fuzz/) are built with Clang
  libclang-rt-14-dev    # libFuzzer and the sanitizer runtimes Clang links them with
  python3-numpy         # independent check that NumPy loads the .npy files we write
  python3-onnx          # tests/onnx/make_models.py: the ONNX models the import tests read
  slurm-wlm munge       # the sweep test on a real one-node Slurm cluster (tests/test_cluster.cpp)
  parallel              # the sweep test through GNU parallel
  python3-matplotlib    # scripts/plot.py: the PNGs of a run, a comparison or a sweep
  # tracing: gtkwave opens traces and provides vcd2fst (used by the tests);
  # xvfb + imagemagick take headless screenshots of what a user sees in GTKWave
  gtkwave xvfb imagemagick
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
