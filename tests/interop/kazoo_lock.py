#!/usr/bin/python3
"""Interop worker: kazoo (Debian python3-kazoo 2.8) on one lock path, next
to Curator and zklock workers (tests/test_interop.sh).

usage: kazoo_lock.py HOSTS PATH MODE K COUNTER LOG [HOLD_MS] [ITER_TIMEOUT_S]
  MODE: mutex | rwlock-read | rwlock-write | semaphore:N | election
  K iterations; each: acquire, append "<enter_ns> <exit_ns> <kind> <who>" to
  LOG and, for exclusive kinds (mutex, rwlock-write, election), a
  read-sleep-write increment of the integer in COUNTER while holding.
  ITER_TIMEOUT_S (default 120): an acquisition that takes longer fails the
  worker with exit 3 (deadlock, stuck foreign node).
Exit 0 on success, 2 on usage, 3 on timeout, 1 on any other error.
"""
import os
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout


def main():
    if len(sys.argv) < 7:
        print(__doc__, file=sys.stderr)
        return 2
    hosts, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    k = int(sys.argv[4])
    counter, log = sys.argv[5], sys.argv[6]
    hold_ms = int(sys.argv[7]) if len(sys.argv) > 7 else 5
    limit = float(sys.argv[8]) if len(sys.argv) > 8 else 120.0
    who = "kazoo-%s-%d" % (mode, os.getpid())

    def hold(kind, increment):
        t0 = time.time_ns()
        if increment:
            with open(counter) as f:
                v = int(f.read().strip())
            time.sleep(hold_ms / 1000.0)
            # write-then-rename: a racing reader never sees an empty file
            # (lost increments still show; a crash of this worker does not)
            tmpf = "%s.%d" % (counter, os.getpid())
            with open(tmpf, "w") as f:
                f.write("%d\n" % (v + 1))
            os.replace(tmpf, counter)
        else:
            time.sleep(hold_ms / 1000.0)
        t1 = time.time_ns()
        # one short O_APPEND write: lines of concurrent workers never mix
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, ("%d %d %s %s\n" % (t0, t1, kind, who)).encode())
        os.close(fd)

    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start()
    rc = 0
    try:
        for _ in range(k):
            if mode in ("mutex", "rwlock-write"):
                make = zk.Lock if mode == "mutex" else zk.WriteLock
                lk, kind = make(path, who), "x"
            elif mode == "rwlock-read":
                lk, kind = zk.ReadLock(path, who), "r"
            elif mode.startswith("semaphore:"):
                n = int(mode.split(":")[1])
                lk, kind = zk.Semaphore(path, who, max_leases=n), "l"
            else:
                lk = None
            if lk is not None:
                try:
                    if not lk.acquire(timeout=limit):
                        rc = 3
                        break
                except LockTimeout:
                    rc = 3
                    break
                try:
                    hold(kind, kind == "x")
                finally:
                    lk.release()
            elif mode == "election":
                el = zk.Election(path, who)
                # Election.run blocks without a timeout: cancel it from a
                # timer so a deadlock ends the worker instead of the suite.
                won = []
                t = threading.Timer(limit, el.cancel)
                t.start()
                el.run(lambda: (won.append(1), hold("x", True)))
                t.cancel()
                if not won:
                    rc = 3
                    break
            else:
                print("unknown mode " + mode, file=sys.stderr)
                rc = 2
                break
    except Exception as e:  # report and fail; the harness reads stderr
        print("kazoo worker error: %r" % (e,), file=sys.stderr)
        rc = 1
    finally:
        zk.stop()
        zk.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
