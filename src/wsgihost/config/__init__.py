"""The configuration: Apache + mod_wsgi site files to an immutable model.

Pure: no sockets, threads or processes; the only input and output is
reading the configuration files (and what they name: ``Include``,
``TypesConfig``, and the checks that ``DocumentRoot`` and the WSGI scripts
exist). The pieces, in the order they run:

- :mod:`~wsgihost.config.lexer`: logical lines, ``${VAR}``, arguments;
- :mod:`~wsgihost.config.parser`: sections, ``Include``, ``Define``, ``<IfModule>``;
- :mod:`~wsgihost.config.directives`: the one table of directives, with
  :mod:`~wsgihost.config.daemon_options` (``WSGIDaemonProcess``'s options)
  and :mod:`~wsgihost.config.values` (the argument parsers both use);
- :mod:`~wsgihost.config.builder`: the table applied, the whole-server checks;
- :mod:`~wsgihost.config.model`: the result the rest of the server runs on.

Use :func:`load`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from wsgihost.config.builder import build
from wsgihost.config.model import Server
from wsgihost.config.parser import parse
from wsgihost.config.problems import Problem, Problems

__all__ = ["Problem", "load"]


def load(
    path: str,
    defines: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Server | None, list[Problem]]:
    """Read the configuration at ``path``: the model (None on any error) and every problem.

    ``defines`` are names defined as with ``httpd -D NAME`` (a value also
    makes ``${NAME}`` usable); ``environ`` is where other ``${VAR}`` come
    from (the process environment when not given). Problems are sorted by
    file, in the order the files were read, and line.
    """
    problems = Problems()
    parsed = parse(path, problems, defines, os.environ if environ is None else environ)
    server = build(parsed, problems) if parsed.files else None
    return (None if problems.has_errors else server), problems.sorted(parsed.files)
