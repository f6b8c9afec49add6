"""mod_proxy, mod_proxy_http and mod_proxy_wstunnel: a reverse proxy to HTTP/1.1 backends.

* :mod:`.module`: the pipeline module (translate_name): ProxyPass and
  ProxyPassMatch pick a backend URL from the request's path;
* :mod:`.mapping`: the pure rules (prefix matching, re-encoding,
  ProxyPassReverse and its cookie forms);
* :mod:`.workers`: the backends the configuration names, their parameters
  and pools of keep-alive connections;
* :mod:`.backend`: one connection to a backend and the response parser;
* :mod:`.handler`: serving a proxied request, streaming both ways, with
  :mod:`.outgoing` (the request the backend gets) and :mod:`.answers` (what
  the proxy answers itself: its error pages, Max-Forwards, its log lines);
* :mod:`.tunnel`: a WebSocket after the backend's 101.

The directives are read in :mod:`wsgihost.config.mod_proxy`; routing gives a
proxied request a :class:`~wsgihost.routing.ProxyTarget` (its ``<Proxy>``
and ``<Location>`` sections), which the front end hands to
:func:`.handler.serve`.
"""
