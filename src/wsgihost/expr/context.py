"""What an expression asks of the request it is evaluated for.

Pure. The pipeline's request state implements :class:`Request`; the
configuration reader and the tests use :class:`MapRequest`, a plain record.
Every string given and taken is bytes held as latin-1 text (WSGI's native
strings): ``'\\xc3\\xa9'`` for an ``é`` sent in UTF-8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Request(Protocol):
    """The request an expression is evaluated for (Apache's request_rec)."""

    def variable(self, name: str) -> str | None:
        """A ``%{NAME}`` the engine does not compute itself, by its upper-case name:
        REQUEST_METHOD, REQUEST_SCHEME, REQUEST_URI, REQUEST_FILENAME, REMOTE_ADDR,
        SERVER_NAME, SERVER_PORT, QUERY_STRING, THE_REQUEST, DOCUMENT_ROOT, HTTPS,
        ... (the names in :data:`wsgihost.expr.library.VARIABLES`); None: unset."""
        ...

    def header(self, name: str) -> str | None:
        """A request header (any letter case); several are joined with ', '."""
        ...

    def response_header(self, name: str) -> str | None:
        """A response header set so far (``resp()``)."""
        ...

    def env(self, name: str) -> str | None:
        """The request's environment (Apache's subprocess_env: SetEnv, SetEnvIf)."""
        ...

    def note(self, name: str) -> str | None:
        """A request note (Apache's r->notes), set by modules for each other."""
        ...


@dataclass
class MapRequest:
    """A request given as mappings: for configuration-time checks and tests."""

    variables: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    response_headers: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)

    def variable(self, name: str) -> str | None:
        return self.variables.get(name)

    def header(self, name: str) -> str | None:
        return _folded(self.headers, name)

    def response_header(self, name: str) -> str | None:
        return _folded(self.response_headers, name)

    def env(self, name: str) -> str | None:
        return self.environment.get(name)

    def note(self, name: str) -> str | None:
        return self.notes.get(name)


def _folded(table: Mapping[str, str], name: str) -> str | None:
    """A header table lookup without regard to letter case (as apr_table_get)."""
    key = name.lower()
    for k, v in table.items():
        if k.lower() == key:
            return v
    return None
