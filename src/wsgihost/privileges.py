"""Running as another user: who that is, dropping to it, and the open-files limit.

Started as root, the master keeps root (it binds ports, opens the logs and
creates the daemon sockets) and its children drop to the users the
configuration names: front-end workers to ``User``/``Group``, each daemon
group to its ``user=``/``group=``. Started as anyone else, nobody changes
user, as with Apache.

Standard library only, Python 3.9 syntax: daemon processes import it from
the copy the master makes for them.
"""

from __future__ import annotations

import grp
import os
import pwd
import resource
from typing import NamedTuple, Optional, Tuple


class Identity(NamedTuple):
    uid: int
    gid: int
    name: Optional[str]  # the user's name, for supplementary groups and $HOME
    home: Optional[str]


def resolve(user: Optional[str], group: Optional[str]) -> Optional[Identity]:
    """The identity ``user``/``group`` name (Apache's ``#id`` form too); None for "stay".

    A user alone brings its primary group; a group alone keeps our user.
    Raises KeyError for a name that does not exist.
    """
    if not user and not group:
        return None
    entry = _user(user) if user else None
    if group:
        gid = _group_id(group)
    elif entry is not None:
        gid = entry.pw_gid
    else:
        gid = os.getgid()
    if entry is None:
        return Identity(os.getuid(), gid, None, None)
    return Identity(entry.pw_uid, gid, entry.pw_name, entry.pw_dir)


def _user(user: str) -> pwd.struct_passwd:
    if user.startswith("#"):
        return pwd.getpwuid(int(user[1:]))
    return pwd.getpwnam(user)


def _group_id(group: str) -> int:
    if group.startswith("#"):
        return int(group[1:])
    return grp.getgrnam(group).gr_gid


def exists(kind: str, name: str) -> bool:
    """Whether a user (``kind`` "user") or group of that name or ``#id`` exists."""
    try:
        if kind == "user":
            _user(name)
        elif name.startswith("#"):
            grp.getgrgid(int(name[1:]))
        else:
            grp.getgrnam(name)
    except (KeyError, ValueError):
        return False
    return True


def drop(identity: Optional[Identity]) -> bool:
    """Become ``identity`` for good (groups first, then the user); False if not root."""
    if identity is None or os.getuid() != 0:
        return False
    if identity.name is not None:
        os.initgroups(identity.name, identity.gid)
    else:
        os.setgroups([identity.gid])
    os.setgid(identity.gid)
    if identity.uid != 0:
        os.setuid(identity.uid)
    if identity.name is not None:
        os.environ["USER"] = os.environ["LOGNAME"] = identity.name
        if identity.home:
            os.environ["HOME"] = identity.home
    return True


def raise_open_files_limit() -> Tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE as far as allowed; the limit now (soft, hard).

    Root may also raise the hard limit, up to the kernel's ``nr_open``; a
    server holding thousands of client connections needs it, and children
    inherit it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                ceiling = int(f.read())
        except (OSError, ValueError):
            ceiling = hard
        if hard != resource.RLIM_INFINITY and ceiling > hard:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, ceiling))
                return ceiling, ceiling
            except (OSError, ValueError):
                pass
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (OSError, ValueError):
            pass
    return soft, hard
