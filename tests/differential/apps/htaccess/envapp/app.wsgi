"""Says whether the Authorization header reached it (WSGIPassAuthorization)."""


def application(environ, start_response):
    body = (environ.get("HTTP_AUTHORIZATION", "(absent)") + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
