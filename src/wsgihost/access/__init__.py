"""Access control: who may have what (Apache's access, authentication and
authorization phases, and mod_wsgi's auth scripts).

:mod:`.rules` is the ``Require`` tree and its evaluation, :mod:`.providers`
the providers it names, :mod:`.gate` the one call the front end makes per
request before anything serves it.
"""
