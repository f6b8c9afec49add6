"""The app behind the authorization topic: who it let in, as the server says."""


def application(environ, start_response):
    body = ("user=%s\n" % environ.get("REMOTE_USER", "-")).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
