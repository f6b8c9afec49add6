"""Site example1.com: says which process group and process served the request."""

import os


def application(environ, start_response):
    body = (
        "example1.com served by group %r, process %d\n"
        % (environ["mod_wsgi.process_group"], os.getpid())
    ).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
