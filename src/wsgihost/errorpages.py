"""The error pages the server writes itself, byte for byte as Apache 2.4 writes them.

Pure text. Apache's ``ap_send_error_response`` writes an HTML 4.01 page in
ISO-8859-1: a title with the status line, an ``<h1>`` with its reason, a
canned paragraph for the status (some name the method, the ``Location`` or
the ``Expect`` header, some end with the request's "error notes"), and the
``ServerSignature`` line. Users compare these pages, and monitoring matches
their text, so wsgihost writes the same bytes.

``ErrorDocument`` decides what replaces a page: a quoted text (the body as
given), a full URL (a redirect) or a local path (an internal redirect);
:func:`custom` says which.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

CONTENT_TYPE = "text/html; charset=iso-8859-1"
NO_ADMIN = "[no address given]"  # Apache's ServerAdmin when none is configured
DOCTYPE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
)

# Apache's status lines (http_protocol.c), the titles of its pages.
STATUS_LINES = {
    int(line[:3]): line
    for line in (
        "100 Continue",
        "101 Switching Protocols",
        "102 Processing",
        "200 OK",
        "201 Created",
        "202 Accepted",
        "203 Non-Authoritative Information",
        "204 No Content",
        "205 Reset Content",
        "206 Partial Content",
        "207 Multi-Status",
        "208 Already Reported",
        "226 IM Used",
        "300 Multiple Choices",
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "304 Not Modified",
        "305 Use Proxy",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
        "400 Bad Request",
        "401 Unauthorized",
        "402 Payment Required",
        "403 Forbidden",
        "404 Not Found",
        "405 Method Not Allowed",
        "406 Not Acceptable",
        "407 Proxy Authentication Required",
        "408 Request Timeout",
        "409 Conflict",
        "410 Gone",
        "411 Length Required",
        "412 Precondition Failed",
        "413 Request Entity Too Large",
        "414 Request-URI Too Long",
        "415 Unsupported Media Type",
        "416 Requested Range Not Satisfiable",
        "417 Expectation Failed",
        "418 I'm A Teapot",
        "421 Misdirected Request",
        "422 Unprocessable Entity",
        "423 Locked",
        "424 Failed Dependency",
        "425 Too Early",
        "426 Upgrade Required",
        "428 Precondition Required",
        "429 Too Many Requests",
        "431 Request Header Fields Too Large",
        "451 Unavailable For Legal Reasons",
        "500 Internal Server Error",
        "501 Not Implemented",
        "502 Bad Gateway",
        "503 Service Unavailable",
        "504 Gateway Timeout",
        "505 HTTP Version Not Supported",
        "506 Variant Also Negotiates",
        "507 Insufficient Storage",
        "508 Loop Detected",
        "510 Not Extended",
        "511 Network Authentication Required",
    )
}

# The paragraphs that name nothing of the request.
_FIXED = {
    300: "",  # Apache's 300 page (Redirect 300) has the heading alone
    305: "<p>This resource is only accessible through the proxy\n"
    "<br />\nYou will need to configure your client to use that proxy.</p>\n",
    401: "<p>This server could not verify that you\n"
    "are authorized to access the document\n"
    "requested.  Either you supplied the wrong\n"
    "credentials (e.g., bad password), or your\n"
    "browser doesn't understand how to supply\n"
    "the credentials required.</p>\n",
    404: "<p>The requested URL was not found on this server.</p>\n",
    408: "<p>Server timeout waiting for the HTTP request from the client.</p>\n",
    410: "<p>The requested resource is no longer available on this server"
    " and there is no forwarding address.\n"
    "Please remove all references to this resource.</p>\n",
    412: "<p>The precondition on the request for this URL evaluated to false.</p>\n",
    415: "<p>The supplied request data is not in a format\n"
    "acceptable for processing by this resource.</p>\n",
    416: "<p>None of the range-specifier values in the Range\n"
    "request-header field overlap the current extent\n"
    "of the selected resource.</p>\n",
    418: "<p>The resulting entity body MAY be short and\nstout.</p>\n",
    421: "<p>The client needs a new connection for this\n"
    "request as the requested host name does not match\n"
    "the Server Name Indication (SNI) in use for this\n"
    "connection.</p>\n",
    422: "<p>The server understands the media type of the\n"
    "request entity, but was unable to process the\n"
    "contained instructions.</p>\n",
    423: "<p>The requested resource is currently locked.\n"
    "The lock must be released or proper identification\n"
    "given before the method can be applied.</p>\n",
    424: "<p>The method could not be performed on the resource\n"
    "because the requested action depended on another\n"
    "action and that other action failed.</p>\n",
    425: "<p>The request could not be processed as TLS\nearly data and should be retried.</p>\n",
    426: "<p>The requested resource can only be retrieved\n"
    "using SSL.  The server is willing to upgrade the current\n"
    "connection to SSL, but your client doesn't support it.\n"
    "Either upgrade your client, or try requesting the page\n"
    "using https://\n",
    428: "<p>The request is required to be conditional.</p>\n",
    429: "<p>The user has sent too many requests\nin a given amount of time.</p>\n",
    431: "<p>The server refused this request because\n"
    "the request header fields are too large.</p>\n",
    503: "<p>The server is temporarily unable to service your\n"
    "request due to maintenance downtime or capacity\n"
    "problems. Please try again later.</p>\n",
    504: "<p>The gateway did not receive a timely response\n"
    "from the upstream server or application.</p>\n",
    506: "<p>A variant for the requested resource\n<pre>\n"
    "\n</pre>\nis itself a negotiable resource. "
    "This indicates a configuration error.</p>\n",
    507: "<p>The method could not be performed on the resource\n"
    "because the server is unable to store the\n"
    "representation needed to successfully complete the\n"
    "request.  There is insufficient free space left in\n"
    "your storage allocation.</p>\n",
    508: "<p>The server terminated an operation because\nit encountered an infinite loop.</p>\n",
    510: "<p>A mandatory extension policy in the request is not\n"
    "accepted by the server for this resource.</p>\n",
    511: "<p>The client needs to authenticate to gain\nnetwork access.</p>\n",
}

# Statuses whose paragraph ends with the request's error notes (then its suffix).
_WITH_NOTES = {
    400: (
        "<p>Your browser sent a request that this server could not understand.<br />\n",
        "</p>\n",
    ),
    403: ("<p>You don't have permission to access this resource.", "</p>\n"),
    414: (
        "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n",
        "</p>\n",
    ),
    451: ("<p>Access to this URL has been denied for legal reasons.<br />\n", "</p>\n"),
    502: (
        "<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n",
        "</p>\n",
    ),
}


@dataclass(frozen=True)
class Signature:
    """What ``ServerSignature`` adds under a page: ``off``, ``on`` or ``email``."""

    mode: str = "off"
    banner: str = "wsgihost"  # what the Server header says (Apache: ServerTokens)
    server_name: str = "localhost"  # the request's server name (Host, else ServerName)
    port: int = 80
    admin: str = NO_ADMIN

    def html(self, prefix: str = "<hr>\n") -> str:
        """Apache's ``ap_psignature``: empty when off."""
        if self.mode not in ("on", "email"):
            return ""
        name = html.escape(self.server_name, quote=True)
        if self.mode == "email":
            mailto = "" if _is_url(self.admin) else "mailto:"
            return (
                f'{prefix}<address>{self.banner} Server at <a href="{mailto}'
                f'{html.escape(self.admin, quote=True)}">{name}</a> Port {self.port}</address>\n'
            )
        return f"{prefix}<address>{self.banner} Server at {name} Port {self.port}</address>\n"


