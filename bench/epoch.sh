#!/bin/sh
# Benchmark: one epoch of the Fashion-MNIST CNN (60000 images, batch 64, BDWP 2:8) in functional
# mode, evaluated once at the end on the 10000 test images. Prints satvp's summary, whose
# "wall time" and "peak memory" lines are the figures of docs/performance.md (targets: <= 60 s,
# <= 1 GiB).
#   bench/epoch.sh [build dir] [extra satvp options]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
exec "$build/platform/satvp" run --workload workloads/fashion_mnist_cnn.yaml --mode functional \
  --set epochs=1 --set iterations=0 --set eval_interval=0 --set eval_samples=0 --set export.log_interval=100 \
  --out runs/bench-epoch "$@"
