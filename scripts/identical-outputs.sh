#!/usr/bin/env bash
# Runs every shipped workload with one satvp and keeps what it wrote, then compares two such
# sets the way tests/test_determinism.cpp compares two runs: every file byte for byte, apart
# from report.json's "wall" object, training.json's wall-clock fields and the run directory's
# path inside trace.gtkw. Used to show that a refactoring changed no output.
#
#   scripts/identical-outputs.sh run SATVP OUT_DIR     # writes OUT_DIR/<case>/...; the RV64
#                                                      # firmware is SATVP/../../firmware/rv64/cestvp-fw.elf
#   scripts/identical-outputs.sh compare DIR_A DIR_B   # exit 0 when identical
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

run_cases() {
  local satvp=$1 out=$2 w=$here/workloads
  mkdir -p "$out"
  local fw="--firmware $(dirname "$satvp")/../firmware/rv64/cestvp-fw.elf"
  local traced="--vcd TRACE/trace.vcd --trace-log TRACE/trace.log --timeline TRACE/timeline.json"
  while IFS='|' read -r name args; do
    [ -z "$name" ] && continue
    echo "== $name" >&2
    rm -rf "${out:?}/$name"
    local start=$SECONDS
    # shellcheck disable=SC2086
    "$satvp" run ${args//TRACE/$out/$name} --out "$out/$name" >"$out/$name.stdout" 2>&1 || echo "exit $?" >>"$out/$name.stdout"
    echo "   $((SECONDS - start)) s" >&2
  done <<CASES
bringup|--workload $w/bringup.yaml $traced
bringup_rv64|--workload $w/bringup.yaml --cpu rv64 $fw $traced
engines|--workload $w/engines.yaml $traced
mlp|--workload $w/fashion_mnist_mlp.yaml
mlp_traced|--workload $w/fashion_mnist_mlp.yaml --set iterations=20 $traced
mlp_bitaccurate|--workload $w/fashion_mnist_mlp.yaml --mode bit-accurate --set iterations=5 --set eval_samples=100
mlp_timing|--workload $w/fashion_mnist_mlp.yaml --mode timing --set iterations=5 $traced
cnn|--workload $w/fashion_mnist_cnn.yaml
cnn_rv64|--workload $w/fashion_mnist_cnn.yaml --cpu rv64 $fw --set iterations=5 --set eval_samples=100
resnet18|--workload $w/resnet18_tinyimagenet.yaml $traced
resnet9|--workload $w/resnet9_cifar10.yaml $traced
vit|--workload $w/vit_cifar100.yaml $traced
CASES
}

normalise() {  # file run_dir
  case "$(basename "$1")" in
    trace.gtkw) sed "s#$2#RUN#g" "$1" ;;
    report.json) python3 -c 'import re,sys; print(re.sub(r"\n  \"wall\": \{[^}]*\}", "", open(sys.argv[1]).read()), end="")' "$1" ;;
    training.json) grep -Ev '^  "(wall_seconds|load_seconds)": ' "$1" ;;
    *.stdout) grep -Ev 'wall|real time|MIPS|peak memory|[0-9.]+ s\b' "$1" | sed "s#$2#RUN#g" ;;
    *) cat "$1" ;;
  esac
}

compare_sets() {
  local a=$1 b=$2 bad=0 n=0
  diff <(cd "$a" && find . -type f ! -name '*.lock' | sort) <(cd "$b" && find . -type f ! -name '*.lock' | sort) || bad=1
  while read -r f; do
    [ -f "$b/$f" ] || continue
    n=$((n + 1))
    local case_dir=${f#./}; case_dir=${case_dir%%/*}; case_dir=${case_dir%.stdout}
    if ! cmp -s <(normalise "$a/$f" "$a/$case_dir") <(normalise "$b/$f" "$b/$case_dir"); then
      echo "differs: $f"; bad=1
    fi
  done < <(cd "$a" && find . -type f ! -name '*.lock' | sort)
  echo "$n files compared, $([ $bad = 0 ] && echo 'all identical' || echo 'DIFFERENCES')"
  return $bad
}

case "${1:-}" in
  run) run_cases "$2" "$3" ;;
  compare) compare_sets "$2" "$3" ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
