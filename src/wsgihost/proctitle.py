"""Name a process the way ``ps``, ``top`` and ``pkill -x`` see it (Linux; stdlib only).

The command line a process was started with is left alone: a child is given
its title as trailing arguments at exec (replacing ``argv[0]`` instead would
break ``sys.executable`` and ``sys.prefix`` inside a virtual environment), and
the kernel's short name (``comm``, 15 bytes) is set here with ``prctl``.
"""

from __future__ import annotations

import ctypes

PR_SET_NAME = 15


def set_name(title: str) -> None:
    """Set the kernel's name for this process; silently does nothing where it cannot.

    prctl is looked up among the symbols the interpreter already has (libc's),
    not through ``ctypes.util.find_library``: that one runs ``ldconfig -p`` and
    imports ``tempfile``, ``shutil`` and their compression modules, about 1 MB
    of every front-end worker and daemon process, for one symbol.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(title.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass
