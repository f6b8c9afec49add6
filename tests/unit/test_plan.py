"""The supervisor's planner: rolls, recycles, limits, restarts and timeouts, without a process."""

from __future__ import annotations

from dataclasses import replace

from wsgihost.supervisor import plan, report
from wsgihost.supervisor.plan import (
    DRAINING,
    READY,
    STARTING,
    Due,
    Kill,
    Proc,
    Replace,
    Retire,
    RssWarn,
    StartDaemon,
    StartWorker,
    Want,
)


def ready(pid: int, group: str = "g", **kw: object) -> Proc:
    return Proc(pid, group, READY, **kw)  # type: ignore[arg-type]


def starts(actions: list[plan.Action], group: str = "g") -> int:
    return sum(1 for a in actions if a == StartDaemon(group))


# -- starting what is missing ----------------------------------------------------


def test_an_empty_server_starts_its_workers_and_every_process_of_every_set() -> None:
    actions = plan.top_up(0.0, [], [Want("a", 2), Want("b", 3)], workers=2, worker_next_start=0)
    assert actions.count(StartWorker()) == 2
    assert starts(actions, "a") == 2
    assert starts(actions, "b") == 3


def test_nothing_starts_during_a_back_off() -> None:
    actions = plan.top_up(5.0, [], [Want("g", 2, next_start=6.0)], workers=1, worker_next_start=7)
    assert actions == []


def test_a_full_set_starts_nothing_and_a_crashed_process_is_replaced() -> None:
    full = [ready(1), ready(2)]
    assert plan.top_up(0, full, [Want("g", 2)], 0, 0) == []
    assert plan.top_up(0, full[:1], [Want("g", 2)], 0, 0) == [StartDaemon("g")]


def test_draining_and_stopping_processes_do_not_count_towards_processes() -> None:
    procs = [ready(1), Proc(2, "g", DRAINING), ready(3, stopping=True)]
    assert starts(plan.top_up(0, procs, [Want("g", 2)], 0, 0)) == 1


# -- rolls ----------------------------------------------------------------------------


def test_a_roll_replaces_one_old_process_at_a_time_new_before_old() -> None:
    want = Want("g", 2, generation=1)
    procs = [ready(1), ready(2)]
    actions = plan.top_up(0, procs, [want], 0, 0)
    # The first old process is marked; its successor starts; the other waits its turn.
    assert actions == [Replace(1), StartDaemon("g")]
    marked = [replace(procs[0], recycle=True), procs[1], Proc(3, "g", STARTING, generation=1)]
    assert plan.top_up(0, marked, [want], 0, 0) == []
    # The successor is ready: the marked process retires, and only then is the next one's turn.
    now_ready = replace(marked[2], state=READY)
    assert plan.on_ready(now_ready, marked) == Retire(1, "successor")
    after = [replace(marked[0], state=DRAINING), marked[1], now_ready]
    assert plan.top_up(0, after, [want], 0, 0) == [Replace(2), StartDaemon("g")]


def test_a_stalled_roll_marks_nothing_until_the_next_generation() -> None:
    procs = [ready(1), ready(2)]
    assert plan.top_up(0, procs, [Want("g", 2, generation=3, stalled=3)], 0, 0) == []
    assert plan.top_up(0, procs, [Want("g", 2, generation=4, stalled=3)], 0, 0)[0] == Replace(1)


def test_lowering_processes_retires_the_oldest_ready_ones() -> None:
    procs = [ready(1, generation=0), ready(2, generation=1), ready(3, generation=1)]
    actions = plan.top_up(0, procs, [Want("g", 1, generation=1)], 0, 0)
    assert Retire(1, "excess") in actions and Retire(2, "excess") in actions
    assert Retire(3, "excess") not in actions
    assert not [a for a in actions if isinstance(a, Replace | StartDaemon)]


def test_a_new_start_failing_during_a_roll_stalls_it_and_the_old_ones_serve_on() -> None:
    want = Want("g", 2, generation=1)
    old = [ready(1, recycle=True), ready(2)]
    successor = Proc(3, "g", STARTING, generation=1)
    outcome = plan.on_exit(successor, 1, want, old, stopping=False)
    assert outcome == plan.Exit("roll-stalled", back_off=True, unmark=True, stall=True)


def test_a_failed_successor_outside_a_roll_leaves_the_process_due() -> None:
    want = Want("g", 1, generation=0)
    outcome = plan.on_exit(Proc(3, "g", STARTING), 1, want, [ready(1, recycle=True)], False)
    assert outcome.kind == "replacement-failed" and outcome.unmark and not outcome.stall


def test_exits_are_told_apart() -> None:
    want = Want("g", 1)
    assert plan.on_exit(Proc(1, "g", STARTING), 1, want, [], False).kind == "start-failed"
    assert plan.on_exit(Proc(1, "g", DRAINING), 0, want, [], False).kind == "retired"
    assert plan.on_exit(Proc(1, "g", DRAINING), -9, want, [], False).kind == "crashed"
    assert plan.on_exit(ready(1), 1, want, [], False).kind == "crashed"
    assert plan.on_exit(ready(1), 0, want, [], stopping=True).kind == "stopped"
    assert plan.on_exit(ready(1, stopping=True), 0, want, [], False).kind == "stopped"


