"""The error a read of ``wsgi.input`` raises when the body cannot be had (pure).

Both modes raise it from the ``recv`` they give the input stream: the
front end's ``Request.recv`` (embedded mode) and the daemon process's
(daemon mode). The runner recognises it when the app lets it out, and logs
one line instead of a traceback: it is the client's doing, not a bug.
"""

from __future__ import annotations


class InputError(OSError):
    """``wsgi.input`` cannot deliver the rest of the request body.

    The body turned out malformed (a bad chunk), too large or too slow, or
    the client went away. An ``OSError``, as mod_wsgi's "request data read
    error" is (an ``IOError`` there), so code that catches that (Django turns
    it into ``UnreadablePostError``) keeps working.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"request data read error: {reason}")
