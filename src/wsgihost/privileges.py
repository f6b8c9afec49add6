"""Running as another user: who that is, dropping to it, and the open-files limit.

Started as root, the master keeps root (it binds ports, opens the logs and
creates the daemon sockets) and its children drop to the users the
configuration names: front-end workers to ``User``/``Group``, each daemon
group to its ``user=``/``group=`` (``User``/``Group`` when it names none, as
mod_wsgi does). With no ``User`` at all they run as the distribution's web
user (``web_user``), never as root: Apache refuses ``User root`` and mod_wsgi
``user=root``. Started as anyone else, nobody changes user, as with Apache.

Standard library only, Python 3.9 syntax: daemon processes import it from
the copy the master makes for them.
"""

from __future__ import annotations

import grp
import os
import pwd
import resource
import stat
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


# The distributions' web server users, first found wins: Debian and Ubuntu,
# then RHEL and Fedora, then the account every Unix has.
WEB_USERS = ("www-data", "apache", "nobody")


def web_user() -> Optional[str]:
    """The user a server started as root runs its children as when told no other."""
    for name in WEB_USERS:
        if exists("user", name):
            return name
    return None


def primary_group(user: str) -> str:
    """The name (or ``#gid``) of the primary group of ``user`` (a name or ``#uid``)."""
    gid = _user(user).pw_gid
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return "#%d" % gid


def is_root(user: str) -> bool:
    """Whether ``user`` (a name or ``#uid``) is uid 0, whatever its name."""
    try:
        return _user(user).pw_uid == 0
    except (KeyError, ValueError):
        return False


def blocked_at(identity: Identity, path: str) -> Optional[str]:
    """The first folder on the way to ``path`` (itself included) ``identity`` may not pass.

    None when it may reach ``path``: it needs the search (x) bit of every
    folder from ``/`` down, by owner, group or other as the kernel picks.
    """
    if identity.uid == 0:
        return None
    groups = _groups(identity)
    parts = os.path.abspath(path).split(os.sep)
    for i in range(1, len(parts) + 1):
        folder = os.sep.join(parts[:i]) or os.sep
        if not _may(identity, groups, os.stat(folder), 1):
            return folder
    return None


def unreadable(identity: Identity, path: str) -> Optional[str]:
    """Why ``identity`` cannot read the file or list the folder ``path``; None if it can."""
    if identity.uid == 0:
        return None
    try:
        st = os.stat(path)
    except OSError as e:
        return e.strerror
    folder = path if stat.S_ISDIR(st.st_mode) else os.path.dirname(os.path.abspath(path))
    blocked = blocked_at(identity, folder)
    if blocked is not None:
        return f"it may not pass through {blocked}"
    if not _may(identity, _groups(identity), st, 4):
        return f"its mode ({stat.S_IMODE(st.st_mode):o}) does not let it read it"
    return None


def _groups(identity: Identity) -> set[int]:
    groups = {identity.gid}
    if identity.name is not None:
        groups.update(os.getgrouplist(identity.name, identity.gid))
    return groups


def _may(identity: Identity, groups: set[int], st: os.stat_result, bit: int) -> bool:
    """The permission ``bit`` (4 read, 1 search) by owner, group or other, as the kernel picks."""
    if st.st_uid == identity.uid:
        return bool(st.st_mode >> 6 & bit)
    if st.st_gid in groups:
        return bool(st.st_mode >> 3 & bit)
    return bool(st.st_mode & bit)


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
