"""Traditional DES crypt(3), as ``htpasswd -d`` writes it and glibc's ``crypt()`` checks it.

A 13-character hash from ``./0-9A-Za-z``: two salt characters, then the 64-bit
result of 25 DES encryptions of a zero block, in crypt's base64 (11 characters,
two zero bits padding the last). The key is the password's first 8 bytes (up
to a NUL, as the C string ends there), each byte's 7 low bits shifted left by
one. The salt's 12 bits perturb the E-box: for each set bit i, E's output bits
i and i + 24 are swapped.

Pure Python, written from the algorithm's description. The tables are combined
once, on the first check (E per byte of R, S-boxes with P per pair: about 60 ms),
so a check takes a few milliseconds; a process that checks no DES entry never
builds them.
"""

from __future__ import annotations

import functools
import re

ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VALUE = {c: i for i, c in enumerate(ITOA64)}
HASH = re.compile(r"[./0-9A-Za-z]{13}")

# The standard's tables: bit 1 is the most significant.
_E = (
    32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
    16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
)  # fmt: skip
_P = (
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
    2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
)  # fmt: skip
_FP = (
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
    38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
    36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
)  # fmt: skip
_PC1 = (
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
    10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
    63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
    14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
)  # fmt: skip
_PC2 = (
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
)  # fmt: skip
_SHIFTS = (1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1)
_S = (
    (
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
        0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
        4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
        15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ),
    (
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
        3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
        0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
        13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ),
    (
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
        13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
        13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
        1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ),
    (
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
        13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
        10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
        3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ),
    (
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
        14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
        4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
        11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ),
    (
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
        10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
        9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
        4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ),
    (
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
        13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
        1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
        6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ),
    (
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
        1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
        7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
        2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ),
)  # fmt: skip


def _permute(value: int, table: tuple[int, ...], width: int) -> int:
    """The bits of ``value`` (``width`` bits, bit 1 the highest) ``table`` names, in order."""
    out = 0
    for position in table:
        out = (out << 1) | ((value >> (width - position)) & 1)
    return out


def _sbox(box: int, chunk: int) -> int:
    """S-box ``box`` on 6 bits: the row from the outer two, the column from the inner four."""
    return _S[box][(((chunk >> 4) & 2) | (chunk & 1)) * 16 + ((chunk >> 1) & 15)]


@functools.cache
def _tables() -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """E of R, one table per byte of R (the byte's contribution to the 48 bits); and
    S-boxes 2k and 2k + 1 with P after them, from 12 bits of the E output.

    Built on the first DES check, not at import: 16,384 ints (about 1.6 MB of
    resident memory) that every front-end worker would otherwise carry, DES entries
    or not. Two threads racing to the first check build them twice, harmlessly.
    """
    e_byte = tuple(tuple(_permute(v << (24 - 8 * b), _E, 32) for v in range(256)) for b in range(4))
    sp_pair = tuple(
        tuple(
            _permute(
                (_sbox(2 * k, v >> 6) << (28 - 8 * k)) | (_sbox(2 * k + 1, v & 63) << (24 - 8 * k)),
                _P,
                32,
            )
            for v in range(4096)
        )
        for k in range(4)
    )
    return e_byte, sp_pair


def _subkeys(password: bytes) -> list[int]:
    key = 0
    for byte in password.split(b"\0", 1)[0][:8].ljust(8, b"\0"):
        key = (key << 8) | ((byte << 1) & 0xFF)
    cd = _permute(key, _PC1, 64)
    c, d = cd >> 28, cd & 0xFFFFFFF
    keys = []
    for shift in _SHIFTS:
        c = ((c << shift) | (c >> (28 - shift))) & 0xFFFFFFF
        d = ((d << shift) | (d >> (28 - shift))) & 0xFFFFFFF
        keys.append(_permute((c << 28) | d, _PC2, 56))
    return keys


def des_crypt(password: bytes, salt: bytes) -> bytes:
    """crypt(3)'s traditional DES: the salt's two characters and 11 more (13 in all).

    ``salt`` is at least two characters of ``./0-9A-Za-z`` (a whole hash will do:
    only its first two count); ValueError otherwise.
    """
    if len(salt) < 2 or salt[0] not in _VALUE or salt[1] not in _VALUE:
        raise ValueError("a DES crypt salt is two characters of ./0-9A-Za-z")
    bits = _VALUE[salt[0]] | (_VALUE[salt[1]] << 6)
    # Salt bit i swaps E's output bits i + 1 and i + 25 (from the top): the low
    # half's bit 23 - i with the high half's.
    mask = 0
    for i in range(12):
        if bits >> i & 1:
            mask |= 1 << (23 - i)
    keys = _subkeys(password)
    (e0, e1, e2, e3), (sp0, sp1, sp2, sp3) = _tables()
    left = right = 0  # the initial permutation of a zero block is zero
    for _ in range(25):
        for k in keys:
            e = e0[right >> 24] | e1[(right >> 16) & 255] | e2[(right >> 8) & 255] | e3[right & 255]
            t = (e ^ (e >> 24)) & mask
            x = e ^ t ^ (t << 24) ^ k
            left, right = (
                right,
                (
                    left
                    ^ sp0[x >> 36]
                    ^ sp1[(x >> 24) & 4095]
                    ^ sp2[(x >> 12) & 4095]
                    ^ sp3[x & 4095]
                ),
            )
        # The last round is not swapped: the output R16 L16 is the next input.
        left, right = right, left
    out = _permute((left << 32) | right, _FP, 64) << 2  # 66 bits: 11 characters
    return bytes(salt[:2]) + bytes(ITOA64[(out >> (60 - 6 * j)) & 63] for j in range(11))
