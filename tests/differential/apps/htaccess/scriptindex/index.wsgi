"""Says which callable mod_wsgi (or wsgihost) called: .htaccess may pick another."""


def _answer(name):
    def call(environ, start_response):
        body = name.encode() + b"\n"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return call


application = _answer("application")
other = _answer("other")
