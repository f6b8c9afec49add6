"""mod_env: SetEnv, UnsetEnv and PassEnv read, merged per request as Apache merges
them, set by the fixup, and passed into the WSGI environ as mod_wsgi passes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.config.mod_env import EnvSettings
from wsgihost.config.model import Server
from wsgihost.mods.env import EnvModule
from wsgihost.pipeline import RequestState
from wsgihost.routing import Refusal, Router
from wsgihost.wsgi.environ import Mount, RequestHead, build_environ


def read(tmp_path: Path, text: str) -> tuple[Server | None, list[str]]:
    (tmp_path / "www").mkdir(exist_ok=True)
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}/www\n{text}")
    server, problems = load(str(conf), {}, {})
    return server, [str(p).replace(str(tmp_path) + "/", "") for p in problems]


def variables(server: Server, path: str, host: bytes = b"") -> dict[str, str]:
    """What the fixup leaves in the request's environment for ``path``."""
    target = Router(server).route("127.0.0.1", 8080, host or None, path.encode())
    assert not isinstance(target, Refusal)
    r = RequestState("GET", path, "", [], target.host)
    r.settings = target.settings
    r.set_env("EARLIER", "setenvif")  # what an earlier phase set stays unless replaced
    EnvModule().fixups(r)
    return r.env


SITE = """\
SetEnv LEVEL server
SetEnv KEEP main
<VirtualHost *:8080>
    ServerName default.test
</VirtualHost>
<VirtualHost *:8080>
    ServerName v.test
    SetEnv LEVEL vhost
    <Location /app>
        SetEnv LEVEL location
        SetEnv EMPTY
    </Location>
    <Location /app/inner>
        SetEnv LEVEL inner
        UnsetEnv KEEP
    </Location>
    <Location /only-unset>
        UnsetEnv KEEP
    </Location>
    <Location /unset-then-set>
        UnsetEnv LEVEL
        SetEnv LEVEL again
    </Location>
    <Location /set-then-unset>
        SetEnv OWN x
        UnsetEnv OWN
    </Location>
    <Location /case>
        SetEnv level lower
        SetEnv earlier replaced
    </Location>
</VirtualHost>
"""


@pytest.fixture
def server(tmp_path: Path) -> Server:
    found, problems = read(tmp_path, SITE)
    assert found is not None and problems == [], problems
    return found


def test_a_deeper_scope_replaces_a_variable(server: Server) -> None:
    assert variables(server, "/x") == {"EARLIER": "setenvif", "LEVEL": "server", "KEEP": "main"}
    assert variables(server, "/x", b"v.test")["LEVEL"] == "vhost"
    app = variables(server, "/app/x", b"v.test")
    assert app == {"EARLIER": "setenvif", "LEVEL": "location", "KEEP": "main", "EMPTY": ""}
    inner = variables(server, "/app/inner/y", b"v.test")
    assert inner["LEVEL"] == "inner" and inner["EMPTY"] == ""


def test_unset_env_reaches_only_the_layer_under_its_section(server: Server) -> None:
    # Alone, a <Location>'s UnsetEnv removes the host's variable...
    assert "KEEP" not in variables(server, "/only-unset", b"v.test")
    # ...but Apache merges matching <Location> sections among themselves first, so
    # under /app the one of /app/inner only reaches /app's variables (as Apache).
    assert variables(server, "/app/inner/y", b"v.test")["KEEP"] == "main"


def test_unset_env_in_one_scope_depends_on_the_order_of_the_lines(server: Server) -> None:
    assert variables(server, "/unset-then-set", b"v.test")["LEVEL"] == "again"
    assert "OWN" not in variables(server, "/set-then-unset", b"v.test")


def test_names_are_compared_without_regard_to_case(server: Server) -> None:
    env = variables(server, "/case", b"v.test")
    assert env["LEVEL"] == "lower" and "level" not in env
    assert env["EARLIER"] == "replaced"


def test_pass_env_takes_the_servers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSGIHOST_TEST_PASSED", "from-outside")
    monkeypatch.delenv("WSGIHOST_TEST_MISSING", raising=False)
    server, problems = read(tmp_path, "PassEnv WSGIHOST_TEST_PASSED WSGIHOST_TEST_MISSING\n")
    assert server is not None
    assert problems == [
        "site.conf:3: warning: PassEnv: PassEnv variable WSGIHOST_TEST_MISSING was undefined"
    ]
    assert variables(server, "/")["WSGIHOST_TEST_PASSED"] == "from-outside"


def test_a_name_with_an_equals_sign_is_a_warning(tmp_path: Path) -> None:
    server, problems = read(tmp_path, "SetEnv A=1\n")
    assert server is not None
    assert problems == [
        "site.conf:3: warning: SetEnv: spurious usage of '=' in an environment variable "
        "name; 'SetEnv A 1' expected instead?"
    ]


def test_wrong_argument_counts_are_refused_with_file_and_line(tmp_path: Path) -> None:
    server, problems = read(tmp_path, "SetEnv\nSetEnv A B C\nUnsetEnv\n")
    assert server is None
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5"]


def test_merge_is_apaches() -> None:
    outer = EnvSettings((("A", "1"), ("B", "2")))
    inner = EnvSettings((("b", "3"),), unset=("A",))
    assert outer.merge(inner) == EnvSettings((("B", "3"),))


def environ(variables: dict[str, str], headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
    head = RequestHead(
        "GET", "/app", b"/app", "", "HTTP/1.1", headers, "10.0.0.1", 5, "10.0.0.2", 80
    )
    mount = Mount("/app", "/srv/app.wsgi")
    return build_environ(head, mount, None, None, None, variables=variables)


def test_variables_reach_the_environ_but_never_over_the_requests_own() -> None:
    env = environ(
        {"FOO": "bar", "HTTP_HOST": "fake", "HTTP_X_ONLY": "var", "REMOTE_ADDR": "1.2.3.4"},
        [(b"Host", b"real.test")],
    )
    assert env["FOO"] == "bar"
    assert env["HTTP_HOST"] == "real.test" and env["REMOTE_ADDR"] == "10.0.0.1"
    assert env["HTTP_X_ONLY"] == "var"  # no such header: the variable shows


def test_path_never_reaches_the_app_and_https_sets_the_scheme() -> None:
    env = environ({"PATH": "/bin", "HTTPS": "On"}, [])
    assert "PATH" not in env and "HTTPS" not in env
    assert env["wsgi.url_scheme"] == "https"
    env = environ({"HTTPS": "off"}, [])
    assert "HTTPS" not in env and env["wsgi.url_scheme"] == "http"
