"""The Django project of bench/django.py, made ready for every server in a temporary folder.

bench/apps/djbench is the differential suite's djsite plus one SQLite table and the
``/posts/`` view. Here it is copied with its entry point (apps/djbench/bench.wsgi,
under the names run.py's command lines load: hello.wsgi and bench_hello.py), a
database of made-up posts and Django itself (copied from an interpreter that has it,
so that mod_wsgi's Python, which has no Django, runs the same code); and the check
that a server answers the measured request rightly. Standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import run
import servers
from servers import BENCH_DIR, REPO_DIR, Unavailable

PROJECT = BENCH_DIR / "apps" / "djbench"
ENTRY = PROJECT / "bench.wsgi"
PACKAGES = ("django", "asgiref", "sqlparse")  # Django and what it needs at run time
SCENARIO = run.Scenario(
    "django", "Django view: a template from a SQLite query", run.WSGI, "/posts/", 0
)
POSTS = 200  # rows in the table; the view shows the latest 20
SHOWN = 20


def find_packages(pythons: Sequence[Path]) -> tuple[str, dict[str, Path]]:
    """Django's version and where the first of pythons that has it finds PACKAGES."""
    code = (
        "import importlib.util as u, django\n"
        "print(django.get_version())\n"
        f"for n in {PACKAGES!r}:\n"
        "    print(list(u.find_spec(n).submodule_search_locations)[0])"
    )
    for python in pythons:
        found = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
        if found.returncode == 0:
            version, *paths = found.stdout.split()
            return version, dict(zip(PACKAGES, map(Path, paths), strict=True))
    raise Unavailable(
        f"Django is not installed for {', '.join(map(str, pythons))} "
        "(pip install django, or run this script with the repository's .venv/bin/python)"
    )


def make_database(path: Path) -> None:
    """The Post table (djbench.models.Post) with POSTS rows of made-up text, always the same."""
    words = ("wsgi", "apache", "daemon", "request", "thread", "worker", "python", "socket",
             "header", "module", "response", "process", "config", "host", "log")  # fmt: skip
    rng = random.Random(15)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE post (id INTEGER PRIMARY KEY, title VARCHAR(200), "
            "author VARCHAR(100), published DATETIME, body TEXT)"
        )
        db.execute("CREATE INDEX post_published ON post (published)")
        rows = [
            (
                " ".join(rng.choices(words, k=5)),
                rng.choice(("ada", "linus", "grace", "guido")),
                (start + timedelta(hours=7 * n)).strftime("%Y-%m-%d %H:%M:%S"),
                " ".join(rng.choices(words, k=120)),
            )
            for n in range(POSTS)
        ]
        db.executemany("INSERT INTO post (title, author, published, body) VALUES (?,?,?,?)", rows)
        db.commit()


def prepare(work: Path, python: Path) -> str:
    """work/app (the entry under run.py's names, the project, its database), work/pylib
    (Django), work/static (empty: run.py's command lines name it), work/cpu (the app's
    sums); all world-readable, cpu/ world-writable (the app may run as www-data)."""
    candidates = [Path(sys.executable), python, REPO_DIR / ".venv" / "bin" / "python"]
    version, packages = find_packages(list(dict.fromkeys(candidates)))
    work.chmod(0o755)
    app = work / "app"
    shutil.copytree(PROJECT, app / "djbench", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("hello.wsgi", "bench_hello.py"):
        shutil.copyfile(ENTRY, app / name)
    (app / "djbench" / "bench.wsgi").unlink()
    make_database(app / "djbench" / "db.sqlite3")
    for name, source in packages.items():
        shutil.copytree(source, work / "pylib" / name, ignore=shutil.ignore_patterns("__pycache__"))
    (work / "static").mkdir()
    (work / "cpu").mkdir()
    # Byte-code now, by the interpreter that runs the apps (www-data could not write it).
    for python_ in dict.fromkeys([python, Path("/usr/bin/python3")]):
        if python_.exists():
            subprocess.run(
                [str(python_), "-m", "compileall", "-q", str(work / "pylib"), str(app)],
                capture_output=True,
                check=False,
            )
    subprocess.run(["chmod", "-R", "a+rX", str(work)], check=True)
    (work / "cpu").chmod(0o1777)
    return version


def check(port: int, expected: bytes | None) -> tuple[str, bytes]:
    """("", body) when GET /posts/ answers 200 with 20 posts (the body of the first
    server checked, when given); else what is wrong."""
    try:
        status, body = servers.http_get(port, SCENARIO.path, timeout=30)
    except (OSError, http.client.HTTPException) as exc:
        return f"{SCENARIO.path}: {exc}", b""
    if status != 200:
        return f"{SCENARIO.path} answered {status}: {body[:200]!r}", body
    if body.count(b"<article") != SHOWN:
        return f"{SCENARIO.path} has {body.count(b'<article')} posts, not {SHOWN}", body
    if expected is not None and body != expected:
        return f"{SCENARIO.path} answered other bytes than the first server did", body
    return "", body
