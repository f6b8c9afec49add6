"""The master's decisions: what runs and what is wanted in, actions out.

Pure: no processes, signals, sockets or clocks. The master (``master.py``)
takes a snapshot of its children (:class:`Proc`) and of its daemon process
sets (:class:`Want`), asks one of the functions below what to do, and carries
the answer out (starts a process, sends a signal, marks a child, logs).
Every decision about which process to start, replace, retire or kill next
lives here, so it is tested without starting one (``tests/unit/test_plan.py``).

The rules the functions keep:

* **New before old.** A process being replaced (a roll onto new code,
  maximum-requests, restart-interval, rss-limit, request-timeout) keeps
  serving until its successor is READY; only then is it told to retire
  (:func:`on_ready`). So a set never has fewer than ``processes`` processes
  able to serve.
* **One at a time.** While a set has a successor starting, or a process
  waiting for its successor, no other of its processes is marked for
  replacement (:func:`top_up`). A roll and routine replacements share that
  one turn; the most urgent replacement goes first (:data:`RECYCLE_ORDER`).
* **A start that fails stops the roll** (:func:`on_exit`): the running
  processes keep serving the old code until the script changes again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

# A child's state.
STARTING = "starting"  # started, not READY yet
READY = "ready"
DRAINING = "draining"  # finishing what it accepted, then exiting
FAILED = "failed"  # (a set's status) no process is ready and the last start failed

# A daemon process told to retire (SIGINT) that has not begun to by then gets SIGTERM.
RETIRE_GRACE = 5.0
# Which replacement goes first when several processes of a set are due:
# a lost thread (request-timeout), then memory, then the routine ones.
RECYCLE_ORDER = {"request-timeout": 0, "rss-limit": 1}


@dataclass(frozen=True)
class Proc:
    """A child as the planner sees it (a snapshot of the master's record)."""

    pid: int
    group: str = ""  # the daemon process set it belongs to; "" for a front-end worker
    state: str = STARTING
    stopping: bool = False  # asked to finish and exit
    recycle: bool = False  # to retire once a successor is READY
    recycle_why: str = ""  # due for replacement, waiting for its turn
    recycle_reason: str = ""
    recycle_asked: float = 0.0
    generation: int = 0
    started: float = 0.0
    since: float = 0.0  # when its current state began
    retire_sent: float = 0.0
    term_sent: bool = False
    timed_out: bool = False
    served: int = 0
    busy: int = 0  # threads running a request, as last reported
    # A front-end worker's: its slot, the listening sockets it holds (the master's
    # descriptors) and whether, stopping, it still accepts until its successors
    # are ready (supervisor/listeners.py).
    slot: int = 0
    fds: frozenset[int] = frozenset()
    hand_over: bool = False

    @property
    def worker(self) -> bool:
        return not self.group


@dataclass(frozen=True)
class Want:
    """One daemon process set as the planner sees it: what is wanted of it."""

    name: str
    processes: int
    generation: int = 0  # processes older than this are rolled onto new code
    stalled: int = -1  # a roll that failed at this generation waits for the next
    next_start: float = 0.0  # no start before this (a back-off)
    startup_timeout: float = 60.0
    graceful_timeout: float = 15.0
    shutdown_timeout: float = 5.0
    restart_interval: float = 0.0
    rss_limit: int = 0


# -- actions ---------------------------------------------------------------


@dataclass(frozen=True)
class StartWorker:
    """Start a front-end worker."""


@dataclass(frozen=True)
class StartDaemon:
    """Start a daemon process of set ``group``; stop starting its others if it fails."""

    group: str


@dataclass(frozen=True)
class Replace:
    """Mark ``pid`` to retire once a successor is READY (the successor starts now).

    ``why`` is said in the log; empty for a roll, which the log announced already.
    """

    pid: int
    why: str = ""


@dataclass(frozen=True)
class Retire:
    """Tell ``pid`` to retire now (SIGINT): finish what it accepted, then exit."""

    pid: int
    why: str  # "excess": a restart lowered processes=; "successor": its successor is READY


@dataclass(frozen=True)
class Due:
    """Note that ``pid`` is due for replacement; :func:`top_up` gives it its turn."""

    pid: int
    reason: str
    why: str


@dataclass(frozen=True)
class Kill:
    """Send ``signal`` ("SIGTERM" or "SIGKILL") to ``pid``, for ``reason``.

    reasons: "startup-timeout" (its exit counts as a failed start), "ignores-sigint"
    (SIGTERM), "ignores-sigterm" and "draining-too-long" (SIGKILL, the child is stopping).
    """

    pid: int
    signal: str
    reason: str


@dataclass(frozen=True)
class RssWarn:
    """Say once that a set's fresh processes already exceed its rss-limit."""

    group: str
    rss: int


Action = StartWorker | StartDaemon | Replace | Retire | Due | Kill | RssWarn


def _members(procs: Iterable[Proc], name: str) -> list[Proc]:
    return [p for p in procs if p.group == name and not p.stopping]


def _turn_taken(mine: Iterable[Proc]) -> bool:
    """A replacement is under way: a successor starting, or a process waiting for one."""
    return any((p.recycle and p.state == READY) or p.state == STARTING for p in mine)


# -- what is wanted: the daemon process sets ---------------------------------------


@dataclass(frozen=True)
class ProcessSet:
    """One set of daemon processes: a group's processes for one application group.

    mod_wsgi runs each application group of a daemon process in its own
    sub-interpreter; we run each in processes of its own (``processes=`` and
    ``threads=`` of the group, each), so two apps of one group never share
    modules.
    """

    key: str  # its name among the sets (routing.set_key)
    group: str
    application_group: str
    scripts: tuple[tuple[str, str], ...]  # (script, callable) to import before READY


def process_sets(
    groups: Sequence[str],
    reached: Mapping[tuple[str, str], Iterable[tuple[str, str]]],
    limit: int,
    key: Callable[[str, str], str],
) -> tuple[dict[str, ProcessSet], list[str]]:
    """The sets to run, from what the configuration routes to each group.

    ``reached`` maps (group, application group) to the scripts requests
    reach there; ``limit`` caps the sets of one group (0: no cap). A group
    no request reaches still gets its one set (as mod_wsgi starts every
    WSGIDaemonProcess). Returns the sets by key, and the groups over the cap
    as problems.
    """
    found: dict[str, ProcessSet] = {}
    problems: list[str] = []
    for group in groups:
        mine = sorted((app, scripts) for (g, app), scripts in reached.items() if g == group)
        if not mine:
            mine = [("", [])]
        if limit and len(mine) > limit:
            names = ", ".join(repr(app) for app, _ in mine)
            problems.append(
                f"daemon group {group!r} would run {len(mine)} application groups ({names}), "
                f"more than WSGIApplicationGroupLimit ({limit}); raise it, or give the "
                "apps one application group (WSGIApplicationGroup %{GLOBAL}, application-group=)"
            )
            continue
        for app, scripts in mine:
            name = key(group, app)
            found[name] = ProcessSet(name, group, app, tuple(sorted(scripts)))
    return found, problems


# -- the main loop's step --------------------------------------------------------


def top_up(
    now: float,
    procs: Sequence[Proc],
    sets: Sequence[Want],
    workers: int,
    worker_next_start: float,
) -> list[Action]:
    """What to start, replace and retire now, so every set has what it wants.

    Per set, in this order: the next due replacement gets its turn, then a
    roll marks its next old process (or, when processes= was lowered, retires
    the excess), then enough processes start to make up ``processes`` that
    are neither leaving nor waiting for a successor.
    """
    actions: list[Action] = []
    running = sum(1 for p in procs if p.worker and not p.stopping)
    if now >= worker_next_start:
        actions += [StartWorker()] * max(0, workers - running)
    view = {p.pid: p for p in procs}
    for want in sets:
        step = _recycle_step(_members(view.values(), want.name))
        step += _roll_step(now, _members(view.values(), want.name), want)
        for action in step:
            if isinstance(action, Replace):
                view[action.pid] = replace(view[action.pid], recycle=True)
            elif isinstance(action, Retire):
                view[action.pid] = replace(view[action.pid], state=DRAINING, since=now)
        actions += step
        active = sum(
            1 for p in _members(view.values(), want.name) if p.state != DRAINING and not p.recycle
        )
        if now >= want.next_start:
            actions += [StartDaemon(want.name)] * max(0, want.processes - active)
    return actions


def _recycle_step(mine: list[Proc]) -> list[Action]:
    """The due process with the most urgent reason (then the longest wait) gets the turn."""
    if _turn_taken(mine):
        return []
    due = [p for p in mine if p.state == READY and p.recycle_why]
    if not due:
        return []
    first = min(due, key=lambda p: (RECYCLE_ORDER.get(p.recycle_reason, 9), p.recycle_asked))
    return [Replace(first.pid, first.recycle_why)]


def _roll_step(now: float, mine: list[Proc], want: Want) -> list[Action]:
    """Retire processes beyond ``processes``; mark the next one of an old generation."""
    if want.stalled == want.generation:
        return []
    actions: list[Action] = []
    # Fewer processes wanted (a restart lowered processes=): retire the oldest.
    serving = [p for p in mine if p.state in (READY, STARTING) and not p.recycle]
    excess = len(serving) - want.processes
    gone: set[int] = set()
    for p in sorted(serving, key=lambda p: (p.state != READY, p.generation))[: max(0, excess)]:
        if p.state == READY:
            actions.append(Retire(p.pid, "excess"))
            gone.add(p.pid)
    left = [p for p in mine if p.pid not in gone]
    if _turn_taken(left):
        return actions  # one replacement at a time (a retiring one no longer counts)
    old = [p for p in left if p.state == READY and p.generation < want.generation]
    if old:
        actions.append(Replace(old[0].pid))
    return actions


# -- what a child says, and its exit ---------------------------------------------


def on_ready(child: Proc, procs: Iterable[Proc]) -> Retire | None:
    """A process of a set is READY: the one that waited for a successor may retire now."""
    for old in procs:
        if (
            old.group == child.group
            and old.pid != child.pid
            and old.recycle
            and old.state == READY
            and not old.retire_sent
        ):
            return Retire(old.pid, "successor")
    return None


def recycle_wanted(child: Proc, reason: str) -> bool:
    """Whether a new reason to replace ``child`` is worth noting (:class:`Due`)."""
    if child.state != READY or child.stopping or child.recycle:
        return False  # already on its way out
    rank = RECYCLE_ORDER.get(reason, 9)
    return not (child.recycle_why and rank >= RECYCLE_ORDER.get(child.recycle_reason, 9))


def status(name: str, failures: int, procs: Iterable[Proc]) -> str:
    """What the front ends are told of a set: ready | starting | failed."""
    ready = any(p.group == name and p.state in (READY, DRAINING) and not p.stopping for p in procs)
    return READY if ready else (FAILED if failures else STARTING)


@dataclass(frozen=True)
class Exit:
    """What a daemon process's exit means, and what follows from it.

    kind: "stopped" (asked to stop), "retired" (drained and exited cleanly),
    "crashed" (replaced by top_up), "roll-stalled" (new code does not start:
    the roll stops), "replacement-failed" (a successor did not start: the
    process it was to replace serves on), "start-failed" (nothing serves:
    try again after a pause).
    """

    kind: str
    back_off: bool = False
    unmark: bool = False  # no process of the set waits for a successor any more
    stall: bool = False  # the set's roll stops at its generation


def on_exit(child: Proc, code: int, want: Want, procs: Iterable[Proc], stopping: bool) -> Exit:
    """Classify the exit (``code``, as Popen gives it) of daemon process ``child`` of set ``want``.

    ``procs`` are the other children; ``stopping`` says the server is stopping.
    """
    if stopping or child.stopping:
        return Exit("stopped")
    others = [p for p in procs if p.group == want.name and p.pid != child.pid]
    if child.state == STARTING and any(p.state == READY for p in others):
        # New code that does not start: the old processes keep serving.
        if any(p.state == READY and p.generation < want.generation for p in others):
            return Exit("roll-stalled", back_off=True, unmark=True, stall=True)
        # A successor for a replacement: the process it was to replace is due still.
        return Exit("replacement-failed", back_off=True, unmark=True)
    if child.state == STARTING:
        return Exit("start-failed", back_off=True)
    if child.state == DRAINING and code == 0:
        return Exit("retired")
    return Exit("crashed")


# -- clocks: startup, retire and drain timeouts; restart-interval and rss-limit -----------


def timeouts(now: float, procs: Iterable[Proc], sets: Mapping[str, Want]) -> list[Kill]:
    """startup-timeout for READY; graceful- then shutdown-timeout for a retiring process."""
    kills: list[Kill] = []
    for p in procs:
        want = sets.get(p.group)
        if want is None or p.stopping:
            continue
        drain = want.graceful_timeout + want.shutdown_timeout
        if p.state == STARTING and not p.timed_out and now - p.started > want.startup_timeout:
            kills.append(Kill(p.pid, "SIGKILL", "startup-timeout"))
        elif p.state == READY and p.retire_sent:
            # Asked to retire, and not even started to: the app may have
            # taken SIGINT for itself. SIGTERM after a moment, then SIGKILL.
            waited = now - p.retire_sent
            if waited > drain:
                kills.append(Kill(p.pid, "SIGKILL", "ignores-sigterm"))
            elif waited > RETIRE_GRACE and not p.term_sent:
                kills.append(Kill(p.pid, "SIGTERM", "ignores-sigint"))
        elif p.state == DRAINING and now - p.since > drain:
            kills.append(Kill(p.pid, "SIGKILL", "draining-too-long"))
    return kills


def limits(
    now: float,
    procs: Iterable[Proc],
    sets: Mapping[str, Want],
    rss: Mapping[int, int],
    warned: frozenset[str] | set[str],
) -> list[Due | RssWarn]:
    """restart-interval and rss-limit of every READY daemon process.

    ``rss`` is the resident size the master read for each process (absent when
    unknown); ``warned`` the sets already told that a fresh process is over
    their rss-limit.
    """
    actions: list[Due | RssWarn] = []
    for p in procs:
        want = sets.get(p.group)
        if want is None or p.state != READY or p.stopping or p.recycle or p.recycle_why:
            continue
        if want.restart_interval and now - p.started >= want.restart_interval:
            why = f"restart-interval ({want.restart_interval:g} s)"
            actions.append(Due(p.pid, "restart-interval", why))
            continue
        size = rss.get(p.pid)
        if not want.rss_limit or size is None or size <= want.rss_limit:
            continue
        if p.served == 0:
            # Past the limit before any request: replacing it would only
            # start another like it, again and again.
            if want.name not in warned and not any(
                isinstance(a, RssWarn) and a.group == want.name for a in actions
            ):
                actions.append(RssWarn(want.name, size))
            continue
        actions.append(Due(p.pid, "rss-limit", f"rss-limit ({size_text(want.rss_limit)})"))
    return actions


def size_text(n: int) -> str:
    """A byte count as people write it: 1.5G, 200M, 12K."""
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f}{unit}".replace(".0" + unit, unit)
    return f"{n} bytes"


