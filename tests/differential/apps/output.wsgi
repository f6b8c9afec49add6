"""Writes a marker to every place a mod_wsgi app writes to, then answers or raises.

``print()`` (standard output), ``sys.stderr``, the ``logging`` module's default
handler, ``wsgi.errors``; ``/raise`` then raises, so the server logs a
traceback. Each marker carries the request's ``Host`` name and the ``case``
query value, so a test finds its own lines in whichever log they land.
"""

import logging
import sys

log = logging.getLogger("differential")


def application(environ, start_response):
    tag = "%s %s" % (environ.get("SERVER_NAME"), environ.get("QUERY_STRING"))
    print("marker print() to stdout", tag)
    sys.stdout.flush()
    print("marker print() to sys.stderr", tag, file=sys.stderr)
    sys.stderr.flush()
    log.warning("marker logging.warning %s", tag)
    environ["wsgi.errors"].write("marker wsgi.errors %s\n" % tag)
    environ["wsgi.errors"].flush()
    if environ.get("PATH_INFO") == "/raise":
        raise RuntimeError("marker raised " + tag)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"written\n"]
