"""Says its PATH_TRANSLATED: the file its PATH_INFO names, found by a sub-request
that walks the DocumentRoot (and its .htaccess files, which may fail)."""


def application(environ, start_response):
    body = (environ.get("PATH_TRANSLATED", "(absent)") + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
