"""What ``wsgihost status`` shows: the master's children and process sets as plain data.

Pure: built from the planner's snapshots (:class:`~wsgihost.supervisor.plan.Proc`)
and one :class:`SetInfo` per daemon process set, in the master process, for
the control socket's ``status`` answer. A daemon group appears once, with its
sets (one per application group) inside; its own fields sum them up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wsgihost.supervisor.plan import FAILED, READY, STARTING, Proc


@dataclass(frozen=True)
class SetInfo:
    """One daemon process set as status shows it."""

    key: str
    group: str
    application_group: str
    status: str  # starting | ready | failed
    processes: int
    threads: int
    generation: int
    stalled: int
    last_error: str


def member(p: Proc, now: float) -> dict[str, object]:
    """One child: a front-end worker or a daemon process."""
    state = "retiring" if p.recycle and p.state == READY else p.state
    return {
        "pid": p.pid,
        "state": "stopping" if p.stopping else state,
        "generation": p.generation,
        "uptime": round(now - p.started, 1),
        "served": p.served,
        "busy_threads": p.busy,
    }


def _one_set(info: SetInfo, procs: Iterable[Proc], now: float) -> dict[str, object]:
    mine = [p for p in procs if p.group == info.key]
    current = sum(1 for p in mine if p.generation == info.generation and p.state == READY)
    stalled = info.stalled == info.generation
    return {
        "application_group": info.application_group,
        "status": info.status,
        "generation": info.generation,
        "rolling": current < info.processes and not stalled,
        "roll_stopped": stalled,
        "last_error": info.last_error,
        "members": [member(p, now) for p in mine],
    }


def groups(sets: Sequence[SetInfo], procs: Sequence[Proc], now: float) -> list[dict[str, object]]:
    """One entry per daemon group, in the order of its first set, its sets inside."""
    by_group: dict[str, list[SetInfo]] = {}
    for info in sets:
        by_group.setdefault(info.group, []).append(info)
    entries = []
    for name, infos in by_group.items():
        shown = [_one_set(info, procs, now) for info in infos]
        states = {info.status for info in infos}
        worst = next(s for s in (FAILED, STARTING, READY, *sorted(states)) if s in states)
        entries.append(
            {
                "name": name,
                "status": worst,
                "processes": infos[0].processes,
                "threads": infos[0].threads,
                "generation": max(info.generation for info in infos),
                "rolling": any(s["rolling"] for s in shown),
                "roll_stopped": any(s["roll_stopped"] for s in shown),
                "last_error": next((i.last_error for i in infos if i.last_error), ""),
                "members": [m for s in shown for m in s["members"]],  # type: ignore[attr-defined]
                "sets": shown,
            }
        )
    return entries
