"""HTTP Basic authentication as mod_auth_basic speaks it: the credentials a request
carries, and the challenge of the 401 that asks for them (its page is errorpages').

Pure.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    # The password's bytes as sent: a password file's hashes are of bytes, and the
    # text above may have been read as latin-1.
    raw_password: bytes = field(default=b"", compare=False, repr=False)


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
    return Credentials(user, password, decoded.partition(b":")[2])


def challenge(realm: str) -> tuple[str, str]:
    """The ``WWW-Authenticate`` header of a 401, as mod_auth_basic writes it."""
    return ("WWW-Authenticate", f'Basic realm="{realm}"')
