"""Prints while it is imported, before any request runs; then answers plainly."""

import sys

print("marker import-time print() to stdout")
sys.stdout.flush()
print("marker import-time print() to sys.stderr", file=sys.stderr)
sys.stderr.flush()


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"imported\n"]
