"""A WSGIDispatchScript: the query string chooses the process group, the
application group and the callable."""

from urllib.parse import parse_qs


def _asked(environ, name):
    return parse_qs(environ.get("QUERY_STRING", "")).get(name, [None])[0]


def process_group(environ):
    return _asked(environ, "group")


def application_group(environ):
    return _asked(environ, "app")


def callable_object(environ):
    return _asked(environ, "callable")
