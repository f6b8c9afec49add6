"""A WSGIHandlerScript: shows the file it was given (SCRIPT_FILENAME) and where."""

import json


def handle_request(environ, start_response):
    with open(environ["SCRIPT_FILENAME"], "rb") as f:
        text = f.read().decode()
    keys = ("SCRIPT_NAME", "PATH_INFO", "SCRIPT_FILENAME", "mod_wsgi.application_group",
            "mod_wsgi.process_group", "mod_wsgi.callable_object", "mod_wsgi.request_handler")
    info = {k: environ.get(k) for k in keys}
    info["text"] = text
    out = json.dumps(info, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]
