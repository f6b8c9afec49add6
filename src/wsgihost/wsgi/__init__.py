"""The WSGI layer shared by embedded mode and daemon mode.

Everything in this package runs both inside the front-end workers and inside
daemon processes, which may use another virtual environment and another Python
version. So it is standard-library only, keeps to Python 3.9 syntax, and never
imports the rest of the server (uvloop, httptools, the supervisor).
"""
