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


def _decode(text: bytes) -> bytes:
    try:
        return base64.b64decode(text + b"===", validate=False)
    except (binascii.Error, ValueError):
        return b""


def fake_basic_spoof(header: bytes | None) -> str | None:
    """mod_ssl's guard for SSLOptions +FakeBasicAuth (ssl_hook_UserCheck): the user
    of Basic credentials that pose as a certificate's, else None.

    A user that starts with ``/`` (an X.509 subject in X509_NAME_oneline form)
    with the password ``password`` is what FakeBasicAuth itself would send, so a
    client sending it may be faking a certificate it does not have. As mod_ssl
    reads it: the scheme ``Basic`` exactly (case-sensitive), the password exactly
    ``password``.
    """
    if header is None:
        return None
    scheme, _, rest = header.partition(b" ")
    if scheme != b"Basic":
        return None
    user, colon, password = _decode(rest.lstrip(b" \t")).partition(b":")
    if not colon or not user.startswith(b"/") or password.partition(b"\0")[0] != b"password":
        return None
    try:
        return user.decode("utf-8")
    except UnicodeDecodeError:
        return user.decode("latin-1")


def fake_basic_credentials(dn: str) -> Credentials:
    """The credentials FakeBasicAuth gives a request: the certificate's subject and
    the password ``password`` (``xxj31ZMTZzkVA`` in a password file: its DES crypt)."""
    return Credentials(dn, "password", b"password")


def challenge(realm: str) -> tuple[str, str]:
    """The ``WWW-Authenticate`` header of a 401, as mod_auth_basic writes it."""
    return ("WWW-Authenticate", f'Basic realm="{realm}"')
