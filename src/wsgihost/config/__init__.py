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
from dataclasses import replace

from wsgihost.config.model import Server
from wsgihost.config.problems import Problem, Problems

# The parser, the directive tables and the builder are imported by load(), not
# here: a front-end worker imports this package for the model alone (the
# server it is sent), and the tables are megabytes it would never use.

__all__ = ["Problem", "load"]


def load(
    path: str,
    defines: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    remap: Mapping[int, int] | None = None,
) -> tuple[Server | None, list[Problem]]:
    """Read the configuration at ``path``: the model (None on any error) and every problem.

    ``defines`` are names defined as with ``httpd -D NAME`` (a value also
    makes ``${NAME}`` usable); ``environ`` is where other ``${VAR}`` come
    from (the process environment when not given). Problems are sorted by
    file, in the order the files were read, and line; a warning repeated word
    for word in one file is shown once, with how many more there are. ``remap``
    maps ports written in the configuration to the ports to use instead.
    """
    from wsgihost.config.builder import build
    from wsgihost.config.parser import parse

    problems = Problems()
    env = _environment(path, os.environ if environ is None else environ, problems)
    parsed = parse(path, problems, defines, env)
    server = build(parsed, problems, remap) if parsed.files else None
    return (None if problems.has_errors else server), _collapse(problems.sorted(parsed.files))


def _collapse(problems: list[Problem]) -> list[Problem]:
    """One line for a warning repeated in a file (Debian's mime.conf has 40
    AddLanguage lines): the first, saying how many more follow. Errors are
    never merged: each must be fixed where it is."""
    first: dict[tuple[str, str], int] = {}
    extra: dict[int, list[int]] = {}
    kept: list[Problem] = []
    for problem in problems:
        if problem.severity == "warning":
            index = first.setdefault((problem.file, problem.message), len(kept))
            if index != len(kept):
                extra.setdefault(index, []).append(problem.line)
                continue
        kept.append(problem)
    for index, lines in extra.items():
        p = kept[index]
        more = f" (and {len(lines)} more such line{'s' if len(lines) > 1 else ''} in this file"
        kept[index] = replace(p, message=f"{p.message}{more}, up to line {lines[-1]})")
    return kept


def _environment(path: str, environ: Mapping[str, str], problems: Problems) -> dict[str, str]:
    """What ``${VAR}`` sees: Debian's ``envvars`` beside the main file, read as
    apache2ctl sources it (see :mod:`~wsgihost.config.envvars`), over ``environ``."""
    folder = os.path.dirname(os.path.abspath(path))
    envvars = os.path.join(folder, "envvars")
    text: str | None = None
    if os.path.isfile(envvars):
        try:
            with open(envvars, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            problems.warning(
                envvars, 0, f"cannot read it ({e.strerror}); ${{APACHE_*}} take Debian's defaults"
            )
    from wsgihost.config.envvars import environment

    env, skipped = environment(text, environ, folder)
    for line, message in skipped:
        problems.warning(envvars, line, f"{message}; skipped (the shell would have run it)")
    return env
