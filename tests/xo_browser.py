"""What the tests' browser stand-ins share (lib.sh's xo_browser runs them
with tests/ on PYTHONPATH): their arguments, the listener a login URL
sends the browser back to and what listens there, and following the URL
as a browser does, logging the answer."""
import subprocess
import urllib.error
import urllib.parse
import urllib.request


def start(argv):
    """The URL and the log a stand-in is called with (argv[1], argv[2]);
    the log is written line by line: the test reads it as it goes."""
    return argv[1], open(argv[2], "a", buffering=1)


def listening(port):
    """The addresses ss shows listening on PORT, sorted, space-separated."""
    ss = subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                        capture_output=True, text=True).stdout.split()
    return " ".join(sorted(w for w in ss if w.endswith(":%d" % port)))


def redirect_port(url):
    """The port of the loopback listener in URL's redirect_uri (0: none)."""
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    return urllib.parse.urlsplit(q.get("redirect_uri", "http://x:0/")).port or 0


def fetch(url, log):
    """Fetch URL, following the redirect to the listener; write its
    "status N" and "page TEXT" (or "error WHY") lines to LOG."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            log.write("status %d\n" % r.status)
            log.write("page %s\n" % r.read().decode().replace("\n", " "))
    except urllib.error.HTTPError as e:
        log.write("status %d\n" % e.code)
    except OSError as e:
        log.write("error %s\n" % e)
