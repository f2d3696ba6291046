#!/bin/sh
# The accuracy table of docs/accuracy.md: the Fashion-MNIST CNN workload trained with each
# scheme on the VP, final test accuracy after the workload's training length.
#   scripts/accuracy.sh [build dir] [extra satvp options, e.g. --set epochs=2]
# Writes runs/accuracy/<config>/ and prints the table (markdown) at the end.
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
satvp="$build/platform/satvp"
workload=workloads/fashion_mnist_cnn.yaml
out=runs/accuracy
mkdir -p "$out"
configs="dense:2:8 srste:2:8 sdgp:2:8 bdwp:2:8 bdwp:2:4 bdwp:1:4"
for config in $configs; do
  scheme=${config%%:*}
  nm=${config#*:}
  dir="$out/${scheme}_$(echo "$nm" | tr : _)"
  echo "== $scheme $nm -> $dir"
  "$satvp" run --workload "$workload" --set scheme="$scheme" --set nm="$nm" --out "$dir" "$@" >"$dir.log" 2>&1 ||
    { echo "satvp failed, see $dir.log"; exit 1; }
  tail -n 8 "$dir.log"
done
python3 - "$out" $configs <<'PY'
import json, sys
out, configs = sys.argv[1], sys.argv[2:]
rows = []
for config in configs:
    scheme, n, m = config.split(":")
    r = json.load(open(f"{out}/{scheme}_{n}_{m}/training.json"))
    rows.append((scheme, f"{n}:{m}" if scheme != "dense" else "-", r))
dense = rows[0][2]["final_eval"]["accuracy"]
print("| scheme | N:M | iterations | test accuracy | vs dense (pp) | final test loss | simulated time | wall |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for scheme, nm, r in rows:
    e = r["final_eval"]
    print(f"| {scheme} | {nm} | {r['iterations_done']} | {100 * e['accuracy']:.2f}% | {100 * (e['accuracy'] - dense):+.2f} "
          f"| {e['loss']:.4f} | {r['simulated_time_us'] / 1e6:.3f} s | {r['wall_seconds']:.0f} s |")
PY
