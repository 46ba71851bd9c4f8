#!/usr/bin/env bash
# Breaks each rule on purpose and shows spin finding a counterexample.
# A rule of recipes/ or src/names.c is broken in a scratch copy of the
# source (sed), a rule of the engine's wait handling in the Promela (-D
# MUT_*). One line per mutant, last "mutants: C of N caught"; exit 0 only
# if every mutant is caught. MODEL_KEEP=DIR keeps the scratch; each
# mutant's trail summary is written to DIR/NAME/trail.txt.
#
#   tests/model/mutants.sh [NAME...]
set -u
MODEL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$MODEL_DIR/../.." && pwd)
. "$MODEL_DIR/lib.sh"
command -v "$SPIN" >/dev/null || { echo "mutants: spin not found" >&2; exit 1; }
WORK=${MODEL_KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "${MODEL_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

# name | model | check (safety or live) | files ("~" between) or "-" |
# sed scripts (one per file, "~" between) | -D switches | what it breaks
MUTANTS=(
  "sem-mark-only-after-wait|sem2|live|recipes/semaphore.c|s/^  if (waited)\$/  return waited; \/* mutant *\/\n  if (waited)/||liveness: a waiter stuck beside a free permit (the old rule)"
  "sem-ignores-turn-mark|sem2|live|-||MUT_SEM_IGNORE_TURN|liveness: the next waiter never hears its predecessor hold"
  "reader-ignores-mark|rwlock-keep|live|-||MUT_READER_IGNORE_MARK|liveness: readers wait behind a downgraded writer"
  "downgrade-mark-as-release|rwlock|safety|-||MUT_MARK_AS_RELEASE NO_P_FIFO|a writer with a reader (the downgraded writer)"
  "watch-oldest|mutex4|safety|src/names.c|s/q\[me\]\.seq) < d) {/q[me].seq) > d) { \/* mutant *\//|NO_P_FIFO|herd: one delete wakes three waiters"
  "pair-grants-when-farther-goes|mutex|safety|-||MUT_PAIR_GRANT_FARTHER NO_P_FIFO NO_P_HERD|two exclusive holders (a writer watching two goes in when the farther one goes)"
  "keep-fired-watch|sem2|live|-||MUT_KEEP_ANY|liveness: a listing keeps a watch whose event already came"
  "multi-skips-final-check|multi|safety|-||MUT_MULTI_NOFINAL|multi-lock reported held with a member lost"
  "exclusive-ignores-readers|rwlock-mix|safety|recipes/mutex.c|s/\"xr\", idx, \&v->total);/\"x\", idx, \&v->total); \/* mutant *\//|NO_P_FIFO|a writer with a reader"
  "reader-barges-queued-writer|rwlock-mix|safety|recipes/rwlock.c|s/^  v->grant = v->total == 0;\$/  { int o = 0; for (int i = 1; i < n; i++) if (zklock__seq_dist(q[i].seq, q[o].seq) < 0) o = i; v->grant = v->total == 0 ? 1 : q[o].kind != 'x'; } \/* mutant *\//|NO_P_EXCL NO_P_HERD|FIFO: a reader ahead of an earlier waiting writer"
  "sem-grant-at-permits|sem1|safety|recipes/semaphore.c|s/v->grant = v->total < permits;/v->grant = v->total <= permits; \/* mutant *\//|NO_P_FIFO|more holders than permits"
  "grant-on-any-delete|rwlock|safety|-||MUT_GRANT_ANY_DELETE NO_P_FIFO NO_P_HERD|a reader with a writer (a chain wait ends on any delete)"
  "profile-writer-skips-readers|rwlock-curator|safety|src/compat.c|s/^    if (kind == 'r' \&\& c.kind == 'r')\$/    if (c.kind == 'r') \/* mutant *\//|NO_P_FIFO|a Curator writer with a reader"
  "elect-grant-when-oldest-goes|election|safety|src/names.c~recipes/mutex.c|s/q\[me\]\.seq) < d) {/q[me].seq) > d) { \/* mutant *\//~s/^  v->grant = v->total == 0;\$/  if (v->total > 1) v->total = 1; \/* mutant *\/\n  v->grant = v->total == 0;/|NO_P_EXCL NO_P_FIFO NO_P_HERD|terms: a leader with a lower term than the last"
)

caught=0 total=0
for m in "${MUTANTS[@]}"; do
  IFS='|' read -r name cfg check files script defs what <<<"$m"
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  total=$((total + 1))
  dir="$WORK/$name"
  rm -rf "$dir"
  mkdir -p "$dir/src"
  cp -r "$ROOT/include" "$ROOT/src" "$ROOT/recipes" "$dir/src/"
  ok=1
  if [ "$files" != - ]; then
    IFS='~' read -ra fl <<<"$files"
    IFS='~' read -ra sl <<<"$script"
    for i in "${!fl[@]}"; do
      s=${sl[$i]:-${sl[0]}}
      f="$dir/src/${fl[$i]}"
      cp "$f" "$f.orig"
      sed -i "$s" "$f"
      cmp -s "$f" "$f.orig" && ok=0 # the patch must change the rule
    done
  fi
  d=()
  for x in $defs; do d+=("-D$x"); done
  if [ $ok = 0 ] || ! model_rules "$dir/src" "$dir/rules" 2>"$dir/rules.log" ||
    ! model_pan "$MODEL_DIR/cfg/$cfg.pml" "$dir/m" "$dir/rules" "${d[@]}"; then
    echo "NOT APPLIED $name ($cfg): the mutation did not build or change the rule"
    continue
  fi
  if [ "$check" = live ]; then
    r=$(model_liveness "$dir/m")
  else
    r=$(model_safety "$dir/m")
  fi
  if [ "${r%% *}" = fail ]; then
    caught=$((caught + 1))
    cp "$dir/m/trail.txt" "$dir/trail.txt"
    steps=$(grep -vc -E '^pan:|START OF CYCLE' "$dir/trail.txt")
    echo "caught $name ($cfg, $check): $what; spin: ${r#fail }; trail $(cat "$dir/m/trail.len") steps, $steps events"
  else
    echo "MISSED $name ($cfg, $check): $what (${r#ok } states, no counterexample)"
  fi
done
echo "mutants: $caught of $total caught"
[ "$caught" -eq "$total" ]
