"""Argument values shared by the directive tables: flags, numbers, durations, pairs.

Pure. Each parser takes the context (for its error and warning messages,
which name the file and line) and the text, and returns the value or None
after reporting what is wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from wsgihost.config.draft import Context


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest choice, compared case-insensitively."""
    pool = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=0.7)
    return f" (did you mean '{pool[found[0]]}'?)" if found else ""


def parse_flag(ctx: Context, value: str) -> bool | None:
    lowered = value.lower()
    if lowered in ("on", "off"):
        return lowered == "on"
    ctx.error(f"expected On or Off, not '{value}'")
    return None


def parse_int(ctx: Context, value: str, minimum: int = 0, maximum: int | None = None) -> int | None:
    try:
        number = int(value, 10)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        limit = f"{minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        ctx.error(f"expected a whole number, {limit}, not '{value}'")
        return None
    return number


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|mi|h)?", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "mi": 60.0, "h": 3600.0}


def parse_duration(ctx: Context, value: str) -> float | None:
    """Seconds, or a number with Apache's units: ``ms``, ``s``, ``mi``, ``h``."""
    m = _DURATION.fullmatch(value)
    if m is None:
        ctx.error(f"expected a number of seconds (or with ms, mi or h), not '{value}'")
        return None
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


def check_regex(ctx: Context, pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error as e:
        ctx.error(f"bad regular expression '{pattern}': {e}")
        return False
    return True


def server_wide(ctx: Context) -> bool:
    """True in the main server config; elsewhere say the value is not used."""
    if ctx.level == "server":
        return True
    ctx.warn(
        "wsgihost applies this to the whole server only, so the value here is not used; "
        "set it in the main server config"
    )
    return False


def parse_pairs(ctx: Context, words: list[str]) -> list[tuple[str, str]] | None:
    """``name=value`` words, as mod_wsgi's options are written."""
    pairs: list[tuple[str, str]] = []
    ok = True
    for word in words:
        name, eq, value = word.partition("=")
        if not eq or not name:
            ctx.error(f"expected an option written name=value, not '{word}'")
            ok = False
            continue
        pairs.append((name, value))
    return pairs if ok else None
