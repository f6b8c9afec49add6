"""What mod_wsgi tells a handler-mapped script about where it is, as JSON."""

import json

KEYS = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "SCRIPT_FILENAME",
    "PATH_TRANSLATED",
    "mod_wsgi.application_group",
    "mod_wsgi.process_group",
    "mod_wsgi.callable_object",
    "mod_wsgi.script_reloading",
)


def application(environ, start_response):
    out = json.dumps({k: environ.get(k) for k in KEYS}, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]


def other(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the other callable\n"]
