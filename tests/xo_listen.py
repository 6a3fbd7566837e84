"""The tests' small python servers: a loopback listener whose port the
shell waits for (lib.sh's xo_start_py_server puts this directory on
PYTHONPATH and passes the port file as the last argument)."""
import os
import socket


def listen(portfile, backlog=16):
    """A socket listening on 127.0.0.1, on a port the kernel picks, written
    to PORTFILE once it listens (atomically: the shell polls for it)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(backlog)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(portfile + ".tmp", portfile)
    return ls
