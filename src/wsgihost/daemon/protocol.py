"""The front end to daemon protocol: frames on a UNIX connection, one request at a time.

Bytes in, events out, and the reverse (the shape of h11): a :class:`Channel`
never touches a socket, so both ends are tested by pairing two of them in
memory.

A frame is a 1-byte type, a 4-byte big-endian length and the payload. One
exchange is::

    front end                         daemon
    REQUEST {environ, deadline, ...} ->
                                     <- ACCEPT            (or REJECT reason)
    DATA* then END (or ABORT)        ->
                                     <- RESPONSE [status, headers]
                                     <- DATA* then END    (or ABORT)

A connection may carry one exchange after another: the daemon's END says
whether it keeps the connection open (``End(keep=True)``); once both sides
have ended, :meth:`Channel.start_next` readies the channel for the next
REQUEST. Either side may close an idle connection, so a front end that finds
its pooled connection closed before ACCEPT simply sends the request again on
another one.

The rule that makes restarts safe: the daemon answers ACCEPT or REJECT
*before* it calls the app. Until ACCEPT, the app has not seen the request, so
the front end may retry it elsewhere; after ACCEPT it never does. The table
``_MOVES`` lists, for each role, which frame may come next; anything else is
a :class:`ProtocolError` that names the state and the frame.
"""

from __future__ import annotations

import json
import struct
from itertools import chain
from typing import Any, Callable, ClassVar, Tuple, cast

_HEADER = struct.Struct("!BI")
MAX_FRAME = 16 * 1024 * 1024

REQUEST, ACCEPT, REJECT, DATA, END, ABORT, RESPONSE = range(1, 8)
NAMES = {
    REQUEST: "REQUEST",
    ACCEPT: "ACCEPT",
    REJECT: "REJECT",
    DATA: "DATA",
    END: "END",
    ABORT: "ABORT",
    RESPONSE: "RESPONSE",
}

# Reasons a daemon gives with REJECT.
DRAINING = "draining"  # retry elsewhere: this process is going away
DEADLINE = "deadline"  # the request waited past its deadline: 503, never retried
QUEUE_TIMEOUT = "queue-timeout"  # waited longer than queue-timeout: 503, never retried


class ProtocolError(Exception):
    """The peer broke the protocol (bad frame, frame out of order)."""


class Event:
    # ClassVar: compiled (mypyc), a plain class attribute would not reach the subclasses.
    __slots__: ClassVar[Tuple[str, ...]] = ()
    kind: ClassVar[int] = 0

    def __eq__(self, other: object) -> bool:
        names: Tuple[str, ...] = self.__slots__
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n in names
        )

    def __hash__(self) -> int:
        return hash((type(self), tuple(getattr(self, n) for n in self.__slots__)))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Request(Event):
    """The request head: what the daemon needs to build the environ and route it."""

    __slots__ = ("head",)
    kind = REQUEST

    def __init__(self, head: dict[str, Any]) -> None:
        self.head = head


class Accept(Event):
    __slots__ = ()
    kind = ACCEPT


class Reject(Event):
    __slots__ = ("reason",)
    kind = REJECT

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Data(Event):
    __slots__ = ("data",)
    kind = DATA

    def __init__(self, data: bytes) -> None:
        self.data = data


class End(Event):
    """The end of a body. From the daemon, ``keep`` says the connection stays open."""

    __slots__ = ("keep",)
    kind = END

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep


class Abort(Event):
    """A body cut short; from the front end, ``reason`` says why (malformed, too slow...)."""

    __slots__ = ("reason",)
    kind = ABORT

    def __init__(self, reason: str = "") -> None:
        self.reason = reason


