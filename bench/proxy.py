"""A proxied hello world: requests/s through ProxyPass, wsgihost beside Apache.

    python bench/proxy.py [--seconds 5] [--rounds 3] [--connections 16]

One backend (a small uvloop server answering "Hello, World!" with keep-alive,
started here on a free loopback port) behind the same configuration in both
servers: ``ProxyPass /hello http://127.0.0.1:PORT/hello`` with two front-end
processes (StartServers 2). wrk loads each server in turn with keep-alive
connections, round after round (wsgihost, Apache, wsgihost, ...); the median
of each server's rounds is printed. Nothing is written. Keep it short on a
shared machine (``--seconds 2 --rounds 1`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import (
    HOST,
    accepts_connections,
    apache_command,
    apache_head,
    free_port,
)

BODY = b"Hello, World!\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


class _Hello(asyncio.Protocol):
    """The backend: every request head gets the same answer (keep-alive)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        count = self.buf.count(b"\r\n\r\n")
        if count:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)


def backend(port: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Hello, HOST, port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def site(root: Path, port: int, backend_port: int, apache: bool) -> Path:
    head = ""
    if apache:
        head = apache_head(root, ("proxy", "proxy_http")) + "ThreadsPerChild 25\n"
    conf = root / "site.conf"
    conf.write_text(
        f"""{head}ServerName {HOST}
Listen {HOST}:{port}
ErrorLog "{root}/error.log"
StartServers 2
KeepAlive On
MaxKeepAliveRequests 0
ProxyPass /hello http://{HOST}:{backend_port}/hello
"""
    )
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    return conf


def start(name: str, root: Path, backend_port: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = site(root, port, backend_port, apache=name == "apache")
    if name == "apache":
        argv, env = apache_command(Path("/usr/sbin/apache2"), conf, root, dict(os.environ))
    else:
        argv = [sys.executable, "-m", "wsgihost", "serve", "--config", str(conf), "--no-access-log"]
        env = dict(os.environ)
    proc = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while not accepts_connections(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"{name} did not start")
        time.sleep(0.1)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def load(port: int, seconds: float, connections: int) -> float:
    """wrk's requests/s against /hello (keep-alive), or 0 if some answer was not a 200."""
    argv = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
    argv.append(f"http://{HOST}:{port}/hello")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
        return 0.0
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backend", type=int, help=argparse.SUPPRESS)  # the backend process
    args = parser.parse_args()
    if args.backend:
        backend(args.backend)
        return
    backend_port = free_port()
    helper = subprocess.Popen(
        [sys.executable, __file__, "--backend", str(backend_port)], start_new_session=True
    )
    results: dict[str, list[float]] = {"wsgihost": [], "apache": []}
    running: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        while not accepts_connections(backend_port):
            time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="wsgihost-bench-proxy-") as tmp:
            base = Path(tmp)
            base.chmod(0o755)
            for name in results:
                (base / name).mkdir()
                running[name] = start(name, base / name, backend_port)
                load(running[name][1], 1, args.connections)  # warm up (and fill the pools)
            for _ in range(args.rounds):
                for name in results:
                    rate = load(running[name][1], args.seconds, args.connections)
                    results[name].append(rate)
                    print(f"{name}: {rate:.0f} requests/s", flush=True)
            for proc, _ in running.values():
                stop(proc)
            running.clear()
    finally:
        for proc, _ in running.values():
            stop(proc)
        stop(helper)
    for name, rates in results.items():
        print(
            f"{name} median: {statistics.median(rates):.0f} requests/s "
            f"({args.rounds} rounds of {args.seconds:g} s, "
            f"{args.connections} keep-alive connections)"
        )


if __name__ == "__main__":
    main()
