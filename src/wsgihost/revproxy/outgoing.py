"""The request a backend gets (mod_proxy_http's request side), on the loop.

The client's headers (repeated ones joined, as Apache's table holds them)
without the hop-by-hop ones, ``Host`` first (the backend's, or the client's
with ProxyPreserveHost), the ``X-Forwarded-*`` headers appended as
``apr_table_mergen`` does, Max-Forwards less one, then the body's framing and
``Connection: Keep-Alive`` (or ``Upgrade`` for a WebSocket). Up to 16 KiB of
body is read first: a body that ends within it goes with its Content-Length,
a longer one as it came (chunked, or with the client's length), paced by the
backend.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from wsgihost.config.mod_proxy import ProxyDir
from wsgihost.revproxy.answers import MAX_FORWARDS
from wsgihost.revproxy.backend import Backend
from wsgihost.revproxy.workers import Worker
from wsgihost.routing import ProxyTarget

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request

PREFETCH = 16384  # MAX_MEM_SPOOL: body read before choosing its framing
# Request headers never passed on (besides those Connection names).
_HOP = frozenset(
    {"connection", "proxy-connection", "keep-alive", "upgrade", "trailer", "te", "expect"}
)


def upgrade_to(req: Request, worker: Worker) -> str | None:
    """The protocol the client asks to switch to, where the worker allows it."""
    if worker.upgrade is None or req.head.method != "GET":
        return None
    wanted = req.head.header(b"upgrade")
    tokens = (req.head.header(b"connection") or b"").lower()
    if not wanted or b"upgrade" not in [t.strip() for t in tokens.split(b",")]:
        return None
    text = wanted.decode("latin-1")
    allowed = worker.upgrade.lower()
    if allowed in ("*", "any") or text.lower() == allowed:
        return text
    return None


def merged(headers: list[tuple[bytes, bytes]]) -> list[list[str]]:
    """Repeated request headers joined with ", " in first-seen order (apr_table_compress)."""
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        text = name.decode("latin-1")
        found = merged.get(text.lower())
        if found is None:
            merged[text.lower()] = [text, value.decode("latin-1")]
        else:
            found[1] += ", " + value.decode("latin-1")
    return list(merged.values())


def server_name(target: ProxyTarget, req: Request) -> str:
    name = target.host.server_name or req.conn.worker.server.main.server_name or os.uname()[1]
    if "://" in name:
        name = name.split("://", 1)[1]
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


async def request_head(
    conn: Exchange,
    req: Request,
    target: ProxyTarget,
    conf: ProxyDir,
    parts: tuple[str, str, int, str],
    upgrade: str | None,
    worker: Worker,
    waits: bool = False,
) -> tuple[bytes, bytes, bool, str]:
    """The request head for the backend, the body read so far, whether more is to
    come, and its framing ("length" or "chunked")."""
    head = req.head
    _, host, port, path = parts
    headers = merged(head.headers)
    drop = set(_HOP) | {"content-length", "transfer-encoding"}
    if waits:
        drop.discard("expect")
    for name, value in headers:
        if name.lower() == "connection":
            drop |= {t.strip().lower() for t in value.split(",") if t.strip()}
    if head.remote_user is not None:
        drop.add("proxy-authorization")  # used here: not passed on (Apache's rule)
    client_host = next((v for n, v in headers if n.lower() == "host"), None)
    kept = [[n, v] for n, v in headers if n.lower() not in drop and n.lower() != "host"]
    for entry in kept:
        if entry[0].lower() == "max-forwards":  # (checked: a number, at least 1)
            found = MAX_FORWARDS.match(entry[1].encode("latin-1"))
            entry[1] = str(int(found.group(0)) - 1) if found else entry[1]
    if conf.preserve_host:
        host_value = client_host or server_name(target, req)
    else:
        shown = f"[{host}]" if ":" in host else host
        host_value = shown if port == 80 else f"{shown}:{port}"
    if conf.add_headers is not False:
        state = req.state
        client = state.client_addr if state is not None else head.client_addr
        mergen(kept, "X-Forwarded-For", client)
        if client_host is not None:
            mergen(kept, "X-Forwarded-Host", client_host)
        mergen(kept, "X-Forwarded-Server", server_name(target, req))
    lines = [f"{head.method} {path or '/'} HTTP/1.1", f"Host: {host_value}"]
    lines += [f"{n}: {v}" for n, v in kept]
    body, more = b"", False
    framing = "length"
    declared = head.header(b"content-length")
    if waits:
        more = True  # nothing read yet: the body keeps the client's framing
        if head.chunked:
            framing = "chunked"
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {declared.decode('latin-1') if declared else 0}")
    elif req.has_body:
        body, more = await prefetch(conn, req)
        if not more:
            lines.append(f"Content-Length: {len(body)}")
        elif head.chunked:
            framing = "chunked"
            lines.append("Transfer-Encoding: chunked")
            body = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
        else:
            lines.append(f"Content-Length: {declared.decode('latin-1') if declared else len(body)}")
    elif declared is not None:
        lines.append("Content-Length: 0")
    if upgrade is not None:
        lines += ["Connection: Upgrade", f"Upgrade: {upgrade}"]
    else:
        lines.append("Connection: Keep-Alive" if worker.reuse else "Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return raw, body, more, framing


def mergen(headers: list[list[str]], name: str, value: str) -> None:
    """apr_table_mergen: ", value" after the first header of that name, else a new one."""
    key = name.lower()
    for entry in headers:
        if entry[0].lower() == key:
            entry[1] += ", " + value
            return
    headers.append([name, value])


async def prefetch(conn: Exchange, req: Request) -> tuple[bytes, bool]:
    """Up to PREFETCH bytes of the body; True if more is to come."""
    if req.expect_continue and not req.continue_sent:
        req.continue_sent = True
        conn.send_continue(req)
    parts: list[bytes] = []
    size = 0
    while size < PREFETCH:
        chunk = conn.take_body(req)
        if chunk:
            parts.append(chunk)
            size += len(chunk)
            continue
        if req.body_done or req.failed or req.dropped:
            break
        await conn.wait_body(req)
    done = req.body_done and not req.body
    return b"".join(parts), not done


async def send_body(
    conn: Exchange, req: Request, backend: Backend, framing: str, timeout: float
) -> None:
    """The rest of the client's body to the backend, paced by the backend (a write
    that waits past the timeout ends the backend connection: its answer is then 502)."""
    try:
        while True:
            chunk = conn.take_body(req)
            if chunk:
                data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if framing == "chunked" else chunk
                if not await backend.write(data, timeout):
                    return
                continue
            if req.failed or req.dropped:
                backend.close()  # the client's body broke off: so does ours
                return
            if req.body_done:
                if framing == "chunked":
                    await backend.write(b"0\r\n\r\n", timeout)
                return
            await conn.wait_body(req)
    except TimeoutError:
        backend.close()
