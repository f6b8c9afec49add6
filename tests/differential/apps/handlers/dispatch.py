"""A WSGIDispatchScript: the query string chooses the process group and callable."""

from urllib.parse import parse_qs


def process_group(environ):
    return parse_qs(environ.get("QUERY_STRING", "")).get("group", [None])[0]


def callable_object(environ):
    return parse_qs(environ.get("QUERY_STRING", "")).get("callable", [None])[0]
