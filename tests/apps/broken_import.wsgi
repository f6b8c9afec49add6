"""A WSGI script that cannot be imported: its daemon process never becomes READY."""

raise RuntimeError("broken_import.wsgi fails at import on purpose")


def application(environ, start_response):  # never reached
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable"]
