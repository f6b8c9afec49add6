"""The front end to daemon frame codec, tested as two channels paired in memory."""

from __future__ import annotations

import pytest

from wsgihost.daemon.protocol import (
    CLOSED,
    DRAINING,
    MAX_FRAME,
    NEED_DATA,
    Abort,
    Accept,
    Channel,
    Data,
    End,
    Event,
    ProtocolError,
    Reject,
    Request,
    Response,
)


def deliver(sender: Channel, receiver: Channel, event: Event, step: int | None = None) -> list:
    """Send ``event`` from one channel to the other, optionally a few bytes at a time."""
    raw = sender.send(event)
    pieces = [raw] if step is None else [raw[i : i + step] for i in range(0, len(raw), step)]
    events = []
    for piece in pieces:
        receiver.receive_data(piece)
        while (ev := receiver.next_event()) is not NEED_DATA:
            events.append(ev)
    return events


@pytest.mark.parametrize("step", [None, 1, 3])
def test_a_whole_exchange(step: int | None) -> None:
    front, daemon = Channel("front"), Channel("daemon")
    head = {"environ": {"REQUEST_METHOD": "POST", "PATH_INFO": "/é"}, "deadline": 12.5}
    assert deliver(front, daemon, Request(head), step) == [Request(head)]
    assert deliver(daemon, front, Accept(), step) == [Accept()]
    assert front.accepted and daemon.accepted
    assert deliver(front, daemon, Data(b"body"), step) == [Data(b"body")]
    assert deliver(front, daemon, End(), step) == [End()]
    response = Response("200 OK", [("Content-Type", "text/plain")])
    assert deliver(daemon, front, response, step) == [response]
    assert deliver(daemon, front, Data(b"hello"), step) == [Data(b"hello")]
    assert deliver(daemon, front, End(), step) == [End()]
    front.receive_data(b"")
    assert front.next_event() is CLOSED


def test_reject_ends_the_daemon_side_before_any_response() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    assert deliver(daemon, front, Reject(DRAINING)) == [Reject(DRAINING)]
    assert not front.accepted
    with pytest.raises(ProtocolError, match="cannot send RESPONSE in state 'done'"):
        daemon.send(Response("200 OK", []))


def test_an_eof_before_accept_is_an_error_the_front_end_can_retry_on() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    front.receive_data(b"")
    with pytest.raises(ProtocolError, match="closed in state 'start'"):
        front.next_event()
    assert not front.accepted


def test_an_eof_inside_a_frame_is_an_error() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    daemon.receive_data(front.send(Request({"a": 1}))[:-1])
    daemon.receive_data(b"")
    with pytest.raises(ProtocolError, match="middle of a frame"):
        daemon.next_event()


@pytest.mark.parametrize(
    ("role", "event"),
    [
        ("front", Data(b"x")),  # body before the request
        ("front", Accept()),  # the daemon's move
        ("daemon", Response("200 OK", [])),  # a response before ACCEPT
        ("daemon", Request({})),
    ],
)
def test_moves_out_of_order_are_refused(role: str, event: Event) -> None:
    with pytest.raises(ProtocolError, match="cannot send"):
        Channel(role).send(event)


def test_a_frame_out_of_order_from_the_peer_is_refused() -> None:
    daemon = Channel("daemon")
    daemon.receive_data(Channel("daemon").send(Accept()))  # a front end must not send ACCEPT
    with pytest.raises(ProtocolError):
        daemon.next_event()


def test_abort_after_response_head() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    deliver(daemon, front, Accept())
    deliver(daemon, front, Response("200 OK", []))
    assert deliver(daemon, front, Abort()) == [Abort()]


def test_abort_from_the_front_end_carries_its_reason() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    deliver(daemon, front, Accept())
    assert deliver(front, daemon, Abort("invalid chunk size")) == [Abort("invalid chunk size")]


def test_large_data_is_split_into_frames() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    big = b"x" * (MAX_FRAME + 10)
    for buf in front.send_data(big):
        daemon.receive_data(buf)
    got = b""
    while (ev := daemon.next_event()) is not NEED_DATA:
        assert isinstance(ev, Data)
        got += ev.data
    assert got == big


def test_buffered_counts_what_is_received_and_not_yet_taken() -> None:
    # The front end's flow control stops reading a daemon by this count.
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    deliver(daemon, front, Accept())
    deliver(daemon, front, Response("200 OK", []))
    frames = b"".join(bytes(b) for b in daemon.send_data(b"y" * 1000, limit=400))
    front.receive_data(frames[:700])
    assert front.buffered == 700
    assert front.next_event() == Data(b"y" * 400)
    assert front.buffered == 700 - 405
    assert front.next_event() is NEED_DATA
    front.receive_data(frames[700:])
    while front.next_event() is not NEED_DATA:
        pass
    assert front.buffered == 0