# -- a restart: the configuration read again ---------------------------------------------


@dataclass(frozen=True)
class Changes:
    """What a new configuration changes among the daemon process sets."""

    start: tuple[str, ...]  # sets it adds
    roll: tuple[str, ...]  # sets whose group's settings changed: new processes, one at a time
    stop: tuple[str, ...]  # sets it no longer has


def reconfigure(
    running: Mapping[str, object],
    wanted: Mapping[str, ProcessSet],
    groups: Mapping[str, object],
    shared_changed: bool,
) -> Changes:
    """Compare the running sets (key -> their group's settings) with the wanted ones.

    ``groups`` are the new configuration's group settings by name;
    ``shared_changed`` says server-wide settings a daemon starts with changed
    (WSGIPythonPath, logging, ...), which roll every set that stays.
    """
    start = tuple(key for key in wanted if key not in running)
    roll = tuple(
        key
        for key, found in wanted.items()
        if key in running and (running[key] != groups[found.group] or shared_changed)
    )
    stop = tuple(key for key in running if key not in wanted)
    return Changes(start, roll, stop)


# -- front-end workers' sockets ------------------------------------------------


def free_slot(procs: Sequence[Proc], workers: int) -> int:
    """The slot for a new front-end worker: the first no running worker holds."""
    taken = {p.slot for p in procs if p.worker and not p.stopping}
    return next((i for i in range(workers) if i not in taken), 0)


def hand_overs_done(procs: Sequence[Proc], owned: frozenset[int]) -> list[int]:
    """Workers handing over that may stop accepting: every socket of theirs that
    is still open (``owned``) is held by a READY worker that stays. A socket the
    master has closed (a removed ``Listen``) needs no successor."""
    ready: set[int] = set()
    for p in procs:
        if p.worker and not p.stopping and p.state == READY:
            ready |= p.fds
    return [p.pid for p in procs if p.worker and p.hand_over and (p.fds & owned) <= ready]
