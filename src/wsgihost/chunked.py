"""Read a chunked request body (RFC 9112 7.1) strictly, in Python (pure).

llhttp refuses white space around the ``;`` of a chunk extension, which
RFC 9112 7.1.1 allows (``BWS``), so the front end frames chunked bodies
itself and hands llhttp a canonical re-encoding: each piece of data as its
own extension-free chunk, then ``0``, the trailer section as received, and
the final CRLF. llhttp's state stays in step, and it still checks the
trailer fields.

Strict where smuggling lives: the size is 1 to 16 hex digits and nothing
else; every line ends in CRLF, with no bare CR or LF anywhere; chunk data is
followed by exactly CRLF.

Bounded where memory lives: a chunk whose announced size takes the body past
``limit`` (LimitRequestBody) is refused as soon as its size line is read, not
after the bytes have come, and the trailer section is at most
``MAX_TRAILERS`` bytes however it arrives.
"""

from __future__ import annotations

import re
from typing import ClassVar

MAX_LINE = 4096  # a chunk-size line, extensions included
MAX_TRAILERS = 64 * 1024

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e\x80-\xff])*"'
_EXT = rf"(?:[ \t]*;[ \t]*{_TOKEN}(?:[ \t]*=[ \t]*(?:{_TOKEN}|{_QUOTED}))?)*"
_SIZE_LINE = re.compile(rf"([0-9A-Fa-f]{{1,16}})({_EXT})\Z".encode("latin-1"))

SIZE, DATA, DATA_END, TRAILERS, DONE = range(5)


class ChunkError(ValueError):
    """The chunked body is malformed; ``status`` is the answer it deserves."""

    status: ClassVar[int] = 400  # ClassVar: compiled, subclasses' values are kept


class BodyTooLarge(ChunkError):
    """The chunks announced so far add up to more than the body limit."""

    status = 413


class TrailersTooLarge(ChunkError):
    """The trailer section is larger than MAX_TRAILERS."""

    status = 431


class ChunkedDecoder:
    """Turns received bytes into bytes for llhttp; knows where the body ends.

    ``limit`` is the largest body allowed (0: no limit).
    """

    __slots__ = ("announced", "left", "limit", "state")

    def __init__(self, limit: int = 0) -> None:
        self.state = SIZE
        self.left = 0
        self.limit = limit
        self.announced = 0  # the sizes of the chunks begun so far, added up

    @property
    def done(self) -> bool:
        return self.state == DONE

    def feed(self, buf: bytes) -> tuple[int, bytes]:
        """Consume what can be consumed of ``buf``: (bytes consumed, bytes for llhttp).

        Stops at the end of the body; what follows belongs to the next request.
        """
        pos = 0
        out: list[bytes] = []
        n = len(buf)
        while pos < n and self.state != DONE:
            state = self.state
            if state == SIZE:
                end = buf.find(b"\r\n", pos)
                if end == -1:
                    if n - pos > MAX_LINE:
                        raise ChunkError("chunk size line too long")
                    if b"\n" in buf[pos:] or b"\r" in buf[pos : n - 1]:
                        raise ChunkError("bare CR or LF in a chunk size line")
                    break
                line = buf[pos:end]
                if len(line) > MAX_LINE or b"\r" in line or b"\n" in line:
                    raise ChunkError("invalid chunk size line")
                m = _SIZE_LINE.match(line)
                if m is None:
                    raise ChunkError(f"invalid chunk size line {line[:40]!r}")
                size = int(m.group(1), 16)
                self.announced += size
                if self.limit and self.announced > self.limit:
                    raise BodyTooLarge("request body larger than LimitRequestBody")
                pos = end + 2
                if size == 0:
                    self.state = TRAILERS
                else:
                    self.left = size
                    self.state = DATA
            elif state == DATA:
                take = min(self.left, n - pos)
                out.append(b"%x\r\n" % take)
                out.append(buf[pos : pos + take])
                out.append(b"\r\n")
                pos += take
                self.left -= take
                if self.left == 0:
                    self.state = DATA_END
            elif state == DATA_END:
                if n - pos < 2:
                    if buf[pos : pos + 1] != b"\r":
                        raise ChunkError("chunk data not followed by CRLF")
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise ChunkError("chunk data not followed by CRLF")
                pos += 2
                self.state = SIZE
            else:  # TRAILERS
                if buf.startswith(b"\r\n", pos):
                    out.append(b"0\r\n\r\n")
                    pos += 2
                    self.state = DONE
                    break
                if n - pos < 2 and buf[pos : pos + 1] == b"\r":
                    break
                end = buf.find(b"\r\n\r\n", pos)
                if (n if end == -1 else end) - pos > MAX_TRAILERS:
                    raise TrailersTooLarge("trailer section too large")
                if end == -1:
                    break
                out.append(b"0\r\n")
                out.append(buf[pos : end + 4])
                pos = end + 4
                self.state = DONE
        return pos, b"".join(out)
