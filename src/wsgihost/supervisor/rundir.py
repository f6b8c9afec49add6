"""Runtime directories: where the control sockets and the daemon sockets live.

Runs in the master (and, for ``control_dir``'s path only, in the CLI). Two
places with two different readers, so two directories, each made with the
mode it keeps for good; nothing here ever changes the mode of a directory
that already exists:

``<runtime>/wsgihost-<uid>/``
    The runtime directory (``$XDG_RUNTIME_DIR``, else the temporary
    directory). Ours, and no one else may write in it; 0700 or 0711 are
    both fine (older versions left it 0711 when started as root).
``.../control/``
    The control sockets (``ctl.<hash>.sock``): only our user may reach them,
    so 0700, always.
``.../daemons/`` (or ``WSGISocketPrefix``'s folder)
    The daemon sockets, their lock files and the daemons' copy of the
    library. When the children run as other users (started as root) they
    must pass through every folder on the way, so it is made 0711: they can
    reach a socket or file whose name they know, never list it, and the
    sockets themselves are 0600 for the front end's user only. If they cannot
    pass (a runtime directory made 0700 by an older version, or
    ``$XDG_RUNTIME_DIR`` being ``/run/user/0``), the daemon directory goes
    next to the runtime directory in the temporary directory instead.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from wsgihost import privileges


class RunDirError(Exception):
    """A runtime directory is not safe to use, or cannot be reached by whom it is for."""


def runtime_path() -> Path:
    """The runtime directory's path (nothing is made)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"wsgihost-{os.getuid()}"


def control_path() -> Path:
    """The control directory's path (nothing is made): the CLI looks here."""
    return runtime_path() / "control"


def make(path: Path, mode: int, parents: bool = False) -> None:
    """Make ``path`` with exactly ``mode`` (whatever the umask) if it is not there."""
    if parents:  # folders above it get the usual modes: only ``path`` is ours to decide
        path.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0)  # the master is single-threaded: no one else sees this umask
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        pass
    finally:
        os.umask(old)


def check(path: Path, private: bool, what: str) -> None:
    """``path`` is a real directory of ours no one else may write in (nor enter, if private)."""
    st = path.lstat()
    forbidden = 0o077 if private else 0o022
    if (
        not stat.S_ISDIR(st.st_mode)
        or st.st_uid != os.getuid()
        or stat.S_IMODE(st.st_mode) & forbidden
    ):
        need = "private (mode 0700)" if private else "writable by us alone"
        raise RunDirError(f"{path} ({what}) must be a directory of ours, {need}")


def runtime_dir() -> Path:
    """The runtime directory, made if needed; never changed if it exists."""
    path = runtime_path()
    # Started as root, children of other users may need to pass through it
    # (the daemon directory is inside); otherwise only we ever use it.
    make(path, 0o711 if os.getuid() == 0 else 0o700)
    check(path, private=False, what="the runtime directory")
    return path


def control_dir() -> Path:
    """The control sockets' directory, private to our user."""
    runtime_dir()
    path = control_path()
    make(path, 0o700)
    check(path, private=True, what="the control sockets' directory")
    return path


def daemon_dir(prefix_dir: str | None, others: Sequence[privileges.Identity]) -> Path:
    """The daemon sockets' directory, reachable by every user in ``others``.

    ``prefix_dir`` is ``WSGISocketPrefix``'s folder, if the configuration
    names one: then it is the only choice, and an error says who cannot
    reach it. ``others`` are the users the children run as, other than ours.
    """
    mode = 0o711 if others else 0o700
    if prefix_dir is not None:
        path = Path(prefix_dir)
        make(path, mode, parents=True)
        check(path, private=False, what="the folder of WSGISocketPrefix")
        problem = _unreachable(path, others)
        if problem:
            raise RunDirError(
                f"{problem}, where WSGISocketPrefix puts the daemon sockets: let them pass "
                "(chmod o+x, as for Apache's User) or choose another WSGISocketPrefix"
            )
        return path
    candidates = [runtime_path() / "daemons"]
    if others:
        candidates.append(Path(tempfile.gettempdir()) / f"wsgihost-{os.getuid()}-daemons")
    problem = ""
    for path in candidates:
        if path.parent == runtime_path():
            runtime_dir()
        problem = _unreachable(path.parent, others)
        if problem:
            continue
        make(path, mode)
        check(path, private=False, what="the daemon sockets' directory")
        problem = _unreachable(path, others)
        if not problem:
            return path
    raise RunDirError(f"{problem}: no place for the daemon sockets that they can reach")


def _unreachable(path: Path, others: Sequence[privileges.Identity]) -> str:
    """Why one of ``others`` cannot reach ``path`` (empty if all can)."""
    for identity in others:
        blocked = privileges.blocked_at(identity, str(path))
        if blocked is not None:
            who = identity.name or f"uid {identity.uid}"
            return f"user {who} may not pass through {blocked}"
    return ""
