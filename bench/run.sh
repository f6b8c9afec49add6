#!/bin/sh
# Throughput benchmark: wsgihost vs gunicorn vs Apache + mod_wsgi.
# All arguments go to run.py (see `bench/run.sh --help`); PYTHON picks the
# interpreter that runs the script itself (3.11 or newer).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/run.py" "$@"