# -- recycles: maximum-requests, request-timeout, rss-limit, restart-interval ------------


def test_due_processes_are_replaced_one_at_a_time_most_urgent_first() -> None:
    procs = [
        ready(1, recycle_why="maximum-requests", recycle_reason="maximum-requests"),
        ready(2, recycle_why="rss", recycle_reason="rss-limit", recycle_asked=5.0),
        ready(3, recycle_why="lost", recycle_reason="request-timeout", recycle_asked=9.0),
    ]
    actions = plan.top_up(10, procs, [Want("g", 3)], 0, 0)
    assert actions == [Replace(3, "lost"), StartDaemon("g")]


def test_no_process_is_marked_while_a_successor_starts() -> None:
    procs = [ready(1, recycle_why="m", recycle_reason="maximum-requests"), Proc(2, "g", STARTING)]
    assert plan.top_up(0, procs, [Want("g", 2)], 0, 0) == []


def test_a_new_reason_is_noted_only_when_more_urgent() -> None:
    waiting = ready(1, recycle_why="m", recycle_reason="maximum-requests")
    assert plan.recycle_wanted(waiting, "request-timeout")
    assert not plan.recycle_wanted(waiting, "restart-interval")
    assert not plan.recycle_wanted(ready(1, recycle=True), "request-timeout")
    assert not plan.recycle_wanted(Proc(1, "g", STARTING), "maximum-requests")


def test_restart_interval_and_rss_limit() -> None:
    sets = {"g": Want("g", 3, restart_interval=60.0, rss_limit=100)}
    procs = [ready(1, started=0.0), ready(2, started=50.0, served=4), ready(3, started=50.0)]
    actions = plan.limits(70.0, procs, sets, {1: 10, 2: 200, 3: 200}, set())
    assert actions == [
        Due(1, "restart-interval", "restart-interval (60 s)"),
        Due(2, "rss-limit", "rss-limit (100 bytes)"),
        # A process over the limit before any request: said once, not replaced.
        RssWarn("g", 200),
    ]
    assert plan.limits(70.0, procs[2:], sets, {3: 200}, {"g"}) == []


# -- timeouts --------------------------------------------------------------------------


def test_timeouts_escalate() -> None:
    sets = {"g": Want("g", 1, startup_timeout=10, graceful_timeout=3, shutdown_timeout=4)}
    assert plan.timeouts(11, [Proc(1, "g", STARTING)], sets) == [
        Kill(1, "SIGKILL", "startup-timeout")
    ]
    assert plan.timeouts(11, [Proc(1, "g", STARTING, timed_out=True)], sets) == []
    asked = ready(1, retire_sent=100.0)
    assert plan.timeouts(104, [asked], sets) == []
    assert plan.timeouts(106, [asked], sets) == [Kill(1, "SIGTERM", "ignores-sigint")]
    assert plan.timeouts(106, [replace(asked, term_sent=True)], sets) == []
    assert plan.timeouts(108, [asked], sets) == [Kill(1, "SIGKILL", "ignores-sigterm")]
    assert plan.timeouts(108, [Proc(1, "g", DRAINING, since=100.0)], sets) == [
        Kill(1, "SIGKILL", "draining-too-long")
    ]


def test_status() -> None:
    assert plan.status("g", 0, [Proc(1, "g", STARTING)]) == STARTING
    assert plan.status("g", 2, [Proc(1, "g", STARTING)]) == plan.FAILED
    assert plan.status("g", 2, [Proc(1, "g", DRAINING)]) == READY
    assert plan.status("g", 0, [ready(1, group="h")]) == STARTING


# -- application groups: one set of processes each ------------------------------------


def key(group: str, app: str) -> str:
    return f"{group}|{app}" if app else group


def test_each_application_group_of_a_group_is_a_set_and_global_keeps_one() -> None:
    reached = {
        ("g", "site:8001|/one"): [("/srv/one.wsgi", "application")],
        ("g", "site:8001|/two"): [("/srv/two.wsgi", "application")],
        ("h", ""): [("/srv/a.wsgi", "application"), ("/srv/b.wsgi", "application")],
    }
    sets, problems = plan.process_sets(["g", "h", "idle"], reached, 16, key)
    assert problems == []
    assert sorted(sets) == ["g|site:8001|/one", "g|site:8001|/two", "h", "idle"]
    assert sets["g|site:8001|/two"].scripts == (("/srv/two.wsgi", "application"),)
    assert sets["h"].application_group == "" and len(sets["h"].scripts) == 2
    # A group no request reaches still runs its one set, importing nothing.
    assert sets["idle"] == plan.ProcessSet("idle", "idle", "", ())


