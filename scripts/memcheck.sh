#!/usr/bin/env bash
# Runs satvp under valgrind memcheck: the bring-up workload, and the smallest training run (the
# Fashion-MNIST MLP, 3 iterations on the first 256 training and 64 test samples). Prints each
# run's valgrind ERROR SUMMARY line and exits 1 if either run reports an error (invalid access,
# use of uninitialised memory, definitely lost memory) or fails. docs/reliability.md explains it.
# Usage: scripts/memcheck.sh BUILD_DIR [OUT_DIR]
#   BUILD_DIR  a normal (not sanitized) build with platform/satvp built, e.g. `build`
#   OUT_DIR    where the runs and the valgrind logs go (default: a new directory under /tmp)
# Example: cmake --preset default && cmake --build --preset default --target satvp && scripts/memcheck.sh build
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
satvp="$1/platform/satvp"
[ -x "$satvp" ] || { echo "memcheck: no $satvp; build the satvp target first" >&2; exit 2; }
command -v valgrind > /dev/null || { echo "memcheck: valgrind is not installed (scripts/install-deps.sh)" >&2; exit 2; }
if ldd "$satvp" | grep libasan > /dev/null; then  # not -q: with pipefail, ldd would die of SIGPIPE
  echo "memcheck: $satvp is built with AddressSanitizer, which cannot run under valgrind; use a normal build" >&2
  exit 2
fi
out="${2:-$(mktemp -d /tmp/memcheck.XXXXXX)}"
mkdir -p "$out"

# SystemC runs every SC_THREAD on a stack of its own (QuickThreads; 256 KiB apart by default).
# valgrind takes any stack-pointer move of up to --max-stackframe (default 2 MB) for a function's
# frame and marks the memory in between as uninitialised, so each switch between two threads'
# stacks would be reported as reads of uninitialised memory in libsystemc. 64 KiB is above the
# largest frame in satvp (24 KiB, run_workload) and below the distance between two thread stacks,
# so a switch is seen as a switch and frames are still checked. No suppressions are needed.
vg=(valgrind --max-stackframe=65536 --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)

status=0
run() {
  local name=$1 start=$SECONDS rc=0
  shift
  "${vg[@]}" --log-file="$out/$name.valgrind.log" "$satvp" run "$@" --out "$out/$name" > "$out/$name.log" 2>&1 || rc=$?
  echo "$name: $(grep -h 'ERROR SUMMARY' "$out/$name.valgrind.log" || echo 'no ERROR SUMMARY')"
  echo "$name: satvp exit $rc, $((SECONDS - start)) s; valgrind log $out/$name.valgrind.log, satvp log $out/$name.log"
  if [ "$rc" -eq 99 ]; then
    echo "$name: memcheck found errors (see the valgrind log)" >&2
    status=1
  elif [ "$rc" -ne 0 ]; then
    echo "$name: satvp failed:" >&2
    tail -n 5 "$out/$name.log" >&2
    status=1
  fi
}

run bringup --workload "$root/workloads/bringup.yaml"
run mlp --workload "$root/workloads/fashion_mnist_mlp.yaml" --set iterations=3 --set eval_samples=64 \
  --set dataset.train_samples=256 --set dataset.test_samples=64
exit $status
