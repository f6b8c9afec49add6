"""The configuration corpus: ``tests/configs/NNN-name.conf`` beside ``NNN-name.expect``.

A regression is a new pair of files, not new code. An ``.expect`` file holds,
one per line (``#`` starts a comment):

- ``[FILE:]LINE: error|warning: text`` for each problem, in the order
  ``configtest`` prints them; ``text`` must occur in the message, and
  ``FILE`` (when given) is the base name of the file the problem is in.
  Every problem must be listed.
- ``ok``: the configuration has no error, so there is a model.
- ``PATH = VALUE`` or ``PATH ~ TEXT``: once there is a model, ``str()`` of
  the value at ``PATH`` (``vhosts[0].server_name``, ``len(groups)``) is
  ``VALUE``, or contains ``TEXT``. ``{here}`` stands for tests/configs.

Every corpus file is read with the same -D names and environment (below),
and relative paths in it are taken from tests/configs (its ServerRoot).

The two real-world files, ``django.conf`` and ``debian-site.conf``, are
tested at the end.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from wsgihost.cli import main
from wsgihost.config import Problem, load
from wsgihost.config.model import Server

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
CASES = sorted(CONFIGS.glob("[0-9][0-9][0-9]-*.conf"))
DEFINES: dict[str, str | None] = {"CORPUS_FLAG": None}
ENVIRON = {
    "CORPUS_PORT": "8080",
    "APACHE_LOG_DIR": "/var/log/apache2",
    "CORPUS_SITE": str(CONFIGS / "site"),
}


@dataclass
class Expectation:
    problems: list[tuple[str | None, int, str, str]]
    ok: bool
    checks: list[tuple[str, str, str]]


_PROBLEM = re.compile(
    r"(?:(?P<file>[^:\s]+):)?(?P<line>\d+): (?P<severity>error|warning): (?P<text>.+)"
)
_CHECK = re.compile(r"(?P<path>\S+) (?P<op>[=~])(?: (?P<value>.*))?")


def read_expectation(path: Path) -> Expectation:
    expectation = Expectation([], False, [])
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "ok":
            expectation.ok = True
            continue
        problem = _PROBLEM.fullmatch(line)
        if problem is not None:
            expectation.problems.append(
                (
                    problem["file"],
                    int(problem["line"]),
                    problem["severity"],
                    problem["text"].replace("{here}", str(CONFIGS)),
                )
            )
            continue
        check = _CHECK.fullmatch(line)
        assert check is not None, f"{path.name}:{number}: cannot read {line!r}"
        value = (check["value"] or "").replace("{here}", str(CONFIGS))
        expectation.checks.append((check["path"], check["op"], value))
    return expectation


def value_at(server: Server, path: str) -> object:
    """``vhosts[1].aliases[0].url`` or ``len(groups)`` in the model."""
    length = path.startswith("len(") and path.endswith(")")
    if length:
        path = path[4:-1]
    value: object = server
    for part in path.split("."):
        m = re.fullmatch(r"(\w+)((?:\[\d+\])*)", part)
        assert m is not None, f"bad path {path!r}"
        value = getattr(value, m[1])
        for index in re.findall(r"\[(\d+)\]", m[2]):
            value = value[int(index)]  # type: ignore[index]
    return len(value) if length else value  # type: ignore[arg-type]


def describe(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems) or "(no problems)"


@pytest.mark.parametrize("conf", CASES, ids=lambda p: p.stem)
def test_corpus(conf: Path) -> None:
    expect_file = conf.with_suffix(".expect")
    assert expect_file.exists(), f"{conf.name} has no {expect_file.name}"
    expectation = read_expectation(expect_file)
    server, problems = load(str(conf), DEFINES, ENVIRON)

    assert len(problems) == len(expectation.problems), (
        f"expected {len(expectation.problems)} problems, got:\n{describe(problems)}"
    )
    for problem, (file, line, severity, text) in zip(problems, expectation.problems, strict=True):
        seen = f"got: {problem}"
        if file is not None:
            assert os.path.basename(problem.file) == file, seen
        assert (problem.line, problem.severity) == (line, severity), seen
        assert text in problem.message, seen

    has_errors = any(p.severity == "error" for p in problems)
    assert (server is not None) == (not has_errors)
    assert expectation.ok == (server is not None), describe(problems)
    assert expectation.ok or not expectation.checks, "checks need 'ok'"
    for path, op, wanted in expectation.checks:
        assert server is not None
        got = str(value_at(server, path))
        if op == "=":
            assert got == wanted, f"{path}: {got!r} != {wanted!r}"
        else:
            assert wanted in got, f"{path}: {wanted!r} not in {got!r}"


def test_every_expectation_has_a_configuration() -> None:
    stems = {p.stem for p in CASES}
    orphans = [p.name for p in CONFIGS.glob("*.expect") if p.stem not in stems]
    assert orphans == []


# -- the configuration Django's documentation gives for mod_wsgi ---------------------------


def _django_tree(root: Path) -> None:
    (root / "mysite.com" / "mysite").mkdir(parents=True)
    (root / "mysite.com" / "mysite" / "wsgi.py").write_text("application = None\n")
    (root / "venv" / "bin").mkdir(parents=True)


def _with_listen(tmp_path: Path, *includes: Path) -> Path:
    """A main file that listens on port 80 (as Debian's ports.conf does) and includes."""
    main_file = tmp_path / "apache2.conf"
    lines = ["Listen 80"] + [f"Include {p}" for p in includes]
    main_file.write_text("\n".join(lines) + "\n")
    return main_file


def test_django_configuration_as_written_passes_with_warnings_only(tmp_path: Path) -> None:
    # The /path/to/... placeholders do not exist: the script and the virtual
    # environments are warnings, because they may be deployed later.
    server, problems = load(str(_with_listen(tmp_path, CONFIGS / "django.conf")), {}, {})
    assert server is not None, describe(problems)
    assert problems
    assert {p.severity for p in problems} == {"warning"}
    messages = describe(problems)
    assert "WSGI script '/path/to/mysite.com/mysite/wsgi.py' does not exist" in messages
    assert "'/path/to/venv'" in messages


def test_django_configuration_with_its_paths_in_place(tmp_path: Path) -> None:
    _django_tree(tmp_path)
    text = (CONFIGS / "django.conf").read_text().replace("/path/to/", f"{tmp_path}/")
    site = tmp_path / "django.conf"
    site.write_text(text)
    server, problems = load(str(_with_listen(tmp_path, site)), {}, {})
    assert problems == []
    assert server is not None

    (alias,) = server.main.aliases
    assert (alias.url, alias.wsgi) == ("/", True)
    assert alias.path == f"{tmp_path}/mysite.com/mysite/wsgi.py"
    assert server.python_home == f"{tmp_path}/venv"
    assert server.python_path == (f"{tmp_path}/mysite.com",)
    (group,) = server.groups
    assert group.name == "example.com"
    assert group.python_home == f"{tmp_path}/venv"
    assert group.python_path == (f"{tmp_path}/mysite.com",)
    assert server.main.settings.process_group == "example.com"
    directory, files = server.main.sections
    assert (directory.kind, directory.pattern) == ("directory", f"{tmp_path}/mysite.com/mysite")
    assert (files.kind, files.pattern, files.settings.require) == ("files", "wsgi.py", "granted")
    assert files.within == directory


# -- a Debian-style site file --------------------------------------------------------------


def test_debian_site_file_passes_configtest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Debian's envvars sets APACHE_LOG_DIR; its DocumentRoot, /var/www/html,
    # is created by the apache2 package, so it is moved into a temporary folder.
    docroot = tmp_path / "www" / "html"
    docroot.mkdir(parents=True)
    sites = tmp_path / "sites-enabled"
    sites.mkdir()
    text = (CONFIGS / "debian-site.conf").read_text().replace("/var/www/html", str(docroot))
    (sites / "000-default.conf").write_text(text)
    shutil.copy(CONFIGS / "debian-ports.conf", tmp_path / "ports.conf")
    main_file = tmp_path / "apache2.conf"
    main_file.write_text("Include ports.conf\nIncludeOptional sites-enabled/*.conf\n")
    monkeypatch.setenv("APACHE_LOG_DIR", str(tmp_path / "log"))
    (tmp_path / "log").mkdir()  # the package creates it; configtest warns when it is missing

    assert main(["configtest", "--config", str(main_file)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "Syntax OK"
    assert "would listen on http://0.0.0.0:80 (" in out
    assert err.splitlines() == []  # ServerAdmin is read: the 500 page names it

    server, _ = load(str(main_file))
    assert server is not None
    # No LoadModule anywhere: every module wsgihost provides counts as loaded,
    # mod_ssl included, so ports.conf's <IfModule ssl_module> Listen 443 holds.
    assert [(x.host, x.port) for x in server.listeners] == [("", 80), ("", 443)]
    (vhost,) = server.vhosts
    assert vhost.document_root == str(docroot)
    assert vhost.error_log == f"{tmp_path}/log/error.log"
    (access,) = vhost.access_logs
    assert access.path == f"{tmp_path}/log/access.log"
    assert access.format.endswith('"%{Referer}i" "%{User-agent}i"')


def test_debian_site_file_on_its_own_gets_debians_log_directory(tmp_path: Path) -> None:
    # No envvars beside it and none in the environment: ${APACHE_LOG_DIR} is
    # Debian's /var/log/apache2, as apache2ctl's envvars would have made it.
    main_file = _with_listen(tmp_path, CONFIGS / "debian-site.conf")
    server, problems = load(str(main_file), {}, {})
    assert server is not None, problems
    (vhost,) = server.vhosts
    assert vhost.error_log == "/var/log/apache2/error.log"
    assert [log.path for log in vhost.access_logs] == ["/var/log/apache2/access.log"]
