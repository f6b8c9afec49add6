"""``python -m wsgihost.frontend``: the entry point of a front-end worker process."""

from wsgihost.frontend.worker import main

raise SystemExit(main())
