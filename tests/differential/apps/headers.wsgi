"""Answers whose headers the server may act on, chosen by the last path segment.

``/validators``: ETag, Last-Modified, Cache-Control and Vary from the app (a
server may answer a conditional request itself); ``/cookies``: two
Set-Cookie; ``/challenge``: 401 with WWW-Authenticate; ``/no-type``: no
Content-Type; ``/no-length``: a body in pieces with no Content-Length;
``/empty``: 204; ``/allow``: 405 with Allow; ``/file`` and ``/file-length``:
``wsgi.file_wrapper`` without and with a Content-Length; ``/latin1``: a header
value with ISO-8859-1 letters; ``/custom-reason``: status ``299 Quite Unusual``.
"""


def application(environ, start_response):
    what = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
    body = [b"headers app: " + what.encode() + b"\n"]
    if what == "validators":
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("ETag", '"v1-abc"'),
            ("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
            ("Cache-Control", "max-age=60, public"),
            ("Vary", "Accept-Encoding"),
        ]
        status = "200 OK"
    elif what == "cookies":
        headers = [
            ("Content-Type", "text/plain"),
            ("Set-Cookie", "first=1; Path=/"),
            ("Set-Cookie", "second=2; Path=/; HttpOnly"),
        ]
        status = "200 OK"
    elif what == "challenge":
        headers = [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Basic realm="diff"')]
        status = "401 Unauthorized"
    elif what == "no-type":
        headers = []
        status = "200 OK"
    elif what == "no-length":
        headers = [("Content-Type", "text/plain")]
        body = [b"one ", b"two ", b"three\n"]
        status = "200 OK"
    elif what == "empty":
        headers = []
        body = []
        status = "204 No Content"
    elif what in ("file", "file-length"):
        # wsgi.file_wrapper, which mod_wsgi sends from the file (sendfile when enabled).
        path = environ["SCRIPT_FILENAME"]
        headers = [("Content-Type", "text/x-python")]
        if what == "file-length":
            import os

            headers.append(("Content-Length", str(os.path.getsize(path))))
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](open(path, "rb"), 4096)
    elif what == "latin1":
        headers = [("Content-Type", "text/plain"), ("X-Differential", "caf\xe9 na\xefve")]
        status = "200 OK"
    elif what == "custom-reason":
        headers = [("Content-Type", "text/plain")]
        status = "299 Quite Unusual"
    elif what == "allow":
        headers = [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")]
        status = "405 Method Not Allowed"
    else:
        headers = [("Content-Type", "text/plain")]
        status = "404 Not Found"
    if what != "no-length" and body:  # (the file answers returned above)
        headers.append(("Content-Length", str(sum(len(b) for b in body))))
    start_response(status, headers)
    return body
