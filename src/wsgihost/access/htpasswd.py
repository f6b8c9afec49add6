"""Password files (``AuthUserFile``) as mod_authn_file reads them and apr-util's
``apr_password_validate`` checks them on Linux.

Pure but for the file reading, whose ``stat`` and ``read`` are injected: a
:class:`PasswordFiles` keeps each file parsed and parses it again when its
stat changes (checked per lookup, as Apache opens the file per request).
Parsing and checking may be slow (bcrypt): callers run them off the event loop.

The formats Debian's ``htpasswd`` writes: bcrypt (``$2y$``), apr1 MD5
(``$apr1$``, also glibc's ``$1$``, the same algorithm), ``{SHA}``, DES crypt
(:mod:`.descrypt`) and plain text; and glibc's SHA-crypt (``$5$``, ``$6$``).
What apr-util hands to the C library's ``crypt()`` on Linux and this module
cannot compute (yescrypt ``$y$`` ...) is refused with the file and line: never
accepted. Plain text is what Linux makes of it: ``crypt()`` never returns the
plain password, so it never matches; a plain-text entry of 13 characters of
``./0-9A-Za-z`` is a DES hash to ``crypt()``, and is checked as one.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Generic, TypeVar

from wsgihost.access import descrypt, shacrypt

T = TypeVar("T")

# Imported with this module, in the front-end worker before it takes its own
# entries off sys.path for embedded apps (a lazy import could then miss it).
_bcrypt: ModuleType | None
try:
    import bcrypt as _bcrypt
except ImportError:  # a dependency; without it bcrypt entries are refused
    _bcrypt = None

_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Apache reads a configuration line of at most MAX_STRING_LEN bytes.
_MAX_LINE = 8192


class Verdict(enum.Enum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNVERIFIABLE = "unverifiable"  # a format wsgihost cannot compute: refused


class Lookup(enum.Enum):
    GRANTED = "granted"
    DENIED = "denied"  # AUTH_DENIED: password mismatch
    NOT_FOUND = "not found"  # AUTH_USER_NOT_FOUND
    ERROR = "error"  # AUTH_GENERAL_ERROR: a 500


@dataclass(frozen=True)
class Entry:
    hash: str
    line: int


def _to64(value: int, count: int) -> bytes:
    out = bytearray()
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def md5_crypt(password: bytes, salt: bytes, magic: bytes = b"$apr1$") -> bytes:
    """The MD5-based crypt of FreeBSD (glibc's ``$1$``, apr-util's ``$apr1$``)."""
    salt = salt[:8]
    alternate = hashlib.md5(password + salt + password).digest()
    outer = hashlib.md5(password + magic + salt)
    remaining = len(password)
    while remaining > 0:
        outer.update(alternate[: min(16, remaining)])
        remaining -= 16
    bits = len(password)
    while bits:
        # The algorithm's well-known quirk: a zero byte for a set bit.
        outer.update(b"\0" if bits & 1 else password[:1])
        bits >>= 1
    digest = outer.digest()
    for i in range(1000):
        step = hashlib.md5(password if i & 1 else digest)
        if i % 3:
            step.update(salt)
        if i % 7:
            step.update(password)
        step.update(digest if i & 1 else password)
        digest = step.digest()
    encoded = b"".join(
        _to64((digest[a] << 16) | (digest[b] << 8) | digest[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    )
    return magic + salt + b"$" + encoded + _to64(digest[11], 2)


def _md5_check(password: bytes, stored: str, magic: str) -> Verdict:
    salt = stored[len(magic) :].split("$", 1)[0]
    made = md5_crypt(password, salt.encode("latin-1"), magic.encode("ascii"))
    return _same(made, stored.encode("latin-1"))


def _same(a: bytes, b: bytes) -> Verdict:
    # Constant time: how much of a hash matched must not show in the answer's timing.
    return Verdict.MATCH if hmac.compare_digest(a, b) else Verdict.MISMATCH


def _bcrypt_check(password: bytes, stored: str) -> Verdict:
    if _bcrypt is None:
        return Verdict.UNVERIFIABLE  # refused, with the reason describe() gives
    try:
        # bcrypt's own check compares in constant time.
        ok = _bcrypt.checkpw(password[:72], stored.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return Verdict.UNVERIFIABLE
    return Verdict.MATCH if ok else Verdict.MISMATCH


def verify(password: bytes, stored: str) -> Verdict:
    """Whether ``password`` matches the stored hash, as apr_password_validate says on Linux."""
    if stored.startswith("$apr1$"):
        return _md5_check(password, stored, "$apr1$")
    if stored[:4] in ("$2y$", "$2a$", "$2b$"):
        return _bcrypt_check(password, stored)
    if stored.startswith("{SHA}"):
        made = b"{SHA}" + base64.b64encode(hashlib.sha1(password).digest())
        return _same(made, stored.encode("latin-1"))
    # Everything else goes to crypt(3) in apr-util on Linux.
    if stored.startswith("$1$"):
        return _md5_check(password, stored, "$1$")
    if stored[:3] in ("$5$", "$6$"):
        computed = shacrypt.sha_crypt(password, stored)
        if computed is None:
            return Verdict.UNVERIFIABLE
        return _same(computed.encode("latin-1"), stored.encode("latin-1"))
    if descrypt.HASH.fullmatch(stored):
        # DES: only the password's first 8 bytes count, as in crypt(3).
        return _same(descrypt.des_crypt(password, stored.encode("ascii")), stored.encode("ascii"))
    if stored.startswith("$"):
        return Verdict.UNVERIFIABLE
    # crypt() gives 13 characters, "*0"/"*1" or nothing for this "salt": never the
    # text itself, so a plain-text entry never matches on Linux (Apache's too).
    return Verdict.MISMATCH


def describe(stored: str) -> str:
    if stored[:4] in ("$2y$", "$2a$", "$2b$"):
        return "bcrypt, and the bcrypt package cannot be imported"
    if stored.startswith("$"):
        return f"'{stored.split('$')[1] if stored.count('$') > 1 else stored}' crypt"
    return "an unknown crypt format"


@dataclass(frozen=True)
class Parsed:
    entries: dict[str, Entry]


def parse(text: bytes) -> Parsed:
    """Users and hashes, as mod_authn_file reads them: the first line of a user wins;
    the user is before the first ``:``, the hash up to the next one."""
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(text.split(b"\n"), 1):
        line = raw[:_MAX_LINE].strip(b" \t\r\f\v").decode("latin-1")
        if not line or line.startswith("#"):
            continue
        user, _, rest = line.partition(":")
        entries.setdefault(user, Entry(rest.split(":", 1)[0], number))
    return Parsed(entries)


Stat = Callable[[str], tuple[int, int, int]]  # (inode, size, mtime_ns); OSError if none
Read = Callable[[str], bytes]


def _stat(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class ParsedFiles(Generic[T]):
    """Files kept parsed, parsed again when their stat changes (a file edited or
    replaced takes effect without a restart, as Apache's per-request reading does)."""

    def __init__(self, parser: Callable[[bytes], T], stat: Stat = _stat, read: Read = _read):
        self._parser = parser
        self._stat = stat
        self._read = read
        self._lock = threading.Lock()
        self._files: dict[str, tuple[tuple[int, int, int], T]] = {}

    def get(self, path: str) -> T:
        """The file parsed (OSError when it cannot be opened)."""
        key = self._stat(path)
        with self._lock:
            known = self._files.get(path)
        if known is not None and known[0] == key:
            return known[1]
        parsed = self._parser(self._read(path))
        with self._lock:
            self._files[path] = (key, parsed)
        return parsed


@dataclass(frozen=True)
class Answer:
    lookup: Lookup
    message: str = ""  # the error-log line when there is one (never a password)


def check(files: ParsedFiles[Parsed], path: str, user: str, password: bytes) -> Answer:
    """mod_authn_file's check_password for one user."""
    try:
        parsed = files.get(path)
    except OSError as e:
        why = f"({e.errno}){e.strerror}: " if e.errno is not None else ""
        return Answer(Lookup.ERROR, f"{why}AH01620: Could not open password file: {path}")
    entry = parsed.entries.get(user)
    if entry is None:
        return Answer(Lookup.NOT_FOUND)
    verdict = verify(password, entry.hash)
    if verdict is Verdict.MATCH:
        return Answer(Lookup.GRANTED)
    if verdict is Verdict.MISMATCH:
        return Answer(Lookup.DENIED)
    return Answer(
        Lookup.ERROR,
        f"{path}:{entry.line}: the password of user {user} is in a format wsgihost cannot "
        f"verify ({describe(entry.hash)}); refused: store it with htpasswd -B (bcrypt)",
    )


FILES: ParsedFiles[Parsed] = ParsedFiles(parse)  # one per worker process
