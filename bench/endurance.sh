#!/bin/bash
# Endurance: 1000 iterations of the small training workload (the Fashion-MNIST MLP, BDWP 2:8,
# functional mode, real data, evaluated every 100 iterations on the whole test set), with the
# resident memory of the satvp process sampled every second from /proc. Prints one line per
# progress line (iteration, RSS at that moment) and a summary: the RSS after the first 100
# iterations, after the last, and the growth in between, which docs/reliability.md records.
#   bench/endurance.sh [build dir] [iterations]
set -euo pipefail
build=${1:-build}
iterations=${2:-1000}
out=runs/bench-endurance
mkdir -p "$out"
"$build/platform/satvp" run --workload workloads/fashion_mnist_mlp.yaml --mode functional \
  --set iterations="$iterations" --set eval_interval=100 --set eval_samples=0 --set export.log_interval=100 \
  --out "$out" > "$out/console.txt" 2>&1 &
pid=$!
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true; }
seen=0
first="" last=""
while kill -0 "$pid" 2>/dev/null; do
  lines=$(grep -c '^train: iteration' "$out/console.txt" || true)
  rss=$(rss_kib)
  if [ -n "$rss" ] && [ "$lines" -gt "$seen" ]; then
    seen=$lines
    it=$(grep '^train: iteration' "$out/console.txt" | tail -1 | awk '{print $3}')
    awk -v it="$it" -v kib="$rss" 'BEGIN {printf "%-12s RSS %7.1f MiB\n", it, kib / 1024}'
    [ -z "$first" ] && first=$rss
    last=$rss
  fi
  sleep 1
done
wait "$pid"
grep -E '^satvp: firmware|^  wall time|^  peak memory' "$out/console.txt"
awk -v a="$first" -v b="$last" 'BEGIN {
  printf "RSS at the first progress line %.1f MiB, at the last %.1f MiB, growth %.1f MiB\n", a / 1024, b / 1024, (b - a) / 1024 }'
