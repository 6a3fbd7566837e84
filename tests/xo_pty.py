"""xo_pty.py TYPESCRIPT [--term TERM ROWS COLS] CMD...: run CMD on a new
pseudo-terminal (its stdin, stdout and stderr), everything it writes copied
to TYPESCRIPT; exit with CMD's status.  With --term, TERM is set and the
terminal has that size (a new pty is 0x0, which Debian 13's mutt refuses:
"Error opening terminal")."""
import os
import pty
import sys

typescript, cmd = sys.argv[1], sys.argv[2:]
if cmd[:1] == ["--term"]:
    os.environ["TERM"] = cmd[1]
    cmd = (["sh", "-c", 'stty rows %s cols %s && exec "$@"' % (cmd[2], cmd[3]),
            "sh"] + cmd[4:])
out = open(typescript, "wb")


def read(fd):
    data = os.read(fd, 4096)
    out.write(data)
    out.flush()
    return data


sys.exit(os.waitstatus_to_exitcode(pty.spawn(cmd, read)))
