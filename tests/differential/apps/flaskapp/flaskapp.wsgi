"""The WSGI script Flask's documentation writes for mod_wsgi."""

from flaskapp import app as application
