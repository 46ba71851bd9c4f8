#!/usr/bin/env bash
# Model-checks zklock's queue protocol with spin: every configuration in
# tests/model/cfg/, safety (assertions, no waiter blocked for good) and
# liveness (each patient client's waits end, weak fairness), with the
# decisions made by the C rule functions of recipes/ (tests/model/README.md).
#
#   tests/model/run.sh            the bounds of `make check` (< 120 s)
#   tests/model/run.sh --deep     one more acquisition per client, 8 nodes
#   tests/model/run.sh NAME...    only these configurations
#
# Exit 0 when every property holds; last line
# "model: P properties hold in M models". Needs spin and a C compiler, not
# the ensemble. MODEL_KEEP=DIR keeps the scratch (pan, trails) there.
set -u
MODEL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$MODEL_DIR/../.." && pwd)
. "$MODEL_DIR/lib.sh"

defs=()
names=()
deep=0
for arg in "$@"; do
  case "$arg" in
    --deep) defs+=(-DDEEP); deep=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) names+=("$arg") ;;
  esac
done
if ! command -v "$SPIN" >/dev/null; then
  echo "model: spin not found (install the Debian package spin)" >&2
  exit 1
fi
WORK=${MODEL_KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "${MODEL_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

start=$(date +%s)
model_rules "$ROOT" "$WORK/rules" || { echo "model: rule objects do not build" >&2; exit 1; }
if [ ${#names[@]} -eq 0 ]; then
  for f in "$MODEL_DIR"/cfg/*.pml; do
    # "deep-only." configurations only run with --deep
    [ $deep = 1 ] || ! grep -q 'deep-only\.' "$f" || continue
    names+=("$(basename "$f" .pml)")
  done
fi

# The safety properties a configuration's run checks (queue.pml asserts):
# exclusion (or the lease bound), FIFO, no waiter blocked for good, the
# herd bound (native), terms (election), the multi-lock report.
safety_props() {
  local n=3
  grep -q 'define PROFILE [12]' "$1" || n=$((n + 1))
  grep -q 'define ELECTION' "$1" && n=$((n + 1))
  grep -q 'define MULTI' "$1" && n=$((n + 1))
  echo $n
}

# check_one NAME: one configuration's checks; its lines, then a last line
# "= MODELS PROPS FAILED" for the totals.
check_one() {
  local name=$1 cfg="$MODEL_DIR/cfg/$1.pml" dir="$WORK/$1" r n live
  local props=0 failed=0
  if ! model_pan "$cfg" "$dir" "$WORK/rules" "${defs[@]}"; then
    echo "FAIL $name: does not build"
    echo "= 0 0 1"
    return
  fi
  if grep -q 'liveness only' "$cfg"; then
    r=skip
  else
    r=$(model_safety "$dir")
  fi
  if [ "$r" = skip ]; then
    :
  elif [ "${r%% *}" = ok ]; then
    n=$(safety_props "$cfg")
    echo "ok   $name: $n safety properties (${r#ok } states)"
    props=$((props + n))
  else
    echo "FAIL $name: safety: ${r#fail }"
    sed 's/^/       /' "$dir/trail.txt"
    failed=$((failed + 1))
  fi
  live=$(model_live "$cfg")
  if [ -n "$live" ]; then
    r=$(model_liveness "$dir")
    n=$(echo $live | wc -w)
    if [ "${r%% *}" = ok ]; then
      echo "ok   $name: no wait of clients$live lasts for ever (${r#ok } states)"
      props=$((props + n))
    else
      echo "FAIL $name: liveness: ${r#fail }"
      sed 's/^/       /' "$dir/trail.txt"
      failed=$((failed + 1))
    fi
  fi
  echo "= 1 $props $failed"
}

# One configuration per core at a time (MODEL_JOBS overrides); the
# results print in configuration order.
jobs_max=${MODEL_JOBS:-$(nproc 2>/dev/null || echo 2)}
# (the largest, the semaphores', sort last: start from the end)
for ((ix = ${#names[@]} - 1; ix >= 0; ix--)); do
  name=${names[$ix]}
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
    wait -n 2>/dev/null || sleep 0.2
  done
  check_one "$name" >"$WORK/$name.out" 2>&1 &
done
wait
props=0 models=0 failed=0
for name in "${names[@]}"; do
  grep -v '^= ' "$WORK/$name.out"
  read -r _ m p f < <(grep '^= ' "$WORK/$name.out" || echo "= 0 0 1")
  models=$((models + m))
  props=$((props + p))
  failed=$((failed + f))
done
echo "model: $(($(date +%s) - start)) s"
if [ $failed -gt 0 ]; then
  echo "model: $failed properties fail"
  exit 1
fi
echo "model: $props properties hold in $models models"
