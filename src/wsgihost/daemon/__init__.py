"""Daemon mode: process groups that run apps outside the front-end workers.

Standard library only and Python 3.9 syntax, like :mod:`wsgihost.wsgi`: a
daemon process may run under another virtual environment's interpreter.
"""