class Response(Event):
    __slots__ = ("headers", "status")
    kind = RESPONSE

    def __init__(self, status: str, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.headers = headers


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


class _Closed:
    def __repr__(self) -> str:
        return "CLOSED"


NEED_DATA = _NeedData()
CLOSED = _Closed()  # the peer closed the connection at a point where that is allowed

# States of one direction of the exchange.
START, BODY, DONE = "start", "body", "done"

# What the front end sends, in order: REQUEST, then body frames.
# What the daemon sends: ACCEPT or REJECT, then RESPONSE, then body frames.
_FRONT_MOVES = {
    "start": {REQUEST: "body"},
    "body": {DATA: "body", END: "done", ABORT: "done"},
    "done": {},
}
_DAEMON_MOVES = {
    "start": {ACCEPT: "accepted", REJECT: "done"},
    "accepted": {RESPONSE: "body", ABORT: "done"},
    "body": {DATA: "body", END: "done", ABORT: "done"},
    "done": {},
}


# Heads are strings that can hold no NUL (the HTTP parser refuses NUL in a
# request, the runner in a response), so they travel as NUL-separated lists:
# several times cheaper than JSON at both ends, which matters on every
# request. A REQUEST is: the number of typed values (with "e" when an
# environ follows), the typed values as name and tagged text, then the
# environ's names and values.
_SEP = "\0"
_DECODE_TYPED: dict[str, Callable[[str], Any]] = {
    "s": str,
    "f": float,
    "i": int,
    "b": lambda text: text == "1",
    "j": json.loads,
}


def _pack(strings: list[str]) -> bytes:
    return _SEP.join(strings).encode("utf-8", "surrogatepass")


def _unpack(raw: bytes) -> list[str]:
    return raw.decode("utf-8", "surrogatepass").split(_SEP)


def _tagged(value: Any) -> str:
    if value is True or value is False:
        return "b1" if value else "b0"
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, float):
        # A float in a head is a time (a deadline, when the request was queued):
        # it travels to the microsecond, since repr() of a float costs more than
        # the rest of the head together. Still an "f" any float() reads, so a
        # daemon started before an upgrade understands a new front end.
        return f"f{round(value * 1_000_000)}e-6"
    if isinstance(value, int):
        return "i" + str(value)
    return "j" + json.dumps(value, separators=(",", ":"))  # JSON escapes NUL


def _encode_request(head: dict[str, Any]) -> bytes:
    items = [""]
    # Typed, so that the compiled build walks it as a dict: generic iteration
    # (an iterator and a tuple per item) cost more than the rest of the head.
    environ: dict[str, str] | None = None
    for name, value in head.items():
        if name == "environ":
            environ = cast("dict[str, str]", value)
        else:
            items.append(name)
            items.append(_tagged(value))
    count = (len(items) - 1) // 2
    if environ is None:
        items[0] = str(count)
    else:
        items[0] = f"{count}e"
        for name, value in environ.items():
            items.append(name)
            items.append(value)
    return _pack(items)


def _encode_payload(event: Event) -> bytes:
    if isinstance(event, Data):
        return event.data
    if isinstance(event, Request):
        return _encode_request(event.head)
    if isinstance(event, (Reject, Abort)):
        return event.reason.encode()
    if isinstance(event, End):
        return b"k" if event.keep else b""
    if isinstance(event, Response):
        return _pack([event.status, *chain.from_iterable(event.headers)])
    return b""


def _decode_request(payload: bytes) -> dict[str, Any]:
    items = _unpack(payload)
    first = items[0]
    has_environ = first.endswith("e")
    count = int(first[:-1] if has_environ else first)
    end = 1 + 2 * count
    if count < 0 or len(items) < end:
        raise ValueError("REQUEST is shorter than its count of values")
    head: dict[str, Any] = {}
    for i in range(1, end, 2):
        text = items[i + 1]
        decode = _DECODE_TYPED.get(text[:1])
        if decode is None:
            raise ValueError(f"REQUEST value {items[i]!r} has no known type")
        head[items[i]] = decode(text[1:])
    if has_environ:
        if (len(items) - end) % 2:
            raise ValueError("REQUEST environ has a name without a value")
        environ: dict[str, str] = {}
        for i in range(end, len(items), 2):  # (a loop: several times faster compiled)
            environ[items[i]] = items[i + 1]
        head["environ"] = environ
    elif len(items) != end:
        raise ValueError("REQUEST has more values than its count")
    return head


def _decode_response(payload: bytes) -> Response:
    items = _unpack(payload)
    if len(items) % 2 != 1:
        raise ValueError("RESPONSE header without a value")
    pairs = iter(items[1:])
    return Response(items[0], list(zip(pairs, pairs)))  # noqa: B905 (Python 3.9 has no strict=)


