"""The front-end worker: HTTP in; static files, embedded apps or daemons out."""
