"""Raw ZooKeeper actions for the CLI tests (python3-kazoo).

  cli-zk.py HOSTS expire SESSION_FILE  expire the session in SESSION_FILE
                                       ("sid_hex passwd_hex", as written by
                                       ZKLOCK_DEBUG_SESSION_FILE)
  cli-zk.py HOSTS delete PATH          delete one node
  cli-zk.py HOSTS get PATH             print a node's data
  cli-zk.py HOSTS mark-read PATH       append "mode=r" to a lock node's data,
                                       as zklock_rwlock_downgrade does (a
                                       writer that readers may share with)
  cli-zk.py HOSTS children PATH        print a node's children, one a line
  cli-zk.py HOSTS rmr PATH             delete PATH and everything below it
  cli-zk.py HOSTS proxy DIR            TCP proxy to the first of HOSTS: writes
                                       its port to DIR/port; while DIR/cut
                                       exists it drops every connection (a
                                       client behind it is cut off from the
                                       ensemble); ends when DIR/stop exists
"""
import logging
import os
import select
import socket
import sys

from kazoo.client import KazooClient

logging.basicConfig(level=logging.CRITICAL)


def proxy(hosts, d):
    host, port = hosts.split(",")[0].rsplit(":", 1)
    port = int(port.split("/")[0])
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    peer = {}  # socket -> the socket it forwards to

    def drop(s):
        o = peer.pop(s, None)
        s.close()
        if o is not None:
            peer.pop(o, None)
            o.close()

    while not os.path.exists(os.path.join(d, "stop")):
        cut = os.path.exists(os.path.join(d, "cut"))
        if cut:
            for s in list(peer):
                if s in peer:
                    drop(s)
        r, _, _ = select.select([ls] + list(peer), [], [], 0.05)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                if cut:
                    c.close()
                    continue
                try:
                    u = socket.create_connection((host, port), timeout=5)
                except OSError:
                    c.close()
                    continue
                peer[c], peer[u] = u, c
            elif s in peer:
                try:
                    data = s.recv(65536)
                    if data:
                        peer[s].sendall(data)
                        continue
                except OSError:
                    pass
                drop(s)
    return 0


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    hosts, action, arg = argv[1:]
    if action == "proxy":
        return proxy(hosts, arg)
    client_id = None
    if action == "expire":
        with open(arg) as f:
            sid, passwd = f.read().split()
        client_id = (int(sid, 16), bytes.fromhex(passwd))
    zk = KazooClient(hosts=hosts, client_id=client_id, timeout=10)
    zk.start(timeout=15)
    try:
        if action == "expire":
            # Closing a second connection to the same session ends the
            # session on the server: the first client sees it expire.
            pass
        elif action == "delete":
            zk.delete(arg)
        elif action == "get":
            data, _ = zk.get(arg)
            sys.stdout.write(data.decode("utf-8", "replace") + "\n")
        elif action == "mark-read":
            data, _ = zk.get(arg)
            zk.set(arg, data + b"mode=r\n")
        elif action == "rmr":
            zk.delete(arg, recursive=True)
        elif action == "children":
            for name in sorted(zk.get_children(arg)):
                print(name)
        else:
            sys.stderr.write(__doc__)
            return 2
    finally:
        zk.stop()
        zk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