def test_a_group_over_the_limit_is_a_problem_and_gets_no_set() -> None:
    reached = {("g", f"site|/app{i}"): [] for i in range(3)}
    sets, problems = plan.process_sets(["g"], reached, 2, key)
    assert sets == {}
    assert "WSGIApplicationGroupLimit (2)" in problems[0] and "3 application groups" in problems[0]
    assert plan.process_sets(["g"], reached, 0, key)[1] == []  # 0: no limit


def test_sets_are_planned_apart_each_with_processes() -> None:
    one, two = Want("g|a", 2), Want("g|b", 2, generation=1)
    procs = [ready(1, group="g|a"), ready(2, group="g|a"), ready(3, group="g|b")]
    actions = plan.top_up(0, procs, [one, two], 0, 0)
    # The roll of one set leaves the other alone; a missing process is set b's.
    assert actions == [Replace(3), StartDaemon("g|b"), StartDaemon("g|b")]
    assert plan.on_ready(Proc(9, "g|b", READY), [*procs, ready(4, "g|a", recycle=True)]) is None


# -- what status shows -----------------------------------------------------------------


def test_status_shows_a_group_once_with_its_sets() -> None:
    def info(key: str, app: str, status: str, generation: int = 0) -> report.SetInfo:
        return report.SetInfo(key, "g", app, status, 1, 2, generation, -1, "")

    sets = [info("g|a", "a", READY), info("g|b", "b", STARTING, generation=1)]
    procs = [ready(1, group="g|a"), Proc(2, "g|b", STARTING, generation=1), Proc(3)]
    (group,) = report.groups(sets, procs, now=10.0)
    assert group["name"] == "g" and group["status"] == STARTING and group["generation"] == 1
    assert [s["application_group"] for s in group["sets"]] == ["a", "b"]  # type: ignore[attr-defined]
    assert [m["pid"] for m in group["members"]] == [1, 2]  # type: ignore[attr-defined]
    assert group["rolling"]  # set b has no process of its version ready yet
    assert report.member(Proc(3, started=4.0), 10.0)["uptime"] == 6.0


# -- restarts: the configuration read again ---------------------------------------------


def test_a_restart_starts_new_sets_rolls_changed_ones_and_stops_removed_ones() -> None:
    def wanted(*keys: str) -> dict[str, plan.ProcessSet]:
        return {k: plan.ProcessSet(k, k.split("|")[0], "", ()) for k in keys}

    running: dict[str, object] = {"g|a": "g-settings", "g|b": "g-settings", "h": "h-old"}
    changes = plan.reconfigure(
        running, wanted("g|a", "g|c", "h"), {"g": "g-settings", "h": "h-new"}, False
    )
    assert changes == plan.Changes(start=("g|c",), roll=("h",), stop=("g|b",))
    # A server-wide setting the daemons start with (WSGIPythonPath, ...) rolls every set that stays.
    same = plan.reconfigure(running, wanted("g|a", "h"), {"g": "g-settings", "h": "h-old"}, True)
    assert same == plan.Changes(start=(), roll=("g|a", "h"), stop=("g|b",))


# -- front-end workers' sockets --------------------------------------------------


def worker(pid: int, slot: int, fds: set[int], **kw: object) -> Proc:
    return Proc(pid, "", READY, slot=slot, fds=frozenset(fds), **kw)  # type: ignore[arg-type]


def test_a_new_worker_takes_the_first_slot_no_running_worker_holds() -> None:
    assert plan.free_slot([], 2) == 0
    assert plan.free_slot([worker(1, 0, {5})], 2) == 1
    # A stopping worker's slot is free: its successor takes it (and its sockets).
    assert plan.free_slot([worker(1, 0, {5}, stopping=True), worker(2, 1, {6})], 2) == 0
    # Daemons hold no slot.
    assert plan.free_slot([ready(3, slot=0)], 2) == 0


def test_a_worker_hands_over_once_every_socket_it_held_has_a_ready_successor() -> None:
    old = worker(1, 0, {5, 7}, stopping=True, hand_over=True)
    owned = frozenset({5, 6, 7, 8})
    starting = replace(worker(2, 0, {5, 7}), state=STARTING)
    assert plan.hand_overs_done([old, starting], owned) == []  # not ready yet
    assert plan.hand_overs_done([old, replace(starting, state=READY)], owned) == [1]
    # Fewer workers after a restart: its sockets are spread over two successors.
    split = [old, worker(3, 0, {5, 6}), worker(4, 1, {7, 8})]
    assert plan.hand_overs_done(split, owned) == [1]
    assert plan.hand_overs_done(split[:2], owned) == []  # socket 7 still has no one
    # Another stopping worker is no successor; a socket closed (a removed Listen)
    # needs none.
    assert plan.hand_overs_done([old, worker(5, 0, {5, 7}, stopping=True)], owned) == []
    assert plan.hand_overs_done([old, worker(6, 0, {5})], frozenset({5})) == [1]
    # Told already (hand_over cleared), or never handing over: nothing to say.
    assert plan.hand_overs_done([replace(old, hand_over=False), split[1], split[2]], owned) == []
