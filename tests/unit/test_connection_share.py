"""Each front-end worker's share of MaxRequestWorkers (frontend/worker.py)."""

from __future__ import annotations

import resource

import pytest

from wsgihost.config.model import Listener, Server
from wsgihost.frontend.worker import connection_share


def server(max_connections: int, processes: int) -> Server:
    return Server(
        listeners=(Listener("127.0.0.1", 80),),
        max_connections=max_connections,
        processes=processes,
    )


@pytest.mark.parametrize(
    ("total", "processes", "share"),
    [(400, 2, 200), (5, 2, 3), (1, 4, 1), (7, 1, 7)],
)
def test_each_worker_takes_an_equal_share_rounded_up(
    total: int, processes: int, share: int
) -> None:
    assert connection_share(server(total, processes)) == share


def test_without_a_cap_the_open_file_limit_decides() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    share = connection_share(server(0, 2))
    if soft != resource.RLIM_INFINITY:
        # Room for a second descriptor per connection, and some to spare.
        assert 16 <= share <= soft // 2
