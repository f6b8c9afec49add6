"""What a folder's AllowOverride lets a .htaccess do, and what applying one gives.

The light half of :mod:`wsgihost.htfile`, which every request's directory walk
needs (:mod:`wsgihost.htaccess`); the other half, the parser and the directive
tables that apply a file, is imported only where a .htaccess may be read.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsgihost.config.model import DirSettings, Section


class HtaccessError(Exception):
    """A .htaccess that stops the request: the status and the error-log line."""

    def __init__(self, status: int, message: str, level: str = "alert") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.level = level  # Apache's: alert for a bad file, crit for an unreadable one
        self.folder = ""  # where the walk stopped (set by HtaccessFiles.read)


@dataclass(frozen=True)
class Allowed:
    """What a folder's merged AllowOverride and AllowOverrideList let in."""

    classes: frozenset[str]
    options: frozenset[str] | None  # Options=...; None: every option
    names: frozenset[str]  # AllowOverrideList, lower case

    @staticmethod
    def of(settings: DirSettings) -> Allowed | None:
        """None where the folder's .htaccess is not even looked for: an explicit
        ``AllowOverride None`` (and no AllowOverrideList names)."""
        found = settings.allow_override
        names = settings.allow_override_list or frozenset()
        if found is not None and not found and not names:
            return None
        # AllowOverride never given: Apache still looks (its "unset" mark counts
        # as an override in the walk) and then allows nothing, so any directive
        # there is a 500. Debian's apache2.conf says None for / to avoid it.
        return Allowed(found or frozenset(), settings.allow_override_opts, names)


@dataclass(frozen=True)
class Applied:
    """One .htaccess applied: its folder's settings and its <Files> sections."""

    settings: DirSettings
    files: tuple[Section, ...] = ()
    warnings: tuple[str, ...] = ()  # AllowOverride Nonfatal=...: what was skipped
