"""Echo for the request-corpus replay: what the app saw of the request, as JSON.

Answers every request with 200 and
  {"method", "uri", "protocol", "path_info", "query", "headers", "body_b64", "pid"}
where ``uri`` is REQUEST_URI (the raw request-target), ``headers`` is the list
of [environ key, value] for every HTTP_* key plus CONTENT_TYPE and
CONTENT_LENGTH (PEP 3333 strings: bytes as latin-1), and ``body_b64`` is the
whole request body read from wsgi.input until its end.

When reading the body fails (the front end found the chunked framing broken,
or the client went away), the app answers ``500`` with the error in
``X-Echo-Read-Error`` instead of letting the exception escape: the replay
checks that the error log holds no traceback, and such a response must never
reach the client anyway (the server answers a malformed request itself).
"""

import base64
import json
import os


def application(environ, start_response):
    try:
        body = environ["wsgi.input"].read()
    except OSError as e:
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/plain"), ("X-Echo-Read-Error", str(e)[:200])],
        )
        return [b"request body read error\n"]
    headers = [
        [key, value]
        for key, value in sorted(environ.items())
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    ]
    out = json.dumps(
        {
            "method": environ["REQUEST_METHOD"],
            "uri": environ.get("REQUEST_URI"),
            "protocol": environ["SERVER_PROTOCOL"],
            "path_info": environ["PATH_INFO"],
            "query": environ["QUERY_STRING"],
            "headers": headers,
            "body_b64": base64.b64encode(body).decode("ascii"),
            "pid": os.getpid(),
        }
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]
