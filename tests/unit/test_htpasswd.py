"""Password and group files (access/htpasswd.py, access/groupfile.py): each format
against entries Debian's ``htpasswd`` makes at test time, the file read again when
it changes, and what cannot be verified refused with its file and line."""

from __future__ import annotations

import base64
import hmac
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest

from wsgihost.access import groupfile, htpasswd
from wsgihost.access.basic import credentials
from wsgihost.access.htpasswd import Lookup, ParsedFiles, Verdict, check, verify
from wsgihost.access.shacrypt import sha_crypt

HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"


def made(flag: str, password: str, user: str = "alice") -> str:
    out = subprocess.run(
        [HTPASSWD, f"-nb{flag}", user, password], capture_output=True, check=True, text=True
    ).stdout
    return out.strip().split(":", 1)[1]


@pytest.mark.parametrize(("flag", "prefix"), [("B", "$2y$"), ("m", "$apr1$"), ("s", "{SHA}")])
def test_each_format_htpasswd_writes(flag: str, prefix: str) -> None:
    stored = made(flag, "s3cret pässword")
    assert stored.startswith(prefix)
    assert verify("s3cret pässword".encode(), stored) is Verdict.MATCH
    assert verify(b"s3cret passwore", stored) is Verdict.MISMATCH
    assert verify(b"", stored) is Verdict.MISMATCH


def test_glibc_md5_crypt_is_the_apr1_algorithm() -> None:
    # openssl writes glibc's $1$ with the same algorithm under its own magic.
    out = subprocess.run(
        ["openssl", "passwd", "-1", "-salt", "abcdefgh", "pw"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
    assert verify(b"pw", out) is Verdict.MATCH
    assert verify(b"px", out) is Verdict.MISMATCH


def test_des_crypt_is_checked_as_crypt_3_does() -> None:
    des = made("d", "pw")
    assert len(des) == 13
    assert verify(b"pw", des) is Verdict.MATCH
    assert verify(b"px", des) is Verdict.MISMATCH
    assert verify(b"", des) is Verdict.MISMATCH
    long = made("d", "eightchr and more")
    assert verify(b"eightchr", long) is Verdict.MATCH  # only 8 bytes count
    assert verify(b"eightchr, or else", long) is Verdict.MATCH
    assert verify(b"eightch", long) is Verdict.MISMATCH


def test_plain_text_that_looks_like_des_is_a_des_hash_to_crypt() -> None:
    # 13 characters of the alphabet: crypt(3) takes them as a DES hash, so the
    # text itself never matches, but the password whose DES it is does.
    assert verify(b"s3cretpass123", "s3cretpass123") is Verdict.MISMATCH
    assert verify(b"test", "abgOeLfPimXQo") is Verdict.MATCH
    # Other plain text (not 13 characters of the alphabet) never matches.
    assert verify(b"p-pw", "p-pw") is Verdict.MISMATCH


def test_unknown_crypt_formats_are_refused_never_accepted() -> None:
    assert verify(b"pw", "$y$j9T$abc$def") is Verdict.UNVERIFIABLE
    assert verify(b"pw", "$5$rounds=x$abc$def") is Verdict.UNVERIFIABLE


@pytest.mark.parametrize("flag", ["-5", "-6"])
def test_sha_crypt_as_openssl_writes_it(flag: str) -> None:
    argv = ["openssl", "passwd", flag, "-salt", "0123456789abcdef", "pw:é"]
    stored = subprocess.run(argv, capture_output=True, check=True, text=True).stdout.strip()
    assert verify("pw:é".encode(), stored) is Verdict.MATCH
    assert verify(b"pw", stored) is Verdict.MISMATCH


def test_sha_crypt_specification_vectors_with_rounds() -> None:
    assert sha_crypt(b"Hello world!", "$5$rounds=10000$saltstringsaltstring") == (
        "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
    )
    assert sha_crypt(b"Hello world!", "$6$rounds=10000$saltstringsaltstring") == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"
        "UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
    )


def test_plain_text_never_matches_as_on_linux() -> None:
    stored = made("p", "pw")
    assert stored == "pw"
    assert verify(b"pw", stored) is Verdict.MISMATCH


def test_comparison_is_constant_time() -> None:
    stored = made("s", "pw")
    with mock.patch.object(htpasswd.hmac, "compare_digest", wraps=hmac.compare_digest) as cmp:
        assert verify(b"pw", stored) is Verdict.MATCH
    assert cmp.call_count == 1


def test_lookup_first_entry_wins_and_unknown_users(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(
        f"# comment\n\n  alice:{made('m', 'one')}  \n"
        f"alice:{made('m', 'two')}\nbob:{made('B', 'b')}\n"
    )
    files: ParsedFiles[htpasswd.Parsed] = ParsedFiles(htpasswd.parse)
    assert check(files, str(path), "alice", b"one").lookup is Lookup.GRANTED
    assert check(files, str(path), "alice", b"two").lookup is Lookup.DENIED
    assert check(files, str(path), "bob", b"b").lookup is Lookup.GRANTED
    assert check(files, str(path), "carol", b"b").lookup is Lookup.NOT_FOUND


def test_unverifiable_entry_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(f"alice:{made('m', 'a')}\nbob:$y$j9T$salt$hashvalue\n")
    answer = check(ParsedFiles(htpasswd.parse), str(path), "bob", b"secret")
    assert answer.lookup is Lookup.ERROR
    assert f"{path}:2:" in answer.message
    assert "'y' crypt" in answer.message
    assert "secret" not in answer.message


def test_missing_file_is_ah01620(tmp_path: Path) -> None:
    answer = check(ParsedFiles(htpasswd.parse), str(tmp_path / "none"), "a", b"b")
    assert answer.lookup is Lookup.ERROR
    assert answer.message.startswith("(2)No such file or directory: AH01620: ")


def test_file_parsed_again_only_when_its_stat_changes() -> None:
    reads: list[str] = []
    stat = [(1, 10, 100)]
    texts = [b"alice:{SHA}x\n"]

    def read(path: str) -> bytes:
        reads.append(path)
        return texts[0]

    files = ParsedFiles(htpasswd.parse, stat=lambda p: stat[0], read=read)
    assert "alice" in files.get("/f").entries
    assert "alice" in files.get("/f").entries
    assert reads == ["/f"]
    stat[0] = (1, 10, 200)
    texts[0] = b"bob:{SHA}x\n"
    assert set(files.get("/f").entries) == {"bob"}
    assert len(reads) == 2


def test_group_file(tmp_path: Path) -> None:
    path = tmp_path / "groups"
    path.write_text("# c\nstaff: alice bob\nadmins:alice\nstaff: carol\n")
    groups = groupfile.parse(path.read_bytes())
    assert groups["alice"] == {"staff", "admins"}
    assert groups["carol"] == {"staff"}
    assert "dave" not in groups


def test_password_bytes_are_kept_as_sent() -> None:
    # A latin-1 password is checked as its bytes, not re-encoded from the text.
    sent = credentials(b"Basic " + base64.b64encode("u:\u00e9t\u00e9".encode("latin-1")))
    assert sent is not None and sent.raw_password == b"\xe9t\xe9"
    sent = credentials(b"Basic " + base64.b64encode("u:\u00e9:x".encode()))
    assert sent is not None and sent.raw_password == "\u00e9:x".encode()
