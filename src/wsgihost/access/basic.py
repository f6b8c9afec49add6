"""HTTP Basic authentication as mod_auth_basic speaks it: the credentials a request
carries, and the 401 that asks for them.

Pure.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

# Apache 2.4's own 401 page (its default error text for HTTP_UNAUTHORIZED).
UNAUTHORIZED_BODY = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    b"<html><head>\n"
    b"<title>401 Unauthorized</title>\n"
    b"</head><body>\n"
    b"<h1>Unauthorized</h1>\n"
    b"<p>This server could not verify that you\n"
    b"are authorized to access the document\n"
    b"requested.  Either you supplied the wrong\n"
    b"credentials (e.g., bad password), or your\n"
    b"browser doesn't understand how to supply\n"
    b"the credentials required.</p>\n"
    b"</body></html>\n"
)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


class WrongScheme(Exception):
    """An Authorization header of another scheme than Basic."""


def credentials(header: bytes | None) -> Credentials | None:
    """The user and password of an ``Authorization: Basic`` header.

    None when there is no header; WrongScheme for another scheme. As Apache
    reads it: the user is what comes before the first ``:`` of the decoded
    text, the password the rest (empty when there is no ``:``). Credentials
    that are not UTF-8 are read as latin-1, so no byte is lost.
    """
    if header is None:
        return None
    scheme, _, rest = header.strip(b" \t").partition(b" ")
    if scheme.lower() != b"basic":
        raise WrongScheme(scheme.decode("latin-1"))
    try:
        decoded = base64.b64decode(rest.strip(b" \t") + b"===", validate=False)
    except (binascii.Error, ValueError):
        decoded = b""
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        text = decoded.decode("latin-1")
    user, _, password = text.partition(":")
    return Credentials(user, password)


def challenge(realm: str) -> tuple[str, str]:
    """The ``WWW-Authenticate`` header of a 401, as mod_auth_basic writes it."""
    return ("WWW-Authenticate", f'Basic realm="{realm}"')
