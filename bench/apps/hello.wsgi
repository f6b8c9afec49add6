"""Hello-world WSGI application for the throughput benchmark.

Every server in bench/run.py loads this same file (gunicorn loads a copy of it
named bench_hello.py, since it can only import modules). "/" is the measured
path. "/__interpreter__" describes the Python interpreter the application is
really running on, because interpreter builds differ in speed and the servers
do not all run on the same one (mod_wsgi embeds the Python it was built for).

Kept to Python 3.9 syntax so that any server's interpreter can load it.
"""

import json
import os
import platform
import sys
import sysconfig

BODY = b"Hello, World!\n"
CONTENT_LENGTH = str(len(BODY))

# configure flags that change how fast the interpreter runs. Distribution builds
# (Debian's included) may optimise outside configure, so their absence proves nothing.
SPEED_FLAGS = ("--enable-optimizations", "--with-lto", "--enable-shared")


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/__interpreter__":
        return _interpreter(environ, start_response)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", CONTENT_LENGTH)],
    )
    return [BODY]


def _interpreter(environ, start_response):
    config_args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    report = {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "compiler": platform.python_compiler(),
        "build": " ".join(platform.python_build()),
        "speed_flags": [flag for flag in SPEED_FLAGS if flag in config_args],
        "pid": os.getpid(),
        "server_software": environ.get("SERVER_SOFTWARE", ""),
        "multithread": bool(environ.get("wsgi.multithread")),
        "multiprocess": bool(environ.get("wsgi.multiprocess")),
    }
    body = json.dumps(report).encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
