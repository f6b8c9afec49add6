"""``python -m wsgihost``: the same as the ``wsgihost`` command."""

from wsgihost.cli import main

raise SystemExit(main())
