#!/bin/sh
# The benchmark suite: wsgihost vs Apache + mod_wsgi, gunicorn, uWSGI, granian, waitress.
# All arguments go to run.py (see `bench/run.sh --help`); PYTHON picks the
# interpreter that runs the script itself (3.11 or newer).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/run.py" "$@"
