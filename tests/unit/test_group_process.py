"""wsgihost.supervisor.groups: how a daemon group's interpreter is started, and where."""

from __future__ import annotations

import os
import pwd

import pytest

import wsgihost
from wsgihost.config.model import DaemonGroup, Server
from wsgihost.supervisor import groups

SERVER = Server(listeners=())


def test_home_is_the_working_directory() -> None:
    assert groups.working_directory(SERVER, DaemonGroup("g", home="/srv/site")) == "/srv/site"


def test_the_user_s_own_group_stays_in_the_server_s_directory() -> None:
    # No User, no user=: the group runs as the front ends do.
    assert groups.working_directory(SERVER, DaemonGroup("g")) is None


@pytest.mark.skipif(os.getuid() != 0, reason="started as root, user= changes the user")
def test_another_user_starts_in_its_home() -> None:
    server = Server(listeners=())
    group = DaemonGroup("g", user="www-data")
    assert groups.working_directory(server, group) == pwd.getpwnam("www-data").pw_dir
    # The same user as User: the server's directory, as in mod_wsgi.
    same = Server(listeners=(), user="www-data")
    assert groups.working_directory(same, group) is None


def test_a_missing_home_is_a_problem_said_in_words(tmp_path: os.PathLike[str]) -> None:
    missing = os.path.join(tmp_path, "gone")
    problem = groups.working_directory_problem(SERVER, DaemonGroup("g", home=missing))
    assert problem is not None and missing in problem and "'g'" in problem
    assert groups.working_directory_problem(SERVER, DaemonGroup("g", home=str(tmp_path))) is None


def test_python_options_follow_the_directives() -> None:
    assert groups.python_options(SERVER) == []
    server = Server(
        listeners=(),
        python_optimize=2,
        dont_write_bytecode=True,
        python_warnings=("ignore::DeprecationWarning", "error::ResourceWarning"),
    )
    assert groups.python_options(server) == [
        "-OO",
        "-B",
        "-W",
        "ignore::DeprecationWarning",
        "-W",
        "error::ResourceWarning",
    ]


def test_the_environment_keeps_pythonpath_but_not_wsgihost_s_folder() -> None:
    own = os.path.dirname(os.path.dirname(os.path.abspath(wsgihost.__file__)))
    env = groups.environment(SERVER, {"PYTHONPATH": f"{own}:/srv/lib", "X": "1"})
    assert env == {"PYTHONPATH": "/srv/lib", "X": "1"}
    assert "PYTHONPATH" not in groups.environment(SERVER, {"PYTHONPATH": own})
    seeded = groups.environment(Server(listeners=(), python_hash_seed="7"), {})
    assert seeded == {"PYTHONHASHSEED": "7"}
