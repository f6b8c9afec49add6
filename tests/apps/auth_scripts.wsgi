"""mod_wsgi auth scripts for the access tests: users, groups and an access check.

Every call appends what it was given (the environ's plain values, the user)
to the JSON-lines file named by AUTH_RECORD beside this script, so tests can
see what the environ held.
"""

import json
import os

RECORD = os.path.join(os.path.dirname(__file__), "auth-calls.jsonl")
USERS = {"alice": "secret", "bob": "hunter2", "dave": "pw"}
GROUPS = {"alice": ["staff", "admins"], "bob": [b"staff"], "renamed-carol": []}


def _record(kind, environ, **more):
    try:
        plain = {k: v for k, v in environ.items() if isinstance(v, (str, int, tuple))}
        with open(RECORD, "a") as f:
            f.write(json.dumps({"call": kind, "environ": plain, **more}) + "\n")
    except OSError:
        pass  # a read-only copy (the differential suite): nothing to record


def check_password(environ, user, password):
    _record("check_password", environ, user=user)
    if user == "boom":
        raise RuntimeError("the auth script was asked to fail")
    if user == "carol":
        return "renamed-carol" if password == "carol" else False
    if user not in USERS:
        return None
    return USERS[user] == password


def groups_for_user(environ, user):
    _record("groups_for_user", environ, user=user)
    return GROUPS.get(user, [])


def allow_access(environ, host):
    _record("allow_access", environ, host=host)
    if environ.get("HTTP_X_LET_ME_IN") == "no":
        return False
    return None
