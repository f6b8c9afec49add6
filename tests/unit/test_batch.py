"""The scheduling policy of serving threads (wsgihost.daemon.batch), in real threads."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

import pytest

from wsgihost.daemon import batch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's policies")


def in_a_thread(work: Callable[[], object]) -> object:
    """``work()`` on a fresh thread (a policy set there dies with it)."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out[0]


def use(monkeypatch: pytest.MonkeyPatch, setting: str | None) -> None:
    """WSGIHOST_SCHED_BATCH=setting for this test; None: unset."""
    if setting is None:
        monkeypatch.delenv("WSGIHOST_SCHED_BATCH", raising=False)
    else:
        monkeypatch.setenv("WSGIHOST_SCHED_BATCH", setting)


@pytest.mark.parametrize(
    ("setting", "front", "daemon"),
    [
        (None, batch.ALWAYS, batch.ADAPTIVE),
        ("auto", batch.ALWAYS, batch.ADAPTIVE),
        ("front", batch.ALWAYS, batch.NEVER),
        ("1", batch.ALWAYS, batch.ALWAYS),
        ("0", batch.NEVER, batch.NEVER),
    ],
)
def test_what_each_setting_asks_of_each_role(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, front: str, daemon: str
) -> None:
    use(monkeypatch, setting)
    assert (batch.setting(batch.FRONT), batch.setting(batch.DAEMON)) == (front, daemon)


@pytest.mark.parametrize(
    ("setting", "front", "daemon"),
    [(None, True, False), ("front", True, False), ("1", True, True), ("0", False, False)],
)
def test_which_threads_start_batch(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, front: bool, daemon: bool
) -> None:
    use(monkeypatch, setting)
    for role, expected in ((batch.FRONT, front), (batch.DAEMON, daemon)):

        def work(role: str = role) -> tuple[bool, int]:
            return batch.enter(role), os.sched_getscheduler(0)

        policy = os.SCHED_BATCH if expected else os.SCHED_OTHER
        assert in_a_thread(work) == (expected, policy), role
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # only the calling thread


def test_a_policy_the_operator_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSGIHOST_SCHED_BATCH", "1")

    def work() -> tuple[bool, int]:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # as chrt --idle would
        return batch.enter(batch.FRONT), os.sched_getscheduler(0)

    assert in_a_thread(work) == (False, os.SCHED_IDLE)


def test_switch_goes_both_ways_on_this_thread_only() -> None:
    def work() -> list[int]:
        seen = []
        for on in (True, False, True):
            assert batch.switch(on)
            seen.append(os.sched_getscheduler(0))
        return seen

    assert in_a_thread(work) == [os.SCHED_BATCH, os.SCHED_OTHER, os.SCHED_BATCH]
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_switch_leaves_the_operators_policy_alone() -> None:
    def work() -> tuple[bool, bool, int]:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return batch.switch(True), batch.switch(False), os.sched_getscheduler(0)

    assert in_a_thread(work) == (False, False, os.SCHED_IDLE)


# -- Adaptive: pure ---------------------------------------------------------------

SHORT = 0.00005  # s of CPU: hello world's app call is about this
HEAVY = 0.003  # a Django view rendering a template from a query


def feed(adaptive: batch.Adaptive, cpu: float, times: int) -> list[bool]:
    seen = []
    for _ in range(times):
        adaptive.record(cpu)
        seen.append(adaptive.batch)
    return seen


def test_a_process_starts_on_the_default_policy_and_short_requests_turn_it_batch() -> None:
    adaptive = batch.Adaptive()
    assert not adaptive.batch
    seen = feed(adaptive, SHORT, 40)
    first = seen.index(True)
    assert 3 < first < 30  # not on the first request, nor after a long while
    assert all(seen[first:])


def test_heavy_requests_keep_it_on_the_default_policy_from_the_start() -> None:
    assert not any(feed(batch.Adaptive(), HEAVY, 500))


def test_heavy_requests_turn_it_back_and_short_ones_batch_again() -> None:
    adaptive = batch.Adaptive()
    feed(adaptive, SHORT, 100)
    back = feed(adaptive, HEAVY, 30)
    assert back[0]  # one heavy request is not a heavy app
    assert not back[-1]
    assert all(feed(adaptive, SHORT, 100)[-50:])


def test_a_mean_between_the_lines_does_not_flip_back_and_forth() -> None:
    adaptive = batch.Adaptive()
    middle = (batch.Adaptive.ENTER + batch.Adaptive.LEAVE) / 2
    for start in (SHORT, HEAVY):
        feed(adaptive, start, 300)
        settled = adaptive.batch
        # requests around the middle, alternating a third above and below it
        spread = (batch.Adaptive.LEAVE - batch.Adaptive.ENTER) / 3
        seen = []
        for i in range(300):
            seen += feed(adaptive, middle + (spread if i % 2 else -spread), 1)
        assert set(seen) == {settled}


def test_a_single_slow_request_among_short_ones_changes_nothing() -> None:
    adaptive = batch.Adaptive()
    feed(adaptive, SHORT, 100)
    adaptive.record(0.010)  # a cache filled, a first import
    assert all(feed(adaptive, SHORT, 50))
