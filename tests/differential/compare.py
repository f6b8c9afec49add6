"""Turn what a server did into a comparable observation, and compare two of them.

An observation is plain JSON: what one case saw of one server, with the parts
that change from run to run masked (ports, temporary paths, times, process
ids, random tokens). The same case observed on Apache and on wsgihost must
give equal observations, except for the entries of ``known.KNOWN``.

With Apache installed each case is observed on both servers, and Apache's
observation is also checked against the one recorded in ``recorded/CASE.json``
(``WSGIHOST_RECORD=1`` writes them). Without Apache, the recording is what
wsgihost is compared with.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.differential.client import Answer
from tests.differential.known import ABSENT, apply_known
from tests.differential.servers import Server, Tree

RECORDED = Path(__file__).resolve().parent / "recorded"
RECORDING = os.environ.get("WSGIHOST_RECORD", "") not in ("", "0")

# The answer headers a user notices; Date and Server are left out (always different).
COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "transfer-encoding",
    "location",
    "set-cookie",
    "etag",
    "last-modified",
    "cache-control",
    "vary",
    "allow",
    "www-authenticate",
    # Beyond the list the suite started from: static files answer ranges too.
    "accept-ranges",
    "content-range",
    "x-differential",  # a header the headers app sets with ISO-8859-1 letters in it
)

HTTP_DATE = re.compile(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT")
LOG_TIME = re.compile(r"^\[\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d+ \d{4}\]")
ACCESS_TIME = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")
PID_TID = re.compile(r"\[pid \d+(:tid \d+)?\]")
PEER = re.compile(r"\[(client|remote) 127\.0\.0\.1:\d+\]")
PID_EQ = re.compile(r"\(pid=\d+\)")
COOKIE_VALUE = re.compile(r"^([^=;]+)=[^;]*")
# Apache's SERVER_SOFTWARE: the distribution's versions are not what a case is about.
VERSIONS = re.compile(r"\b(Apache|mod_wsgi|Python)/[0-9][0-9.]*")


def mask_port(text: str, port: int | str, name: str = "<PORT>") -> str:
    """``port`` replaced by ``name`` where it stands alone: not inside a longer
    number or a hex digest, which a port drawn at random can be (34567 is in
    "0123456789")."""
    return re.sub(rf"(?<![0-9a-f]){port}(?![0-9a-f])", name, text)


class Masker:
    """Replaces what differs between runs and servers by placeholders."""

    def __init__(self, tree: Tree, server: Server) -> None:
        self.pairs = [
            (str(server.root), "<SERVER_ROOT>"),
            (str(tree.root), "<TMP>"),
        ]
        self.ports: list[tuple[int | str, str]] = [(server.port, "<PORT>")]

    def text(self, value: str) -> str:
        for old, new in self.pairs:
            value = value.replace(old, new)
        for port, name in self.ports:
            value = mask_port(value, port, name)
        return VERSIONS.sub(r"\1/<VERSION>", value)

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        return value


def mask_header(name: str, value: str) -> str:
    if name == "set-cookie":
        # The value is a token or a signed, timestamped blob: its name and attributes count.
        value = COOKIE_VALUE.sub(r"\1=<VALUE>", value)
    if name == "etag":
        # Apache's static ETag is "size-mtime" in hex; the mtime changes from run to run.
        value = re.sub(r"[0-9a-f]{6,}", "<HEX>", value)
    if name == "allow":
        # Frameworks build it from a set, whose order changes with each process's hash seed.
        value = ", ".join(sorted(m.strip() for m in value.split(",")))
    return HTTP_DATE.sub("<HTTP-DATE>", value)


def body_view(body: bytes, masks: tuple[tuple[str, str], ...] = ()) -> Any:
    """Short text bodies as text (with ``masks`` applied); the rest as length and digest."""
    if len(body) <= 4096:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            pass
        else:
            for pattern, repl in masks:
                text = re.sub(pattern, repl, text)
            return text
    return {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def answer_view(
    answer: Answer, masker: Masker, body_masks: tuple[tuple[str, str], ...] = ()
) -> dict[str, Any]:
    """Status, the compared headers (a list where one is repeated) and the body."""
    headers: dict[str, Any] = {}
    for name in COMPARED_HEADERS:
        values = [masker.text(mask_header(name, v)) for v in answer.all(name)]
        if values:
            headers[name] = values[0] if len(values) == 1 else values
    return {
        "status": answer.status,
        "reason": answer.reason,
        "headers": headers,
        "body": masker.deep(body_view(answer.body, body_masks)),
    }


def mask_log_line(line: str) -> str:
    line = LOG_TIME.sub("[<TIME>]", line)
    line = ACCESS_TIME.sub("[<TIME>]", line)
    line = PID_TID.sub("[pid <PID>]", line)
    line = PEER.sub(r"[\1 127.0.0.1:<CLIENT-PORT>]", line)
    return PID_EQ.sub("(pid=<PID>)", line)


class LogMark:
    """Where each of a server's logs (and its standard output) ends now; ``new()``
    gives the lines written since, per file."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sizes = {name: len(text) for name, text in self._files().items()}

    def _files(self) -> dict[str, str]:
        files = self.server.all_logs()
        files["<standard output>"] = self.server.output.read_text(errors="replace")
        return files

    def new(self) -> dict[str, list[str]]:
        out = {}
        for name, text in self._files().items():
            lines = text[self.sizes.get(name, 0) :].splitlines()
            if lines:
                out[name] = lines
        return out

    def wait(self, done: Callable[[dict[str, list[str]]], bool], timeout: float = 5.0) -> None:
        """Until ``done(new lines)`` holds (or ``timeout``), then a moment for stragglers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(self.new()):
            time.sleep(0.05)
        time.sleep(0.2)


def load(case: str) -> Any:
    path = RECORDED / f"{case}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def save(case: str, observation: Any) -> None:
    RECORDED.mkdir(exist_ok=True)
    text = json.dumps(observation, indent=2, sort_keys=True) + "\n"
    (RECORDED / f"{case}.json").write_text(text)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def differences(apache: Any, wsgihost: Any, where: str = "") -> list[str]:
    """One line per place the two observations differ: path, Apache's value, wsgihost's."""
    if isinstance(apache, dict) and isinstance(wsgihost, dict):
        out = []
        for key in sorted(set(apache) | set(wsgihost), key=str):
            path = f"{where}/{key}" if where else str(key)
            if key not in wsgihost:
                out.append(f"{path}: Apache {apache[key]!r}, wsgihost (absent)")
            elif key not in apache:
                out.append(f"{path}: Apache (absent), wsgihost {wsgihost[key]!r}")
            else:
                out += differences(apache[key], wsgihost[key], path)
        return out
    if apache != wsgihost:
        return [f"{where or '(all)'}: Apache {apache!r}, wsgihost {wsgihost!r}"]
    return []


class Differential:
    """Runs a case on Apache (when present) and wsgihost and compares the two."""

    def __init__(self, tree: Tree, apache: Server | None, wsgihost: Server) -> None:
        self.tree = tree
        self.apache = apache
        self.wsgihost = wsgihost

    def masker(self, server: Server) -> Masker:
        return Masker(self.tree, server)

    def expected(self, case: str, observe: Callable[[Server], Any]) -> Any:
        """Apache's observation: live (checked against the recording) or recorded."""
        recorded = load(case)
        if self.apache is None:
            assert recorded is not None, (
                f"no recording of case {case!r} in {RECORDED} and no Apache to ask: "
                "run the suite with WSGIHOST_RECORD=1 where Apache + mod_wsgi are installed"
            )
            return recorded
        live = observe(self.apache)
        if RECORDING:
            save(case, live)
        else:
            assert recorded == live, (
                f"Apache's observation of {case!r} no longer matches {RECORDED}/{case}.json; "
                "if Apache changed on purpose, re-record with WSGIHOST_RECORD=1.\n"
                f"recorded:\n{pretty(recorded)}\nlive:\n{pretty(live)}"
            )
        return live

    def check(self, case: str, observe: Callable[[Server], Any]) -> tuple[Any, Any]:
        """Observe ``case`` on both servers; fail where wsgihost differs from Apache
        beyond the known differences. Returns both raw observations."""
        expected = self.expected(case, observe)
        got = observe(self.wsgihost)
        want, have, notes = apply_known(case, expected, got)
        assert have == want, (
            f"wsgihost differs from Apache + mod_wsgi in case {case!r}:\n  "
            + "\n  ".join(differences(want, have))
            + f"\nApache:\n{pretty(want)}\nwsgihost:\n{pretty(have)}"
            + (f"\n({len(notes)} known differences set aside)" if notes else "")
        )
        return expected, got


__all__ = ["ABSENT", "Differential"]
