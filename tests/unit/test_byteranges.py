"""wsgihost.byteranges: Range headers read as Apache's byterange filter reads them,
and the multipart/byteranges body laid out byte for byte as Apache lays it out."""

from __future__ import annotations

import pytest

from wsgihost.byteranges import (
    PARTS_WITH_LENGTH,
    UNLIMITED,
    UNSATISFIABLE,
    Limits,
    multipart,
    parse,
)

SIZE = 100


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-1", [(0, 1)]),
        ("Bytes=0-1,4-5", [(0, 1), (4, 5)]),  # the unit in any case
        ("bytes=0-1,5-7", [(0, 1), (5, 7)]),
        ("bytes=-5,0-1", [(95, 99), (0, 1)]),  # the order given is kept
        ("bytes=-200", [(0, 99)]),  # a suffix longer than the file is all of it
        ("bytes=90-200", [(90, 99)]),  # the end is clipped
        ("bytes=0-", [(0, 99)]),
        # Overlapping or touching ranges merge with the one before them.
        ("bytes=1-3,2-6", [(1, 6)]),
        ("bytes=10-19,0-9", [(0, 19)]),
        ("bytes=0-0,0-0", [(0, 0)]),
        ("bytes=50-99,60-70", [(50, 99)]),
        # "0-" anywhere: the whole file as one range, whatever else was asked.
        ("bytes=5-10,0-", [(0, 99)]),
        # Runs of commas are one separator; a trailing one ends the list.
        ("bytes=0-1,,5-6", [(0, 1), (5, 6)]),
        ("bytes=0-1,", [(0, 1)]),
        # A range past the end is dropped while another is satisfiable.
        ("bytes=200-300,0-1", [(0, 1)]),
    ],
)
def test_ranges_as_apache_reads_them(header: str, expected: list[tuple[int, int]]) -> None:
    assert parse(header, SIZE) == expected


@pytest.mark.parametrize(
    "header",
    [
        "items=0-1",
        "bytes = 0-1",  # no space around "="
        "bytes=0-1, 5-7",  # nor after a comma: Apache reads bare digits
        "bytes=0-1 ,5-7",
        "bytes=+1-2",
        "bytes=0-1,a",
        "bytes=5-1",  # an end before its start voids the header
        "bytes=-0",
        "bytes=5",
        "bytes=",
        "bytes=,0-1",  # a leading comma ends the list before it begins
        "bytes=0-50,60-99,10-20",  # more bytes than the file
        "bytes=1-2-3",
        "bytes=99999999999999999999-",
    ],
)
def test_a_header_apache_ignores_gives_the_whole_file(header: str) -> None:
    assert parse(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=100-100,150-"])
def test_only_ranges_past_the_end_are_unsatisfiable(header: str) -> None:
    assert parse(header, SIZE) is UNSATISFIABLE


def test_an_empty_file_is_never_ranged() -> None:
    assert parse("bytes=0-", 0) is None
    assert parse("bytes=5-9", 0) is None


def spaced(count: int, step: int = 2) -> str:
    return "bytes=" + ",".join(f"{i * step}-{i * step}" for i in range(count))


def test_max_ranges_counts_the_ranges_once_merged() -> None:
    assert len(parse(spaced(200, 3), 1000) or []) == 200
    assert parse(spaced(201, 3), 1000) is None
    # 300 ranges that merge into one are one range (but 299 merges, each an overlap).
    touching = "bytes=" + ",".join(f"{i}-{i}" for i in range(300))
    assert parse(touching, 1000, Limits(overlaps=UNLIMITED)) == [(0, 299)]
    assert parse(touching, 1000) is None


def test_max_ranges_none_and_unlimited() -> None:
    assert parse("bytes=0-1", SIZE, Limits(ranges=0)) is None
    assert parse(spaced(201, 3), 1000, Limits(ranges=UNLIMITED)) is not None
    assert parse(spaced(3), SIZE, Limits(ranges=2)) is None


def test_overlaps_past_the_limit_give_the_whole_file() -> None:
    twenty = "bytes=0-30," + ",".join(f"{i}-{i + 1}" for i in range(20))
    twenty_one = "bytes=0-30," + ",".join(f"{i}-{i + 1}" for i in range(21))
    assert parse(twenty, SIZE) == [(0, 30)]
    assert parse(twenty_one, SIZE) is None
    assert parse(twenty_one, SIZE, Limits(overlaps=UNLIMITED)) == [(0, 30)]


def test_reversals_past_the_limit_give_the_whole_file() -> None:
    def backwards(count: int) -> str:
        return "bytes=" + ",".join(f"{i}-{i}" for i in range(90, 90 - count, -1))

    assert parse(backwards(21), SIZE) == [(70, 90)]  # 20 reversals
    assert parse(backwards(22), SIZE) is None
    assert parse(backwards(22), SIZE, Limits(reversals=21, overlaps=21)) == [(69, 90)]


def test_the_multipart_layout_is_apaches() -> None:
    body = multipart([(0, 1), (5, 7)], 100, "text/plain", "b3fed4a5124afda2")
    assert body.content_type == "multipart/byteranges; boundary=b3fed4a5124afda2"
    heads = [p.head for p in body.parts]
    start = b"\r\n--b3fed4a5124afda2\r\nContent-type: text/plain\r\n"
    assert heads == [
        start + b"Content-range: bytes 0-1/100\r\n\r\n",
        start + b"Content-range: bytes 5-7/100\r\n\r\n",
    ]
    assert [(p.offset, p.length) for p in body.parts] == [(0, 2), (5, 3)]
    assert body.tail == b"\r\n--b3fed4a5124afda2--\r\n"
    # What Apache sends for "bytes=0-1,5-7" of 100 digits, 189 bytes in all.
    assert body.length == 189
    assert body.known_length


def test_a_part_of_a_file_with_no_type_names_only_its_range() -> None:
    body = multipart([(0, 0), (2, 2)], 10, None, "b")
    assert body.parts[0].head == b"\r\n--b\r\nContent-range: bytes 0-0/10\r\n\r\n"


def test_past_32_parts_the_length_is_not_known_in_advance() -> None:
    def parts(n: int) -> list[tuple[int, int]]:
        return [(2 * i, 2 * i) for i in range(n)]

    assert multipart(parts(PARTS_WITH_LENGTH), 100, "text/plain", "b").known_length
    assert not multipart(parts(PARTS_WITH_LENGTH + 1), 100, "text/plain", "b").known_length
