"""Started as a file by a group's interpreter: ``python [-O] [-B] [-W ...] .../bootstrap.py
--listen FD --channel FD -- TITLE``.

The interpreter is not isolated: like the one mod_wsgi embeds, it honours the
``PYTHON*`` variables of the server's environment (``PYTHONPATH``,
``PYTHONDONTWRITEBYTECODE``, ``PYTHONOPTIMIZE``, ``PYTHONWARNINGS`` ...).
This file imports the daemon's own modules from the copy of wsgihost it sits
in, then takes that copy's folder (and its own, which Python put first) off
``sys.path`` and sets ``sys.argv`` to mod_wsgi's ``['mod_wsgi']``, so the app
sees the path and arguments it would see under mod_wsgi.
"""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_library = os.path.dirname(os.path.dirname(_here))
sys.path.insert(0, _library)

from wsgihost.daemon.process import main  # noqa: E402  (everything the daemon needs)

_ours = {p for d in (_here, _library) for p in (d, os.path.realpath(d))}
sys.path[:] = [p for p in sys.path if p not in _ours]
_args = sys.argv[1:]
sys.argv[:] = ["mod_wsgi"]
sys.exit(main(_args))
