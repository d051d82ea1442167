"""Plumbing shared by the ``payments`` and ``simulator`` apps, owned by neither.

It imports neither app (they may both import it):

- ``jobs``: the background job kernel (sources, atomic claiming, the runner);
- ``db``: the one bridge from async code to the database (long-lived threads);
- ``asgi``: ASGI wrappers (request-body cap, structured access log);
- ``client_ip``: the client's address behind trusted proxies, and IP allowlists;
- ``jsonbody``: the one bounded way to read untrusted JSON;
- ``logs``: JSON log formatting and masking of phone numbers and secrets;
- ``health``: liveness and readiness endpoints (``urls`` mounts them).
"""
