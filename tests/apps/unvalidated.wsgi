"""Responses that break HTTP on purpose, so the server itself must catch them.

This is the one fixture app not wrapped in ``wsgiref.validate.validator``: the
validator would reject these headers itself (an AssertionError, hence a 500)
before the server ever saw them, and the test would prove nothing about the
server. Everything it does besides the bad header is valid WSGI.

  /header?kind=crlf|lf|cr|nul   a response header whose value holds CR LF / LF / CR / NUL
"""

from urllib.parse import parse_qs

BAD = {
    "crlf": "innocent\r\nSet-Cookie: injected=1",
    "lf": "innocent\nSet-Cookie: injected=1",
    "cr": "innocent\rSet-Cookie: injected=1",
    "nul": "innocent\x00injected",
}


def application(environ, start_response):
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    value = BAD[query.get("kind", "crlf")]
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Bad", value)])
    return [b"this body must not be sent"]
