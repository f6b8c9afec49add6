"""What every server of bench/django.py loads: the Django project, timed.

bench/django.py copies this file beside a copy of the project (as ``hello.wsgi``,
and as ``bench_hello.py`` for the servers that can only import modules, the names
bench/run.py's command lines use) and puts Django itself in ``pylib`` beside it:
the same code for every server, found through this file's own path whatever the
server's Python path.

It adds two things around Django's WSGI handler, and nothing else:

- the app's CPU time: ``time.thread_time_ns()`` around each call of the handler
  and around the response's ``close()`` (where Django ends the request: signals,
  closing the database connection), summed per process with the number of
  calls. A thread of the process (started by its first request, so it lives in
  each worker of servers that fork after loading the app) writes the sums to
  ``cpu/PID.json`` beside ``app/`` five times a second, when they changed; the
  benchmark reads them before and after each run. Thread CPU time counts only
  what this thread ran, not time spent waiting for the GIL;
- ``/__interpreter__``: the interpreter the app runs on, as in hello.wsgi.
"""

import json
import os
import platform
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.dirname(HERE)
for entry in (os.path.join(WORK, "pylib"), os.path.join(HERE, "djbench")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from djbench.wsgi import application as django_app  # noqa: E402

CPU_DIR = os.path.join(WORK, "cpu")
FLUSH_SECONDS = 0.2

_lock = threading.Lock()
_sums = {"calls": 0, "app_ns": 0}
_writer_pid = [0]  # the process whose writer thread runs (0: none yet)


def _write_sums():
    path = os.path.join(CPU_DIR, "%d.json" % os.getpid())
    written = None
    while True:
        time.sleep(FLUSH_SECONDS)
        with _lock:
            now = dict(_sums)
        if now == written:
            continue
        now["pid"] = os.getpid()
        temporary = path + ".tmp"
        try:
            with open(temporary, "w") as f:
                json.dump(now, f)
            os.replace(temporary, path)
        except OSError:
            return  # no cpu/ folder: not under bench/django.py
        written = {k: now[k] for k in ("calls", "app_ns")}


def _count(spent_ns):
    with _lock:
        _sums["calls"] += 1
        _sums["app_ns"] += spent_ns
        if _writer_pid[0] == os.getpid():
            return
        # A fork copied the sums of the process that loaded the app: start afresh.
        if _writer_pid[0]:
            _sums["calls"], _sums["app_ns"] = 1, spent_ns
        _writer_pid[0] = os.getpid()
    threading.Thread(target=_write_sums, name="bench-cpu", daemon=True).start()


class _Timed:
    """The response, with its close() timed as part of the app."""

    def __init__(self, response):
        self.response = response

    def __iter__(self):
        return iter(self.response)

    def close(self):
        start = time.thread_time_ns()
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            with _lock:
                _sums["app_ns"] += time.thread_time_ns() - start


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/__interpreter__":
        return _interpreter(environ, start_response)
    start = time.thread_time_ns()
    response = django_app(environ, start_response)
    _count(time.thread_time_ns() - start)
    return _Timed(response)


def _interpreter(environ, start_response):
    body = json.dumps(
        {
            "executable": sys.executable,
            "prefix": sys.prefix,
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "compiler": platform.python_compiler(),
            "build": " ".join(platform.python_build()),
            "pid": os.getpid(),
            "server_software": environ.get("SERVER_SOFTWARE", ""),
        }
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
