"""A directory listing (mod_autoindex) of a 1,000-file folder, wsgihost beside Apache on
the same configuration: requests per second, the median of alternating runs.

    python bench/autoindex.py [--files 1000] [--seconds 3] [--rounds 5] [--clients 1]

Both servers read one site file: Debian's mods-available/autoindex.conf defaults
(FancyIndexing, HTMLTable, VersionSort, icons, IndexIgnore) and ``Options Indexes``
on a folder of ``--files`` files of assorted names, sizes and types, with
``AllowOverride None`` as Debian's apache2.conf has it. Each round
asks wsgihost, then Apache, for the listing for ``--seconds`` with ``--clients``
keep-alive clients on 127.0.0.1; the median of the rounds is printed (and whether
the two pages are the same bytes). Nothing is written. Short by default: the
machine is shared.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
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

DEBIAN_AUTOINDEX = """\
IndexOptions FancyIndexing VersionSort HTMLTable NameWidth=* DescriptionWidth=* Charset=UTF-8
AddIconByType (TXT,/icons/text.gif) text/*
AddIconByType (IMG,/icons/image2.gif) image/*
AddIcon /icons/binary.gif .bin .exe
AddIcon /icons/compressed.gif .Z .z .tgz .gz .zip
AddIcon /icons/layout.gif .html .shtml .htm .pdf
AddIcon /icons/text.gif .txt
AddIcon /icons/p.gif .pl .py
AddIcon /icons/back.gif ..
AddIcon /icons/hand.right.gif README
AddIcon /icons/folder.gif ^^DIRECTORY^^
AddIcon /icons/blank.gif ^^BLANKICON^^
DefaultIcon /icons/unknown.gif
ReadmeName README.html
HeaderName HEADER.html
IndexIgnore .??* *~ *# RCS CVS *,v *,t
"""
EXTENSIONS = (".txt", ".html", ".png", ".tar.gz", ".py", ".bin", "", ".csv")


def make_folder(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        name = f"file-{i:04d}{EXTENSIONS[i % len(EXTENSIONS)]}"
        if i % 50 == 0:
            (folder / f"dir-{i:04d}").mkdir()
            continue
        with open(folder / name, "wb") as f:
            f.truncate((i * 7919) % 3_000_000)  # sparse: assorted sizes at no cost
        os.utime(folder / name, (1_600_000_000 + i * 60, 1_600_000_000 + i * 60))


def site(root: Path, docs: Path, port: int, apache: bool) -> Path:
    head = ""
    if apache:
        head = apache_head(root, ("mime", "dir", "autoindex")) + "StartServers 2\n"
    conf = root / "site.conf"
    conf.write_text(
        f"""{head}ServerName {HOST}
Listen {HOST}:{port}
ErrorLog "{root}/error.log"
TypesConfig /etc/mime.types
KeepAlive On
MaxKeepAliveRequests 0
{DEBIAN_AUTOINDEX}
DocumentRoot "{docs}"
# As Debian's apache2.conf: no .htaccess is looked for.
<Directory />
    AllowOverride None
</Directory>
<Directory "{docs}">
    Options Indexes
    AllowOverride None
    Require all granted
</Directory>
"""
    )
    return conf


def get(conn: http.client.HTTPConnection) -> bytes:
    conn.request("GET", "/big/")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, response.status
    return body


def requests_per_second(port: int, seconds: float, clients: int) -> float:
    counts = [0] * clients
    end = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < end:
            get(conn)
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def start(name: str, root: Path, docs: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = site(root, docs, port, apache=name == "apache")
    if name == "apache":
        argv, env = apache_command(Path("/usr/sbin/apache2"), conf, root, dict(os.environ))
    else:
        argv = [sys.executable, "-m", "wsgihost", "serve", "--config", str(conf), "--no-access-log"]
        env = dict(os.environ)
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    proc = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while not accepts_connections(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"{name} on {port} did not start (see {root}/error.log)")
        time.sleep(0.1)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    names = ("wsgihost", "apache")
    with tempfile.TemporaryDirectory(prefix="wsgihost-bench-autoindex-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        docs = base / "htdocs"
        make_folder(docs / "big", args.files)
        os.utime(docs / "big", (1_600_000_000, 1_600_000_000))
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for name in names:
                root = base / name
                root.mkdir()
                servers[name] = start(name, root, docs)
            pages = {}
            for name, (_, port) in servers.items():
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                pages[name] = get(conn)
                conn.close()
                requests_per_second(port, 0.5, 1)  # warm up
            same = "the same bytes" if pages["wsgihost"] == pages["apache"] else "DIFFERENT"
            print(f"listing of {args.files} files: {len(pages['apache'])} bytes, pages {same}")
            rates: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(args.rounds):
                for name in names:
                    port = servers[name][1]
                    rates[name].append(requests_per_second(port, args.seconds, args.clients))
            for name in names:
                runs = ", ".join(f"{r:.0f}" for r in rates[name])
                print(
                    f"{name}: {statistics.median(rates[name]):.0f} requests/s median "
                    f"({args.clients} client(s); runs: {runs})"
                )
        finally:
            for proc, _ in servers.values():
                stop(proc)


if __name__ == "__main__":
    main()
