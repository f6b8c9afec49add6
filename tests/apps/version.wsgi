"""Answers its VERSION and pid: the reloading tests copy it and rewrite VERSION.

Run under ``wsgiref.validate.validator`` like the other fixture apps.
"""

import os
from wsgiref.validate import validator

VERSION = "v1"


def app(environ, start_response):
    body = f"{VERSION} {os.getpid()}".encode()
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]


application = validator(app)