def _decode(kind: int, payload: bytes) -> Event:
    try:
        if kind == DATA:
            return Data(payload)
        if kind == REQUEST:
            return Request(_decode_request(payload))
        if kind == ACCEPT:
            return Accept()
        if kind == REJECT:
            return Reject(payload.decode())
        if kind == END:
            return End(payload == b"k")
        if kind == ABORT:
            return Abort(payload.decode())
        if kind == RESPONSE:
            return _decode_response(payload)
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ProtocolError(f"bad {NAMES.get(kind, kind)} frame: {e}") from None
    raise ProtocolError(f"unknown frame type {kind}")


class Channel:
    """One end of one request's connection; ``role`` is "front" or "daemon"."""

    def __init__(self, role: str) -> None:
        if role not in ("front", "daemon"):
            raise ValueError("role is 'front' or 'daemon'")
        self.role = role
        mine, theirs = (
            (_FRONT_MOVES, _DAEMON_MOVES) if role == "front" else (_DAEMON_MOVES, _FRONT_MOVES)
        )
        self._my_moves = mine
        self._their_moves = theirs
        self.my_state = "start"
        self.their_state = "start"
        self._buf = bytearray()
        self._eof = False
        # ACCEPT has passed: from here on the request must never be retried.
        self.accepted = False

    # -- sending ------------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """The bytes for ``event``; raises ProtocolError if it is not our move."""
        self.my_state = self._move(self._my_moves, self.my_state, event.kind, "send")
        if event.kind == ACCEPT:
            self.accepted = True
        payload = _encode_payload(event)
        if len(payload) > MAX_FRAME:
            raise ProtocolError(f"{NAMES[event.kind]} frame of {len(payload)} bytes is too large")
        return _HEADER.pack(event.kind, len(payload)) + payload

    def send_data(self, data: bytes, limit: int = MAX_FRAME) -> list[bytes | memoryview]:
        """DATA frames for ``data`` of any size, as buffers to write (without copying it).

        Frames hold at most ``limit`` bytes: smaller frames let the peer pass
        the first part on before the rest has arrived.
        """
        limit = min(limit, MAX_FRAME)
        out: list[bytes | memoryview] = []
        view = memoryview(data).cast("B")
        while view:
            piece = view[:limit]
            view = view[limit:]
            self.my_state = self._move(self._my_moves, self.my_state, DATA, "send")
            out.append(_HEADER.pack(DATA, len(piece)))
            out.append(piece)
        return out

    # -- receiving ------------------------------------------------------------

    def receive_data(self, data: bytes | memoryview) -> None:
        """Bytes from the peer (copied: a buffer may be reused); ``b""`` means it closed."""
        if not data:
            self._eof = True
        else:
            self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet taken as events: what flow control counts."""
        return len(self._buf)

    def next_event(self) -> Event | _NeedData | _Closed:
        """The next complete event, NEED_DATA, or CLOSED after a clean end.

        An EOF in the middle of a frame, or before the peer's last frame,
        is a ProtocolError: the caller decides what a broken connection means
        at that point (retry before ACCEPT, 502 or abort after).
        """
        buf = self._buf
        if len(buf) >= 5:
            kind, length = _HEADER.unpack_from(buf)
            if length > MAX_FRAME:
                raise ProtocolError(f"frame of {length} bytes is too large")
            if len(buf) >= 5 + length:
                payload = bytes(buf[5 : 5 + length])
                del buf[: 5 + length]
                event = _decode(kind, payload)
                self.their_state = self._move(self._their_moves, self.their_state, kind, "receive")
                if kind == ACCEPT:
                    self.accepted = True
                return event
        if self._eof:
            if buf:
                raise ProtocolError("connection closed in the middle of a frame")
            idle = self.my_state == "start" and self.their_state == "start"
            if self.their_state != "done" and not idle:
                raise ProtocolError(f"connection closed in state {self.their_state!r}")
            return CLOSED
        return NEED_DATA

    def start_next(self) -> None:
        """Ready the channel for the next exchange on the same connection."""
        if self.my_state != "done" or self.their_state != "done":
            raise ProtocolError(
                f"cannot start the next exchange in states {self.my_state!r}/{self.their_state!r}"
            )
        self.my_state = self.their_state = "start"
        self.accepted = False

    @staticmethod
    def _move(moves: dict[str, dict[int, str]], state: str, kind: int, verb: str) -> str:
        nxt = moves[state].get(kind)
        if nxt is None:
            raise ProtocolError(f"cannot {verb} {NAMES.get(kind, kind)} in state {state!r}")
        return nxt