def test_an_oversized_frame_header_is_refused() -> None:
    daemon = Channel("daemon")
    daemon.receive_data(bytes([1]) + (MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(ProtocolError, match="too large"):
        daemon.next_event()


@pytest.mark.parametrize(
    "payload", [b"[1]", b"", b"2\0a\0s1", b"1\0a\0x1", b"1e\0a\0s\0k", b"0\0x"]
)
def test_garbage_payloads_are_protocol_errors(payload: bytes) -> None:
    daemon = Channel("daemon")
    daemon.receive_data(bytes([1]) + len(payload).to_bytes(4, "big") + payload)
    with pytest.raises(ProtocolError, match="bad REQUEST frame"):
        daemon.next_event()


def test_garbage_frame_types_are_protocol_errors() -> None:
    other = Channel("daemon")
    other.receive_data(bytes([99]) + (0).to_bytes(4, "big"))
    with pytest.raises(ProtocolError, match="unknown frame type"):
        other.next_event()


def test_the_daemon_end_says_whether_the_connection_stays_open() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    deliver(front, daemon, End())
    deliver(daemon, front, Accept())
    deliver(daemon, front, Response("200 OK", []))
    assert deliver(daemon, front, End(keep=True)) == [End(keep=True)]
    assert End(keep=True) != End()


def test_several_exchanges_on_one_connection() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    for n in range(3):
        assert deliver(front, daemon, Request({"n": n})) == [Request({"n": n})]
        deliver(front, daemon, End())
        deliver(daemon, front, Accept())
        assert front.accepted
        deliver(daemon, front, Response("200 OK", []))
        assert deliver(daemon, front, End(keep=True)) == [End(keep=True)]
        front.start_next()
        daemon.start_next()
        assert not front.accepted and not daemon.accepted
    # Between exchanges, either side may close: a clean end, not an error.
    front.receive_data(b"")
    assert front.next_event() is CLOSED
    daemon.receive_data(b"")
    assert daemon.next_event() is CLOSED


def test_the_next_exchange_waits_for_both_ends() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    deliver(front, daemon, End())
    deliver(daemon, front, Accept())
    deliver(daemon, front, Response("200 OK", []))
    with pytest.raises(ProtocolError, match="next exchange"):
        front.start_next()  # the daemon's body has not ended
    deliver(daemon, front, End(keep=True))
    front.start_next()
    with pytest.raises(ProtocolError, match="cannot send DATA"):
        front.send(Data(b"x"))  # a new exchange starts with REQUEST


def test_a_reject_then_a_new_request_on_the_same_connection() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    deliver(front, daemon, Request({}))
    deliver(front, daemon, End())
    deliver(daemon, front, Reject(DRAINING))
    front.start_next()
    daemon.start_next()
    assert deliver(front, daemon, Request({"again": True})) == [Request({"again": True})]


def test_heads_keep_any_text_and_types() -> None:
    front, daemon = Channel("front"), Channel("daemon")
    environ = {
        "PATH_INFO": "/caf\u00e9/\udcff",
        "HTTP_X": "",
        "": "empty name",
        "QUERY_STRING": "a=1",
    }
    head = {
        "environ": environ,
        "deadline": 1.5,
        "reloading": True,
        "off": False,
        "count": 7,
        "script": "/s.wsgi",
        "version": [4, 9, 4],
    }
    assert deliver(front, daemon, Request(head)) == [Request(head)]
    deliver(front, daemon, End())
    deliver(daemon, front, Accept())
    response = Response("404 Not Found", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=\u00ff")])
    assert deliver(daemon, front, response) == [response]
    empty = Response("204 No Content", [])
    other, peer = Channel("front"), Channel("daemon")
    deliver(other, peer, Request({"environ": {}}))
    assert peer.their_state == "body"
    deliver(peer, other, Accept())
    assert deliver(peer, other, empty) == [empty]


def test_a_response_head_missing_a_value_is_refused() -> None:
    front = Channel("front")
    front.send(Request({}))
    front.receive_data(bytes([2]) + (0).to_bytes(4, "big"))  # ACCEPT
    front.next_event()
    front.receive_data(bytes([7]) + (5).to_bytes(4, "big") + b"200\0a")
    front.receive_data(b"")
    with pytest.raises(ProtocolError, match="bad RESPONSE frame"):
        front.next_event()


def test_times_in_a_head_travel_to_the_microsecond() -> None:
    # Floats in a head are times (queued, deadline): sent as whole microseconds,
    # since repr() of a float cost more than the rest of the head.
    front, daemon = Channel("front"), Channel("daemon")
    head = {"environ": {}, "queued": 1234.5678919, "deadline": 1_700_000_000.25}
    daemon.receive_data(front.send(Request(head)))
    got = daemon.next_event()
    assert isinstance(got, Request)
    assert got.head["queued"] == pytest.approx(1234.567892, abs=1e-9)
    assert got.head["deadline"] == 1_700_000_000.25
    assert isinstance(got.head["queued"], float)
