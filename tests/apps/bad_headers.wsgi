"""Response heads that would split a response, for test_response_headers.py.

Not wrapped in ``wsgiref.validate.validator``, which would refuse them before
the server saw them (see unvalidated.wsgi). Standard library only, so it runs
in a daemon process too.

  /?where=W&kind=K&how=H
      W: value | name | status    where the bad bytes go
      K: crlf | lf | cr | nul     which bytes (crlf also carries a whole injected header)
      H: list | stream | write    the body as a list, from a generator (the head goes
                                  out with the first chunk), or through write()
  /ok                             a plain 200, for checking the server still serves
"""

from urllib.parse import parse_qs

BYTES = {"crlf": "\r\nSet-Cookie: injected=1", "lf": "\nX-Injected: 1", "cr": "\rX", "nul": "\x00"}
BODY = b"this body must not be sent"


def application(environ, start_response):
    if environ["PATH_INFO"] == "/ok":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\n"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    bad = BYTES[query["kind"]]
    where = query["where"]
    status = "200 OK" + (bad if where == "status" else "")
    name = "X-Bad" + (bad if where == "name" else "")
    value = "innocent" + (bad if where == "value" else "")
    headers = [("Content-Type", "text/plain"), (name, value)]
    how = query.get("how", "list")
    if how == "write":
        write = start_response(status, headers)
        write(BODY)
        return []
    if how == "stream":

        def stream():
            start_response(status, headers)
            yield BODY
            yield BODY

        return stream()
    start_response(status, headers)
    return [BODY]
