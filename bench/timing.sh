#!/bin/sh
# Benchmark: timing-only runs (mode: timing) of the CEST paper's three networks at batch 512,
# BDWP 2:8: ResNet-18 on Tiny ImageNet shapes for 1 and 2 iterations (the difference is the wall
# time of one training iteration, without set-up and the evaluation of 512 test samples), the
# ViT and ResNet9 for their workloads' 2 iterations. Prints per run the wall time and maximum
# RSS (/usr/bin/time -v) and the simulated time of each iteration (metrics.csv); the figures
# of docs/performance.md (targets: ResNet-18 <= 1 s wall per iteration, <= 300 MB max RSS).
#   bench/timing.sh [build dir]      (from the source tree's root)
set -eu
build=${1:-build}
out=runs/bench-timing

# run NAME WORKLOAD ITERATIONS: prints NAME, iterations, wall s, max RSS MiB, simulated s per iteration.
run() {
  dir=$out/$1
  rm -rf "$dir" && mkdir -p "$dir"
  /usr/bin/time -v -o "$dir/time.txt" "$build/platform/satvp" run --workload "workloads/$2.yaml" --mode timing \
    --set iterations="$3" --out "$dir" >"$dir/satvp.log"
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + t[i]; printf "%.2f", s }' "$dir/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$dir/time.txt")
  sim=$(awk -F, 'NR > 1 { printf "%s%.6f", sep, ($5 - last) / 1e6; sep = " "; last = $5 }' "$dir/metrics.csv")
  printf '%-24s %5s %8s %9s   %s\n' "$1" "$3" "$wall" "$rss" "$sim"
  eval "wall_$4=$wall"
}

printf '%-24s %5s %8s %9s   %s\n' run iters "wall s" "RSS MiB" "simulated s per iteration"
run resnet18-1 resnet18_tinyimagenet 1 r1
run resnet18-2 resnet18_tinyimagenet 2 r2
run vit vit_cifar100 2 vit
run resnet9 resnet9_cifar10 2 r9
echo "ResNet-18 wall per training iteration (2 iterations - 1): $(echo "$wall_r2 $wall_r1" | awk '{ printf "%.2f", $1 - $2 }') s"
