"""Output: writes to every place an app can, each line tagged with who served it.

The tag is the daemon group's name, or "embedded". Paths:
  /print           print()
  /stderr          sys.stderr.write()
  /stderr-partial  sys.stderr.write() with no newline (flushed at the request's end)
  /print-partial   two writes that make one line, then one with no newline
  /print-multi     print() of a two-line string
  /logging         logging.getLogger(...).error() after logging.basicConfig()
  /errors          environ["wsgi.errors"].write()
  /errors-multi    one wsgi.errors write of several lines
  /raise           an uncaught exception (a 500 and a traceback)
  /fd2             os.write(2, ...): below Python, as a C extension writes
  /thread          print() from a thread of the app's own, outside the request
  /escape          print() of text Apache escapes (non-ASCII, a tab, a backslash, \x01)
  /pid             the process id
At import it prints a line, and writes one to sys.stderr.
"""

import logging
import os
import sys
import threading

print("IMPORT-PRINT from", os.getpid())
sys.stderr.write("IMPORT-STDERR\n")
logging.basicConfig()
log = logging.getLogger("myapp")


def application(environ, start_response):
    path = environ["PATH_INFO"]
    tag = environ.get("mod_wsgi.process_group") or "embedded"
    if path == "/print":
        print("PRINT", tag)
    elif path == "/stderr":
        sys.stderr.write("STDERR %s\n" % tag)
    elif path == "/stderr-partial":
        sys.stderr.write("STDERR-PARTIAL %s" % tag)
    elif path == "/print-partial":
        sys.stdout.write("PARTIAL-A ")
        sys.stdout.write("PARTIAL-B %s\n" % tag)
        sys.stdout.write("DANGLING %s" % tag)
    elif path == "/print-multi":
        print("PM1 %s\nPM2" % tag)
    elif path == "/logging":
        log.error("LOGGING %s", tag)
    elif path == "/errors":
        environ["wsgi.errors"].write("ERRORS %s\n" % tag)
    elif path == "/errors-multi":
        environ["wsgi.errors"].write("ML1 %s\nML2\n\nML4" % tag)
    elif path == "/raise":
        raise RuntimeError("BOOM %s" % tag)
    elif path == "/fd2":
        os.write(2, ("FD2 %s\n" % tag).encode())
    elif path == "/escape":
        print('caf\u00e9\ttab \\ back "q" \x01 end %s' % tag)
    elif path == "/thread":
        t = threading.Thread(target=print, args=("THREAD %s" % tag,))
        t.start()
        t.join()
    body = str(os.getpid()).encode() if path == "/pid" else b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
