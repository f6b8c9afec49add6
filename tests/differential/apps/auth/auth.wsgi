"""mod_wsgi auth scripts for the differential suite (run as the server's user).

The user "environ" is let in under a name that is the JSON of what the
script's environ held (its keys, and the values that do not change between
requests), so the app's REMOTE_USER shows both servers' environ side by side.
"""

import json

USERS = {"alice": "secret", "bob": "hunter2", "dave": "pw"}
GROUPS = {"alice": ["staff"], "bob": [b"staff"], "dave": []}
STABLE = (
    "REQUEST_URI",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "REQUEST_METHOD",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "SERVER_NAME",
    "HTTP_X_EXTRA",
    "mod_wsgi.application_group",
    "mod_wsgi.process_group",
    "mod_wsgi.script_reloading",
)


def check_password(environ, user, password):
    if user == "environ":
        shown = {k: environ[k] for k in STABLE if k in environ}
        shown["keys"] = sorted(
            k for k in environ if k.startswith(("HTTP_", "mod_wsgi.", "wsgi.", "CONTENT_"))
        )
        return json.dumps(shown, sort_keys=True)
    if user == "weird":
        return 1  # neither a boolean, None nor a name: mod_wsgi's TypeError
    if user == "boom":
        raise RuntimeError("the auth script was asked to fail")
    if user not in USERS:
        return None
    return USERS[user] == password


def groups_for_user(environ, user):
    return GROUPS.get(user, [])


def allow_access(environ, host):
    if environ.get("HTTP_X_LET_ME_IN") == "no":
        return False
    return None