def _is_url(text: str) -> bool:
    # ap_is_url: a scheme (letters, digits, + - .) followed by ':'.
    scheme, colon, _ = text.partition(":")
    return bool(colon and scheme) and all(c.isalnum() or c in "+-." for c in scheme)


def _escape(text: str) -> str:
    # ap_escape_html: < > & and " (not ').
    return html.escape(text, quote=False).replace('"', "&quot;")


def title(status: int) -> str:
    """The status line Apache writes for ``status`` (its own reason phrases)."""
    found = STATUS_LINES.get(status)
    if found is not None:
        return found
    # Apache falls back to the 500 line for a status it does not know.
    return STATUS_LINES[500]


def paragraph(
    status: int,
    method: str = "GET",
    *,
    notes: str = "",
    location: str = "",
    expect: str | None = None,
    admin: str = NO_ADMIN,
) -> str:
    """The canned text under the ``<h1>`` (Apache's ``get_canned_error_string``)."""
    fixed = _FIXED.get(status)
    if fixed is not None:
        return fixed
    if status in _WITH_NOTES:
        prefix, suffix = _WITH_NOTES[status]
        return prefix + notes + suffix
    method_html = _escape(method)
    if status in (301, 302, 307, 308):
        return f'<p>The document has moved <a href="{_escape(location)}">here</a>.</p>\n'
    if status == 303:
        return (
            f'<p>The answer to your request is located <a href="{_escape(location)}">'
            "here</a>.</p>\n"
        )
    if status == 405:
        return f"<p>The requested method {method_html} is not allowed for this URL.</p>\n"
    if status == 406:
        return (
            "<p>An appropriate representation of the requested resource "
            "could not be found on this server.</p>\n"
        )
    if status == 411:
        return (
            f"<p>A request of the requested method {method_html} requires a valid "
            f"Content-length.<br />\n{notes}</p>\n"
        )
    if status == 413:
        return (
            f"The requested resource does not allow request data with {method_html} "
            "requests, or the amount of data provided in\nthe request exceeds the "
            "capacity limit.\n"
        )
    if status == 417:
        if expect is not None:
            start = (
                "<p>The expectation given in the Expect request-header\n"
                "field could not be met by this server.\n"
                f"The client sent<pre>\n    Expect: {_escape(expect)}\n</pre>\n"
            )
        else:
            start = (
                "<p>No expectation was seen, the Expect request-header \n"
                "field was not presented by the client.\n"
            )
        return start + notes + "</p><p>Only the 100-continue expectation is supported.</p>\n"
    if status == 501:
        return f"<p>{method_html} not supported for current URL.<br />\n{notes}</p>\n"
    return (
        "<p>The server encountered an internal error or\n"
        "misconfiguration and was unable to complete\n"
        "your request.</p>\n"
        "<p>Please contact the server administrator at \n "
        f"{_escape(admin)} to inform them of the time this error occurred,\n"
        " and the actions you performed just before this error.</p>\n"
        "<p>More information about this error may be available\n"
        "in the server error log.</p>\n"
    )


