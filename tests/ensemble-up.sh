#!/bin/sh
# Starts the 3-node test ensemble (unless ZKLOCK_TEST_HOSTS names one).
[ -n "$ZKLOCK_TEST_HOSTS" ] && exit 0
exec "$top_srcdir/tests/ensemble.sh" start
