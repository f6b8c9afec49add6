"""What lands in each log: the app's output and the access log lines.

mod_wsgi sends ``print()``, ``sys.stderr``, the ``logging`` module's default
handler and ``wsgi.errors`` to the error log of the virtual host the request
(embedded) or the daemon group (daemon mode) belongs to, each line with its
``[wsgi:error] [pid:tid] [client|remote addr]`` prefix; an exception becomes
a traceback there. Access lines go to the virtual host's CustomLog in its
LogFormat. Times, pids and client ports are masked.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import call, log_lines, mentions, view
from tests.differential.compare import Differential, LogMark, mask_log_line
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

CASES = {
    # name: (host, path)
    "logs-embedded-output": ("embedded.test", "/output/say"),
    "logs-embedded-traceback": ("embedded.test", "/output/raise"),
    "logs-daemon-output": ("daemon.test", "/output/say"),
    "logs-daemon-traceback": ("daemon.test", "/output/raise"),
}


def logs_view(diff: Differential, server: Server, case: str, host: str, path: str) -> Any:
    masker = diff.masker(server)
    mark = LogMark(server)
    target = f"{path}?{case}"
    answer = call(
        server,
        "GET",
        target,
        host + ":{port}",
        [("User-Agent", "differential/1.0"), ("Referer", "http://example.test/from")],
    )
    last = (
        f"marker raised {host} {case}" if path.endswith("raise") else f"wsgi.errors {host} {case}"
    )
    mark.wait(lambda new: mentions(new, last) and mentions(new, target))
    return {
        "answer": view(answer, masker),
        "error logs": masker.deep(log_lines(mark, access=False)),
        "access logs": masker.deep(log_lines(mark, access=True, answer=answer)),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_apps_output_lands_where_mod_wsgi_puts_it(diff: Differential, case: str) -> None:
    host, path = CASES[case]
    diff.check(case, lambda server: logs_view(diff, server, case, host, path))


def test_import_time_output_of_a_daemon_lands_in_its_vhosts_log(diff: Differential) -> None:
    """What a script prints while it is imported (before any request) goes to the
    error log of the virtual host the daemon group was defined in."""

    def flow(server: Server) -> Any:
        call(server, "GET", "/imported", "daemon.test:{port}")
        found = {}
        for name, text in {**server.all_logs(), "<standard output>": server.say()}.items():
            lines = [mask_log_line(x) for x in text.splitlines() if "import-time" in x]
            if lines:
                found[name] = lines
        return diff.masker(server).deep(found)

    diff.check("logs-daemon-import-time", flow)
