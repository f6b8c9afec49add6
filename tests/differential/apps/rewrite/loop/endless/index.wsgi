"""The environ the app sees, plus who and where it runs, as JSON.

``/echo/body`` also reads the request body (``wsgi.input`` to its end) and
returns its length and its first bytes, so a test sees what the app received.
"""

import json
import os
import sys


def application(environ, start_response):
    body = None
    if environ.get("PATH_INFO", "").endswith("/body"):
        # Says the app was called at all, before it reads a body that may be broken.
        environ["wsgi.errors"].write("echo called for %s\n" % environ.get("QUERY_STRING"))
        environ["wsgi.errors"].flush()
        data = environ["wsgi.input"].read()
        body = {"length": len(data), "start": data[:64].decode("latin-1")}
    plain = {k: v for k, v in environ.items() if isinstance(v, (str, int, bool, type(None)))}
    info = {
        "environ": plain,
        "version": list(environ["wsgi.version"]),
        "body": body,
        "uid": os.getuid(),
        "gid": os.getgid(),
        "euid": os.geteuid(),
        "cwd": os.getcwd(),
        "argv": sys.argv,
        "path": sys.path,
        "pid": os.getpid(),
        "ppid": os.getppid(),
    }
    out = json.dumps(info, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
    return [out]
