"""For every test run: no testing of compiled modules built from older sources.

With ``pip install -e .`` the compiled build's extension modules sit beside
the sources and are imported in their place, so after an edit the tests
would run the code as it was (docs/compiled.md). The server refuses to start
then; the test run stops first, saying which file and how to rebuild.
"""

from __future__ import annotations

import pytest

from wsgihost import compiled


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = compiled.stale_message()
    if stale is not None:
        pytest.exit(
            stale.replace("wsgihost: error: ", "", 1), returncode=pytest.ExitCode.USAGE_ERROR
        )
