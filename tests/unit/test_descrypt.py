"""Traditional DES crypt (access/descrypt.py) against hashes Debian's ``htpasswd -d``
makes at test time and well-known crypt(3) vectors, and its speed."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from wsgihost.access.descrypt import HASH, des_crypt

HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"


def made(password: bytes) -> bytes:
    out = subprocess.run(
        [HTPASSWD, "-nbd", "user", password], capture_output=True, check=True
    ).stdout
    return out.strip().split(b":", 1)[1]


@pytest.mark.parametrize(
    "password",
    [
        b"pw",
        b"x",
        b"",
        b"eight8ch",
        b"longer than eight bytes",
        "pässwörd".encode(),
        "日本語パス".encode(),
        b"\xff\x80\x7f~ !:",
        b"s3cret pass",
    ],
)
def test_same_as_htpasswd_d(password: bytes) -> None:
    stored = made(password)
    assert HASH.fullmatch(stored.decode("ascii"))
    assert des_crypt(password, stored) == stored
    assert des_crypt(b"other", stored) != stored
    if len(password) >= 8:  # only the first 8 bytes count
        assert des_crypt(password + b"!", stored) == stored
    else:
        assert des_crypt(password + b"!", stored) != stored


@pytest.mark.parametrize(
    ("password", "salt", "expected"),
    [
        (b"test", b"ab", b"abgOeLfPimXQo"),
        # mod_ssl's FakeBasicAuth: "password" under salt "xx".
        (b"password", b"xx", b"xxj31ZMTZzkVA"),
        (b"", b"..", b"..X8NBuQ4l6uQ"),
        (b"test", b"We", b"WenIKBkD3vEzs"),
        (b"longpassword99", b"G8", b"G8expwNHqS4FY"),
        ("pässwörd".encode(), b"wY", b"wYqgLkKcWU/Gg"),
    ],
)
def test_known_vectors(password: bytes, salt: bytes, expected: bytes) -> None:
    assert des_crypt(password, salt) == expected


def test_only_the_first_eight_bytes_and_seven_bits_count() -> None:
    stored = des_crypt(b"12345678", b"zz")
    assert des_crypt(b"12345678 and more", b"zz") == stored
    assert des_crypt(b"1234567", b"zz") != stored
    # The high bit of each byte is dropped: 0xb1 is '1' | 0x80.
    assert des_crypt(b"\xb12345678", b"zz") == stored
    # A NUL ends the password, as in a C string.
    assert des_crypt(b"1234\x00xyz", b"zz") == des_crypt(b"1234", b"zz")


def test_the_salt_perturbs_the_result() -> None:
    results = {des_crypt(b"same", salt)[2:] for salt in (b"..", b"./", b"/.", b"zz", b"Az")}
    assert len(results) == 5


@pytest.mark.parametrize("salt", [b"", b"a", b"a$", b"*0", b"a\x00"])
def test_a_salt_outside_the_alphabet_is_refused(salt: bytes) -> None:
    with pytest.raises(ValueError):
        des_crypt(b"pw", salt)


def test_fast_enough_for_the_pool() -> None:
    start = time.perf_counter()
    for _ in range(10):
        des_crypt(b"password", b"ab")
    assert (time.perf_counter() - start) / 10 < 0.05
