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
for arg in "$@"; do
  case "$arg" in
    --deep) defs+=(-DDEEP) ;;
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
[ ${#names[@]} -gt 0 ] || names=($(cd "$MODEL_DIR/cfg" && ls *.pml | sed 's/\.pml$//'))

props=0 models=0 failed=0
for name in "${names[@]}"; do
  cfg="$MODEL_DIR/cfg/$name.pml"
  dir="$WORK/$name"
  if ! model_pan "$cfg" "$dir" "$WORK/rules" "${defs[@]}"; then
    echo "FAIL $name: does not build"
    failed=$((failed + 1))
    continue
  fi
  models=$((models + 1))
  r=$(model_safety "$dir")
  if [ "${r%% *}" = ok ]; then
    echo "ok   $name: safety (${r#ok } states)"
    props=$((props + 1))
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
done
echo "model: $(($(date +%s) - start)) s"
if [ $failed -gt 0 ]; then
  echo "model: $failed properties fail"
  exit 1
fi
echo "model: $props properties hold in $models models"
