"""The front end to daemon protocol: frames on one UNIX connection per request.

Bytes in, events out, and the reverse (the shape of h11): a :class:`Channel`
never touches a socket, so both ends are tested by pairing two of them in
memory.

A frame is a 1-byte type, a 4-byte big-endian length and the payload. One
request is one connection::

    front end                         daemon
    REQUEST {environ, deadline, ...} ->
                                     <- ACCEPT            (or REJECT reason)
    DATA* then END (or ABORT)        ->
                                     <- RESPONSE [status, headers]
                                     <- DATA* then END    (or ABORT)

The rule that makes restarts safe: the daemon answers ACCEPT or REJECT
*before* it calls the app. Until ACCEPT, the app has not seen the request, so
the front end may retry it elsewhere; after ACCEPT it never does. The table
``_MOVES`` lists, for each role, which frame may come next; anything else is
a :class:`ProtocolError` that names the state and the frame.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Tuple

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
    __slots__: Tuple[str, ...] = ()
    kind = 0

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
    __slots__ = ()
    kind = END


class Abort(Event):
    __slots__ = ()
    kind = ABORT


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


def _encode_payload(event: Event) -> bytes:
    if isinstance(event, Data):
        return event.data
    if isinstance(event, Request):
        return json.dumps(event.head, separators=(",", ":")).encode()
    if isinstance(event, Reject):
        return event.reason.encode()
    if isinstance(event, Response):
        return json.dumps([event.status, event.headers], separators=(",", ":")).encode()
    return b""


def _decode(kind: int, payload: bytes) -> Event:
    try:
        if kind == DATA:
            return Data(payload)
        if kind == REQUEST:
            head = json.loads(payload)
            if not isinstance(head, dict):
                raise ValueError("REQUEST payload is not an object")
            return Request(head)
        if kind == ACCEPT:
            return Accept()
        if kind == REJECT:
            return Reject(payload.decode())
        if kind == END:
            return End()
        if kind == ABORT:
            return Abort()
        if kind == RESPONSE:
            status, headers = json.loads(payload)
            return Response(str(status), [(str(n), str(v)) for n, v in headers])
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

    def send_data(self, data: bytes) -> list[bytes]:
        """DATA frames for ``data`` of any size (split at MAX_FRAME), as buffers to write."""
        out: list[bytes] = []
        view = memoryview(data)
        while view:
            piece = bytes(view[:MAX_FRAME])
            view = view[MAX_FRAME:]
            self.my_state = self._move(self._my_moves, self.my_state, DATA, "send")
            out.append(_HEADER.pack(DATA, len(piece)))
            out.append(piece)
        return out

    # -- receiving ------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` means it closed the connection."""
        if not data:
            self._eof = True
        else:
            self._buf += data

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
            if self.their_state != "done":
                raise ProtocolError(f"connection closed in state {self.their_state!r}")
            return CLOSED
        return NEED_DATA

    @staticmethod
    def _move(moves: dict[str, dict[int, str]], state: str, kind: int, verb: str) -> str:
        nxt = moves[state].get(kind)
        if nxt is None:
            raise ProtocolError(f"cannot {verb} {NAMES.get(kind, kind)} in state {state!r}")
        return nxt
