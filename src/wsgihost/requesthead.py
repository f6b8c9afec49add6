"""The request head after its line, as Apache's core checks it; pure, runs in a
front-end worker.

llhttp hands over the header fields one by one (:meth:`HeadReader.on_header`,
the callback the connection gives it); :meth:`HeadReader.finish` then checks
the whole head with the request line (:mod:`wsgihost.requestline`) and says
what the connection needs to frame and serve it (:class:`Head`), or raises
:class:`Reject` with the status Apache would answer:

* a field over ``LimitRequestFieldSize``, or more than ``LimitRequestFields``:
  400 (Apache's buffer holds a line one byte over the limit, plus CRLF);
* ``Host``: exactly one in HTTP/1.1 and later, a valid one in any version
  (RFC 9112 3.2); a reg-name may hold ``_``; an absolute-form target's
  authority stands for it (RFC 9112 3.2.2), replacing a ``Host`` field that
  says otherwise, as Apache does;
* the target: origin, absolute or ``*`` form (``*`` for OPTIONS only), no
  fragment, no userinfo (Apache's strict mode);
* CONNECT: 405; a body over ``LimitRequestBody`` by its Content-Length: 413;
  ``Expect`` other than ``100-continue``: 417.
"""

from __future__ import annotations

from wsgihost import httpcore
from wsgihost.config.model import Limits
from wsgihost.requestline import HTTP09, HTTP11, RequestLine


class Reject(Exception):
    """A request refused before any app sees it: answer ``status`` and close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Head:
    """A request head that passed: what framing and serving it need."""

    __slots__ = (
        "chunked",
        "content_length",
        "expect_continue",
        "has_body",
        "headers",
        "host",
        "http09",
        "http11",
        "method",
        "path",
        "protocol",
        "query",
        "target",
    )

    def __init__(self, line: RequestLine, headers: list[tuple[bytes, bytes]]) -> None:
        self.method, self.target, self.protocol, version = line
        self.http11 = version >= HTTP11  # 1.1 and later are served as 1.1
        self.http09 = version == HTTP09
        self.headers = headers
        self.host: bytes | None = None  # the authority the request is for, if it names one
        self.path = b"/"
        self.query = b""
        self.chunked = False
        self.content_length = -1
        self.has_body = False
        self.expect_continue = False


class HeadReader:
    """Collects the fields of one head after another (one per connection)."""

    __slots__ = (
        "chunked",
        "content_length",
        "expect",
        "headers",
        "host",
        "hosts",
        "in_head",
        "limits",
        "valid_host",
    )

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # The last Host value found valid: a keep-alive client sends the same
        # one each time, and checking it costs more than the rest of the head.
        self.valid_host = b""
        self.begin()
        self.in_head = False

    def begin(self) -> None:
        """A new head starts."""
        self.in_head = True
        self.headers: list[tuple[bytes, bytes]] = []
        self.hosts = 0
        self.host = b""
        self.expect: bytes | None = None
        self.content_length = -1
        self.chunked = False

    def on_header(self, name: bytes, value: bytes) -> None:
        """llhttp's callback for one field (a trailer's too, which is not kept)."""
        if not self.in_head:
            return  # a trailer field: never merged into the request's headers
        # llhttp strips leading white space only; RFC 9110 5.5: neither is part
        # of the value.
        value = value.rstrip(b" \t")
        limits = self.limits
        if len(self.headers) >= limits.fields:
            raise Reject(400, "more header fields than LimitRequestFields")
        if len(name) + len(value) + 2 > limits.field_size + 1:
            raise Reject(400, "header field longer than LimitRequestFieldSize")
        self.headers.append((name, value))
        lname = name.lower()
        if lname == b"host":
            self.hosts += 1
            self.host = value
        elif lname == b"content-length":
            self.content_length = int(value)  # llhttp has checked it is a number
        elif lname == b"transfer-encoding":
            self.chunked = True
        elif lname == b"expect":
            self.expect = value

    def finish(self, line: RequestLine, upgrade: bool) -> Head:
        """The head is whole (``upgrade``: it asked for one): check it; raises Reject."""
        self.in_head = False
        head = Head(line, self.headers)
        http11 = head.http11
        # RFC 9112 3.2: exactly one Host in HTTP/1.1, a valid one in any version.
        if self.hosts > 1 or (self.hosts == 0 and http11):
            raise Reject(400, "missing or repeated Host header")
        if self.hosts and self.host != self.valid_host:
            if not httpcore.valid_host(self.host):
                raise Reject(400, "invalid Host header")
            self.valid_host = self.host
        if head.method == "CONNECT":
            raise Reject(405, "CONNECT is not supported")
        try:
            authority, head.path, head.query = httpcore.split_target(head.target)
        except ValueError as e:
            raise Reject(400, str(e)) from None
        if head.path == b"*" and head.method != "OPTIONS":
            raise Reject(400, "'*' is only a target for OPTIONS")
        if authority is not None:
            head.host = authority
            if self.hosts and self.host != authority:
                # The app must not be told one host while it is served as another.
                head.headers = [
                    (name, authority if name.lower() == b"host" else value)
                    for name, value in self.headers
                ]
        elif self.hosts:
            head.host = self.host
        head.chunked = self.chunked
        head.content_length = self.content_length
        head.has_body = has_body = self.chunked or self.content_length > 0
        if has_body and upgrade:
            raise Reject(400, "a request with both Upgrade and a body is not supported")
        limit = self.limits.body
        if limit and self.content_length > limit:
            raise Reject(413, "request body larger than LimitRequestBody")
        if self.expect is not None and http11:
            if self.expect.lower() != b"100-continue":
                raise Reject(417, "unsupported Expect")
            head.expect_continue = has_body
        return head
