"""What every HTTP route of the hub is made with, whichever part declares it.

- ``operations``: an HTTP operation declared once (``Operation``), its routes and the one
  that serves a request;
- ``problems``: the RFC 9457 problem a route answers with (``Problem``) and the translation
  of carhome errors into problems;
- ``bodies``: request bodies and queries decoded into wire structs, JSON answers;
- ``principals``: who a request acts for (``Principal``), what they may read (``View``),
  where it came from, and the ``Authenticator`` seam access control fills.

The API part (``carhome.api``) serves the routes; the parts (automations, charging,
history, access, say) declare theirs beside their code with these. This package imports
only errors and small helpers, so every part may stand on it.
"""
