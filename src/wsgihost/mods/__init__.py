"""The runtimes of the Apache modules wsgihost provides, one module each.

Each is a :class:`wsgihost.pipeline.Module` with an ``activate(server)``
function, listed in :data:`wsgihost.pipeline.registry.MODULES`; their
directives are in ``wsgihost.config.mod_<name>``.
"""
