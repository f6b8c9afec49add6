"""The headers topic's app: answers with the status and headers the query asks
for, and a JSON body of the environ values the tests look at.

``?status=404`` answers 404; ``?h=Name:Value`` (repeatable) adds a response
header; ``?raise=1`` raises, so the server answers 500 itself. The body holds
every ``HTTP_*`` variable and the variables the site's SetEnvIf lines set.
"""

import json
from urllib.parse import parse_qsl

SEEN = ("MOBILE", "OLDIE", "FROM", "TOKEN", "VIA_DIR", "SPECIAL", "NOKEEP", "ROOT_ENV",
        "downgrade-1.0", "force-response-1.0", "nokeepalive", "ssl-unclean-shutdown",
        "METHOD_SEEN", "URI_SEEN", "PROTO_SEEN", "ADDR_SEEN", "SERVER_SEEN", "CHAIN",
        "NOT_SET", "REGEX_HEADER", "CASELESS", "redirect-carefully")


def application(environ, start_response):
    query = parse_qsl(environ.get("QUERY_STRING", ""))
    if ("raise", "1") in query:
        raise RuntimeError("asked to raise")
    status = "200 OK"
    headers = [("Content-Type", "application/json")]
    for key, value in query:
        if key == "status":
            status = value + " Status"
        elif key == "h":
            name, _, text = value.partition(":")
            headers.append((name, text))
    seen = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k in SEEN}
    body = json.dumps(seen, sort_keys=True).encode()
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    return [body]
