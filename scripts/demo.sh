#!/usr/bin/env bash
# Sets everything up and shows zklock at work: installs packages if
# missing, builds, starts a local 3-node ZooKeeper ensemble on 127.0.0.1,
# runs several processes contending for one lock (each prints its turns
# and fencing tokens), then stops the ensemble. Safe to rerun.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_packages
build default
make -s examples/contend examples/mutex_basic

export ZKLOCK_ENSEMBLE_DIR="$PWD/demo-ensemble"
trap '"$ROOT/tests/ensemble.sh" stop >/dev/null 2>&1 || true' EXIT
echo "== starting a 3-node ZooKeeper ensemble"
hosts=$("$ROOT/tests/ensemble.sh" start | tail -n 1)
echo "   ensemble: $hosts"
echo
echo "== 4 processes x 3 turns on /demo/lock"
./examples/contend "$hosts" /demo/lock 4 3
echo
echo "== one more, with mutex_basic"
./examples/mutex_basic "$hosts" /demo/lock
echo
echo "== stopping the ensemble"
