"""What the tests' browser stand-ins share (lib.sh's xo_browser runs them
with tests/ on PYTHONPATH): the listener a login URL sends the browser
back to, and following the URL as a browser does, logging the answer."""
import urllib.error
import urllib.parse
import urllib.request


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
