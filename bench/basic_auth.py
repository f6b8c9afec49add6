"""Basic authentication from a password file: how long a bcrypt check takes for the
right and a wrong password (the same, within noise, or the timing would tell an
attacker something), and authenticated requests per second, wsgihost beside Apache.

    python bench/basic_auth.py [--seconds 3] [--rounds 40]

Each server serves one small static file behind ``AuthUserFile`` (a bcrypt entry,
htpasswd's default cost) to one keep-alive client on 127.0.0.1; the figures are
printed, nothing is written. Short on purpose: the machine is shared.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
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

from wsgihost.access import htpasswd


def entry(password: str) -> str:
    argv = ["htpasswd", "-nbB", "bench", password]
    return subprocess.run(argv, capture_output=True, check=True, text=True).stdout.strip()


def check_timing(stored: str, rounds: int) -> dict[str, float]:
    """Median milliseconds of htpasswd.verify for the right and a wrong password."""
    times: dict[str, list[float]] = {"right": [], "wrong": []}
    for _ in range(rounds):
        for kind, password in (("right", b"pw"), ("wrong", b"px")):
            start = time.perf_counter()
            htpasswd.verify(password, stored)
            times[kind].append((time.perf_counter() - start) * 1000)
    return {
        f"{kind} {what}": f(values)
        for kind, values in times.items()
        for what, f in (("median ms", statistics.median), ("stdev ms", statistics.stdev))
    }


def requests_per_second(port: int, seconds: float) -> float:
    token = base64.b64encode(b"bench:pw").decode()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        conn.request("GET", "/private/page.txt", headers={"Authorization": f"Basic {token}"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        done += 1
    conn.close()
    return done / seconds


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not accepts_connections(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server on {port} did not start")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def site(root: Path, port: int, users: Path, apache: bool) -> Path:
    docs = root / "htdocs"
    (docs / "private").mkdir(parents=True)
    (docs / "private" / "page.txt").write_text("hello\n")
    head = ""
    if apache:
        head = (
            apache_head(root, ("authn_core", "authn_file", "auth_basic", "authz_user"))
            + "StartServers 2\n"
        )
    conf = root / "site.conf"
    conf.write_text(
        f"""{head}ServerName {HOST}
Listen {HOST}:{port}
ErrorLog "{root}/error.log"
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot "{docs}"
<Directory "{docs}">
    Require all granted
</Directory>
<Location /private>
    AuthType Basic
    AuthName "bench"
    AuthUserFile "{users}"
    Require valid-user
</Location>
"""
    )
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    return conf


def serve(name: str, root: Path, users: Path, seconds: float) -> float:
    port = free_port()
    conf = site(root, port, users, apache=name == "apache")
    if name == "apache":
        argv, env = apache_command(Path("/usr/sbin/apache2"), conf, root, dict(os.environ))
    else:
        argv = [sys.executable, "-m", "wsgihost", "serve", "--config", str(conf), "--no-access-log"]
        env = dict(os.environ)
    proc = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_listening(port, proc)
        requests_per_second(port, 0.5)  # warm up
        return requests_per_second(port, seconds)
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    stored = entry("pw").split(":", 1)[1]
    for name, value in check_timing(stored, args.rounds).items():
        print(f"bcrypt {name}: {value:.2f}")
    with tempfile.TemporaryDirectory(prefix="wsgihost-bench-auth-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        users = base / "users"
        users.write_text(f"bench:{stored}\n")
        for name in ("wsgihost", "apache"):
            root = base / name
            root.mkdir()
            print(f"{name}: {serve(name, root, users, args.seconds):.0f} requests/s (1 client)")


if __name__ == "__main__":
    main()
