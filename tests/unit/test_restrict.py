"""daemon/restrict.py: what WSGIRestrictStdin/Stdout/Signal give an app."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from wsgihost.daemon import restrict


def test_a_restricted_stream_refuses_every_use_as_mod_wsgi_words_it() -> None:
    stdin = restrict.Restricted("sys.stdin")
    with pytest.raises(OSError, match=r"^sys\.stdin access restricted by mod_wsgi$"):
        stdin.read()
    with pytest.raises(OSError, match="restricted"):
        stdin.encoding = "utf-8"


def test_the_app_s_signal_registration_is_ignored_with_a_warning_and_its_stack() -> None:
    calls: list[tuple[int, Any]] = []
    warnings: list[str] = []

    def original(number: int, handler: Any) -> Any:
        calls.append((number, handler))
        return signal.SIG_DFL

    intercept = restrict.signal_interceptor(original, warnings.append)

    def handler(number: int, frame: Any) -> None:
        pass

    # Called from here (not wsgihost's code): ignored, the handler given back.
    assert intercept(signal.SIGUSR1, handler) is handler
    assert calls == []
    assert warnings[0].endswith(f"Callback registration for signal {int(signal.SIGUSR1)} ignored.")
    assert warnings[0].startswith("mod_wsgi (pid=")
    assert any("test_restrict.py" in w for w in warnings[1:]), "the calling stack is logged"


def test_the_server_s_own_registrations_go_through() -> None:
    calls: list[int] = []
    intercept = restrict.signal_interceptor(lambda n, h: calls.append(n), lambda m: None)
    namespace: dict[str, Any] = {"__name__": "wsgihost.daemon.process", "intercept": intercept}
    exec("intercept(10, None)", namespace)
    assert calls == [10]
