"""The expires and mime topics' app: answers with the status and headers the
query asks for, and a short body.

``?status=304`` answers with that status; ``?h=Name:Value`` (repeatable) adds
a response header; ``?type=...`` sets the Content-Type (``?type=`` sends
none).
"""

from urllib.parse import parse_qsl


def application(environ, start_response):
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    status = "200 OK"
    headers = []
    media = "text/plain"
    for key, value in query:
        if key == "status":
            status = value + " Status"
        elif key == "type":
            media = value
        elif key == "h":
            name, _, text = value.partition(":")
            headers.append((name, text))
    if media:
        headers.insert(0, ("Content-Type", media))
    body = b"" if status[:3] in ("204", "304") else b"app answer\n"
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    return [body]
