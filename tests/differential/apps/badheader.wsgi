"""A response header whose value holds a control byte (``?byte=HH``, hex; 01 if none):
mod_wsgi hands it to Apache, whose strict check answers 500 for any but HTAB.

The body comes in two pieces and with no Content-Length, so that neither server
knows its length before the head goes out (Apache miscounts its 500 page's
length when the app declared one)."""


def application(environ, start_response):
    code = int(environ.get("QUERY_STRING", "").partition("byte=")[2] or "01", 16)
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Odd", "a" + chr(code) + "b")])
    return iter([b"the header ", b"went out\n"])
