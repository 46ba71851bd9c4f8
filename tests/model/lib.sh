# Shared by tests/model/run.sh and tests/model/mutants.sh: builds the C
# rule objects and checks one model configuration (tests/model/cfg/*.pml)
# with spin. Sourced; needs MODEL_DIR (this directory) and WORK (scratch).

SPIN=${SPIN:-spin}
CC=${CC:-cc}
# pan's own code is big and the state spaces small: -O0 builds in ~1 s
PAN_CFLAGS="-O0 -w"
PAN_RUN="-m200000 -w22"

# model_rules SRCROOT OUT: the rule functions (recipes/, src/names.c)
# and the glue, as objects; each function in its own section so the
# link keeps only the rules (the rest of those files needs the engine).
model_rules() {
  local root=$1 out=$2 f
  mkdir -p "$out"
  for f in recipes/mutex.c recipes/rwlock.c recipes/semaphore.c \
           recipes/rules.c src/names.c src/compat.c; do
    "$CC" -O1 -DTHREADED -I"$root/include" -I"$root/src" -ffunction-sections \
      -fdata-sections -c "$root/$f" -o "$out/$(basename "$f" .c).o" || return 1
  done
  "$CC" -O1 -DTHREADED -I"$root/include" -I"$root/src" -I"$MODEL_DIR" \
    -ffunction-sections -c "$MODEL_DIR/glue.c" -o "$out/glue.o"
}

# model_live CFG: the clients whose liveness the configuration asserts
model_live() { sed -n 's/.*live:\([ 0-9]*\).*/\1/p' "$1" | head -1; }

# model_pan CFG DIR RULES [DEFS...]: DIR/pan (safety) and DIR/panl
# (acceptance cycles, weak fairness) for configuration CFG.
model_pan() {
  local cfg=$1 dir=$2 rules=$3
  shift 3
  mkdir -p "$dir"
  {
    local d
    for d in "$@"; do
      d=${d#-D}
      printf '#define %s\n' "${d/=/ }"
    done
    local c f=""
    for c in $(model_live "$cfg"); do
      f="$f${f:+ && }([] (waiting($c) -> <> !waiting($c)))"
    done
    [ -z "$f" ] || printf '#define LIVE %s\n' "$f"
    cat "$cfg"
    printf '#include "%s/queue.pml"\n' "$MODEL_DIR"
  } >"$dir/model.pml"
  (cd "$dir" && "$SPIN" -a model.pml >spin.log 2>&1) || {
    cat "$dir/spin.log" >&2
    return 1
  }
  (cd "$dir" &&
    "$CC" $PAN_CFLAGS -DSAFETY -DNOCLAIM -I"$MODEL_DIR" -o pan pan.c \
      "$rules"/*.o -Wl,--gc-sections &&
    "$CC" $PAN_CFLAGS -DNFAIR=3 -I"$MODEL_DIR" -o panl pan.c \
      "$rules"/*.o -Wl,--gc-sections) >"$dir/cc.log" 2>&1 || {
    cat "$dir/cc.log" >&2
    return 1
  }
}

# model_summary DIR PAN [CLAIM]: the trail as the model narrates it ("MSC:"
# lines), one line per event, and its length (steps) in DIR/trail.len
model_summary() {
  local dir=$1 pan=$2 claim=${3:+-N $3}
  (cd "$dir" && ./"$pan" -r $claim model.pml.trail 2>&1) >"$dir/replay.log"
  wc -l <"$dir/model.pml.trail" | tr -d ' ' >"$dir/trail.len"
  grep -E '^MSC:|^pan:1|START OF CYCLE' \
    "$dir/replay.log" | sed 's/^MSC: //' >"$dir/trail.txt"
}

# model_safety DIR: assertions and invalid end states (a waiter blocked for
# good: a deadlock or a lost wake-up). Prints "ok STATES" or "fail WHAT".
model_safety() {
  local dir=$1
  (cd "$dir" && ./pan $PAN_RUN >safety.log 2>&1)
  if grep -q 'errors: 0' "$dir/safety.log"; then
    echo "ok $(awk '/states, stored/{print $1; exit}' "$dir/safety.log")"
  else
    model_summary "$dir" pan
    echo "fail $(grep -m1 -E '^pan:1:' "$dir/safety.log" | sed 's/^pan:1: //; s/ (at depth.*//')"
  fi
}

# model_liveness DIR: every wait of each patient client ends, under weak
# fairness (one claim over them all). Prints "ok STATES" or "fail WHAT".
model_liveness() {
  local dir=$1
  rm -f "$dir/model.pml.trail"
  (cd "$dir" && ./panl -a -f -N live $PAN_RUN >live.log 2>&1)
  if grep -q 'errors: 0' "$dir/live.log"; then
    echo "ok $(awk '/states, stored/{print $1; exit}' "$dir/live.log")"
  else
    model_summary "$dir" panl live
    echo "fail a wait that never ends ($(grep -m1 -E '^pan:1:' "$dir/live.log" | sed 's/^pan:1: //; s/ (at depth.*//'))"
  fi
}
