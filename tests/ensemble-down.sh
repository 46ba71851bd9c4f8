#!/bin/sh
# Stops the test ensemble that ensemble-up.sh started.
[ -n "$ZKLOCK_TEST_HOSTS" ] && exit 0
exec "$top_srcdir/tests/ensemble.sh" stop
