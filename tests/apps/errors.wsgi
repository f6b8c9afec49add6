"""Errors: an app for error pages, ErrorDocument and error logs.

  /fail?NNN     answers status NNN with a body of its own ("APP BODY NNN")
  /errordoc     an ErrorDocument target: its status 200, the REDIRECT_* it got as JSON
  /log          writes "LOGGED LINE" to wsgi.errors, answers 200
  /raise        an uncaught exception (a 500 and a traceback)
"""

import json


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/fail":
        code = int(environ.get("QUERY_STRING") or "500")
        body = ("APP BODY %d" % code).encode()
        start_response("%d Whatever" % code, [("Content-Type", "text/plain"), ("X-App", "1")])
        return [body]
    if path == "/errordoc":
        seen = {k: v for k, v in environ.items() if k.startswith("REDIRECT_")}
        seen["REQUEST_METHOD"] = environ["REQUEST_METHOD"]
        seen["PATH_INFO"] = path
        body = json.dumps(seen, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/log":
        environ["wsgi.errors"].write("LOGGED LINE\n")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"logged"]
    if path == "/raise":
        raise RuntimeError("BOOM")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
