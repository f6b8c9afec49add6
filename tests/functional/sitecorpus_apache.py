"""Apache's own verdict on each site file of the corpus, recorded into MANIFEST.json.

    python -m tests.functional.sitecorpus_apache --record-apache

runs ``apache2 -t`` on every file of tests/corpora/sitefiles inside the same
Debian tree the wsgihost test builds (:func:`sitecorpus.build_tree`), with
the users and groups the file names added to copies of /etc/passwd and
/etc/group bound over the real ones in a private mount namespace, and a
throw-away certificate wherever the file names one (mod_ssl loads them at
``-t``). It needs root, ``unshare`` and /usr/sbin/apache2; it is run by hand
when the corpus changes, not by the tests, which only read what it stored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.functional.sitecorpus import MANIFEST, Entry, build_tree, entries

APACHE = "/usr/sbin/apache2"


def _users(text: str) -> tuple[set[str], set[str]]:
    users = set(re.findall(r"\buser=([\w.-]+)", text))
    groups = set(re.findall(r"\bgroup=([\w.-]+)", text))
    users |= set(re.findall(r"(?im)^\s*User\s+([\w.-]+)\s*$", text))
    groups |= set(re.findall(r"(?im)^\s*Group\s+([\w.-]+)\s*$", text))
    return users, groups


def _accounts(folder: Path, users: set[str], groups: set[str]) -> tuple[Path, Path]:
    """Copies of /etc/passwd and /etc/group with the file's users and groups added."""
    passwd, group = Path("/etc/passwd").read_text(), Path("/etc/group").read_text()
    known_users = {line.split(":")[0] for line in passwd.splitlines()}
    known_groups = {line.split(":")[0] for line in group.splitlines()}
    for n, name in enumerate(sorted((users | groups) - known_groups)):
        group += f"{name}:x:{61000 + n}:\n"
    for n, name in enumerate(sorted(users - known_users)):
        passwd += f"{name}:x:{62000 + n}:65534::/nonexistent:/usr/sbin/nologin\n"
    (folder / "passwd").write_text(passwd)
    (folder / "group").write_text(group)
    return folder / "passwd", folder / "group"


def _certificate(path: Path) -> None:
    key, cert = path.with_suffix(".key"), path.with_suffix(".crt")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )


def apache_verdict(entry: Entry) -> dict[str, Any]:
    """Run ``apache2 -t`` on the file inside the tree: accepts, and Apache's words."""
    with tempfile.TemporaryDirectory(prefix="sitecorpus-") as tmp:
        root = Path(tmp) / "root"
        built = build_tree(entry, root)
        text = entry.text()
        # Certificates Apache can load, in place of the site's own (mod_ssl
        # checks them at -t); wsgihost never reads them.
        pem = Path(tmp) / "site.pem"
        _certificate(pem)
        for path in re.findall(r"(?im)^\s*SSL\w*File\s+\"?([^\s\"]+)", text):
            target = Path(str(root) + path)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = pem.with_suffix(".key" if "key" in path.lower() else ".crt")
            shutil.copy(source, target)
        passwd, group = _accounts(Path(tmp), *_users(text))
        script = (
            f"mount --bind {passwd} /etc/passwd && mount --bind {group} /etc/group && "
            f"exec {APACHE} -d {built.server_root} -f {built.config} -t"
        )
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", **built.environ}
        run = subprocess.run(
            ["unshare", "-m", "sh", "-c", script], env=env, capture_output=True, text=True
        )
        # Apache's error lines, without its warnings (AH00558 ServerName,
        # AH01574 a module loaded twice) and with the root taken out.
        words = [
            line.replace(str(root), "")
            for line in (run.stderr + run.stdout).splitlines()
            if line and not line.startswith("[") and "AH00558" not in line and line != "Syntax OK"
        ]
        return {"accepts": run.returncode == 0, "says": words[-3:]}


def record_apache() -> None:
    manifest = json.loads(MANIFEST.read_text())
    known = {e.name: e for e in entries()}
    for raw in manifest["files"]:
        raw["apache"] = apache_verdict(known[raw["name"]])
        print(raw["name"], raw["apache"])
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record-apache"]:
        sys.exit("usage: python -m tests.functional.sitecorpus_apache --record-apache")
    record_apache()
