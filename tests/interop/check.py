#!/usr/bin/python3
"""Checks for the interop tests (tests/test_interop.sh).

  check.py intervals LOG N
      LOG lines are "<enter_ns> <exit_ns> <kind> <who>" (kind x: exclusive,
      r: shared, l: semaphore lease). Fails (exit 1) if an x interval
      overlaps any other interval, or if more than N l/r intervals overlap
      at one instant (N = 0: no limit for r). Prints a summary line.
  check.py nodes HOSTS PATH...
      Lists every node below each PATH (recursively) that is still
      ephemeral (a lock node left behind); exit 1 if there is one.
  check.py tree HOSTS PATH
      Prints every node below PATH with its data (for name samples).
  check.py watch HOSTS PATH SECONDS OUT
      Polls PATH's children (and those of PATH/locks, PATH/leases,
      PATH-__lock__) for SECONDS and appends every new name seen to OUT.
"""
import logging
import sys
import time

logging.basicConfig(level=logging.CRITICAL)


def intervals(log, n):
    ev = []
    rows = 0
    kinds = {}
    with open(log) as f:
        for line in f:
            p = line.split()
            if len(p) < 3:
                continue
            t0, t1, k = int(p[0]), int(p[1]), p[2]
            rows += 1
            kinds[k] = kinds.get(k, 0) + 1
            ev.append((t0, 1, k, p[3] if len(p) > 3 else "?"))
            ev.append((t1, 0, k, p[3] if len(p) > 3 else "?"))
    # exits sort before enters at the same instant: touching is not overlap
    ev.sort(key=lambda e: (e[0], e[1]))
    inside = {"x": 0, "r": 0, "l": 0}
    viol = 0
    maxshared = 0
    first = None
    for t, enter, k, who in ev:
        if enter:
            inside[k] += 1
            busy = inside["x"] + inside["r"] + inside["l"]
            bad = (k == "x" and busy > 1) or (k != "x" and inside["x"] > 0)
            shared = inside["r"] + inside["l"]
            if n > 0 and shared > n:
                bad = True
            maxshared = max(maxshared, shared)
            if bad:
                viol += 1
                if first is None:
                    first = "%s %s at %d (inside %r)" % (who, k, t, dict(inside))
        else:
            inside[k] -= 1
    print("intervals=%d kinds=%s max_shared=%d violations=%d%s" %
          (rows, kinds, maxshared, viol, ("  first: " + first) if first else ""))
    return 1 if viol else 0


def client(hosts):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start()
    return zk


def walk(zk, path):
    from kazoo.exceptions import NoNodeError
    try:
        kids = zk.get_children(path)
    except NoNodeError:
        return
    for k in sorted(kids):
        p = path.rstrip("/") + "/" + k
        try:
            data, st = zk.get(p)
        except NoNodeError:
            continue
        yield p, data, st
        yield from walk(zk, p)


def nodes(hosts, paths):
    zk = client(hosts)
    left = 0
    for path in paths:
        for p, data, st in walk(zk, path):
            if st.ephemeralOwner:
                print("left behind: %s" % p)
                left += 1
    zk.stop()
    print("ephemeral nodes left: %d" % left)
    return 1 if left else 0


def tree(hosts, path):
    zk = client(hosts)
    for p, data, st in walk(zk, path):
        print("%s\t%r\tephemeral=%d" % (p, data, 1 if st.ephemeralOwner else 0))
    zk.stop()
    return 0


def watch(hosts, path, secs, out):
    from kazoo.exceptions import NoNodeError
    zk = client(hosts)
    seen = set()
    end = time.time() + secs
    with open(out, "a") as f:
        while time.time() < end:
            for p in (path, path + "/locks", path + "/leases", path + "-__lock__"):
                try:
                    for k in zk.get_children(p):
                        if (p, k) not in seen:
                            seen.add((p, k))
                            f.write("%s/%s\n" % (p, k))
                            f.flush()
                except NoNodeError:
                    pass
            time.sleep(0.005)
    zk.stop()
    return 0


def main(a):
    if len(a) >= 3 and a[1] == "intervals":
        return intervals(a[2], int(a[3]) if len(a) > 3 else 1)
    if len(a) >= 4 and a[1] == "nodes":
        return nodes(a[2], a[3:])
    if len(a) == 4 and a[1] == "tree":
        return tree(a[2], a[3])
    if len(a) == 6 and a[1] == "watch":
        return watch(a[2], a[3], float(a[4]), a[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
