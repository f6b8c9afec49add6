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


@pytest.mark.parametrize(
    ("setting", "front", "daemon"),
    [(None, True, False), ("front", True, False), ("1", True, True), ("0", False, False)],
)
def test_which_threads_become_batch(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, front: bool, daemon: bool
) -> None:
    if setting is None:
        monkeypatch.delenv("WSGIHOST_SCHED_BATCH", raising=False)
    else:
        monkeypatch.setenv("WSGIHOST_SCHED_BATCH", setting)
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
