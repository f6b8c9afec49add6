"""Per-request cost of reading a request head, before and after issue 12, with timeit.

Before, llhttp read the request line too (its method table, its URL parser) and
the front end checked the line's spaces, the URL and ``Host`` around it; after,
``wsgihost.requestline`` reads the line by Apache's rules, llhttp the fields
behind a line of our own, and ``wsgihost.requesthead`` checks the head. Both
paths are reproduced here outside the server (no socket, no loop), on the head
wrk sends, so only the parsing differs.

    python bench/head_parse.py [--number N]
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

import httptools

from wsgihost import httpcore, requestline
from wsgihost.config.model import Limits
from wsgihost.requesthead import HeadReader

HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"  # what wrk sends


class Before:
    """The front end's head path as it was: llhttp parses the line and the fields."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.on_message_begin()
        self.result: Any = None

    def on_message_begin(self) -> None:
        self.url_parts: list[bytes] = []
        self.headers: list[tuple[bytes, bytes]] = []
        self.hosts = 0
        self.host = b""
        self.content_length = -1

    def on_url(self, part: bytes) -> None:
        self.url_parts.append(part)

    def on_header(self, name: bytes, value: bytes) -> None:
        value = value.rstrip(b" \t")
        if len(self.headers) >= 100 or len(name) + len(value) + 2 > 8190:
            raise ValueError("limits")
        self.headers.append((name, value))
        lname = name.lower()
        if lname == b"host":
            self.hosts += 1
            self.host = value
        elif lname == b"content-length":
            self.content_length = int(value)

    def on_headers_complete(self) -> None:
        parser = self.parser
        version = parser.get_http_version()
        method = parser.get_method().decode("latin-1")
        url = b"".join(self.url_parts)
        if self.hosts and not httpcore.valid_host(self.host):
            raise ValueError("Host")
        parsed = httptools.parse_url(url)
        self.result = (method, url, parsed.path or b"/", parsed.query or b"", version)

    def feed(self, buf: bytes) -> None:
        end = buf.find(b"\r\n\r\n")
        parts = buf[: buf.find(b"\r\n")].split(b" ")  # the old check of the line's spaces
        if len(parts) != 3 or not all(parts):
            raise ValueError("line")
        self.parser.feed_data(buf[: end + 4])


class After:
    """The head path now: our request line, llhttp for the fields, our head checks."""

    def __init__(self) -> None:
        self.head_reader = HeadReader(Limits())
        self.on_header = self.head_reader.on_header
        self.parser = httptools.HttpRequestParser(self)
        self.line: requestline.RequestLine | None = None
        self.result: Any = None

    def on_message_begin(self) -> None:
        self.head_reader.begin()

    def on_headers_complete(self) -> None:
        assert self.line is not None
        self.result = self.head_reader.finish(self.line, self.parser.should_upgrade())

    def feed(self, buf: bytes) -> None:
        end = buf.find(b"\r\n")
        self.line = requestline.parse(buf[:end])
        rest = buf[end + 2 :]
        head_end = rest.find(b"\r\n\r\n") + 4
        self.parser.feed_data(b"GET / HTTP/1.1\r\n" + rest[:head_end])


def best(feed: Callable[[bytes], None], number: int) -> float:
    feed(HEAD)
    return min(timeit.repeat(lambda: feed(HEAD), number=number, repeat=5)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=100_000, help="heads per timing (100000)")
    args = parser.parse_args()
    line = HEAD[: HEAD.find(b"\r\n")]
    alone = best(lambda _: requestline.parse(line), args.number)
    print(f"requestline.parse alone: {alone * 1e9:.0f} ns")
    before = best(Before().feed, args.number)
    after = best(After().feed, args.number)
    print(f"before (llhttp reads the line): {before * 1e6:.2f} us per head")
    print(f"after (requestline + llhttp + requesthead): {after * 1e6:.2f} us per head")
    print(f"after / before: {after / before:.2f}")


if __name__ == "__main__":
    main()
