"""The mod_wsgi site of the distribution-tree tests: where it was mounted and what it was asked."""


def application(environ, start_response):
    body = "app.wsgi: %s %s script_name=%s path_info=%s query=%s server_port=%s\n" % (
        environ["REQUEST_METHOD"],
        environ.get("HTTP_HOST", ""),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        environ.get("SERVER_PORT", ""),
    )
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
