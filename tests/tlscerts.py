"""Test certificates, made at test time with the ``openssl`` command.

A private CA signs one server certificate per name (with the name as its
subjectAltName) and a client certificate; nothing is committed, so no key
in the repository can leak or expire.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    dir: Path
    ca: Path  # the CA's certificate (trust it to verify the servers)
    client_cert: Path
    client_key: Path
    other_key: Path  # a key that matches no certificate

    def cert(self, name: str) -> Path:
        return self.dir / f"{name}.pem"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(path: Path, cwd: Path) -> None:
    curve = "ec_paramgen_curve:P-256"
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", curve, "-out", str(path), cwd=cwd)
    path.chmod(0o600)


def _signed(d: Path, name: str, subject: str, ext: str) -> None:
    _key(d / f"{name}.key", d)
    _run("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=d)
    (d / f"{name}.ext").write_text(ext)
    _run(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        cwd=d,
    )  # fmt: skip


def make(d: Path, names: tuple[str, ...] = ("a.test", "b.test")) -> Pki:
    """A CA, a server certificate for each of ``names``, a client certificate."""
    d.mkdir(parents=True, exist_ok=True)
    _key(d / "ca.key", d)
    _run(
        "req", "-x509", "-new", "-key", "ca.key", "-days", "2", "-subj",
        "/C=US/O=wsgihost tests/CN=wsgihost test CA", "-out", "ca.pem", cwd=d,
    )  # fmt: skip
    for name in names:
        _signed(
            d,
            name,
            f"/C=US/O=wsgihost tests/CN={name}",
            f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n",
        )
    _signed(d, "client", "/C=US/O=wsgihost tests/CN=alice", "extendedKeyUsage=clientAuth\n")
    _key(d / "other.key", d)
    return Pki(d, d / "ca.pem", d / "client.pem", d / "client.key", d / "other.key")
