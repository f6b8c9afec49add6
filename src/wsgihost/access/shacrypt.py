"""glibc's SHA-crypt (``$5$`` SHA-256, ``$6$`` SHA-512), as Ulrich Drepper's
specification defines it: the password-file entries apr-util hands to crypt(3)
on Linux that wsgihost can check itself.

Pure.
"""

from __future__ import annotations

import hashlib

_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DEFAULT_ROUNDS = 5000
_MIN_ROUNDS, _MAX_ROUNDS = 1000, 999_999_999


def _repeat(digest: bytes, length: int) -> bytes:
    return (digest * (length // len(digest) + 1))[:length]


def _encode(digest: bytes, triples: list[tuple[int, int, int]], tail: list[int]) -> bytes:
    out = bytearray()
    for a, b, c in triples:
        value = (digest[a] << 16) | (digest[b] << 8) | digest[c]
        for _ in range(4):
            out.append(_ITOA64[value & 0x3F])
            value >>= 6
    value = 0
    for index in tail:
        value = (value << 8) | digest[index]
    for _ in range(len(tail) + 1):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def _order(size: int) -> tuple[list[tuple[int, int, int]], list[int]]:
    """The specification's byte order of the final encoding."""
    step = size // 3
    triples: list[tuple[int, int, int]] = []
    for i in range(step):
        a, b, c = i, i + step, i + 2 * step
        if size == 32:  # SHA-256 rotates the other way round
            triples.append(((a, b, c), (c, a, b), (b, c, a))[i % 3])
        else:
            triples.append(((a, b, c), (b, c, a), (c, a, b))[i % 3])
    return triples, ([31, 30] if size == 32 else [63])


def sha_crypt(password: bytes, setting: str) -> str | None:
    """The crypt of ``password`` with ``setting`` (``$5$[rounds=N$]salt...``), or None
    when the setting is not one of these."""
    magic = setting[:3]
    if magic not in ("$5$", "$6$"):
        return None
    algorithm = hashlib.sha256 if magic == "$5$" else hashlib.sha512
    rest = setting[3:]
    rounds = _DEFAULT_ROUNDS
    custom = False
    if rest.startswith("rounds="):
        number, sep, rest = rest[7:].partition("$")
        if not sep or not number.isdigit():
            return None
        rounds = min(max(int(number), _MIN_ROUNDS), _MAX_ROUNDS)
        custom = True
    salt = rest.split("$", 1)[0][:16].encode("latin-1")

    alternate = algorithm(password + salt + password).digest()
    start = algorithm(password + salt)
    start.update(_repeat(alternate, len(password)))
    bits = len(password)
    while bits:
        start.update(alternate if bits & 1 else password)
        bits >>= 1
    digest = start.digest()
    p_bytes = _repeat(algorithm(password * len(password)).digest(), len(password))
    s_bytes = _repeat(algorithm(salt * (16 + digest[0])).digest(), len(salt))
    for r in range(rounds):
        step = algorithm(p_bytes if r & 1 else digest)
        if r % 3:
            step.update(s_bytes)
        if r % 7:
            step.update(p_bytes)
        step.update(digest if r & 1 else p_bytes)
        digest = step.digest()
    triples, tail = _order(len(digest))
    head = magic + (f"rounds={rounds}$" if custom else "") + salt.decode("latin-1") + "$"
    return head + _encode(digest, triples, tail).decode("ascii")
