"""cli.run_as: who the children run as, from User/Group, --user/--group and the default."""

from __future__ import annotations

import pytest

from wsgihost import privileges
from wsgihost.cli import RunAsError, main, run_as
from wsgihost.config.model import Listener, Server


def model(**kw: str) -> Server:
    return Server(listeners=(Listener("127.0.0.1", 0),), **kw)


def web() -> str:
    name = privileges.web_user()
    if name is None:
        pytest.skip("this machine has none of the distributions' web users")
    return name


def test_not_root_only_the_options_change_the_model() -> None:
    server, warning = run_as(model(), None, None, root=False)
    assert (server.user, server.group, warning) == (None, None, None)
    server, warning = run_as(model(user="a", group="b"), "c", None, root=False)
    assert (server.user, server.group, warning) == ("c", None, None)


def test_root_with_no_user_runs_as_the_web_user_and_says_so() -> None:
    name = web()
    server, warning = run_as(model(), None, None, root=True)
    assert server.user == name
    assert server.group == privileges.primary_group(name)
    assert warning is not None and repr(name) in warning and "--user" in warning


def test_root_with_user_keeps_it_and_gives_it_its_own_group() -> None:
    name = web()
    server, warning = run_as(model(user=name), None, None, root=True)
    assert (server.user, server.group, warning) == (name, privileges.primary_group(name), None)
    server, _ = run_as(model(user=name, group="nogroup"), None, None, root=True)
    assert server.group == "nogroup"


def test_user_option_overrides_user_and_group_group_option_only_group() -> None:
    name = web()
    server, _ = run_as(model(user="x", group="y"), name, None, root=True)
    assert (server.user, server.group) == (name, privileges.primary_group(name))
    server, _ = run_as(model(user=name, group="y"), None, "z", root=True)
    assert (server.user, server.group) == (name, "z")


def test_keep_root_leaves_the_children_root_with_a_notice() -> None:
    server, warning = run_as(model(), None, None, root=True, keep_root=True)
    assert (server.user, server.group) == (None, None)
    assert warning is not None and "run as root" in warning
    name = web()  # a User still counts
    server, warning = run_as(model(user=name), None, None, root=True, keep_root=True)
    assert server.user == name and warning is None


def test_no_web_user_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privileges, "WEB_USERS", ("no-such-user-wsgihost",))
    with pytest.raises(RunAsError, match="name a user with User or --user"):
        run_as(model(), None, None, root=True)


@pytest.mark.parametrize("user", ["root", "#0"])
def test_user_option_root_is_refused(user: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "app.wsgi", "--user", user])
    assert exited.value.code == 2
    assert f"argument --user: {user!r} is root" in capsys.readouterr().err
