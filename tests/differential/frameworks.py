"""Request pieces the Django and Flask flows share: form and multipart bodies, cookies."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from tests.differential.client import Answer

BOUNDARY = "differential-boundary-7d2f"
# A file large enough that Django spools it to disk (over 2.5 MB is FILE_UPLOAD_MAX_MEMORY_SIZE).
UPLOAD = bytes(range(256)) * (3 * 1024 * 1024 // 256 + 7)
UPLOAD_SHA256 = hashlib.sha256(UPLOAD).hexdigest()


def form(fields: dict[str, str]) -> tuple[list[tuple[str, str]], bytes]:
    return [("Content-Type", "application/x-www-form-urlencoded")], urlencode(fields).encode()


def multipart(
    fields: dict[str, str], filename: str, data: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    parts = []
    for name, value in fields.items():
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return [("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")], b"".join(parts)


def cookies(answer: Answer) -> dict[str, str]:
    """name -> value of each Set-Cookie of an answer."""
    out = {}
    for header in answer.all("set-cookie"):
        name, _, rest = header.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def cookie_header(jar: dict[str, str]) -> tuple[str, str]:
    return ("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))
