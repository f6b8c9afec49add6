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


def test_only_a_thread_on_the_default_policy_is_adjustable() -> None:
    def chosen() -> bool:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # as chrt --batch would
        return batch.adjustable()

    assert in_a_thread(batch.adjustable) is True
    assert in_a_thread(chosen) is False


# -- Adaptive: pure ---------------------------------------------------------------

LIGHT = 0.00006  # s of CPU a request: hello world in a daemon process, about
HEAVY = 0.003  # a Django view rendering a template from a query


class Process:
    """A daemon process's counters as Adaptive is shown them, once a second."""

    def __init__(self) -> None:
        self.cpu = 12.5  # what starting took
        self.served = 0
        self.adaptive = batch.Adaptive(self.cpu, self.served)

    def second(self, requests: int, cpu_each: float, also: float = 0.0) -> bool:
        """A second with ``requests`` requests; ``also``: CPU besides them."""
        self.served += requests
        self.cpu += requests * cpu_each + also
        self.adaptive.observe(self.cpu, self.served)
        return self.adaptive.batch


def test_a_process_starts_on_the_default_policy_and_light_requests_turn_it_batch() -> None:
    process = Process()
    assert not process.adaptive.batch
    assert process.second(5000, LIGHT)


def test_heavy_requests_keep_it_on_the_default_policy() -> None:
    process = Process()
    assert not any(process.second(600, HEAVY) for _ in range(20))


def test_heavy_requests_turn_it_back_and_light_ones_batch_again() -> None:
    process = Process()
    assert [process.second(5000, x) for x in (LIGHT, HEAVY, HEAVY, LIGHT)] == [
        True,
        False,
        False,
        True,
    ]


def test_between_the_lines_it_stays_as_it_was() -> None:
    middle = (batch.Adaptive.ENTER + batch.Adaptive.LEAVE) / 2
    for start, settled in ((LIGHT, True), (HEAVY, False)):
        process = Process()
        process.second(1000, start)
        assert [process.second(1000, middle) for _ in range(10)] == [settled] * 10


def test_the_first_import_weighs_only_on_its_own_window() -> None:
    process = Process()
    assert not process.second(100, LIGHT, also=1.5)  # a script imported on the first request
    assert process.second(5000, LIGHT)


def test_a_quiet_window_waits_for_enough_requests() -> None:
    process = Process()
    # A few requests a second: judged only once LEAST have come, their CPU together.
    per_second = batch.Adaptive.LEAST // 4
    seen = [process.second(per_second, LIGHT) for _ in range(4)]
    assert seen == [False, False, False, True]


def test_cpu_besides_the_requests_counts() -> None:
    # An app that hands its work to threads of its own (asgiref's async_to_sync,
    # a pool): the process's CPU is what counts, not the request thread's.
    process = Process()
    process.second(5000, LIGHT)
    assert not process.second(500, LIGHT, also=500 * HEAVY)
