"""wsgihost: host Python WSGI applications the way Apache + mod_wsgi does."""

__version__ = "0.1.0"