def page(
    status: int,
    method: str = "GET",
    *,
    notes: str = "",
    location: str = "",
    expect: str | None = None,
    signature: Signature | None = None,
    recursive: int = 0,
    admin: str | None = None,
    address: str | None = None,
) -> bytes:
    """The whole page Apache writes for ``status`` (ISO-8859-1 bytes).

    ``recursive`` is the status of an ``ErrorDocument`` that itself failed,
    which Apache mentions under the first error's text. ``admin`` and
    ``address`` (the signature's ``<address>`` line, as the environ's
    SERVER_SIGNATURE holds it) stand in for ``signature``'s where given.
    """
    line = title(status)
    sig = signature or Signature()
    if admin is not None:
        sig = replace(sig, admin=admin)
    text = (
        f"{DOCTYPE}<html><head>\n<title>{line}</title>\n</head><body>\n<h1>{line[4:]}</h1>\n"
        + paragraph(status, method, notes=notes, location=location, expect=expect, admin=sig.admin)
    )
    if recursive:
        text += (
            f"<p>Additionally, a {title(recursive)}\nerror was encountered while trying "
            "to use an ErrorDocument to handle the request.</p>\n"
        )
    text += (("<hr>\n" + address) if address else "") if address is not None else sig.html()
    text += "</body></html>\n"
    return text.encode("latin-1", "replace")


def custom(documents: tuple[tuple[int, str], ...], status: int) -> tuple[str, str] | None:
    """The ``ErrorDocument`` for ``status``: ("text", body), ("url", URL), ("local", path).

    None when none is configured for it (or ``ErrorDocument N default``).
    As Apache reads it: a value starting with ``"`` is text (the quote
    itself is not written), one starting with ``/`` a local path, anything
    else with a ``:`` in it a URL.
    """
    value = None
    for code, doc in documents:
        if code == status:
            value = doc  # a later one (a deeper section) wins
    if value is None or value == "default":
        return None
    if value.startswith('"'):
        return ("text", value[1:])
    if value.startswith("/"):
        return ("local", value)
    return ("url", value)
