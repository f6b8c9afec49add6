"""A WSGI script the configuration corpus points at (never run by the corpus tests)."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"corpus\n"]
