"""wsgihost: host Python WSGI applications the way Apache + mod_wsgi does."""

import os as _os

__version__ = "0.1.0"

# WSGIHOST_PURE=1: the .py modules even where compiled ones are built beside
# them (wsgihost.compiled); installed before any of them can be imported.
if _os.environ.get("WSGIHOST_PURE", "") not in ("", "0"):
    from wsgihost import compiled as _compiled

    _compiled.install_pure_finder()
