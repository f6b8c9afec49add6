"""The chunked body reader: strict framing, extensions with white space, re-encoding."""

from __future__ import annotations

import pytest

from wsgihost.chunked import (
    MAX_TRAILERS,
    BodyTooLarge,
    ChunkedDecoder,
    ChunkError,
    TrailersTooLarge,
)


def decode(data: bytes, step: int | None = None) -> tuple[bytes, int]:
    """Feed ``data`` whole or ``step`` bytes at a time; return llhttp's bytes and bytes used."""
    decoder = ChunkedDecoder()
    out = b""
    pending = b""
    used_total = 0
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        if decoder.done:
            break
        buf = pending + piece
        used, produced = decoder.feed(buf)
        out += produced
        used_total += used
        pending = buf[used:]
    assert decoder.done
    return out, used_total


def body_of(reencoded: bytes) -> bytes:
    """Undo the canonical re-encoding (sizes without extensions)."""
    body = b""
    rest = reencoded
    while True:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            return body
        body += rest[:size]
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]


@pytest.mark.parametrize("step", [None, 1, 2, 3, 7])
def test_extensions_with_white_space_are_accepted_and_dropped(step: int | None) -> None:
    data = b"5; some; parameters=stuff\r\nhello\r\n6; blahblah; blah\r\n world\r\n0\r\n\r\nNEXT"
    out, used = decode(data, step)
    assert body_of(out) == b"hello world"
    assert b";" not in out
    assert data[used:] == b"NEXT"


def test_trailers_pass_through_to_llhttp() -> None:
    data = b"3\r\nabc\r\n0\r\nVary: *\r\nX-A: b\r\n\r\n"
    out, used = decode(data)
    assert out.endswith(b"0\r\nVary: *\r\nX-A: b\r\n\r\n")
    assert used == len(data)


def test_quoted_extension_values() -> None:
    out, _ = decode(b'3;name="a \\"quoted\\" value"\r\nabc\r\n0\r\n\r\n')
    assert body_of(out) == b"abc"


@pytest.mark.parametrize(
    "data",
    [
        b"0x5\r\nhello\r\n0\r\n\r\n",  # not hex digits only
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",  # white space without an extension
        b"0 \r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",  # bare LF
        b"5\rhello\r\n0\r\n\r\n",  # bare CR
        b"5\r\nhelloXX0\r\n\r\n",  # data not followed by CRLF
        b"11111111111111111\r\n",  # 17 hex digits
        b"5;\x01=x\r\nhello\r\n0\r\n\r\n",  # control byte in an extension
        b"\r\nhello\r\n",  # empty size
    ],
)
def test_malformed_bodies_are_refused(data: bytes) -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(ChunkError):
        # Whole, then byte by byte, as a client might send it.
        used, _ = decoder.feed(data)
        rest = data[used:]
        while rest and not decoder.done:
            used, _ = decoder.feed(rest)
            if used == 0:
                break
            rest = rest[used:]
        for i in range(len(data)):
            ChunkedDecoder().feed(data[: i + 1])
        raise AssertionError("accepted")


def test_stops_at_the_end_of_the_body() -> None:
    decoder = ChunkedDecoder()
    used, _ = decoder.feed(b"0\r\n\r\nGET / HTTP/1.1\r\n")
    assert decoder.done
    assert used == 5


# -- limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("step", [None, 1, 5])
def test_a_chunk_announced_past_the_limit_is_refused_before_its_data(step: int | None) -> None:
    # 0x400 + 0x401 = 2049 > 2048: refused at the second size line, with 413.
    data = b"400\r\n" + b"a" * 0x400 + b"\r\n401\r\n"
    decoder = ChunkedDecoder(limit=2048)
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    pending = b""
    with pytest.raises(BodyTooLarge) as caught:
        for piece in pieces:
            buf = pending + piece
            used, _ = decoder.feed(buf)
            pending = buf[used:]
    assert caught.value.status == 413
    assert decoder.announced == 0x801


def test_the_largest_chunk_size_is_refused_at_once() -> None:
    with pytest.raises(BodyTooLarge):
        ChunkedDecoder(limit=1 << 30).feed(b"ffffffffffffffff\r\nabc")


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    decoder = ChunkedDecoder(limit=10)
    _, out = decoder.feed(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
    assert decoder.done and body_of(out) == b"helloworld"


def test_no_limit_means_none() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"ffffffffffffffff\r\nabc")
    assert decoder.announced == 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize("step", [None, 1000])
def test_a_trailer_section_past_its_limit_is_refused_however_it_arrives(step: int | None) -> None:
    trailers = b"X-T: " + b"t" * (MAX_TRAILERS + 10) + b"\r\n\r\n"
    data = b"0\r\n" + trailers
    decoder = ChunkedDecoder()
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    pending = b""
    with pytest.raises(TrailersTooLarge) as caught:
        for piece in pieces:
            buf = pending + piece
            used, _ = decoder.feed(buf)
            pending = buf[used:]
    assert caught.value.status == 431


def test_malformed_framing_is_a_400() -> None:
    with pytest.raises(ChunkError) as caught:
        ChunkedDecoder().feed(b"zz\r\n")
    assert caught.value.status == 400
