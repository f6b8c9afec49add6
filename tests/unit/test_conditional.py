"""wsgihost.conditional: validators checked in Apache's order, with its answers
(ap_meets_conditions): 304 for GET and HEAD, 412, and the cases where a
validator that does not match cancels a 304."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate

import pytest

from wsgihost.conditional import NOMATCH, NONE, STRONG, if_range, meets_conditions

ETAG = '"64-5f3a"'
MTIME = 1_700_000_000
NOW = MTIME + 3600  # an hour later: dates match strongly
OLD = formatdate(MTIME - 100, usegmt=True)
SAME = formatdate(MTIME, usegmt=True)
FUTURE = formatdate(NOW + 100, usegmt=True)


def hdrs(**given: str) -> Callable[[str], str | None]:
    table = {k.replace("_", "-"): v for k, v in given.items()}
    return table.get


def verdict(method: str = "GET", now: int = NOW, **given: str) -> int | None:
    return meets_conditions(method, hdrs(**given), ETAG, MTIME, now)


def test_no_validators_no_verdict() -> None:
    assert verdict() is None


@pytest.mark.parametrize("value", ['"other"', 'W/"64-5f3a"', '"a", "b"'])
def test_if_match_that_does_not_match_strongly_is_412(value: str) -> None:
    assert verdict(if_match=value) == 412


@pytest.mark.parametrize("value", ["*", ETAG, f'"x", {ETAG}'])
def test_if_match_that_matches_lets_the_request_through(value: str) -> None:
    assert verdict(if_match=value) is None


def test_if_unmodified_since_before_the_change_is_412() -> None:
    assert verdict(if_unmodified_since=OLD) == 412
    assert verdict(if_unmodified_since=SAME) is None
    assert verdict(if_unmodified_since="not a date") is None


def test_if_none_match_is_304_for_get_and_head_and_412_for_others() -> None:
    for method in ("GET", "HEAD"):
        assert verdict(method, if_none_match=ETAG) == 304
        assert verdict(method, if_none_match="W/" + ETAG) == 304  # weak comparison
    assert verdict("POST", if_none_match=ETAG) == 412
    assert verdict("POST", if_none_match="W/" + ETAG) is None  # strong for POST
    assert verdict("POST", if_none_match="*") == 412


def test_if_none_match_with_a_range_compares_strongly() -> None:
    assert verdict(if_none_match="W/" + ETAG, range="bytes=0-1") is None
    assert verdict(if_none_match=ETAG, range="bytes=0-1") == 304


def test_if_modified_since() -> None:
    assert verdict(if_modified_since=SAME) == 304
    assert verdict(if_modified_since=OLD) is None
    assert verdict("POST", if_modified_since=SAME) is None  # GET and HEAD only
    # A date after the request's is no date: the file is sent.
    assert verdict(if_modified_since=FUTURE) is None


def test_a_file_changed_in_the_last_minute_matches_a_date_only_weakly() -> None:
    recent = MTIME + 30
    assert verdict(now=recent, if_modified_since=SAME) == 304
    # ... which a Range does not accept.
    assert verdict(now=recent, if_modified_since=SAME, range="bytes=0-1") is None


def test_every_validator_must_agree_to_a_304() -> None:
    assert verdict(if_none_match=ETAG, if_modified_since=SAME) == 304
    assert verdict(if_none_match=ETAG, if_modified_since=OLD) is None
    assert verdict(if_none_match='"other"', if_modified_since=SAME) is None
    # A failed If-Unmodified-Since check that is no failure still cancels a 304.
    assert verdict(if_unmodified_since="junk", if_none_match=ETAG) is None


def test_if_range_with_a_range_is_never_a_304() -> None:
    assert verdict(if_none_match=ETAG, range="bytes=0-1", if_range=ETAG) is None


def test_if_range() -> None:
    def check(value: str, now: int = NOW, **more: str) -> int:
        return if_range(hdrs(if_range=value, **more), ETAG, MTIME, now)

    assert check(ETAG, range="bytes=0-1") == STRONG
    assert check(ETAG) == NONE  # without a Range it says nothing
    assert check('"other"', range="bytes=0-1") == NOMATCH
    assert check("W/" + ETAG, range="bytes=0-1") == NOMATCH  # a weak tag never matches
    assert check(SAME, range="bytes=0-1") == STRONG
    assert check(OLD, range="bytes=0-1") == NOMATCH
    # A date of a file changed in the last minute is weak: no range.
    assert check(SAME, MTIME + 30, range="bytes=0-1") == NOMATCH
