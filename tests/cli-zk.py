"""Raw ZooKeeper actions for the CLI tests (python3-kazoo).

  cli-zk.py HOSTS expire SESSION_FILE  expire the session in SESSION_FILE
                                       ("sid_hex passwd_hex", as written by
                                       ZKLOCK_DEBUG_SESSION_FILE)
  cli-zk.py HOSTS delete PATH          delete one node
  cli-zk.py HOSTS get PATH             print a node's data
  cli-zk.py HOSTS children PATH        print a node's children, one a line
  cli-zk.py HOSTS rmr PATH             delete PATH and everything below it
"""
import logging
import sys

from kazoo.client import KazooClient

logging.basicConfig(level=logging.CRITICAL)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    hosts, action, arg = argv[1:]
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
