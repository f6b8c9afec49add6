"""Observations the test modules share: the echo app's view, the logs a request
leaves, and the processes that hold a client connection."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
from pathlib import Path
from typing import Any

from tests.differential.client import Answer, Conn, request
from tests.differential.compare import LogMark, Masker, answer_view, mask_log_line
from tests.differential.servers import Server

# environ values that change with every request on any server: their presence counts.
VOLATILE = {
    "REMOTE_PORT",
    "mod_wsgi.request_id",
    "mod_wsgi.request_start",
    "mod_wsgi.script_start",
    "mod_wsgi.queue_start",
    "mod_wsgi.daemon_start",
    "mod_wsgi.thread_id",
    "mod_wsgi.thread_requests",
    "mod_wsgi.total_requests",
    "mod_wsgi.daemon_connects",
    "mod_wsgi.daemon_restarts",
}

# Apache's own notices (AH00489 on start, AH10159 about spare threads, ...) come
# at times of their own: they are not what a case is about.
APACHE_NOTICE = re.compile(r"\bAH\d{5}:")


def failed(exc: BaseException) -> dict[str, Any]:
    """What a client saw when it got no complete answer."""
    return {"no answer": type(exc).__name__}


def echo_env(info: dict[str, Any], masker: Masker) -> dict[str, Any]:
    env = {k: ("<VOLATILE>" if k in VOLATILE else v) for k, v in info["environ"].items()}
    return masker.deep(env)  # type: ignore[no-any-return]


def call(
    server: Server,
    method: str,
    target: str,
    host: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
    source: str = "",
) -> Answer | dict[str, Any]:
    """One request on a new connection (from ``source``, if given); its answer, or
    what went wrong."""
    try:
        with Conn(server, timeout=10, source=source) as conn:
            conn.send(request(server, method, target, host, headers, body, version))
            return conn.answer(head_only=method == "HEAD")
    except (OSError, ValueError) as e:
        return failed(e)


def view(answer: Answer | dict[str, Any], masker: Masker, **kw: Any) -> dict[str, Any]:
    return answer if isinstance(answer, dict) else answer_view(answer, masker, **kw)


# The status and size (%>s %b) of a combined-format access line.
STATUS_SIZE = re.compile(r'^(.*" \d{3} )(\d+|-)( ".*)$')


def log_lines(
    mark: LogMark, access: bool, answer: Answer | dict[str, Any] | None = None
) -> dict[str, list[str]]:
    """The new lines of the access logs (``access``) or of the error logs and the
    server's standard output, masked. An access line's size that is the size of
    the body the client got reads ``<BODY-SIZE>``: the two servers' bodies may
    differ in ways compared elsewhere, but each must log what it sent."""
    out = {}
    sent = len(answer.body) if isinstance(answer, Answer) else None
    for name, lines in mark.new().items():
        if name.endswith("access.log") != access:
            continue
        kept = [mask_log_line(line) for line in lines if not APACHE_NOTICE.search(line)]
        if access and sent is not None:
            kept = [_sized(line, sent) for line in kept]
        if kept:
            out[name] = kept
    return out


def _sized(line: str, sent: int) -> str:
    found = STATUS_SIZE.match(line)
    if found and found.group(2) == str(sent):
        return found.group(1) + "<BODY-SIZE>" + found.group(3)
    return line


def mentions(new: dict[str, list[str]], text: str) -> bool:
    return any(text in line for lines in new.values() for line in lines)


# -- who holds a client connection ---------------------------------------------


def _hex_addr(port: int) -> str:
    return f"0100007F:{port:04X}"


def _socket_inode(server_port: int, client_port: int) -> str | None:
    local, remote = _hex_addr(server_port), _hex_addr(client_port)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def connection_holders(server_port: int, client_port: int) -> set[int]:
    """The processes that hold the server's end of one client connection."""
    inode = _socket_inode(server_port, client_port)
    if inode is None:
        return set()
    target = f"socket:[{inode}]"
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") == target:
                    found.add(int(entry))
                    break
            except OSError:
                continue
    return found


def ids_of(pid: int) -> dict[str, list[str]]:
    """Real, effective, saved and file-system user and group of a process, by name."""
    out: dict[str, list[str]] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key == "Uid":
            out["uids"] = [pwd.getpwuid(int(n)).pw_name for n in rest.split()]
        elif key == "Gid":
            out["gids"] = [grp.getgrgid(int(n)).gr_name for n in rest.split()]
    return out


def parse_json(body: bytes) -> Any:
    return json.loads(body)
